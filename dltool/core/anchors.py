"""Anchor boxes by k-means on box shapes with the distance d = 1 − IoU (YOLOv2, the course's C4W3).

Boxes and anchors are compared as if they shared a centre, so only (w, h) matters:
IoU = min(w, w') min(h, h') / (w h + w' h' − min(w, w') min(h, h')).

Lloyd's iterations alternate an assignment step (each box to the anchor of highest IoU) and an
update step (each anchor towards the per-cluster mean or median of w and h). Assignment can only
raise the average IoU, but neither update is the exact maximiser of IoU: an update that would lower
it is shortened (backtracking), and the run stops where no step helps. So the average IoU never
decreases across iterations.
"""

from dataclasses import dataclass, field

import numpy as np

from dltool.core.names import ANCHOR_UPDATES, PRESET_ANCHORS
from dltool.core.arrays import median
from dltool.errors import InputError

# Below this many box-anchor pairs numpy beats importing numba and loading its cached kernels.
NUMBA_MIN_PAIRS = 200_000
# The smallest share of boxes worth a thread of its own.
THREAD_MIN_ROWS = 50_000
# Fractions of the update step tried in turn when a full step would lower the average IoU.
BACKTRACK = (1.0, 0.5, 0.25, 0.125)


def check_wh(wh, name: str = "boxes") -> np.ndarray:
    """Validate box shapes: (N, 2) finite, positive widths and heights; float64 C-contiguous."""
    a = np.asarray(wh)
    if a.ndim != 2 or a.shape[1] != 2:
        raise InputError(f"expected an array of shape (N, 2) of widths and heights, got shape {a.shape}", name)
    a = np.ascontiguousarray(a, dtype=np.float64)
    bad = ~(np.isfinite(a).all(axis=1) & (a > 0).all(axis=1))
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"row {i}: width and height must be positive finite numbers, got {a[i].tolist()}", name)
    return a


