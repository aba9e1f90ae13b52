"""dltool's CSV reader (dltool.io.csvfile) against numpy.loadtxt and, where installed, polars,
pyarrow and pandas: read time and peak memory on a float CSV, and ``dltool nms`` end to end on a
box file against pandas I/O around the same NMS kernel.

Every reader runs in a fresh process (peak memory is that process's ru_maxrss), the contenders
interleaved, best of ``--repeats``; the figure is the ratio to numpy.loadtxt (or to the pandas
script) measured in the same run: absolute times on a shared machine are noise.

    python benchmarks/bench_csv.py                  # 200,000 x 100 floats, nms on 1,000,000 boxes
    python benchmarks/bench_csv.py --quick          # 50,000 x 100, nms on 200,000 boxes
    python benchmarks/bench_csv.py --crossover      # where the numba kernel starts to pay: 10k..200k rows

"dltool (read_dataset)" is the reader as it runs (the numba kernel from KERNEL_MIN_BYTES of input);
"dltool, numpy's parser" forces numpy's parser block by block at every size.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_average, print_table  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent

# Each reader: code run in a fresh process with PATH set; it reads PATH into a float64 array X
# (features) and prints nothing. The same column layout for all: 100 float features, then a label.
FORCE = "import dltool.io.csvfile as c\nc.KERNEL_MIN_BYTES = %d\n"
READ = "from dltool.io.datasets import read_dataset\nX = read_dataset(PATH).X"
READERS = {
    "dltool (read_dataset)": READ,
    "dltool, numpy's parser": FORCE % (1 << 62) + READ,
    "numpy.loadtxt": "import numpy as np\nX = np.loadtxt(PATH, delimiter=',', skiprows=1)",
    "polars": "import polars as pl\nX = pl.read_csv(PATH).to_numpy()",
    "pyarrow": "import pyarrow.csv as pc\nt = pc.read_csv(PATH)\nX = t",
    "pandas": "import pandas as pd\nX = pd.read_csv(PATH).to_numpy()",
}
OPTIONAL = {"polars": "polars", "pyarrow": "pyarrow", "pandas": "pandas"}

PANDAS_NMS = """
import sys, pandas as pd
from dltool.core.nms import select_detections
df = pd.read_csv(sys.argv[1])
cls = pd.factorize(df["class"], sort=True)[0]
img = pd.factorize(df["image"], sort=True)[0]
keep, _ = select_detections(df[["x1", "y1", "x2", "y2"]].to_numpy(), df["score"].to_numpy(),
                            img * (len(df) + 1) + cls, img, 0.5, None, None, "hard", 0.5)
df.iloc[keep].to_csv(sys.argv[2], index=False)
"""


def installed(module):
    try:
        __import__(module)
    except ImportError:
        return False
    return True


# The child's own peak resident memory. (ru_maxrss of a child counts its parent's pages too: the
# memory image it was forked from is accounted when exec replaces it.)
PEAK = ("def _peak():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            return int(line.split()[1]) / 1024\n"
        "    import resource\n"
        "    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n")


def child(script, *args):
    """Run ``script`` in a fresh python; it ends by writing 'seconds peak_mb' on stderr's last line."""
    proc = subprocess.run([sys.executable, "-c", PEAK + script, *args], capture_output=True, text=True,
                          cwd=REPO_ROOT)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    seconds, peak = proc.stderr.strip().splitlines()[-1].split()
    return float(seconds), float(peak)


def timed_reader(code, path):
    """(seconds of the read alone, not the imports; peak MB) of reading ``path`` in a fresh process."""
    return child("import time\nPATH = %r\nt0 = time.perf_counter()\n%s\n"
                 "import sys; sys.stderr.write(f'{time.perf_counter() - t0} {_peak()}\\n')\n" % (path, code))


