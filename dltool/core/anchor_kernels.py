"""numba kernels for anchor k-means with distance 1 - IoU on (w, h), boxes sharing a centre.

The kernels only fill per-box arrays (labels, best IoU, distances) for a range of rows, so that
``dltool.core.threads.run_rows`` can share the rows among threads; every sum is left to numpy in
the caller. So results do not depend on the thread count: same seed, same output.
"""

import numpy as np

from dltool.core.jit import njit


@njit
def _wh_iou(w, h, aw, ah):
    # Same operation order as dltool.core.anchors.wh_iou (numpy): bit-identical values.
    inter = min(w, aw) * min(h, ah)
    return inter / (w * h + aw * ah - inter)


@njit(nogil=True)
def assign_rows(wh, anchors, labels, best, lo, hi):
    """labels[i], best[i] = the anchor of highest IoU with box i and that IoU, for lo <= i < hi."""
    for i in range(lo, hi):
        best_j = 0
        best_v = -1.0
        for j in range(anchors.shape[0]):
            v = _wh_iou(wh[i, 0], wh[i, 1], anchors[j, 0], anchors[j, 1])
            if v > best_v:  # strict: ties go to the lower anchor index, as np.argmax does
                best_v = v
                best_j = j
        labels[i] = best_j
        best[i] = best_v


@njit(nogil=True)
def min_distance_rows(wh, aw, ah, dmin, lo, hi):
    """dmin[i] = min(dmin[i], 1 - IoU(box i, (aw, ah))): the k-means++ seeding distance."""
    for i in range(lo, hi):
        d = 1.0 - _wh_iou(wh[i, 0], wh[i, 1], aw, ah)
        if d < dmin[i]:
            dmin[i] = d


@njit(nogil=True)
def group_by_label(wh, labels, fill, grouped):
    """Counting sort: the (w, h) of cluster j's boxes to ``grouped[:, fill[j]:...]``, in row order.

    ``fill`` holds each cluster's first column (it is advanced in place); ``grouped`` is (2, N), so
    each cluster's widths and heights are contiguous for numpy's median.
    """
    for i in range(wh.shape[0]):
        j = labels[i]
        grouped[0, fill[j]] = wh[i, 0]
        grouped[1, fill[j]] = wh[i, 1]
        fill[j] += 1


def warm() -> None:
    """Compile (or load) every kernel here for the argument types the wrapper passes
    (``dltool cache warm``)."""
    wh = np.ones((2, 2))
    assign_rows(wh, wh, np.empty(2, dtype=np.int64), np.empty(2), 0, 2)
    min_distance_rows(wh, 1.0, 1.0, np.ones(2), 0, 2)
    group_by_label(wh, np.zeros(2, dtype=np.int64), np.zeros(1, dtype=np.int64), np.empty((2, 2)))
