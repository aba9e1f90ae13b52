"""Benchmark dltool's anchor k-means (d = 1 − IoU) against plain numpy and scikit-learn, in one process.

Run from the repository root (after ``pip install -e .[bench]``, or without installing: the script
puts the repository root on ``sys.path`` itself)::

    python benchmarks/bench_anchors.py            # 1,000,000 boxes, about 1-2 minutes on 2 cores
    python benchmarks/bench_anchors.py --quick    # 200,000 boxes, fewer repeats

What it measures
----------------
k = 9 anchors for 1,000,000 box shapes (w, h) like a detection data set's at 640 px, made by
``numpy.random.default_rng(0)``: log(area) ~ Normal(log 40², 1.5), so the median box is about
40x40 px; log(w / h) ~ Normal(0, 0.6); then w = sqrt(area · w/h), h = sqrt(area / (w/h)), each
clipped to [2, 640]. (Areas are drawn first, then the aspect ratios.)

Three k-means on those shapes, each timed in this process:

- dltool: ``lloyd`` (Lloyd's iterations, numba kernels) and the full default
  ``kmeans_anchors(wh, 9, seed=0, restarts=1)`` (k-means++ seeding + ``lloyd``, median update);
- a numpy reference written below: the textbook 1 − IoU k-means (an (N, k) IoU matrix by
  broadcasting, argmax, a per-cluster median or mean by boolean masks), implementing the SAME
  algorithm as dltool: same update rules, the step shortened to 1/2, 1/4, 1/8 when a full step
  would lower the average IoU (and a stop when none keeps it from falling), a stop when no label
  changes or the gain is below tol, empty clusters re-seeded at the worst-served boxes; and a
  numpy k-means++ that draws from the random stream exactly as dltool's does;
- scikit-learn's ``KMeans(n_clusters=9, n_init=1, random_state=0)`` on the raw (w, h), i.e. with
  the Euclidean distance, as is often done. Its centres are scored by average IoU like the others.

Correctness check: started from the SAME k-means++ centroids (dltool's ``kmeans_pp(wh, 9,
default_rng(0))``), dltool's ``lloyd`` and the numpy reference must reach the same anchors
(``allclose``, rtol 1e-9) in the same number of iterations, for both updates; the numpy k-means++
must pick the same initial centroids as dltool's; and the full numpy run (seeding + median Lloyd,
with kmeans_anchors' random stream) must end at kmeans_anchors' anchors.

Reading the output
------------------
Times are in seconds: dltool's are the best of several runs after one warm-up run; the numpy
reference and scikit-learn take seconds per run and are timed over fewer runs (see the header
line). A ratio is ``time / numpy reference time`` for the same task: 0.1x means a tenth of
numpy's time. The acceptance figure is the full ``kmeans_anchors`` (seeding included) against the
numpy seeding + reference: target at most 0.5x, reported as PASS/MISS, not asserted (timings
depend on the machine). scikit-learn is compared with the full numpy run (it seeds too, with its
own greedy k-means++). Note that the numpy reference runs on one thread, while dltool's kernels
and scikit-learn's KMeans use all the threads printed in the header.

avg IoU: the mean over boxes of the IoU with the best anchor (what 1 − IoU k-means maximises).
BPR: YOLOv5's best possible recall, the fraction of boxes with an anchor within a factor 4 in both
w and h. YOLOv5's default anchors (``parse_anchors("yolov5")``) are scored for comparison.

dltool's very first call imports numba and loads its cached kernels (compiling them on the very
first run after install); that cost is shown separately (a call on the first 50,000 boxes, which
goes through every kernel) and is not in the table.

Exit status: 0, or 1 if dltool and the numpy reference disagree (anchors, iterations, initial
centroids), which is correctness, not speed.
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from _common import best_time, fmt_ratio, print_table  # noqa: E402

import numpy as np  # noqa: E402

from dltool.core.anchors import anchor_metrics, kmeans_anchors, kmeans_pp, lloyd, parse_anchors  # noqa: E402

try:
    from sklearn.cluster import KMeans
    import sklearn
except ImportError:  # the [bench] extra is not installed: still run the dltool vs numpy part
    KMeans = sklearn = None

N_BOXES = 1_000_000
N_BOXES_QUICK = 200_000
K = 9
SEED = 0
IMAGE_SIZE = 640
RTOL = 1e-9
TARGET = 0.5  # kmeans_anchors time / numpy seeding + reference time
# Same defaults as dltool.core.anchors.lloyd, and the same step fractions.
MAX_ITER = 300
TOL = 1e-9
BACKTRACK = (1.0, 0.5, 0.25, 0.125)
FIRST_CALL_BOXES = 50_000  # enough for dltool to take its numba path (N·k >= 200,000)


# ---------------------------------------------------------------- data


def make_shapes(n=N_BOXES, seed=0):
    """COCO-like box shapes at 640 px: log-normal areas (median 40² px, sigma 1.5 in log) and
    log-normal aspect ratios w/h (median 1, sigma 0.6 in log); w and h clipped to [2, 640]."""
    rng = np.random.default_rng(seed)
    area = np.exp(rng.normal(np.log(40.0 ** 2), 1.5, n))
    aspect = np.exp(rng.normal(0.0, 0.6, n))
    wh = np.column_stack([np.sqrt(area * aspect), np.sqrt(area / aspect)])
    return np.ascontiguousarray(wh.clip(2.0, IMAGE_SIZE))


# ---------------------------------------------------------------- the numpy reference


def numpy_wh_iou(wh, centroids):
    """(N, k) IoU of box shapes and centroids sharing a centre, by broadcasting."""
    w, h = wh[:, 0:1], wh[:, 1:2]
    cw, ch = centroids[None, :, 0], centroids[None, :, 1]
    inter = np.minimum(w, cw) * np.minimum(h, ch)
    return inter / (w * h + cw * ch - inter)


def numpy_assign(wh, centroids):
    """Each box's best centroid (argmax: ties to the lower index) and that IoU."""
    iou = numpy_wh_iou(wh, centroids)
    labels = iou.argmax(axis=1)
    return labels, np.take_along_axis(iou, labels[:, None], axis=1)[:, 0]


