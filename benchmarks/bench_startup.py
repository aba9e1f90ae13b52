"""Start-up cost of a CLI call, measured against ``python -c "import numpy"`` in the same run.

Every ``dltool`` call is a new process, so what a small job costs is mostly start-up. The
targets: ``dltool --help`` and ``dltool nms`` on the sample take at most 4x the time of importing
numpy, and a second ``nms`` on a 10,000-box file does not recompile its numba kernels (its time
is far below the first call's, which compiles when the cache is empty).

    python benchmarks/bench_startup.py
"""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
REPEATS = 7


def wall(args, repeats=REPEATS) -> float:
    """Median wall time of a command, in seconds (the median resists a noisy neighbour)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(args, cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def big_csv(path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 1000, (10_000, 2))
    wh = rng.uniform(10, 100, (10_000, 2))
    rows = np.column_stack([xy, xy + wh, rng.uniform(size=10_000)])
    np.savetxt(path, rows, delimiter=",", header="x1,y1,x2,y2,score", comments="", fmt="%.6f")


def main() -> int:
    py = sys.executable
    dltool = [py, "-m", "dltool"]
    base = wall([py, "-c", "import numpy"])
    rows = [("python -c 'import numpy'", base, None)]
    for label, args in [("dltool --help", dltool + ["--help"]),
                        ("dltool nms samples/detections.csv", dltool + ["nms", "samples/detections.csv"]),
                        ("dltool iou samples/ground_truth.csv", dltool + ["iou", "samples/ground_truth.csv"])]:
        rows.append((label, wall(args), 4.0))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "boxes.csv"
        big_csv(path)
        first = wall(dltool + ["nms", str(path)], repeats=1)  # compiles only if the cache is empty
        rows.append(("dltool nms 10,000 boxes (first call)", first, None))
        rows.append(("dltool nms 10,000 boxes (later calls)", wall(dltool + ["nms", str(path)], 3), None))

    print(f"python {sys.version.split()[0]}; median of {REPEATS} runs; ratio = time / import numpy")
    print(f"{'command':42} {'seconds':>8} {'ratio':>7}  target")
    for label, seconds, target in rows:
        verdict = "" if target is None else f"<= {target:g}x: {'PASS' if seconds / base <= target else 'MISS'}"
        print(f"{label:42} {seconds:8.3f} {seconds / base:6.2f}x  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
