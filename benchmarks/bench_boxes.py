"""Benchmark dltool's NMS and IoU against OpenCV and plain numpy, in one process.

Run from the repository root (after ``pip install -e .[bench]``, or without installing: the script
puts the repository root on ``sys.path`` itself)::

    python benchmarks/bench_boxes.py            # about half a minute on 2 cores
    python benchmarks/bench_boxes.py --quick    # fewer repeats

What it measures
----------------
NMS on 10,000 boxes, IoU threshold 0.5, four cases:

- spread out: centres uniform in 1000x1000, sides 10-100 (about 64% of the boxes are kept);
- clustered: 100 objects x 100 jittered copies (200 kept);
- the same two sets with 80 classes (per-class NMS: boxes of different classes never
  suppress each other).

Each case runs ``dltool.core.nms.nms``, ``cv2.dnn.NMSBoxes`` (``NMSBoxesBatched`` for classes)
and the textbook numpy greedy loop written below. The data are generated exactly as described in
the shared torchvision reference (``shared/reference/nms/README.md``); where the stored reference
arrays are found they are compared with the generated ones, and dltool's keep is compared with
torchvision's stored keep.

IoU: ``dltool.core.iou.box_iou(a, a)`` on 4000 boxes (a 4000x4000 matrix) against the
straightforward numpy broadcasting formula.

Reading the output
------------------
Times are the best of several runs after one warm-up run, in milliseconds. A ratio is
``dltool time / other time``: 0.2x means dltool takes a fifth of the other's time, below 1x
dltool is faster. The targets (0.2x cv2 on the spread-out set, 1x cv2 on the clustered set, 0.25x
numpy for IoU) are reported as PASS/MISS, not asserted: timings depend on the machine.
dltool's very first call imports numba and loads its cached kernels (compiling them on the very
first run after install); that cost is shown separately and is not in the table.

Exit status: 0, or 1 if the kept sets of the three NMS implementations differ or dltool's IoU
differs from numpy's by 1e-12 or more (correctness, not speed).
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from _common import fmt_ratio  # noqa: E402

import numpy as np  # noqa: E402

from dltool.core.iou import box_iou  # noqa: E402
from dltool.core.nms import nms  # noqa: E402

try:
    import cv2
except ImportError:  # the [bench] extra is not installed: still run the dltool vs numpy part
    cv2 = None

N_BOXES = 10_000
N_CLASSES = 80
IOU_THRESHOLD = 0.5
N_IOU_BOXES = 4000

# Where the torchvision reference arrays may be: copied into the tests, or the shared folder
# next to the checkout.
REFERENCE_DIRS = [REPO_ROOT / "tests" / "data" / "nms", REPO_ROOT.parent / "shared" / "reference" / "nms"]


# ---------------------------------------------------------------- data


def _xyxy(centres, sizes):
    # float32, like the stored reference (and like a detector's output).
    return np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1).astype(np.float32)


def make_spread_out(n=N_BOXES):
    """Centres uniform in 1000x1000, widths and heights uniform in 10-100, scores uniform."""
    rng = np.random.default_rng(0)
    centres = rng.uniform(0, 1000, (n, 2))
    sizes = rng.uniform(10, 100, (n, 2))
    scores = rng.uniform(0, 1, n).astype(np.float32)
    return _xyxy(centres, sizes), scores


def make_clustered(n=N_BOXES, objects=100):
    """``objects`` boxes (centres in 100-900, sides 20-150), each copied n / objects times with
    the centre jittered by N(0, 5 px) and each side scaled by U(0.85, 1.15); scores uniform."""
    rng = np.random.default_rng(0)
    centres = np.repeat(rng.uniform(100, 900, (objects, 2)), n // objects, axis=0)
    sizes = np.repeat(rng.uniform(20, 150, (objects, 2)), n // objects, axis=0)
    jitter = rng.normal(0, 5, (n, 2))
    scale = rng.uniform(0.85, 1.15, (n, 2))
    scores = rng.uniform(0, 1, n).astype(np.float32)
    return _xyxy(centres + jitter, sizes * scale), scores


def make_labels(n=N_BOXES):
    return np.random.default_rng(1).integers(0, N_CLASSES, n)


def find_reference(name):
    """Stored ``{name}_boxes_xyxy.npy`` etc. as a dict, or None if no reference folder has them."""
    for folder in REFERENCE_DIRS:
        if (folder / f"{name}_boxes_xyxy.npy").exists():
            ref = {"folder": folder}
            for part in ("boxes_xyxy", "scores", "torchvision_keep"):
                path = folder / f"{name}_{part}.npy"
                ref[part] = np.load(path) if path.exists() else None
            return ref
    return None


def load_set(name, generator):
    """Generated boxes and scores; the stored reference arrays instead if they differ from them."""
    boxes, scores = generator()
    ref = find_reference(name)
    if ref is None:
        return boxes, scores, None, "generated (no stored reference found to compare)"
    same = np.array_equal(boxes, ref["boxes_xyxy"]) and np.array_equal(scores, ref["scores"])
    where = os.path.relpath(ref["folder"], Path.cwd())
    if same:
        return boxes, scores, ref["torchvision_keep"], f"generated, bit-identical to {where}"
    # Our generator drifted from the one that made the reference: benchmark the reference data
    # so that the torchvision comparison still means something.
    return (ref["boxes_xyxy"], ref["scores"], ref["torchvision_keep"],
            f"loaded from {where} (the generator does NOT reproduce it)")


# ---------------------------------------------------------------- the baselines


def numpy_greedy_nms(boxes, scores, threshold):
    """The classic greedy loop (Fast R-CNN's py_cpu_nms), float64, no +1 in the areas.

    Sort by descending score (stable: equal scores keep the lower index first), keep the top box,
    drop every remaining box whose IoU with it is > threshold, repeat on what is left.
    """
    b = np.asarray(boxes, dtype=np.float64)
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        iw = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        ih = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = iw * ih
        # (Zero-area boxes would give 0/0 = NaN here; the benchmark sets have none.)
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[iou <= threshold]
    return np.array(keep, dtype=np.int64)


def numpy_greedy_nms_per_class(boxes, scores, labels, threshold):
    """Per-class NMS by torchvision's batched_nms offset trick: move each class to its own region.

    torchvision offsets by ``label * (max_coord + 1)``, which only separates the classes when no
    coordinate is negative; the spread-out set has some (boxes hang over the 0 edge), so the
    offset here is ``label * (extent + 1)`` with extent = max - min, rounded up to an integer so
    that the shifted float64 coordinates stay exact (the IoUs match the unshifted ones bit for bit).
    """
    b = np.asarray(boxes, dtype=np.float64)
    span = np.ceil(b.max() - b.min()) + 1.0
    shifted = b + (labels.astype(np.float64) * span)[:, None]
    return numpy_greedy_nms(shifted, scores, threshold)


def numpy_box_iou(a, b):
    """Pairwise IoU by plain broadcasting (torchvision's box_iou formula)."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    iw = (np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])).clip(0)
    ih = (np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])).clip(0)
    inter = iw * ih
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def cv2_inputs(boxes, scores, labels=None):
    """cv2.dnn wants Python lists of [x, y, w, h] and of scores: built once, outside the timing."""
    b = np.asarray(boxes, dtype=np.float64)
    xywh = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)
    out = {"bboxes": xywh.tolist(), "scores": np.asarray(scores, dtype=np.float64).tolist()}
    if labels is not None:
        out["class_ids"] = labels.tolist()
    return out