def numpy_kmeans_pp(wh, k, rng):
    """k-means++ on d = 1 − IoU: the first centre uniform, each next one drawn with probability
    proportional to d² to the nearest centre so far. The draw is written out (cumulative sum,
    one uniform number, searchsorted) rather than ``rng.choice(n, p=...)`` so that it consumes the
    random stream as dltool's kmeans_pp does: same rng, same centres."""
    n = len(wh)
    centres = np.empty((k, 2))
    centres[0] = wh[rng.integers(n)]
    dmin = np.full(n, np.inf)
    for c in range(1, k):
        dmin = np.minimum(dmin, 1.0 - numpy_wh_iou(wh, centres[c - 1:c])[:, 0])
        weights = np.cumsum(dmin * dmin)
        pick = int(np.searchsorted(weights, rng.random() * weights[-1], side="right"))
        centres[c] = wh[min(pick, n - 1)]
    return centres


def numpy_lloyd(wh, centroids, update="median", max_iter=MAX_ITER, tol=TOL):
    """Textbook Lloyd k-means with d = 1 − IoU, same rules as dltool's lloyd.

    Assign every box to its highest-IoU centroid; move each centroid to its cluster's median (or
    mean) w and h, an empty cluster to the worst-served box (lowest best IoU); if that step lowers
    the average IoU, try 1/2, 1/4, 1/8 of it, and stop if none keeps it from falling; stop too when
    no label changes or the gain is below tol. Returns (anchors sorted by area, then width,
    average IoU, iterations)."""
    c = np.array(centroids, dtype=np.float64)
    k = len(c)
    labels, best = numpy_assign(wh, c)
    avg = best.mean()
    iterations = 0
    for _ in range(max_iter):
        target = np.empty_like(c)
        empty = []
        for j in range(k):
            members = wh[labels == j]
            if len(members) == 0:
                empty.append(j)
            elif update == "median":
                target[j] = np.median(members, axis=0)
            else:
                target[j] = members.mean(axis=0)
        if empty:
            worst = np.argsort(best, kind="stable")
            target[empty] = wh[worst[:len(empty)]]
        for fraction in BACKTRACK:
            proposal = c + fraction * (target - c)
            new_labels, new_best = numpy_assign(wh, proposal)
            new_avg = new_best.mean()
            if new_avg >= avg:
                break
        else:
            break  # no step keeps the average IoU from falling: a local optimum
        gain = new_avg - avg
        unchanged = np.array_equal(new_labels, labels)
        c, labels, best, avg = proposal, new_labels, new_best, new_avg
        iterations += 1
        if unchanged or gain < tol:
            break
    order = np.lexsort((c[:, 0], c[:, 0] * c[:, 1]))
    return c[order], float(avg), iterations


