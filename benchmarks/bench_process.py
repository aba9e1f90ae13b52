"""Whole-process benchmark: each dltool command against the script a user would otherwise write.

The kernel benchmarks (bench_boxes.py, bench_anchors.py, bench_logreg.py) time the computation
inside one process. A user runs a whole command instead: start Python, import, read the file,
compute, write the result. This script runs both sides that way, as fresh processes, in the same
run, warm cache (issue 15, deliverable 3). Run from the repository root, after
``pip install -e ".[bench]"``::

    python benchmarks/bench_process.py                    # every tool at 1k..1M (long: tens of minutes)
    python benchmarks/bench_process.py --quick            # smoke run: small sizes, one timed run each
    python benchmarks/bench_process.py --tools nms,iou --sizes 1k,10k,100k
    python benchmarks/bench_process.py --tools train-logreg --logreg-2m   # adds 2M x 50 (an 800 MB .npz)
    python benchmarks/bench_process.py --show-peers       # print the peer scripts and exit

What runs
---------
dltool is ``python -m dltool COMMAND ...`` with its defaults except where noted. The peers are the
scripts below (PEER_*), written to the temporary folder and run as ``python peer.py ...``; where a
peer uses one of the numpy reference algorithms of the kernel benchmarks, its source is taken from
there (``inspect.getsource``), so both benchmarks run the same code.

- nms: a CSV x1,y1,x2,y2,score plus two carried-through columns (det_id, label), IoU 0.5,
  class-agnostic (no 'class' column); the kept rows out as CSV (``dltool nms in.csv -o out.csv``).
  Peers: pandas + ``cv2.dnn.NMSBoxes`` (x,y,w,h, score_threshold 0, nms_threshold 0.5; cv2 takes
  the (n, 4) array as it is, same kept indices as Python lists and less work), pandas + the numpy
  greedy loop of bench_boxes.py, and pandas I/O around dltool's own kernel
  (``dltool.core.nms.nms``), the yardstick issue 15 sets for 1M rows. Two box sets, both
  bench_boxes.py's generators at 10k; at other sizes the scene grows with n (side
  1000·sqrt(n / 10k)) so that the density, and so the kept fraction, stays that of the 10k set:
  "spread" (centres uniform, sides 10-100, ~64 % kept) and "clustered" (n / 100 objects x 100
  jittered copies, ~2 % kept). Scores are written with 6 decimals (0 raised to 0.000001: cv2 drops
  scores <= its threshold 0).
  cv2's and the numpy loop's cost grows as n x kept, so they are skipped where one run would take
  minutes (cv2 above 100k, the numpy loop on spread boxes above 10k; PEER_LIMITS).
- iou: A and B as CSV x1,y1,x2,y2; B is A's boxes moved by N(0, 5 px), each side scaled by
  U(0.85, 1.15), rows shuffled (detections against their ground truth). 1k x 1k: the full matrix,
  ``dltool iou A.csv B.csv -o m.npy`` against np.loadtxt (or pandas) + numpy broadcasting +
  np.save. 10k and up: ``--min-iou 0.5 -o pairs.csv`` (rows a,b,iou sorted by a, b) against a
  sort-and-sweep in numpy (see iou_pairs in PEER_IOU_SPARSE: the best simple peer we could write;
  a full matrix would need 80 GB at 100k; R-tree/STRtree packages are not in the bench extra), same
  readers and writers. The sweep's cost grows as n x window, so it is skipped above 100k.
- anchors-kmeans: a CSV w,h of bench_anchors.py's COCO-like shapes, k = 9,
  ``dltool anchors-kmeans wh.csv -k 9 --restarts 1 -o anchors.csv`` (one restart: the peer runs
  one) against np.loadtxt + bench_anchors.py's numpy 1 - IoU k-means (same algorithm, same random
  stream: the anchors must agree) + np.savetxt. dltool also computes and writes per-anchor
  counts and mean IoU, the peer only the anchors.
- train-logreg: an .npz with X (m, 50) float64, features with different scales and offsets, and y
  in {0, 1} drawn from a logistic model. ``dltool train-logreg data.npz -o model.npz --format json``
  (its default solver, to max |dJ| <= 1e-6) against np.load + StandardScaler + scikit-learn
  ``LogisticRegression(C=1.0, solver="lbfgs")`` (its defaults: tol 1e-4, max_iter 100) + np.savez
  of the coefficients. Both final objectives are reported, J = mean log-loss + lambda/(2m) ||w||^2
  with lambda = 1 (C = 1), on the standardized features, bias not penalized
  (dltool/core/logreg.py): each recomputed here from the saved model, and dltool's also as its
  JSON report gives it. 2M x 50 runs only with --logreg-2m.

How it measures
---------------
Each command runs under a small wrapper (``python -S -c WRAPPER``, about 10 MiB) that spawns it,
times it with perf_counter and reaps it with ``os.wait4(pid)``, which returns the resource usage of
that one child: its peak resident set size (``ru_maxrss``, KiB on Linux; shown in MiB).
``getrusage(RUSAGE_CHILDREN)`` would give the maximum over all children so far, not each one's; and
a child spawned straight from this script would report this script's own peak (Linux carries the
pre-exec memory's high-water mark over exec), hence the wrapper. Every process of a case runs once
untimed first (numba's cache warm, files in the page cache), then ``--repeats`` times (default 3),
interleaved dltool, peer, peer, dltool, ...; the table shows medians. A peer whose untimed run
takes more than --slow seconds (default 30) is not run again: that run is its figure (dltool is
always timed after its warm-up). Threads: each side uses what it uses by default (numba's threads,
OpenMP, BLAS), as a user would run it.

Reading the output
------------------
One table per tool: ratio = dltool time / peer time, mem ratio = dltool peak RSS / peer peak RSS;
below 1x dltool is faster / smaller. "check" compares the outputs (kept rows, matrix, pairs,
anchors, objective). Then one line per issue 15 target (PASS/MISS, not asserted: timings depend on
the machine and its load, which is printed): nms and iou at 1k-100k <= 1.0x the best peer script
(not counting pandas around dltool's kernel); nms at 1M <= 1.2x pandas around dltool's kernel and
peak memory <= 1.5x; train-logreg at 2M x 50 <= 0.7x scikit-learn.

Exit status: 0; 1 if a dltool command failed or an output check disagreed.
"""