def cv2_nms(bboxes, scores, class_ids=None):
    """Kept indices from cv2.dnn, in descending score order.

    score_threshold=0.0 is the lowest cv2 accepts, and cv2 keeps only scores > it, so a box with a
    score of exactly 0 would be dropped before NMS (the script counts such boxes).
    """
    if class_ids is None:
        return cv2.dnn.NMSBoxes(bboxes, scores, 0.0, IOU_THRESHOLD)
    if hasattr(cv2.dnn, "NMSBoxesBatched"):  # OpenCV >= 4.7
        return cv2.dnn.NMSBoxesBatched(bboxes, scores, class_ids, 0.0, IOU_THRESHOLD)
    return cv2_nms_class_loop(bboxes, scores, class_ids)


def cv2_nms_class_loop(bboxes, scores, class_ids):
    """Older OpenCV: one NMSBoxes call per class, merged into one descending-score list."""
    labels = np.asarray(class_ids)
    s = np.asarray(scores)
    kept = []
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        k = cv2.dnn.NMSBoxes([bboxes[r] for r in rows], [scores[r] for r in rows], 0.0, IOU_THRESHOLD)
        kept.append(rows[np.asarray(k, dtype=np.int64).reshape(-1)])
    kept = np.concatenate(kept)
    return kept[np.lexsort((kept, -s[kept]))]


