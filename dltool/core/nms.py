"""Non-maximum suppression with torchvision's semantics, and Soft-NMS.

Greedy NMS: take boxes in descending score order (equal scores: the earlier row first); keep a
box unless its IoU with an already kept box is strictly greater than ``iou_threshold``. Areas
have no +1. Grouped NMS (``groups``: per class, per image) never lets boxes of different groups
suppress each other; the result is still one list in descending score order.
"""

import numpy as np

from dltool.core.boxes import check_boxes, check_scores
from dltool.core.names import NMS_METHODS as METHODS
from dltool.errors import InputError

# Importing numba and loading the cached kernels costs 0.3-0.5 s per process (about 1 s before
# dltool.core.jit kept scipy out of it; this threshold was measured then and still passes every
# whole-process target). The numpy loop costs about 8 ns per pair of boxes it compares and 20 us
# per box it keeps (measured, 2-core machine): numba is used only when that estimate (in 8 ns
# units, every box assumed kept) passes ~0.8 s; the estimate assumes the worst, so the loop's real
# time is usually well below it.
NUMBA_MIN_WORK = 100_000_000
NUMPY_COST_PER_BOX = 2500


def _numpy_work(segments: np.ndarray) -> float:
    """The numpy loop's cost at worst, in pair comparisons: every pair of a segment once, plus the
    Python overhead of each box."""
    sizes = np.diff(segments).astype(np.float64)
    return float(sizes @ sizes) / 2 + NUMPY_COST_PER_BOX * float(sizes.sum())

# Segments of at least this many boxes go through a grid; smaller ones are scanned.
GRID_MIN_BOXES = 65

#: Soft-NMS drops boxes whose score decays to <= this, as in Bodla et al.'s reference code.
SOFT_NMS_MIN_SCORE = 0.001


def _sorted_segments(scores: np.ndarray, groups: np.ndarray | None):
    """Order rows by group, then descending score, then row; and the group boundaries."""
    n = scores.shape[0]
    if groups is None:
        order = np.argsort(-scores, kind="stable")
        return order, np.array([0, n], dtype=np.int64)
    order = np.lexsort((np.arange(n), -scores, groups))
    g = groups[order]
    cuts = np.flatnonzero(g[1:] != g[:-1]) + 1
    return order, np.concatenate(([0], cuts, [n])).astype(np.int64)


def _check_groups(groups, n: int):
    if groups is None:
        return None
    g = np.asarray(groups)
    if g.shape == (0,) and n == 0:
        return g.astype(np.int64)  # np.asarray([]) is float64: an empty list is fine
    if g.shape != (n,) or not np.issubdtype(g.dtype, np.integer):
        raise InputError(f"groups must be {n} integers (one per box), got {g.dtype} {g.shape}")
    return g.astype(np.int64)


def _score_order(keep_rows: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Kept rows in descending score order, equal scores by row: torchvision's output order."""
    return keep_rows[np.lexsort((keep_rows, -scores[keep_rows]))]


def _iou_one_to_many(boxes, areas, i, rest):
    """IoU of box i with boxes[rest], same operation order as ``box_kernels._iou`` (bit-identical)."""
    iw = np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0])
    ih = np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1])
    overlap = (iw > 0) & (ih > 0)
    inter = np.where(overlap, iw * ih, 0.0)
    union = areas[i] + areas[rest] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(overlap & (union > 0), inter / union, 0.0)


def _numpy_nms(boxes, segments, threshold):
    """O(n) Python iterations of O(n) numpy work: fastest for small inputs (no numba import)."""
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = np.zeros(len(boxes), dtype=bool)
    for lo, hi in zip(segments[:-1], segments[1:]):
        alive = np.ones(hi - lo, dtype=bool)
        for k in range(hi - lo):
            if not alive[k]:
                continue
            i = lo + k
            keep[i] = True
            iou = _iou_one_to_many(boxes, areas, i, slice(i + 1, hi))
            alive[k + 1:] &= ~(iou > threshold)
    return keep