import argparse
import importlib.metadata
import importlib.util
import inspect
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

import numpy as np  # noqa: E402

from _common import load_average, print_table  # noqa: E402

import bench_anchors  # noqa: E402  (the numpy k-means reference and the shape generator)
import bench_boxes  # noqa: E402  (the numpy greedy NMS and broadcasting IoU)

PY = sys.executable
DLTOOL = [PY, "-m", "dltool"]
MIN_IOU = 0.5  # iou --min-iou; nms uses dltool's default IoU threshold, 0.5, as the peers do
K = 9
LOGREG_FEATURES = 50

SIZES = {"1k": 1_000, "10k": 10_000, "20k": 20_000, "100k": 100_000, "200k": 200_000,
         "1M": 1_000_000, "2M": 2_000_000}
TOOL_SIZES = {  # the sizes each tool runs at (a size not listed for a tool is ignored for it)
    "nms": ["1k", "10k", "100k", "1M"],
    "iou": ["1k", "10k", "100k", "1M"],  # 1k: the full matrix; 10k and up: --min-iou
    "anchors-kmeans": ["10k", "100k", "1M"],
    "train-logreg": ["20k", "200k", "2M"],  # 20k: --quick only; 2M: --logreg-2m
}
DEFAULT_SIZES = ["1k", "10k", "100k", "1M", "200k"]
QUICK_SIZES = ["1k", "10k", "20k"]
# Peers whose cost grows as n x kept (or n x window): skipped above these sizes, where one run
# would take minutes (cv2 on 100k spread boxes already takes about 40 s on 2 cores).
PEER_LIMITS = {
    ("nms", "cv2", "spread"): 100_000,
    ("nms", "cv2", "clustered"): 100_000,
    ("nms", "numpy", "spread"): 10_000,
    ("nms", "numpy", "clustered"): 100_000,
    ("iou", "sweep", "sparse"): 100_000,
}

# ---------------------------------------------------------------- the peer scripts

PEER_NMS_CV2 = '''\
"""pandas + OpenCV, instead of `dltool nms in.csv -o out.csv`."""
import sys

import cv2
import numpy as np
import pandas as pd

src, out = sys.argv[1], sys.argv[2]
df = pd.read_csv(src)
xyxy = df[["x1", "y1", "x2", "y2"]].to_numpy(dtype=np.float64)
xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
scores = df["score"].to_numpy(dtype=np.float64)
try:  # OpenCV takes the (n, 4) array as it is
    keep = cv2.dnn.NMSBoxes(xywh, scores, 0.0, 0.5)
except (cv2.error, TypeError):  # older bindings: Python lists
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), 0.0, 0.5)
df.iloc[np.asarray(keep, dtype=np.int64).reshape(-1)].to_csv(out, index=False)
'''

PEER_NMS_NUMPY = '''\
"""pandas + the textbook numpy greedy NMS (bench_boxes.numpy_greedy_nms)."""
import sys

import numpy as np
import pandas as pd

{numpy_greedy_nms}

src, out = sys.argv[1], sys.argv[2]
df = pd.read_csv(src)
keep = numpy_greedy_nms(df[["x1", "y1", "x2", "y2"]].to_numpy(dtype=np.float64),
                        df["score"].to_numpy(dtype=np.float64), 0.5)
df.iloc[keep].to_csv(out, index=False)
'''

PEER_NMS_KERNEL = '''\
"""pandas I/O around dltool's own NMS kernel (issue 15's yardstick at 1M rows)."""
import sys

import numpy as np
import pandas as pd

from dltool.core.nms import nms

src, out = sys.argv[1], sys.argv[2]
df = pd.read_csv(src)
keep = nms(df[["x1", "y1", "x2", "y2"]].to_numpy(dtype=np.float64),
           df["score"].to_numpy(dtype=np.float64), 0.5)
df.iloc[keep].to_csv(out, index=False)
'''

PEER_IOU_DENSE = '''\
"""{reader} + numpy broadcasting + np.save, instead of `dltool iou A.csv B.csv -o m.npy`."""
import sys

import numpy as np
{import_pandas}
{numpy_box_iou}

def read(path):
    {read_body}

a, b = read(sys.argv[1]), read(sys.argv[2])
np.save(sys.argv[3], numpy_box_iou(a, b))
'''

