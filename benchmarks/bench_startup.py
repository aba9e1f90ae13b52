"""Start-up cost of a CLI call: the warm start against ``python -c "import numpy"``, and the cold
start (first run, empty numba cache) against the warm run of the same command.

Every ``dltool`` call is a new process, so what a small job costs is mostly start-up. Targets:

- ``dltool --help`` and ``dltool nms`` on the sample take at most 4x ``import numpy`` (wall time);
- the first run of each heavy command, with an empty ``NUMBA_CACHE_DIR``, costs at most 3 CPU
  seconds more than its warm run (CPU seconds of the child process: user + system, which a busy
  neighbour disturbs far less than wall time).

    python benchmarks/bench_startup.py            # both tables
    python benchmarks/bench_startup.py --cold     # the cold-start table only
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
from _common import load_average, print_table  # noqa: E402

REPEATS = 7
COLD_TARGET = 3.0  # CPU seconds a first run may cost over a warm one


def wall(args, repeats=REPEATS, env=None) -> float:
    """Median wall time of a command, in seconds (the median resists a noisy neighbour)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(args, cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cpu_seconds(args, env) -> float:
    """User + system CPU seconds of one run of a command (all its threads)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def boxes_csv(path: Path, n: int, seed: int = 0) -> None:
    """n detections spread over a 2000 x 2000 scene, 10-200 px boxes, scores in [0, 1)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 2000, (n, 2))
    wh = rng.uniform(10, 200, (n, 2))
    rows = np.column_stack([xy, xy + wh, rng.uniform(size=n)])
    np.savetxt(path, rows, delimiter=",", header="x1,y1,x2,y2,score", comments="", fmt="%.6f")


def wh_csv(path: Path, n: int, seed: int = 0) -> None:
    """n box shapes, log-normal like real label sets."""
    import numpy as np

    rng = np.random.default_rng(seed)
    wh = np.exp(rng.normal(3.5, 0.9, (n, 2)))
    np.savetxt(path, wh, delimiter=",", header="w,h", comments="", fmt="%.3f")


def cold_jobs(folder: Path):
    """The commands of the first-contact issue, on generated inputs."""
    boxes_csv(folder / "boxes20k.csv", 20_000)
    wh_csv(folder / "wh100k.csv", 100_000)
    return [
        ("nms 20,000 boxes --indices", ["nms", str(folder / "boxes20k.csv"), "--indices"]),
        ("anchors-kmeans 100,000 w,h, k=9", ["anchors-kmeans", str(folder / "wh100k.csv"), "-k", "9"]),
        ("iou 20,000 x 20,000 --min-iou 0.5",
         ["iou", str(folder / "boxes20k.csv"), str(folder / "boxes20k.csv"), "--min-iou", "0.5"]),
        ("conv-shape --preset vgg16 --run", ["conv-shape", "--preset", "vgg16", "--run"]),
    ]


def cold_table() -> None:
    dltool = [sys.executable, "-m", "dltool"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for label, args in cold_jobs(tmp):
            cache = tempfile.mkdtemp(dir=tmp)
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            cold = cpu_seconds(dltool + args, env)
            warm = min(cpu_seconds(dltool + args, env) for _ in range(2))
            extra = cold - warm
            rows.append((label, f"{cold:.2f}", f"{warm:.2f}", f"{extra:+.2f}",
                         "PASS" if extra <= COLD_TARGET else "MISS"))
    print(f"\nFirst run with an empty NUMBA_CACHE_DIR vs warm run, CPU seconds (load {load_average()})")
    print_table(("command", "cold", "warm", "cold - warm", f"<= {COLD_TARGET:g} s"), rows)


def warm_table() -> None:
    py = sys.executable
    dltool = [py, "-m", "dltool"]
    base = wall([py, "-c", "import numpy"])
    rows = [("python -c 'import numpy'", base, None)]
    for label, args in [("dltool --help", dltool + ["--help"]),
                        ("dltool nms samples/detections.csv", dltool + ["nms", "samples/detections.csv"]),
                        ("dltool iou samples/ground_truth.csv", dltool + ["iou", "samples/ground_truth.csv"])]:
        rows.append((label, wall(args), 4.0))
    print(f"Warm start, wall time, median of {REPEATS} runs; ratio = time / import numpy "
          f"(python {sys.version.split()[0]}, load {load_average()})")
    print_table(("command", "seconds", "ratio", "target"),
                [(label, f"{s:.3f}", f"{s / base:.2f}x",
                  "" if t is None else f"<= {t:g}x: {'PASS' if s / base <= t else 'MISS'}")
                 for label, s, t in rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="only the cold-start table")
    args = parser.parse_args()
    if not args.cold:
        warm_table()
    cold_table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