def nms(boxes, scores, iou_threshold: float = 0.5, groups=None) -> np.ndarray:
    """Greedy non-maximum suppression (``torchvision.ops.nms`` / ``batched_nms`` semantics).

    Parameters
    ----------
    boxes : array_like of shape (N, 4), xyxy
    scores : array_like of shape (N,)
    iou_threshold : float
        A box is suppressed by a kept box when their IoU is strictly greater than this.
    groups : array_like of shape (N,), int, optional
        Boxes of different groups (classes, images) never suppress each other.

    Returns
    -------
    keep : ndarray of shape (K,), int64
        Indices of the kept boxes in descending score order, equal scores by index.
    """
    b = check_boxes(boxes)
    s = check_scores(scores, len(b))
    g = _check_groups(groups, len(b))
    t = float(iou_threshold)
    if not np.isfinite(t):
        raise InputError(f"the IoU threshold must be a finite number, got {iou_threshold}")
    order, segments = _sorted_segments(s, g)
    sorted_boxes = np.ascontiguousarray(b[order])
    if t < 0:
        # Every pair has IoU >= 0 > t: only the best box of each group survives.
        keep_sorted = np.zeros(len(b), dtype=bool)
        keep_sorted[segments[:-1][segments[:-1] < len(b)]] = True
    elif _numpy_work(segments) < NUMBA_MIN_WORK:
        keep_sorted = _numpy_nms(sorted_boxes, segments, t)
    else:
        from dltool.core import box_kernels
        from dltool.core.grid import segment_grids

        keep_sorted = np.zeros(len(b), dtype=bool)
        grids = segment_grids(sorted_boxes, segments, GRID_MIN_BOXES)
        box_kernels.nms_segments(sorted_boxes, segments, grids, t, keep_sorted)
    if g is None:  # one segment, already in descending score order, equal scores by row
        return order[keep_sorted]
    return _score_order(order[keep_sorted], s)


def batched_nms(boxes, scores, idxs, iou_threshold: float = 0.5) -> np.ndarray:
    """``torchvision.ops.batched_nms``: NMS independently per value of ``idxs``."""
    return nms(boxes, scores, iou_threshold, groups=idxs)


def _numpy_soft_nms(boxes, scores, order_key, segments, threshold, sigma, gaussian, min_score):
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    s = scores.copy()
    rank = np.full(len(s), -1, dtype=np.int64)
    step = 0
    for lo, hi in zip(segments[:-1], segments[1:]):
        alive = s[lo:hi] > min_score
        while alive.any():
            cand = np.flatnonzero(alive)
            best_s = s[lo + cand].max()
            tied = cand[s[lo + cand] == best_s]
            k = tied[np.argmin(order_key[lo + tied])]
            i = lo + k
            alive[k] = False
            rank[i] = step
            step += 1
            rest = lo + np.flatnonzero(alive)
            iou = _iou_one_to_many(boxes, areas, i, rest)
            if gaussian:
                s[rest] *= np.exp(-(iou * iou) / sigma)
            else:
                s[rest] = np.where(iou > threshold, s[rest] * (1.0 - iou), s[rest])
            alive[rest - lo] = s[rest] > min_score
    return rank, s