# The best simple peer for sparse IoU we could write: a sort-and-sweep over x1 with numpy
# broadcasting on each block's window. It computes about n x (window) IoUs instead of n x m; a
# spatial index package (rtree, shapely's STRtree) would prune further but is not in the extra.
PEER_IOU_SPARSE = '''\
"""{reader} + a numpy sweep over x1 + {writer}, instead of `dltool iou A.csv B.csv --min-iou 0.5 -o pairs.csv`."""
import sys

import numpy as np
{import_pandas}
{numpy_box_iou}

def iou_pairs(a, b, t, block=512):
    """Pairs (i, j) with IoU(a[i], b[j]) >= t > 0, sorted by i then j.

    IoU >= t needs an intersection width >= t * max(wa, wb), hence |x1a - x1b| <= (1 - t) *
    max(wa, wb): with both sets sorted by x1, a block of A rows only meets the B rows whose x1 lies
    within (1 - t) * (the widest box) of the block's x1 range. IoU by broadcasting on that window.
    """
    oa, ob = np.argsort(a[:, 0], kind="stable"), np.argsort(b[:, 0], kind="stable")
    a, b = a[oa], b[ob]
    reach = (1 - t) * max((a[:, 2] - a[:, 0]).max(), (b[:, 2] - b[:, 0]).max()) * (1 + 1e-9) + 1e-9
    bx1 = b[:, 0]
    ii, jj, vv = [np.empty(0, np.int64)], [np.empty(0, np.int64)], [np.empty(0)]
    with np.errstate(invalid="ignore", divide="ignore"):
        for lo in range(0, len(a), block):
            rows = a[lo:lo + block]
            j0 = np.searchsorted(bx1, rows[0, 0] - reach, "left")
            j1 = np.searchsorted(bx1, rows[-1, 0] + reach, "right")
            iou = numpy_box_iou(rows, b[j0:j1])
            r, c = np.nonzero(iou >= t)
            ii.append(oa[lo + r])
            jj.append(ob[j0 + c])
            vv.append(iou[r, c])
    i, j, v = np.concatenate(ii), np.concatenate(jj), np.concatenate(vv)
    order = np.lexsort((j, i))
    return i[order], j[order], v[order]

def read(path):
    {read_body}

i, j, v = iou_pairs(read(sys.argv[1]), read(sys.argv[2]), 0.5)
{write_body}
'''

READ_LOADTXT = 'return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)'
READ_PANDAS = 'return pd.read_csv(path).to_numpy(dtype=np.float64)'
WRITE_SAVETXT = ('np.savetxt(sys.argv[3], np.column_stack([i, j, v]), fmt=["%d", "%d", "%.17g"], '
                 'delimiter=",", header="a,b,iou", comments="")')
WRITE_PANDAS = 'pd.DataFrame({"a": i, "b": j, "iou": v}).to_csv(sys.argv[3], index=False)'

PEER_ANCHORS = '''\
"""np.loadtxt + numpy 1 - IoU k-means (bench_anchors.py's reference, k-means++ + median Lloyd,
one run) + np.savetxt, instead of `dltool anchors-kmeans wh.csv -k 9 --restarts 1 -o anchors.csv`."""
import sys

import numpy as np

MAX_ITER = {MAX_ITER}
TOL = {TOL}
BACKTRACK = {BACKTRACK}

{numpy_wh_iou}
{numpy_assign}
{numpy_kmeans_pp}
{numpy_lloyd}
{numpy_full}

wh = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1, ndmin=2)
anchors, avg_iou, iterations = numpy_full(wh, 9, 0)
np.savetxt(sys.argv[2], anchors, delimiter=",", header="w,h", comments="", fmt="%.17g")
'''

PEER_LOGREG = '''\
"""scikit-learn, instead of `dltool train-logreg data.npz -o model.npz`."""
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

data = np.load(sys.argv[1])
X, y = data["X"], data["y"]
scaler = StandardScaler()
Xs = scaler.fit_transform(X)
model = LogisticRegression(C=1.0, solver="lbfgs").fit(Xs, y)
np.savez(sys.argv[2], coef=model.coef_, intercept=model.intercept_, mean=scaler.mean_,
         scale=scaler.scale_, n_iter=model.n_iter_)
'''


def source(fn):
    return inspect.getsource(fn)


def peer_sources():
    """Every peer script as it is run: label -> source."""
    iou_src = source(bench_boxes.numpy_box_iou)
    out = {
        "nms: pandas + cv2.dnn.NMSBoxes": PEER_NMS_CV2,
        "nms: pandas + numpy greedy": PEER_NMS_NUMPY.format(numpy_greedy_nms=source(bench_boxes.numpy_greedy_nms)),
        "nms: pandas + dltool kernel": PEER_NMS_KERNEL,
    }
    for reader, body, imp in (("np.loadtxt", READ_LOADTXT, ""), ("pandas", READ_PANDAS, "import pandas as pd\n")):
        out[f"iou dense: {reader}"] = PEER_IOU_DENSE.format(reader=reader, import_pandas=imp,
                                                            numpy_box_iou=iou_src, read_body=body)
    for reader, body, writer, wbody, imp in (
            ("np.loadtxt", READ_LOADTXT, "np.savetxt", WRITE_SAVETXT, ""),
            ("pandas", READ_PANDAS, "DataFrame.to_csv", WRITE_PANDAS, "import pandas as pd\n")):
        out[f"iou sparse: {reader}"] = PEER_IOU_SPARSE.format(reader=reader, writer=writer, import_pandas=imp,
                                                              numpy_box_iou=iou_src, read_body=body,
                                                              write_body=wbody)
    out["anchors-kmeans: numpy"] = PEER_ANCHORS.format(
        MAX_ITER=bench_anchors.MAX_ITER, TOL=bench_anchors.TOL, BACKTRACK=bench_anchors.BACKTRACK,
        **{name: source(getattr(bench_anchors, name)) for name in
           ("numpy_wh_iou", "numpy_assign", "numpy_kmeans_pp", "numpy_lloyd", "numpy_full")})
    out["train-logreg: scikit-learn"] = PEER_LOGREG
    return out