def timed_command(argv):
    """(seconds, peak MB) of a whole process: ``python -m dltool ...`` or ``python script ...``."""
    runner = ("import runpy, sys, time\nt0 = time.perf_counter()\nsys.argv = sys.argv[1:]\ntry:\n"
              "    runpy.run_module('dltool', run_name='__main__') if sys.argv[0] == '-m' else "
              "runpy.run_path(sys.argv[0], run_name='__main__')\n"
              "except SystemExit as e:\n    assert not e.code, e.code\n"
              "sys.stderr.write(f'{time.perf_counter() - t0} {_peak()}\\n')\n")
    return child(runner, *argv)


def write_float_csv(path, rows, cols, seed=0):
    """``rows`` x ``cols`` normal floats (10 significant digits, ~13 bytes a cell) and a 0/1 label."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        f.write(",".join(f"x{j}" for j in range(cols)) + ",label\n")
        for start in range(0, rows, 10_000):
            n = min(10_000, rows - start)
            X, y = rng.normal(size=(n, cols)), rng.integers(0, 2, n)
            f.writelines(",".join(f"{v:.10g}" for v in row) + f",{label}\n" for row, label in zip(X.tolist(),
                                                                                                  y.tolist()))


def write_box_csv(path, n, seed=0):
    """Clustered detections: n / 100 objects (10 per image), 100 jittered copies each, 80 classes;
    columns image,class,x1,y1,x2,y2,score,model (the model column rides along)."""
    rng = np.random.default_rng(seed)
    objects = max(1, n // 100)
    centres = np.repeat(rng.uniform(100, 900, (objects, 2)), 100, axis=0)[:n]
    sizes = np.repeat(rng.uniform(20, 150, (objects, 2)), 100, axis=0)[:n]
    c, s = centres + rng.normal(0, 5, (n, 2)), sizes * rng.uniform(0.85, 1.15, (n, 2))
    image = np.repeat(np.arange(objects) // 10, 100)[:n]
    cls, score = rng.integers(0, 80, n), rng.uniform(0, 1, n)
    with open(path, "w") as f:
        f.write("image,class,x1,y1,x2,y2,score,model\n")
        for k in range(0, n, 100_000):
            sl = slice(k, k + 100_000)
            columns = zip(image[sl].tolist(), cls[sl].tolist(), *(c[sl] - s[sl] / 2).T.tolist(),
                          *(c[sl] + s[sl] / 2).T.tolist(), score[sl].tolist())
            f.writelines(f"img{i}.jpg,c{k_},{a:.1f},{b:.1f},{cc:.1f},{d:.1f},{sc:.3f},yolo-s\n"
                         for i, k_, a, b, cc, d, sc in columns)


def bench_read(folder, rows, cols, repeats):
    path = str(folder / "floats.csv")
    write_float_csv(path, rows, cols)
    array_mb = rows * cols * 8 / 2**20
    baseline = timed_reader("import numpy", path)[1]
    readers = {k: v for k, v in READERS.items() if k not in OPTIONAL or installed(OPTIONAL[k])}
    best = {k: (float("inf"), 0.0) for k in readers}
    for _ in range(repeats):
        for name, code in readers.items():  # interleaved: load changes hit every reader alike
            seconds, peak = timed_reader(code, path)
            best[name] = (min(best[name][0], seconds), max(best[name][1], peak))
    ref = best["numpy.loadtxt"][0]
    size_mb = os.path.getsize(path) / 2**20
    print(f"read a {rows:,} x {cols} float CSV ({size_mb:.0f} MB; the float64 array is {array_mb:.0f} MB), "
          f"best of {repeats}, process baseline (python + numpy) {baseline:.0f} MB")
    table = []
    for name, (seconds, peak) in best.items():
        extra = peak - baseline
        table.append([name, f"{seconds:.2f}", f"{seconds / ref:.2f}x", f"{peak:.0f}", f"{extra:.0f}",
                      f"{extra / array_mb:.2f}x"])
    print_table(["reader", "read s", "vs numpy.loadtxt", "peak MB", "peak - baseline", "/ array"], table)
    print("(pyarrow stops at its Arrow table; the others produce the float64 matrix)")
    ours = best["dltool (read_dataset)"]
    return ours[0] / ref, (ours[1] - baseline) / array_mb


def bench_crossover(folder, repeats):
    """read_dataset with the kernel forced on and off, 10k..200k rows x 100: the input size from which
    the kernel (numba's ~0.3 s load included) reads faster than numpy's parser."""
    rows_list = (10_000, 30_000, 60_000, 100_000, 200_000)
    table = []
    for rows in rows_list:
        path = str(folder / f"floats{rows}.csv")
        write_float_csv(path, rows, 100)
        best = {"kernel": float("inf"), "numpy": float("inf")}
        for _ in range(repeats):
            best["kernel"] = min(best["kernel"], timed_reader(FORCE % 0 + READ, path)[0])
            best["numpy"] = min(best["numpy"], timed_reader(FORCE % (1 << 62) + READ, path)[0])
        mb = os.path.getsize(path) / 2**20
        table.append([f"{rows:,}", f"{mb:.0f}", f"{best['numpy']:.2f}", f"{best['kernel']:.2f}",
                      f"{best['kernel'] / best['numpy']:.2f}x"])
    print(f"read_dataset on n x 100 floats, best of {repeats}, whole read including imports")
    print_table(["rows", "MB", "numpy's parser s", "numba kernel s", "kernel / numpy"], table)


def bench_nms(folder, n, repeats):
    if not installed("pandas"):
        print("nms end to end: pandas is not installed, skipped")
        return None
    path, out = str(folder / "boxes.csv"), str(folder / "kept.csv")
    write_box_csv(path, n)
    script = folder / "pandas_nms.py"
    script.write_text(PANDAS_NMS)
    commands = {"dltool nms": ["-m", "nms", path, "-q", "-o", out],
                "pandas read + same kernel + pandas write": [str(script), path, out + ".pd"]}
    for argv in commands.values():  # warm: numba's cache, the page cache
        timed_command(argv)
    best = {k: (float("inf"), 0.0) for k in commands}
    for _ in range(repeats):
        for name, argv in commands.items():
            seconds, peak = timed_command(argv)
            best[name] = (min(best[name][0], seconds), max(best[name][1], peak))
    kept = sum(1 for _ in open(out)) - 1
    ref_t, ref_m = best["pandas read + same kernel + pandas write"]
    print(f"nms end to end: {n:,} clustered boxes (80 classes, {max(1, n // 1000):,} images) CSV -> CSV, "
          f"{kept:,} kept, whole process, best of {repeats}")
    print_table(["command", "seconds", "ratio", "peak MB", "memory ratio"],
                [[name, f"{t:.2f}", f"{t / ref_t:.2f}x", f"{m:.0f}", f"{m / ref_m:.2f}x"]
                 for name, (t, m) in best.items()])
    return best["dltool nms"][0] / ref_t, best["dltool nms"][1] / ref_m


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--nms-rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="50,000 rows, nms on 200,000 boxes, 2 repeats")
    parser.add_argument("--crossover", action="store_true", help="only the kernel-vs-numpy crossover")
    args = parser.parse_args(argv)
    if args.crossover:
        with tempfile.TemporaryDirectory(prefix="bench_csv.") as tmp:
            bench_crossover(Path(tmp), args.repeats)
        return 0
    if args.quick:
        args.rows, args.nms_rows, args.repeats = 50_000, 200_000, 2
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, load average {load_average()}")
    with tempfile.TemporaryDirectory(prefix="bench_csv.") as tmp:
        folder = Path(tmp)
        speed, memory = bench_read(folder, args.rows, args.cols, args.repeats)
        print()
        nms = bench_nms(folder, args.nms_rows, args.repeats)
    print()
    print(f"RESULT: dltool reads in {speed:.2f}x numpy.loadtxt's time at {memory:.2f}x the array's memory "
          "(goals: <= 1.0x and <= 1.5x)" + (f"; nms end to end {nms[0]:.2f}x the pandas script's time at "
                                            f"{nms[1]:.2f}x its memory (goals: <= 1.2x and <= 1.5x)" if nms else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
