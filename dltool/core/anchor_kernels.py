"""numba kernels for anchor k-means with distance 1 - IoU on (w, h), boxes sharing a centre.

The kernels only fill per-box arrays (labels, best IoU, distances) in parallel; every sum is left
to numpy in the caller. So results do not depend on the thread count: same seed, same output.
"""

import numpy as np
from numba import prange

from dltool.core.jit import njit


@njit(inline="always")
def _wh_iou(w, h, aw, ah):
    # Same operation order as dltool.core.anchors.wh_iou (numpy): bit-identical values.
    inter = min(w, aw) * min(h, ah)
    return inter / (w * h + aw * ah - inter)


@njit(inline="always")
def _assign_one(wh, anchors, i, labels, best):
    best_j = 0
    best_v = -1.0
    for j in range(anchors.shape[0]):
        v = _wh_iou(wh[i, 0], wh[i, 1], anchors[j, 0], anchors[j, 1])
        if v > best_v:  # strict: ties go to the lower anchor index, as np.argmax does
            best_v = v
            best_j = j
    labels[i] = best_j
    best[i] = best_v


@njit
def assign_serial(wh, anchors, labels, best):
    for i in range(wh.shape[0]):
        _assign_one(wh, anchors, i, labels, best)


@njit(parallel=True)
def assign_parallel(wh, anchors, labels, best):
    for i in prange(wh.shape[0]):
        _assign_one(wh, anchors, i, labels, best)


@njit(parallel=True)
def min_distance_update(wh, aw, ah, dmin):
    """dmin[i] = min(dmin[i], 1 - IoU(box i, (aw, ah))): the k-means++ seeding distance."""
    for i in prange(wh.shape[0]):
        d = 1.0 - _wh_iou(wh[i, 0], wh[i, 1], aw, ah)
        if d < dmin[i]:
            dmin[i] = d


@njit(parallel=True)
def cluster_medians(wh, labels, k):
    """Per-cluster medians of w and of h (NaN for an empty cluster), via one counting sort."""
    n = wh.shape[0]
    counts = np.zeros(k + 1, dtype=np.int64)
    for i in range(n):
        counts[labels[i] + 1] += 1
    start = np.cumsum(counts)
    fill = start[:-1].copy()
    buf_w = np.empty(n)
    buf_h = np.empty(n)
    for i in range(n):
        j = labels[i]
        buf_w[fill[j]] = wh[i, 0]
        buf_h[fill[j]] = wh[i, 1]
        fill[j] += 1
    out = np.full((k, 2), np.nan)
    for j in prange(k):  # clusters are independent; np.median copies its slice, so no races
        lo = start[j]
        hi = start[j + 1]
        if hi > lo:
            out[j, 0] = np.median(buf_w[lo:hi])
            out[j, 1] = np.median(buf_h[lo:hi])
    return out