def have(module):
    return importlib.util.find_spec(module) is not None


def version(*dists):
    for dist in dists:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "not installed"


# ---------------------------------------------------------------- input files


def write_csv(path, columns):
    """columns: name -> (array, decimals or None for ints / text). pandas when installed (fast)."""
    if have("pandas"):
        import pandas as pd

        pd.DataFrame({name: (np.round(values, d) if d is not None else values)
                      for name, (values, d) in columns.items()}).to_csv(path, index=False)
        return
    cells = [np.char.mod(f"%.{d}f", values) if d is not None else np.asarray(values).astype(str)
             for values, d in columns.values()]
    with open(path, "w") as f:
        f.write(",".join(columns) + "\n")
        f.writelines(",".join(row) + "\n" for row in zip(*cells))


def scene_side(n):
    return 1000.0 * np.sqrt(n / 10_000)


def spread_boxes(n, seed=0):
    """bench_boxes.make_spread_out at n = 10k (centres uniform in 1000², sides 10-100, uniform
    scores); at other n the scene's side is 1000·sqrt(n / 10k): the same density."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, scene_side(n), (n, 2))
    sizes = rng.uniform(10, 100, (n, 2))
    scores = rng.uniform(0, 1, n)
    return np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1), scores


def clustered_boxes(n, seed=0):
    """bench_boxes.make_clustered at n = 10k (100 objects x 100 copies, centres jittered by
    N(0, 5 px), sides scaled by U(0.85, 1.15)); at other n, n / 100 objects in a scene of side
    1000·sqrt(n / 10k), object centres in its middle 80 %."""
    rng = np.random.default_rng(seed)
    objects = max(1, n // 100)
    side = scene_side(n)
    centres = np.repeat(rng.uniform(0.1 * side, 0.9 * side, (objects, 2)), n // objects, axis=0)
    sizes = np.repeat(rng.uniform(20, 150, (objects, 2)), n // objects, axis=0)
    jitter = rng.normal(0, 5, (n, 2))
    scale = rng.uniform(0.85, 1.15, (n, 2))
    scores = rng.uniform(0, 1, n)
    centres, sizes = centres + jitter, sizes * scale
    return np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1), scores


def write_detections(path, boxes, scores):
    rng = np.random.default_rng(1)
    labels = np.array(["person", "car", "dog", "bicycle", "traffic light"])[rng.integers(0, 5, len(boxes))]
    write_csv(path, {"x1": (boxes[:, 0], 2), "y1": (boxes[:, 1], 2), "x2": (boxes[:, 2], 2),
                     "y2": (boxes[:, 3], 2), "score": (np.maximum(np.round(scores, 6), 1e-6), 6),
                     "det_id": (np.arange(len(boxes)), None), "label": (labels, None)})


def write_iou_pair(folder, n):
    """A: spread boxes; B: A's boxes moved and rescaled a little, rows shuffled."""
    a, _ = spread_boxes(n, seed=2)
    rng = np.random.default_rng(3)
    centre = (a[:, :2] + a[:, 2:]) / 2 + rng.normal(0, 5, (n, 2))
    size = (a[:, 2:] - a[:, :2]) * rng.uniform(0.85, 1.15, (n, 2))
    b = np.concatenate([centre - size / 2, centre + size / 2], axis=1)[rng.permutation(n)]
    for name, boxes in (("A.csv", a), ("B.csv", b)):
        write_csv(folder / name, {c: (boxes[:, k], 2) for k, c in enumerate(("x1", "y1", "x2", "y2"))})


def logreg_data(m, n=LOGREG_FEATURES, seed=0):
    rng = np.random.default_rng(seed)
    scales = np.exp(rng.uniform(-2, 3, n))
    offsets = rng.normal(0, 10, n)
    Z = rng.standard_normal((m, n))
    w = rng.normal(0, 1.5 / np.sqrt(n), n)
    logits = Z @ w + 0.3
    y = (rng.random(m) < 1 / (1 + np.exp(-logits))).astype(np.int64)
    Z *= scales
    Z += offsets
    return Z, y


def logistic_objective(X, y, w, b, mean, std, l2=1.0, rows=200_000):
    """J = mean log-loss + l2/(2m) ||w||² on the standardized features (bias not penalized)."""
    m = len(X)
    loss = 0.0
    for lo in range(0, m, rows):
        z = ((X[lo:lo + rows] - mean) / std) @ w + b
        loss += float(np.sum(np.logaddexp(0.0, z) - y[lo:lo + rows] * z))
    return loss / m + l2 / (2 * m) * float(w @ w)


# ---------------------------------------------------------------- processes