def parse_anchors(spec: str) -> np.ndarray:
    """Anchors from a preset name (``yolov5``) or a list ``"10,13, 16,30, ..."``; shape (k, 2)."""
    if spec in PRESET_ANCHORS:
        return np.array(PRESET_ANCHORS[spec], dtype=np.float64)
    try:
        values = [float(v) for v in spec.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or len(values) % 2:
        raise InputError(f"anchors {spec!r}: expected a preset ({', '.join(PRESET_ANCHORS)}) or an even "
                         "count of numbers 'w,h, w,h, ...'")
    return check_wh(np.array(values).reshape(-1, 2), "anchors")


def wh_iou(wh: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """IoU of every box shape with every anchor, centres aligned: shape (N, k)."""
    w, h = wh[:, 0:1], wh[:, 1:2]
    aw, ah = anchors[None, :, 0], anchors[None, :, 1]
    inter = np.minimum(w, aw) * np.minimum(h, ah)
    return inter / (w * h + aw * ah - inter)


def _use_numba(n: int, k: int) -> bool:
    return n * k >= NUMBA_MIN_PAIRS


def assign(wh: np.ndarray, anchors: np.ndarray):
    """Each box's best anchor (ties: the lower index) and its IoU: (labels (N,), best (N,))."""
    if _use_numba(len(wh), len(anchors)):
        from dltool.core import anchor_kernels
        from dltool.core.threads import run_rows

        labels = np.empty(len(wh), dtype=np.int64)
        best = np.empty(len(wh))
        anchors = np.ascontiguousarray(anchors, dtype=np.float64)
        run_rows(anchor_kernels.assign_rows, len(wh), wh, anchors, labels, best, min_rows=THREAD_MIN_ROWS)
        return labels, best
    iou = wh_iou(wh, anchors)
    labels = np.argmax(iou, axis=1)
    return labels, iou[np.arange(len(wh)), labels]


def _update(wh: np.ndarray, labels: np.ndarray, k: int, rule: str) -> np.ndarray:
    """New centroids, NaN rows for empty clusters."""
    if rule == "mean":
        counts = np.bincount(labels, minlength=k).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.column_stack([np.bincount(labels, wh[:, 0], k) / counts,
                                    np.bincount(labels, wh[:, 1], k) / counts])
    out = np.full((k, 2), np.nan)
    counts = np.bincount(labels, minlength=k)
    starts = np.concatenate(([0], np.cumsum(counts)))
    if _use_numba(len(wh), k):
        from dltool.core import anchor_kernels

        grouped = np.empty((2, len(wh)))
        anchor_kernels.group_by_label(wh, labels, starts[:-1].copy(), grouped)
    else:
        grouped = wh[np.argsort(labels, kind="stable")].T
    for j in np.flatnonzero(counts):
        lo, hi = starts[j], starts[j + 1]
        out[j] = median(grouped[0, lo:hi]), median(grouped[1, lo:hi])
    return out


def _reseed_empty(wh, centroids, best) -> np.ndarray:
    """Move each empty cluster to the box worst served by the current anchors (lowest IoU)."""
    empty = np.flatnonzero(np.isnan(centroids[:, 0]))
    if len(empty):
        worst = np.argsort(best, kind="stable")[: len(empty)]
        centroids[empty] = wh[worst]
    return centroids


def kmeans_pp(wh: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding on d = 1 − IoU: each next centre drawn with probability ∝ d² to the nearest."""
    n = len(wh)
    centres = np.empty((k, 2))
    centres[0] = wh[rng.integers(n)]
    dmin = np.full(n, np.inf)
    kernels = None
    if _use_numba(n, k):
        from dltool.core import anchor_kernels as kernels
        from dltool.core.threads import run_rows
    for c in range(1, k):
        if kernels is not None:
            run_rows(kernels.min_distance_rows, n, wh, centres[c - 1, 0], centres[c - 1, 1], dmin,
                     min_rows=THREAD_MIN_ROWS)
        else:
            np.minimum(dmin, 1.0 - wh_iou(wh, centres[c - 1:c])[:, 0], out=dmin)
        weights = np.cumsum(dmin * dmin)
        if weights[-1] <= 0:
            distinct = len(np.unique(wh, axis=0))
            raise InputError(f"{k} anchors need at least {k} distinct box shapes, found {distinct} - "
                             "lower -k/--clusters")
        centres[c] = wh[min(int(np.searchsorted(weights, rng.random() * weights[-1], side="right")), n - 1)]
    return centres


@dataclass
class KMeansRun:
    """One k-means run: anchors sorted by area, the average IoU after each iteration."""

    anchors: np.ndarray
    avg_iou: float
    iterations: int
    history: list = field(default_factory=list)
    converged: bool = False


def lloyd(wh: np.ndarray, centroids: np.ndarray, update: str = "median", max_iter: int = 300,
          tol: float = 1e-9) -> KMeansRun:
    """Lloyd iterations from given centroids; stops when assignments stop changing, when the gain
    in average IoU falls below ``tol``, or when no (shortened) update step keeps it from falling."""
    if update not in ANCHOR_UPDATES:
        raise InputError(f"unknown update {update!r}: expected one of {', '.join(ANCHOR_UPDATES)}")
    k = len(centroids)
    centroids = np.array(centroids, dtype=np.float64)
    labels, best = assign(wh, centroids)
    avg = float(best.mean())
    history = [avg]
    converged = False
    for _ in range(max_iter):
        target = _reseed_empty(wh, _update(wh, labels, k, update), best)
        # Neither update maximises IoU exactly, so a full step can lower the average IoU: then
        # step only part of the way (1/2, 1/4, 1/8); if even that loses, this is a local optimum.
        for fraction in BACKTRACK:
            proposal = centroids + fraction * (target - centroids)
            new_labels, new_best = assign(wh, proposal)
            new_avg = float(new_best.mean())
            if new_avg >= avg:
                break
        else:
            converged = True
            break
        gain = new_avg - avg
        unchanged = np.array_equal(new_labels, labels)
        centroids, labels, best, avg = proposal, new_labels, new_best, new_avg
        history.append(avg)
        if unchanged or gain < tol:
            converged = True
            break
    order = np.lexsort((centroids[:, 0], centroids[:, 0] * centroids[:, 1]))
    return KMeansRun(centroids[order], avg, len(history) - 1, history, converged)


def evolve(wh: np.ndarray, anchors: np.ndarray, generations: int, rng: np.random.Generator,
           progress=None) -> tuple:
    """YOLOv5-style evolution: multiply anchors by random factors, keep a mutation only if it raises
    the average IoU. Returns (anchors, avg_iou, accepted mutations)."""
    best_anchors = np.array(anchors, dtype=np.float64)
    best_fit = float(assign(wh, best_anchors)[1].mean())
    accepted = 0
    for g in range(generations):
        # YOLOv5: mutation probability 0.9, sigma 0.1, factors clipped to [0.3, 3]; redrawn until
        # something changes.
        v = np.ones(best_anchors.shape)
        while (v == 1).all():
            v = ((rng.random(v.shape) < 0.9) * rng.random() * rng.standard_normal(v.shape) * 0.1 + 1).clip(0.3, 3.0)
        trial = (best_anchors * v).clip(min=2.0)
        fit = float(assign(wh, trial)[1].mean())
        if fit > best_fit:
            best_anchors, best_fit, accepted = trial, fit, accepted + 1
        if progress is not None:
            progress(g + 1, best_fit)
    order = np.lexsort((best_anchors[:, 0], best_anchors[:, 0] * best_anchors[:, 1]))
    return best_anchors[order], best_fit, accepted


@dataclass
class AnchorResult:
    anchors: np.ndarray  # (k, 2), sorted by area
    avg_iou: float
    runs: list  # KMeansRun per restart, in order
    best_run: int
    evolved: int = 0  # accepted mutations


def kmeans_anchors(wh, k: int = 9, seed: int = 0, restarts: int = 1, update: str = "median",
                   max_iter: int = 300, tol: float = 1e-9, generations: int = 0,
                   progress=None) -> AnchorResult:
    """Anchor shapes for box shapes ``wh`` by k-means with d = 1 − IoU.

    Parameters
    ----------
    wh : array_like of shape (N, 2), positive widths and heights
    k : number of anchors
    seed : seeds k-means++ (one independent stream per restart) and the evolution
    restarts : runs from different seeds; the one of highest average IoU wins
    update : "median" or "mean"
    generations : optional YOLOv5-style evolution of the winner, accepting only improvements
    progress : optional callable(stage: str, step: int, total: int, avg_iou: float)

    Returns
    -------
    AnchorResult with anchors of shape (k, 2) sorted by area (w·h), then by width.
    """
    wh = check_wh(wh)
    if not 1 <= k <= len(wh):
        raise InputError(f"cannot make {k} anchors from {len(wh)} boxes: need 1 <= k <= number of boxes")
    if restarts < 1:
        raise InputError(f"restarts must be at least 1, got {restarts}")
    streams = np.random.SeedSequence(seed).spawn(restarts + 1)
    runs = []
    for r in range(restarts):
        rng = np.random.default_rng(streams[r])
        runs.append(lloyd(wh, kmeans_pp(wh, k, rng), update, max_iter, tol))
        if progress is not None:
            progress("k-means", r + 1, restarts, runs[-1].avg_iou)
    best = max(range(restarts), key=lambda r: (runs[r].avg_iou, -r))
    anchors, avg, accepted = runs[best].anchors, runs[best].avg_iou, 0
    if generations:
        def report(g, fit):
            if progress is not None:
                progress("evolve", g, generations, fit)

        anchors, avg, accepted = evolve(wh, anchors, generations, np.random.default_rng(streams[-1]), report)
    return AnchorResult(anchors, avg, runs, best, accepted)


@dataclass
class AnchorMetrics:
    avg_iou: float  # mean over boxes of the IoU with their best anchor
    bpr: float  # best possible recall: boxes whose best anchor passes the ratio test
    anchors_per_box: float  # anchors passing the ratio test, per box (YOLOv5's "anchors/target")
    counts: np.ndarray  # (k,) boxes whose best-IoU anchor is each anchor
    mean_iou: np.ndarray  # (k,) mean IoU of those boxes (NaN where none)


def anchor_metrics(wh, anchors, ratio_threshold: float = 4.0) -> AnchorMetrics:
    """Average IoU and YOLOv5's ratio-test metrics for ``anchors`` on box shapes ``wh``.

    YOLOv5 matches a box to an anchor when max(w/a_w, a_w/w, h/a_h, a_h/h) < ratio_threshold;
    best-possible recall is the fraction of boxes with at least one such anchor.
    """
    wh = check_wh(wh)
    anchors = check_wh(anchors, "anchors")
    if not (np.isfinite(ratio_threshold) and ratio_threshold > 1):
        raise InputError(f"the ratio threshold must be a number > 1, got {ratio_threshold}")
    labels, best = assign(wh, anchors)
    k = len(anchors)
    counts = np.bincount(labels, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_iou = np.bincount(labels, best, k) / counts
    passing = np.zeros(len(wh))
    above = np.zeros(len(wh), dtype=bool)
    for lo in range(0, len(wh), 1 << 18):  # chunks keep the (n, k, 2) ratios small
        r = wh[lo:lo + (1 << 18), None, :] / anchors[None, :, :]
        x = np.minimum(r, 1.0 / r).min(axis=2)
        passing[lo:lo + len(x)] = (x > 1.0 / ratio_threshold).sum(axis=1)
        above[lo:lo + len(x)] = x.max(axis=1) > 1.0 / ratio_threshold
    return AnchorMetrics(float(best.mean()), float(above.mean()), float(passing.mean()), counts, mean_iou)