# ---------------------------------------------------------------- timing and report


def best_time(fn, repeats):
    """Best wall time of ``repeats`` calls after one warm-up call; and the last result."""
    result = fn()  # warm-up: caches, page faults, lazy imports
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def as_keep(indices):
    return np.asarray(indices, dtype=np.int64).reshape(-1)


def fmt_ms(seconds):
    return "n/a" if seconds is None else f"{seconds * 1e3:.2f}"


def target_cell(ratio, limit, against):
    if limit is None:
        return "-"
    if ratio is None:
        return f"<= {limit:g}x {against}: n/a"
    return f"<= {limit:g}x {against}: {'PASS' if ratio <= limit else 'MISS'}"


def print_table(header, rows):
    widths = [max(len(str(r[k])) for r in [header] + rows) for k in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" if k == 0 else f"{{:>{w}}}" for k, w in enumerate(widths))
    print(line.format(*header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line.format(*r))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (noisier timings)")
    args = parser.parse_args(argv)
    repeats = 2 if args.quick else 5
    # The numpy NMS loop takes a few hundred ms per run: fewer repeats keep the run short.
    slow_repeats = 1 if args.quick else 3

    print("dltool box benchmark" + (" (--quick)" if args.quick else ""))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"opencv {cv2.__version__ if cv2 else 'not installed (pip install -e .[bench])'}, "
          f"CPUs: {os.cpu_count()} (usable by this process: {cpus})")
    print(f"timing: best of {repeats} runs after one warm-up "
          f"(numpy NMS loop: best of {slow_repeats}), time.perf_counter")
    print()

    # ---------------------------------------------------------------- data
    spread_boxes, spread_scores, spread_tv, spread_src = load_set("uniform", make_spread_out)
    clust_boxes, clust_scores, clust_tv, clust_src = load_set("clustered", make_clustered)
    labels = make_labels()
    print(f"spread-out set: {spread_src}")
    print(f"clustered set:  {clust_src}")
    print(f"classes: default_rng(1).integers(0, {N_CLASSES}, {N_BOXES})")
    zero_scores = int((spread_scores == 0).sum() + (clust_scores == 0).sum())
    print(f"boxes with score exactly 0 (cv2's score_threshold=0.0 would drop them): {zero_scores}")
    print()

    # ---------------------------------------------------------------- first calls
    # The first large call imports numba and loads each kernel from numba's on-disk cache (or
    # compiles it, on the first run after install): a one-off cost per process, shown apart.
    t0 = time.perf_counter()
    nms(spread_boxes, spread_scores, IOU_THRESHOLD)
    first_nms = time.perf_counter() - t0
    iou_rng = np.random.default_rng(2)
    centres = iou_rng.uniform(0, 1000, (N_IOU_BOXES, 2))
    sizes = iou_rng.uniform(10, 100, (N_IOU_BOXES, 2))
    iou_boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
    t0 = time.perf_counter()
    box_iou(iou_boxes, iou_boxes)
    first_iou = time.perf_counter() - t0
    print("dltool first calls (numba import + kernel load/compile, excluded from the table):")
    print(f"  nms on {N_BOXES} boxes: {first_nms * 1e3:.0f} ms    "
          f"box_iou {N_IOU_BOXES}x{N_IOU_BOXES}: {first_iou * 1e3:.0f} ms")

    from dltool.core.threads import thread_count

    print(f"threads: dltool {thread_count()} (box_iou shares rows among threads, nms is one thread), "
          f"cv2 {cv2.getNumThreads() if cv2 else 'n/a'} (NMSBoxes is one thread)")
    if cv2 is not None:
        print("cv2 inputs are converted to Python lists of [x, y, w, h] once per case; "
              "that conversion is excluded from the cv2 times.")
    print()

    # ---------------------------------------------------------------- NMS
    cases = [
        # name, boxes, scores, labels, torchvision keep, target ratio vs cv2
        ("spread-out", spread_boxes, spread_scores, None, spread_tv, 0.2),
        ("clustered", clust_boxes, clust_scores, None, clust_tv, 1.0),
        (f"spread-out, {N_CLASSES} classes", spread_boxes, spread_scores, labels, None, None),
        (f"clustered, {N_CLASSES} classes", clust_boxes, clust_scores, labels, None, None),
    ]
    names = ["dltool", "numpy"] + (["cv2"] if cv2 is not None else [])
    time_rows, check_rows = [], []
    failed = False
    for name, boxes, scores, groups, tv_keep, target in cases:
        t_dl, keep_dl = best_time(lambda: nms(boxes, scores, IOU_THRESHOLD, groups=groups), repeats)
        keep_dl = as_keep(keep_dl)
        if groups is None:
            t_np, keep_np = best_time(lambda: numpy_greedy_nms(boxes, scores, IOU_THRESHOLD),
                                      slow_repeats)
        else:
            t_np, keep_np = best_time(
                lambda: numpy_greedy_nms_per_class(boxes, scores, groups, IOU_THRESHOLD), slow_repeats)
        results = {"dltool": keep_dl, "numpy": as_keep(keep_np)}
        t_cv = None
        if cv2 is not None:
            inputs = cv2_inputs(boxes, scores, groups)
            t_cv, keep_cv = best_time(lambda: cv2_nms(**inputs), repeats)
            results["cv2"] = as_keep(keep_cv)

        ratio_cv = None if t_cv is None else t_dl / t_cv
        time_rows.append([name, fmt_ms(t_dl), fmt_ms(t_cv), fmt_ms(t_np), fmt_ratio(t_dl, t_cv),
                          fmt_ratio(t_dl, t_np), target_cell(ratio_cv, target, "cv2")])

        same_set = all(set(k.tolist()) == set(keep_dl.tolist()) for k in results.values())
        same_order = all(np.array_equal(k, keep_dl) for k in results.values())
        failed |= not (same_set and same_order)
        counts = " / ".join(str(len(k)) for k in results.values())
        if tv_keep is None:
            tv = "-"
        else:
            tv = f"{'yes' if np.array_equal(keep_dl, tv_keep) else 'NO'} ({len(tv_keep)})"
        check_rows.append([name, counts, "yes" if same_set else "NO", "yes" if same_order else "NO", tv])

    print(f"NMS, {N_BOXES} boxes, IoU threshold {IOU_THRESHOLD} "
          "(ratio = dltool time / other time; below 1x dltool is faster)")
    print_table(["case", "dltool ms", "cv2 ms", "numpy ms", "dltool/cv2", "dltool/numpy", "target"],
                time_rows)
    print()
    print("kept sets (" + " / ".join(names) + "):")
    print_table(["case", "kept", "same set", "same order", "dltool == torchvision"], check_rows)
    print()

    # ---------------------------------------------------------------- IoU
    t_dl, iou_dl = best_time(lambda: box_iou(iou_boxes, iou_boxes), repeats)
    t_np, iou_np = best_time(lambda: numpy_box_iou(iou_boxes, iou_boxes), repeats)
    max_diff = float(np.abs(iou_dl - iou_np).max())
    iou_ok = max_diff < 1e-12
    failed |= not iou_ok
    print(f"IoU matrix, {N_IOU_BOXES}x{N_IOU_BOXES} (random xyxy boxes, float64)")
    print_table(["case", "dltool ms", "numpy ms", "dltool/numpy", "target", "max |diff|"],
                [[f"box_iou {N_IOU_BOXES}x{N_IOU_BOXES}", fmt_ms(t_dl), fmt_ms(t_np),
                  fmt_ratio(t_dl, t_np), target_cell(t_dl / t_np, 0.25, "numpy"),
                  f"{max_diff:.1e} ({'ok' if iou_ok else 'TOO LARGE'}, limit 1e-12)"]])
    print()

    if failed:
        print("RESULT: FAILED: the implementations disagree (see above).")
        return 1
    print("RESULT: all kept sets agree and the IoU matrices match (targets are informational).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