@dataclass
class Process:
    label: str
    argv: list | None
    output: Path | None = None
    why_not: str = ""          # why argv is None (not installed, skipped at this size)
    user_peer: bool = True     # counts as "the best peer script" for the targets
    seconds: list = field(default_factory=list)
    rss_mb: list = field(default_factory=list)
    failure: str = ""
    once: bool = False         # slow peer: its untimed run is its figure
    log: Path | None = None    # the folder with the last run's stdout and stderr

    @property
    def ok(self):
        return self.argv is not None and not self.failure and bool(self.seconds)

    @property
    def time(self):
        return statistics.median(self.seconds) if self.ok else None

    @property
    def mb(self):
        return statistics.median(self.rss_mb) if self.ok else None


# Runs one command and writes "seconds peak_rss_kib exit_code" to argv[1]. It is started with
# ``python -S`` (no site: about 10 MiB) so that the command it spawns inherits a small memory
# high-water mark: Linux keeps, as a process's ru_maxrss, the peak RSS of the memory it had before
# exec, which for a child spawned straight from this script (vfork) is this script's own peak
# (hundreds of MiB with numpy, pandas and cv2 loaded), not the child's.
WRAPPER = """\
import os, sys, time
argv = sys.argv[2:]
start = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
with open(sys.argv[1], "w") as f:
    f.write(f"{seconds!r} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def run_once(argv, log_dir, timeout):
    """(wall seconds, peak RSS in MiB, error text or ''): one fresh process.

    The command runs under WRAPPER, which times it and reaps it with ``os.wait4(pid)``: the
    resource usage of that one child, so its own peak RSS (``ru_maxrss``, KiB on Linux). The time
    is measured inside the wrapper, so it leaves out the wrapper's own start.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    result = log_dir / "result"
    result.unlink(missing_ok=True)
    with open(log_dir / "stdout", "wb") as out, open(log_dir / "stderr", "wb") as err:
        proc = subprocess.Popen([PY, "-S", "-c", WRAPPER, str(result), *argv], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err, cwd=REPO_ROOT, start_new_session=True)
        timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
    if not result.exists():
        return 0.0, 0.0, f"killed after {timeout:g} s" if proc.returncode == -signal.SIGKILL else \
            f"wrapper exit {proc.returncode}"
    seconds, kib, code = result.read_text().split()
    seconds, code = float(seconds), int(code)
    error = ""
    if code != 0:
        tail = (log_dir / "stderr").read_text(errors="replace").strip().splitlines()[-3:]
        error = f"exit {code}" + (": " + " | ".join(tail) if tail else "")
    return seconds, int(kib) / 1024.0, error


def measure(case, folder, repeats, timeout, slow):
    procs = [case.dltool] + [p for p in case.peers if p.argv is not None]
    for k, p in enumerate(procs):  # untimed: numba's cache, the page cache
        p.log = folder / "logs" / str(k)
        seconds, mb, error = run_once(p.argv, p.log, timeout)
        if error:
            p.failure = error
        elif k > 0 and seconds > slow:
            p.once, p.seconds, p.rss_mb = True, [seconds], [mb]
    for _ in range(repeats):
        for k, p in enumerate(procs):
            if p.failure or p.once:
                continue
            seconds, mb, error = run_once(p.argv, p.log, timeout)
            if error:
                p.failure = error
            else:
                p.seconds.append(seconds)
                p.rss_mb.append(mb)


@dataclass
class Case:
    tool: str
    name: str
    size: str
    dltool: Process
    peers: list
    check: object = None       # (case) -> text, after the runs
    note: str = ""
    checked: str = ""
    bad: bool = False


def not_available(label, module, *, user_peer=True):
    return Process(label, None, why_not=f"n/a: {module} not installed", user_peer=user_peer)


def limited(tool, kind, case, n):
    limit = PEER_LIMITS.get((tool, kind, case))
    return limit is not None and n > limit


def script(folder, name, text):
    path = folder / name
    path.write_text(text)
    return str(path)


# ---------------------------------------------------------------- output checks


def csv_column(path, name, dtype=np.int64):
    with open(path) as f:
        header = f.readline().strip().split(",")
    return np.loadtxt(path, delimiter=",", skiprows=1, usecols=header.index(name), dtype=dtype, ndmin=1)


def check_nms(case):
    ref = csv_column(case.dltool.output, "det_id")
    parts, bad = [], False
    for p in case.peers:
        if not p.ok:
            continue
        ids = csv_column(p.output, "det_id")
        if np.array_equal(ids, ref):
            parts.append("same")
        elif set(ids.tolist()) == set(ref.tolist()):
            parts.append("same set, other order")
        else:
            bad = True
            parts.append(f"DIFFER ({len(ids)} rows)")
    return f"{len(ref)} kept; " + ", ".join(parts), bad


def check_iou_dense(case):
    ref = np.load(case.dltool.output)
    parts, bad = [], False
    for p in case.peers:
        if p.ok:
            other = np.load(p.output)
            diff = float(np.abs(other - ref).max()) if other.shape == ref.shape else float("inf")
            bad |= not diff < 1e-12
            parts.append(f"max|diff| {diff:.1e}")
    return f"{ref.shape[0]}x{ref.shape[1]}; " + ", ".join(parts), bad