def numpy_full(wh, k, seed):
    """numpy k-means++ + numpy_lloyd (median), from the random stream kmeans_anchors uses for its
    first restart (``SeedSequence(seed).spawn(restarts + 1)[0]``)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0])
    return numpy_lloyd(wh, numpy_kmeans_pp(wh, k, rng), "median")


# ---------------------------------------------------------------- timing and report


def fmt_s(seconds):
    return "n/a" if seconds is None else f"{seconds:.3f}"


def fmt_anchors(anchors):
    return ", ".join(f"{w:.0f},{h:.0f}" for w, h in anchors)


def thread_info():
    """Threads scikit-learn's KMeans may use: threadpoolctl's view, else the environment."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        env = {v: os.environ.get(v, "unset") for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                      "MKL_NUM_THREADS")}
        return "threadpoolctl not installed; " + ", ".join(f"{k}={v}" for k, v in env.items())
    # KMeans runs its loops on OpenMP threads (scikit_learn.libs' libgomp); BLAS hardly matters here.
    pools = [f"{p.get('internal_api', '?')} in {Path(p.get('filepath', '?')).parent.name} "
             f"{p.get('num_threads', '?')}" for p in threadpool_info()]
    return ", ".join(dict.fromkeys(pools)) if pools else "no thread pools loaded"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{N_BOXES_QUICK:,} boxes and fewer repeats (noisier timings)")
    args = parser.parse_args(argv)
    n = N_BOXES_QUICK if args.quick else N_BOXES
    repeats = 2 if args.quick else 3  # dltool: best of these, after a warm-up run
    # numpy reference and scikit-learn: seconds per run, so fewer runs (the numpy ones without a
    # warm-up: at this size a warm-up changes nothing but the total time).
    slow_repeats = 1 if args.quick else 2

    print("dltool anchor k-means benchmark" + (" (--quick)" if args.quick else ""))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"scikit-learn {sklearn.__version__ if sklearn else 'not installed (pip install -e .[bench])'}, "
          f"CPUs: {os.cpu_count()} (usable by this process: {cpus})")
    print(f"timing: dltool best of {repeats} runs after one warm-up; numpy reference "
          f"{'best of ' if slow_repeats > 1 else ''}{slow_repeats} run{'s' if slow_repeats > 1 else ''}; "
          f"scikit-learn {'best of ' if slow_repeats > 1 else ''}{slow_repeats} after one warm-up; "
          "time.perf_counter")
    print()

    # ---------------------------------------------------------------- data
    wh = make_shapes(n)
    clipped = float(((wh == 2.0) | (wh == IMAGE_SIZE)).any(axis=1).mean())
    q = np.percentile(wh, [1, 50, 99], axis=0)
    print(f"data: {n:,} box shapes, default_rng(0), log-normal area (median 40^2 px, sigma 1.5) and "
          f"aspect (sigma 0.6), clipped to [2, {IMAGE_SIZE}]")
    print(f"  w percentiles 1/50/99: {q[0, 0]:.1f} / {q[1, 0]:.1f} / {q[2, 0]:.1f} px    "
          f"h: {q[0, 1]:.1f} / {q[1, 1]:.1f} / {q[2, 1]:.1f} px    clipped boxes: {clipped:.2%}")
    print()

    # ---------------------------------------------------------------- first call
    # Imports numba and loads every anchor kernel from numba's on-disk cache (or compiles it, on
    # the first run after install): a one-off cost per process, shown apart.
    t0 = time.perf_counter()
    kmeans_anchors(wh[:FIRST_CALL_BOXES], K, seed=SEED)
    first = time.perf_counter() - t0
    t_small, _ = best_time(lambda: kmeans_anchors(wh[:FIRST_CALL_BOXES], K, seed=SEED), 1, warmup=False)
    print("dltool first call (numba import + kernel load/compile, excluded from the table):")
    print(f"  kmeans_anchors on the first {FIRST_CALL_BOXES:,} boxes: {first * 1e3:.0f} ms, "
          f"of which the k-means itself about {t_small * 1e3:.0f} ms (the same call again)")

    from dltool.core.threads import thread_count

    print(f"threads: dltool {thread_count()} (assignment and seeding kernels; medians in numpy), "
          "numpy reference 1 (element-wise numpy is single-threaded)")
    print(f"  scikit-learn KMeans uses OpenMP; thread pools in this process (threadpoolctl): "
          f"{thread_info() if sklearn else 'n/a'}")
    print()

    failed = False
    checks = []

    def check(name, ok, detail):
        nonlocal failed
        failed |= not ok
        checks.append([name, "yes" if ok else "NO", detail])

    def same_anchors(a, b):
        return a.shape == b.shape and np.allclose(a, b, rtol=RTOL, atol=0)

    def max_rel(a, b):
        return float(np.max(np.abs(a - b) / np.abs(b))) if a.shape == b.shape else float("inf")

    # ---------------------------------------------------------------- same init: lloyd
    init = kmeans_pp(wh, K, np.random.default_rng(SEED))
    init_np = numpy_kmeans_pp(wh, K, np.random.default_rng(SEED))
    same_init = np.array_equal(init, init_np)
    check("k-means++ init (default_rng(0))", same_init,
          "identical" if same_init else f"dltool {fmt_anchors(init)} / numpy {fmt_anchors(init_np)}")

    rows = []
    results = {}
    for update in ("median", "mean"):
        t_dl, run = best_time(lambda: lloyd(wh, init, update), repeats)
        t_np, (anchors_np, avg_np, iters_np) = best_time(lambda: numpy_lloyd(wh, init, update),
                                                         slow_repeats, warmup=False)
        results[update] = run
        m_dl = anchor_metrics(wh, run.anchors)
        m_np = anchor_metrics(wh, anchors_np)
        rows.append(["dltool lloyd, same init", update, fmt_s(t_dl), run.iterations,
                     f"{run.avg_iou:.4f}", f"{m_dl.bpr:.4f}", fmt_ratio(t_dl, t_np), "-"])
        rows.append(["numpy 1-IoU lloyd, same init", update, fmt_s(t_np), iters_np,
                     f"{avg_np:.4f}", f"{m_np.bpr:.4f}", "1.000x", "-"])
        ok = same_anchors(run.anchors, anchors_np) and run.iterations == iters_np
        check(f"lloyd {update}, same init", ok,
              f"iterations {run.iterations} / {iters_np}, max rel. anchor diff "
              f"{max_rel(run.anchors, anchors_np):.1e} (rtol {RTOL:g}), "
              f"avg IoU diff {abs(run.avg_iou - avg_np):.1e}")

    # ---------------------------------------------------------------- full runs, seeding included
    t_full, result = best_time(lambda: kmeans_anchors(wh, K, seed=SEED, restarts=1), repeats)
    t_np_full, (anchors_np_full, avg_np_full, iters_np_full) = best_time(
        lambda: numpy_full(wh, K, SEED), slow_repeats, warmup=False)
    m_full = anchor_metrics(wh, result.anchors)
    m_np_full = anchor_metrics(wh, anchors_np_full)
    ratio = t_full / t_np_full
    rows.append(["dltool kmeans_anchors (k-means++ + lloyd)", "median", fmt_s(t_full),
                 result.runs[0].iterations, f"{result.avg_iou:.4f}", f"{m_full.bpr:.4f}",
                 fmt_ratio(t_full, t_np_full), f"<= {TARGET:g}x: {'PASS' if ratio <= TARGET else 'MISS'}"])
    rows.append(["numpy k-means++ + 1-IoU lloyd", "median", fmt_s(t_np_full), iters_np_full,
                 f"{avg_np_full:.4f}", f"{m_np_full.bpr:.4f}", "1.000x", "-"])
    ok = same_anchors(result.anchors, anchors_np_full) and result.runs[0].iterations == iters_np_full
    check("kmeans_anchors vs numpy full run", ok,
          f"iterations {result.runs[0].iterations} / {iters_np_full}, max rel. anchor diff "
          f"{max_rel(result.anchors, anchors_np_full):.1e} (rtol {RTOL:g})")

    # ---------------------------------------------------------------- scikit-learn, Euclidean
    sk_anchors = None
    if KMeans is not None:
        def sk_fit():
            return KMeans(n_clusters=K, n_init=1, random_state=SEED).fit(wh)

        t_sk, km = best_time(sk_fit, slow_repeats)
        c = km.cluster_centers_
        sk_anchors = c[np.lexsort((c[:, 0], c[:, 0] * c[:, 1]))]
        m_sk = anchor_metrics(wh, sk_anchors)
        rows.append(["scikit-learn KMeans on (w, h), Euclidean", "mean, L2", fmt_s(t_sk), km.n_iter_,
                     f"{m_sk.avg_iou:.4f}", f"{m_sk.bpr:.4f}", fmt_ratio(t_sk, t_np_full), "-"])
    else:
        rows.append(["scikit-learn KMeans on (w, h), Euclidean", "mean, L2", "n/a", "-", "n/a", "n/a",
                     "n/a", "-"])

    yolo = parse_anchors("yolov5")
    m_yolo = anchor_metrics(wh, yolo)
    rows.append(["YOLOv5 default anchors (no fitting)", "-", "-", "-", f"{m_yolo.avg_iou:.4f}",
                 f"{m_yolo.bpr:.4f}", "-", "-"])

    print(f"k-means, {n:,} boxes, k = {K}, one restart (ratio = time / the numpy reference's time "
          "for the same task; below 1x is faster)")
    print_table(["method", "update", "time s", "iterations", "avg IoU", "BPR", "vs numpy", "target"], rows)
    print("(the same-init rows start from kmeans_pp(wh, 9, default_rng(0)); the kmeans_anchors rows "
          "seed from SeedSequence(0)'s first spawned stream; scikit-learn's ratio is against the "
          "numpy k-means++ + lloyd row)")
    print()

    print("anchors (w,h in px, sorted by area):")
    print(f"  dltool kmeans_anchors: {fmt_anchors(result.anchors)}")
    if sk_anchors is not None:
        print(f"  scikit-learn KMeans:   {fmt_anchors(sk_anchors)}")
    print(f"  YOLOv5 default:        {fmt_anchors(yolo)}")
    print()

    print(f"dltool vs the numpy reference (anchors must agree to rtol {RTOL:g}, iterations exactly):")
    print_table(["check", "agree", "detail"], checks, left=(0, 2))
    print()

    if failed:
        print("RESULT: FAILED: dltool and the numpy reference disagree (see above).")
        return 1
    print("RESULT: dltool and the numpy reference agree (the target is informational).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