def soft_nms(boxes, scores, iou_threshold: float = 0.3, sigma: float = 0.5, method: str = "linear",
             min_score: float = SOFT_NMS_MIN_SCORE, groups=None):
    """Soft-NMS (Bodla, Singh, Chellappa, Davis 2017): decay overlapping scores instead of dropping.

    ``linear``: s_j <- s_j (1 - IoU) when IoU > iou_threshold. ``gaussian``: s_j <- s_j exp(-IoU² / sigma)
    for every overlap. The highest current score is taken next (ties: the lower index); boxes whose
    score decays to <= ``min_score`` are dropped.

    Returns
    -------
    keep : ndarray of shape (K,), int64, in selection order (descending decayed score)
    new_scores : ndarray of shape (K,), float64, the decayed scores of the kept boxes
    """
    if method not in ("linear", "gaussian"):
        raise InputError(f"unknown Soft-NMS method {method!r}: expected linear or gaussian")
    b = check_boxes(boxes)
    s = check_scores(scores, len(b))
    g = _check_groups(groups, len(b))
    if not (np.isfinite(sigma) and sigma > 0):
        raise InputError(f"sigma must be a positive number, got {sigma}")
    order, segments = _sorted_segments(s, g)
    args = (np.ascontiguousarray(b[order]), np.ascontiguousarray(s[order]), order.astype(np.int64),
            segments, float(iou_threshold), float(sigma), method == "gaussian", float(min_score))
    if _numpy_work(segments) < NUMBA_MIN_WORK:
        rank, decayed = _numpy_soft_nms(*args)
    else:
        from dltool.core import box_kernels

        rank, decayed = box_kernels.soft_nms_segments(*args)
    picked = np.flatnonzero(rank >= 0)
    rows = order[picked]
    new_scores = np.empty(len(b))
    new_scores[rows] = decayed[picked]
    keep = _score_order(rows, new_scores)
    return keep, new_scores[keep]


def select_detections(boxes, scores, groups=None, images=None, iou_threshold: float = 0.5,
                      score_threshold: float | None = None, max_detections: int | None = None,
                      method: str = "hard", sigma: float = 0.5):
    """The whole ``dltool nms`` pipeline: score filter, (soft) NMS per group, top-N per image.

    Parameters
    ----------
    boxes : array_like of shape (N, 4), xyxy
    scores : array_like of shape (N,)
    groups : array_like of shape (N,), int, optional
        NMS runs independently per group (e.g. a code per (image, class) pair).
    images : array_like of shape (N,), int, optional
        ``max_detections`` applies per image.
    score_threshold : float, optional
        Boxes with score <= this are dropped first (for Soft-NMS: also the decay cut-off, default
        ``SOFT_NMS_MIN_SCORE``).

    Returns
    -------
    keep : ndarray of shape (K,), int64, descending (decayed) score order
    kept_scores : ndarray of shape (K,), float64
    """
    if method not in METHODS:
        raise InputError(f"unknown NMS method {method!r}: expected one of {', '.join(METHODS)}")
    b = check_boxes(boxes)
    s = check_scores(scores, len(b))
    if score_threshold is not None and not np.isfinite(score_threshold):
        raise InputError(f"the score threshold must be a finite number, got {score_threshold}")
    if max_detections is not None and max_detections < 1:
        raise InputError(f"max detections must be at least 1, got {max_detections}")
    rows = np.arange(len(b))
    if score_threshold is not None:
        rows = rows[s > score_threshold]
    sub_groups = None if groups is None else np.asarray(groups)[rows]
    if method == "hard":
        kept = rows[nms(b[rows], s[rows], iou_threshold, sub_groups)]
        kept_scores = s[kept]
    else:
        min_score = SOFT_NMS_MIN_SCORE if score_threshold is None else score_threshold
        k, kept_scores = soft_nms(b[rows], s[rows], iou_threshold, sigma, method, min_score, sub_groups)
        kept = rows[k]
    if max_detections is not None:
        img = np.zeros(len(kept), dtype=np.int64) if images is None else np.asarray(images)[kept]
        # Rank of each kept row within its image, in the (already descending) score order.
        by_image = np.lexsort((np.arange(len(kept)), img))
        first = np.r_[True, img[by_image][1:] != img[by_image][:-1]]
        starts = np.maximum.accumulate(np.where(first, np.arange(len(kept)), 0))
        rank = np.empty(len(kept), dtype=np.int64)
        rank[by_image] = np.arange(len(kept)) - starts
        mask = rank < max_detections
        kept, kept_scores = kept[mask], kept_scores[mask]
    return kept, kept_scores