def check_iou_sparse(case):
    ref = np.loadtxt(case.dltool.output, delimiter=",", skiprows=1, ndmin=2)
    parts, bad = [], False
    for p in case.peers:
        if not p.ok:
            continue
        other = np.loadtxt(p.output, delimiter=",", skiprows=1, ndmin=2)
        if other.shape == ref.shape and np.array_equal(other[:, :2], ref[:, :2]):
            diff = float(np.abs(other[:, 2] - ref[:, 2]).max()) if len(ref) else 0.0
            bad |= not diff < 1e-12
            parts.append(f"same pairs, max|diff| {diff:.1e}")
        else:
            mine = set(map(tuple, ref[:, :2].astype(np.int64).tolist()))
            theirs = set(map(tuple, other[:, :2].astype(np.int64).tolist()))
            bad = True
            parts.append(f"DIFFER ({len(theirs)} pairs, {len(mine ^ theirs)} not shared)")
    return f"{len(ref)} pairs; " + ", ".join(parts), bad


def check_anchors(case):
    with open(case.dltool.output) as f:
        header = f.readline().strip().split(",")
    table = np.loadtxt(case.dltool.output, delimiter=",", skiprows=1, ndmin=2)
    ref = table[:, [header.index("w"), header.index("h")]]
    ref = ref[np.lexsort((ref[:, 0], ref[:, 0] * ref[:, 1]))]
    parts, bad = [], False
    for p in case.peers:
        if p.ok:
            other = np.loadtxt(p.output, delimiter=",", skiprows=1, ndmin=2)
            rel = float(np.max(np.abs(other - ref) / ref)) if other.shape == ref.shape else float("inf")
            bad |= not rel < 1e-6
            parts.append(f"anchors max rel. diff {rel:.1e}")
    return ", ".join(parts) or "-", bad


def check_logreg(case, data_path):
    report = json.loads((case.dltool.log / "stdout").read_text())
    data = np.load(data_path)
    X, y = data["X"], data["y"]
    model = np.load(case.dltool.output)
    j_dl = logistic_objective(X, y, model["W"][0], float(model["b"][0]), model["mean"], model["std"])
    text = f"J dltool {j_dl:.10f} (report {report['train']['cost']:.10f}, {report['optimizer']} {report['epochs']} it.)"
    bad = abs(j_dl - report["train"]["cost"]) > 1e-9 * max(1.0, j_dl)
    for p in case.peers:
        if p.ok:
            sk = np.load(p.output)
            j_sk = logistic_objective(X, y, sk["coef"][0], float(sk["intercept"][0]), sk["mean"], sk["scale"])
            text += f"; sklearn {j_sk:.10f} ({int(np.max(sk['n_iter']))} it.); dltool - sklearn {j_dl - j_sk:+.1e}"
    return text, bad


# ---------------------------------------------------------------- the cases


def nms_cases(folder, size, n):
    for name, make in (("clustered", clustered_boxes), ("spread", spread_boxes)):
        def prepare(make=make):
            write_detections(folder / "dets.csv", *make(n))

        src = str(folder / "dets.csv")
        dl = Process("dltool", DLTOOL + ["nms", src, "-o", str(folder / "out_dltool.csv")],
                     folder / "out_dltool.csv")
        peers = []
        for kind, label, module_set, text in (
                ("cv2", "pandas + cv2.dnn.NMSBoxes", ("pandas", "cv2"), PEER_NMS_CV2),
                ("numpy", "pandas + numpy greedy", ("pandas",), peer_sources()["nms: pandas + numpy greedy"]),
                ("kernel", "pandas + dltool kernel", ("pandas",), PEER_NMS_KERNEL)):
            missing = [m for m in module_set if not have(m)]
            out = folder / f"out_{kind}.csv"
            user_peer = kind != "kernel"
            if missing:
                peers.append(not_available(label, " and ".join(missing), user_peer=user_peer))
            elif limited("nms", kind, name, n):
                peers.append(Process(label, None, why_not=f"skipped above {PEER_LIMITS[('nms', kind, name)]:,} "
                                     "(grows as n x kept)", user_peer=user_peer))
            else:
                peers.append(Process(label, [PY, script(folder, f"peer_nms_{kind}.py", text), src, str(out)],
                                     out, user_peer=user_peer))
        yield Case("nms", name, size, dl, peers, check_nms), prepare


def iou_cases(folder, size, n):
    a, b = str(folder / "A.csv"), str(folder / "B.csv")
    sources = peer_sources()

    def prepare():
        write_iou_pair(folder, n)

    peers = []
    if n <= 1_000:
        out = folder / "m_dltool.npy"
        dl = Process("dltool", DLTOOL + ["iou", a, b, "-o", str(out)], out)
        for reader, module in (("np.loadtxt", None), ("pandas", "pandas")):
            label = f"{reader} + numpy broadcasting"
            if module and not have(module):
                peers.append(not_available(label, module))
                continue
            out_p = folder / f"m_{reader.replace('.', '')}.npy"
            peers.append(Process(label, [PY, script(folder, f"peer_iou_{reader}.py", sources[f"iou dense: {reader}"]),
                                         a, b, str(out_p)], out_p))
        yield Case("iou", f"matrix {n // 1000}k x {n // 1000}k", size, dl, peers, check_iou_dense), prepare
        return
    out = folder / "pairs_dltool.csv"
    dl = Process("dltool", DLTOOL + ["iou", a, b, "--min-iou", str(MIN_IOU), "-o", str(out)], out)
    for reader, module in (("np.loadtxt", None), ("pandas", "pandas")):
        label = f"{reader} + numpy sweep"
        if module and not have(module):
            peers.append(not_available(label, module))
        elif limited("iou", "sweep", "sparse", n):
            peers.append(Process(label, None, why_not=f"skipped above {PEER_LIMITS[('iou', 'sweep', 'sparse')]:,} "
                                 "(grows as n x window)"))
        else:
            out_p = folder / f"pairs_{reader.replace('.', '')}.csv"
            peers.append(Process(label, [PY, script(folder, f"peer_iou_sparse_{reader}.py",
                                                    sources[f"iou sparse: {reader}"]), a, b, str(out_p)], out_p))
    yield Case("iou", f"--min-iou {MIN_IOU}", size, dl, peers, check_iou_sparse), prepare


def anchors_cases(folder, size, n):
    src = str(folder / "wh.csv")

    def prepare():
        wh = bench_anchors.make_shapes(n)
        write_csv(folder / "wh.csv", {"w": (wh[:, 0], 3), "h": (wh[:, 1], 3)})

    out = folder / "anchors_dltool.csv"
    dl = Process("dltool", DLTOOL + ["anchors-kmeans", src, "-k", str(K), "--restarts", "1", "-o", str(out)], out)
    out_p = folder / "anchors_numpy.csv"
    peer = Process("np.loadtxt + numpy 1-IoU k-means",
                   [PY, script(folder, "peer_anchors.py", peer_sources()["anchors-kmeans: numpy"]), src, str(out_p)],
                   out_p)
    yield Case("anchors-kmeans", f"k={K}, w,h CSV", size, dl, [peer], check_anchors), prepare


def logreg_cases(folder, size, n):
    data = folder / "data.npz"

    def prepare():
        X, y = logreg_data(n)
        np.savez(data, X=X, y=y)

    out = folder / "model_dltool.npz"
    dl = Process("dltool", DLTOOL + ["train-logreg", str(data), "-o", str(out), "--format", "json"], out)
    label = "sklearn LogisticRegression lbfgs"
    if not have("sklearn"):
        peer = not_available(label, "scikit-learn")
    else:
        out_p = folder / "model_sklearn.npz"
        peer = Process(label, [PY, script(folder, "peer_logreg.py", PEER_LOGREG), str(data), str(out_p)], out_p)
    case = Case("train-logreg", "binary .npz", f"{size}x{LOGREG_FEATURES}", dl, [peer],
                lambda c: check_logreg(c, data))
    yield case, prepare


BUILDERS = {"nms": nms_cases, "iou": iou_cases, "anchors-kmeans": anchors_cases, "train-logreg": logreg_cases}


# ---------------------------------------------------------------- report


def fmt(x, spec):
    return "n/a" if x is None else format(x, spec)


def ratio(a, b):
    return None if a is None or b is None else a / b


def table_rows(cases):
    """The table's rows, and the footnotes saying why a peer did not run."""
    rows, notes = [], []
    for c in cases:
        dl = c.dltool
        for k, p in enumerate(c.peers):
            first = k == 0
            if p.argv is None:
                peer_s = "n/a" if p.why_not.startswith("n/a") else "skipped"
                notes.append(f"{p.label}, {c.name} {c.size}: {p.why_not}")
            else:
                peer_s = "FAILED" if p.failure else fmt(p.time, ".3f") + (" (1 run)" if p.once else "")
            both = p.ok and dl.ok
            rows.append([c.name if first else "", c.size if first else "", p.label,
                         fmt(dl.time, ".3f") if first else "", peer_s,
                         fmt(ratio(dl.time, p.time), ".2f") + ("x" if both else ""),
                         fmt(dl.mb, ".0f") if first else "", fmt(p.mb, ".0f"),
                         fmt(ratio(dl.mb, p.mb), ".2f") + ("x" if both else ""),
                         (c.checked if first else "")])
    return rows, notes


def best_peer(case):
    ok = [p for p in case.peers if p.ok and p.user_peer]
    return min(ok, key=lambda p: p.time) if ok else None


def verdict(value, limit):
    return "n/a" if value is None else f"{value:.2f}x <= {limit:g}x: {'PASS' if value <= limit else 'MISS'}"


def target_lines(tool, cases):
    lines = []
    for c in cases:
        where = f"{tool} {c.name} {c.size}"
        if not c.dltool.ok:
            lines.append(f"  {where}: dltool failed")
            continue
        if tool in ("nms", "iou") and SIZES[c.size] <= 100_000:
            p = best_peer(c)
            lines.append(f"  {where}: vs the best peer script ({p.label if p else 'none ran'}): "
                         f"{verdict(ratio(c.dltool.time, p.time if p else None), 1.0)}")
        elif tool == "nms":
            p = next((p for p in c.peers if p.label == "pandas + dltool kernel"), None)
            ok = p is not None and p.ok
            lines.append(f"  {where}: vs pandas around dltool's kernel: time "
                         f"{verdict(ratio(c.dltool.time, p.time) if ok else None, 1.2)}, memory "
                         f"{verdict(ratio(c.dltool.mb, p.mb) if ok else None, 1.5)}")
        elif tool == "train-logreg":
            p = c.peers[0]
            r = ratio(c.dltool.time, p.time) if p.ok else None
            if c.size.startswith("2M"):
                lines.append(f"  {where}: vs scikit-learn: {verdict(r, 0.7)}")
            else:
                lines.append(f"  {where}: vs scikit-learn {fmt(r, '.2f')}x (the target, <= 0.7x, is for 2M x 50)")
        elif tool == "iou":
            lines.append(f"  {where}: no target above 100k (dltool alone: the peer is skipped)")
    if tool == "anchors-kmeans":
        lines.append("  issue 15 sets no whole-process target for anchors-kmeans (kernel: bench_anchors.py, <= 0.5x)")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", default=",".join(BUILDERS),
                        help="comma-separated: " + ", ".join(BUILDERS) + " (default: all)")
    parser.add_argument("--sizes", default=None,
                        help="comma-separated among " + ", ".join(SIZES) + " (default: " + ",".join(DEFAULT_SIZES)
                        + "; each tool runs the ones it has: " + "; ".join(f"{t} {','.join(s)}"
                                                                           for t, s in TOOL_SIZES.items()) + ")")
    parser.add_argument("--logreg-2m", action="store_true", help="add train-logreg at 2M x 50 (an 800 MB .npz)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: sizes {','.join(QUICK_SIZES)} (unless --sizes), one timed run")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per process (default 3; --quick 1)")
    parser.add_argument("--slow", type=float, default=30.0,
                        help="a peer whose untimed run takes longer is not run again (default 30 s)")
    parser.add_argument("--timeout", type=float, default=900.0, help="kill a process after this (default 900 s)")
    parser.add_argument("--show-peers", action="store_true", help="print the peer scripts and exit")
    parser.add_argument("--verbose", action="store_true", help="print every run's seconds and MiB")
    args = parser.parse_args(argv)

    if args.show_peers:
        for label, text in peer_sources().items():
            print(f"# ---------------- {label}\n{text}")
        return 0
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [t for t in tools if t not in BUILDERS]
    sizes = [s.strip() for s in (args.sizes or ",".join(QUICK_SIZES if args.quick else DEFAULT_SIZES)).split(",")
             if s.strip()]
    unknown += [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error("unknown: " + ", ".join(unknown))
    if args.logreg_2m and "2M" not in sizes:
        sizes.append("2M")
    repeats = args.repeats or (1 if args.quick else 3)

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print("dltool whole-process benchmark" + (" (--quick)" if args.quick else ""))
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {version('pandas')}, "
          f"opencv {version('opencv-python-headless', 'opencv-python', 'opencv-contrib-python')}, "
          f"scikit-learn {version('scikit-learn')}, numba {version('numba')}; "
          f"CPUs {os.cpu_count()} (usable {cpus}); load average {load_average()}")
    print(f"each process: untimed once, then median of {repeats} interleaved run{'s' if repeats > 1 else ''}; "
          "wall time and peak RSS (MiB) of that one process, from os.wait4")

    # A pip-installed dltool has its bytecode compiled at install time; an editable install under
    # PYTHONDONTWRITEBYTECODE=1 would recompile its sources in every process. Compile them once,
    # so both sides start from bytecode as the peers' libraries do.
    subprocess.run([PY, "-m", "compileall", "-q", str(REPO_ROOT / "dltool")], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench_process_") as tmp:
        tmp = Path(tmp)
        base, base_mb, _ = run_once([PY, "-c", "import numpy"], tmp / "logs" / "base", args.timeout)
        print(f"for scale: python -c 'import numpy' {base:.3f} s, {base_mb:.0f} MiB")
        for tool in tools:
            cases = []
            load_before = load_average()
            t_tool = time.perf_counter()
            for size in TOOL_SIZES[tool]:
                if size not in sizes:
                    continue
                n = SIZES[size]
                for case, prepare in BUILDERS[tool](tmp, size, n):
                    t0 = time.perf_counter()
                    prepare()
                    t_prep = time.perf_counter() - t0
                    print(f"  {tool} {case.name} {case.size}: inputs {t_prep:.1f} s, running ...", end="", flush=True)
                    t0 = time.perf_counter()
                    measure(case, tmp, repeats, args.timeout, args.slow)
                    if case.dltool.ok:
                        try:
                            case.checked, case.bad = case.check(case)
                        except Exception as e:  # a malformed output file: report it, go on
                            case.checked, case.bad = f"CHECK FAILED: {type(e).__name__}: {e}", True
                    else:
                        case.checked, case.bad = f"dltool FAILED: {case.dltool.failure}", True
                    failed |= case.bad
                    print(f" {time.perf_counter() - t0:.0f} s (load {load_average()})", flush=True)
                    for p in [case.dltool] + case.peers:
                        if p.failure:
                            print(f"    {p.label} FAILED: {p.failure}")
                        elif args.verbose and p.seconds:
                            runs = ", ".join(f"{t:.3f} s {m:.0f} MiB" for t, m in zip(p.seconds, p.rss_mb))
                            print(f"    {p.label}: {runs}")
                    cases.append(case)
                    for f in tmp.iterdir():  # free the disk before the next case (1M / 2M inputs)
                        if f.is_file():
                            f.unlink()
                        elif f.name == "logs":
                            shutil.rmtree(f)
            if not cases:
                continue
            print()
            print(f"{tool}: whole process, wall seconds and peak RSS MiB (load average before {load_before}, "
                  f"after {load_average()}; {time.perf_counter() - t_tool:.0f} s)")
            rows, notes = table_rows(cases)
            print_table(["case", "size", "peer", "dltool s", "peer s", "ratio", "dltool MiB", "peer MiB",
                         "mem ratio", "check"], rows, left=(0, 1, 2, 9))
            for note in notes:
                print(f"  not run: {note}")
            print("issue 15 targets:")
            for line in target_lines(tool, cases):
                print(line)
            print()
    if failed:
        print("RESULT: a dltool command failed or the outputs disagree (see the check column).")
        return 1
    print("RESULT: every command ran and the outputs agree (the targets are informational).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
