"""numba kernels for IoU and NMS. Imported only by ``dltool.core.iou`` / ``dltool.core.nms`` on
inputs large enough to pay for numba (importing it costs more than a small job's whole run).

All kernels take C-contiguous float64 ``xyxy`` boxes that the public wrappers have validated.
The pair metric is written once (:func:`_pair_metric`) and used by every kernel, with the same
floating-point operation order as the numpy paths, so both give bit-identical IoU values.
"""

import math

import numpy as np
from numba import prange

from dltool.core.jit import njit

IOU, GIOU, DIOU, CIOU = 0, 1, 2, 3  # metric codes; dltool.core.iou.METRICS maps names to them


@njit(inline="always")
def _pair_metric(ax1, ay1, ax2, ay2, bx1, by1, bx2, by2, metric):
    area_a = (ax2 - ax1) * (ay2 - ay1)
    area_b = (bx2 - bx1) * (by2 - by1)
    iw = min(ax2, bx2) - max(ax1, bx1)
    ih = min(ay2, by2) - max(ay1, by1)
    inter = 0.0
    if iw > 0.0 and ih > 0.0:
        inter = iw * ih
    union = area_a + area_b - inter
    # A zero-area box has IoU 0 with everything, itself included: never 0/0.
    iou = inter / union if union > 0.0 else 0.0
    if metric == IOU:
        return iou
    if metric == GIOU:
        area_c = (max(ax2, bx2) - min(ax1, bx1)) * (max(ay2, by2) - min(ay1, by1))
        return iou - (area_c - union) / area_c if area_c > 0.0 else iou
    # DIoU / CIoU: centre distance over the enclosing box's diagonal, both squared.
    cw = max(ax2, bx2) - min(ax1, bx1)
    ch = max(ay2, by2) - min(ay1, by1)
    diag2 = cw * cw + ch * ch
    # Centres first, then their difference (torchvision's order): exactly symmetric, and exactly
    # 0 for identical boxes, however small the box is next to its coordinates.
    dx = (ax1 + ax2) / 2.0 - (bx1 + bx2) / 2.0
    dy = (ay1 + ay2) / 2.0 - (by1 + by2) / 2.0
    diou = iou - (dx * dx + dy * dy) / diag2 if diag2 > 0.0 else iou
    if metric == DIOU:
        return diou
    # atan2(w, h) is atan(w / h) for w, h >= 0, and stays finite when h == 0.
    d = math.atan2(bx2 - bx1, by2 - by1) - math.atan2(ax2 - ax1, ay2 - ay1)
    v = (4.0 / (math.pi * math.pi)) * d * d
    denom = 1.0 - iou + v
    alpha = v / denom if denom > 0.0 else 0.0
    return diou - alpha * v


@njit(inline="always")
def _iou_row(a, b, i, metric, out):
    for j in range(b.shape[0]):
        out[i, j] = _pair_metric(a[i, 0], a[i, 1], a[i, 2], a[i, 3],
                                 b[j, 0], b[j, 1], b[j, 2], b[j, 3], metric)


@njit(parallel=True)
def iou_matrix_parallel(a, b, metric, out):
    for i in prange(a.shape[0]):
        _iou_row(a, b, i, metric, out)


@njit
def iou_paired(a, b, metric, out):
    for i in range(a.shape[0]):
        out[i] = _pair_metric(a[i, 0], a[i, 1], a[i, 2], a[i, 3],
                              b[i, 0], b[i, 1], b[i, 2], b[i, 3], metric)


# ---------------------------------------------------------------- uniform grid
# Two boxes that overlap with positive area share at least one grid cell, so a search for
# overlapping pairs only has to look at the boxes registered in the cells a box covers.


@njit
def _grid_geometry(boxes, max_cells):
    """Origin, cell size and shape of a grid over ``boxes``, cells about the median box side."""
    n = boxes.shape[0]
    x0 = boxes[:, 0].min()
    y0 = boxes[:, 1].min()
    width = boxes[:, 2].max() - x0
    height = boxes[:, 3].max() - y0
    sides = np.empty(n)
    for i in range(n):
        sides[i] = max(boxes[i, 2] - boxes[i, 0], boxes[i, 3] - boxes[i, 1])
    cell = np.median(sides)
    # Never more than max_cells cells: tiny boxes over a large extent would need a huge grid.
    floor_cell = math.sqrt(width * height / max_cells) if width * height > 0.0 else 0.0
    cell = max(cell, floor_cell, max(width, height) / 4096.0, 1e-12)
    gx = min(int(width / cell) + 1, 4096)
    gy = min(int(height / cell) + 1, 4096)
    return x0, y0, cell, gx, gy


@njit(inline="always")
def _cell_index(v, v0, cell, g):
    k = int((v - v0) / cell)
    if k < 0:
        return 0
    if k >= g:
        return g - 1
    return k


@njit(inline="always")
def _cell_range(boxes, i, x0, y0, cell, gx, gy):
    """First and last cell column and row covered by box i."""
    return (_cell_index(boxes[i, 0], x0, cell, gx), _cell_index(boxes[i, 2], x0, cell, gx),
            _cell_index(boxes[i, 1], y0, cell, gy), _cell_index(boxes[i, 3], y0, cell, gy))


@njit
def _build_grid(boxes, x0, y0, cell, gx, gy):
    """CSR layout of the boxes registered in each cell they cover: ``items[start[c]:start[c + 1]]``."""
    n = boxes.shape[0]
    counts = np.zeros(gx * gy + 1, dtype=np.int64)
    for i in range(n):
        cx1, cx2, cy1, cy2 = _cell_range(boxes, i, x0, y0, cell, gx, gy)
        for cy in range(cy1, cy2 + 1):
            for cx in range(cx1, cx2 + 1):
                counts[cy * gx + cx + 1] += 1
    start = np.cumsum(counts)
    fill = start[:-1].copy()
    items = np.empty(start[-1], dtype=np.int64)
    for i in range(n):
        cx1, cx2, cy1, cy2 = _cell_range(boxes, i, x0, y0, cell, gx, gy)
        for cy in range(cy1, cy2 + 1):
            for cx in range(cx1, cx2 + 1):
                c = cy * gx + cx
                items[fill[c]] = i
                fill[c] += 1
    return start, items


@njit(inline="always")
def _row_pairs(a, i, b, start, items, x0, y0, cell, gx, gy, min_value, metric, out_b, out_v, pos):
    """Write the B rows that overlap A row i with metric >= min_value at out_*[pos:]; return the count.

    A pair is looked at only in the cell holding the top-left corner of its intersection, so it is
    found once although both boxes may share several cells.
    """
    cx1, cx2, cy1, cy2 = _cell_range(a, i, x0, y0, cell, gx, gy)
    found = 0
    for cy in range(cy1, cy2 + 1):
        for cx in range(cx1, cx2 + 1):
            c = cy * gx + cx
            for k in range(start[c], start[c + 1]):
                j = items[k]
                ix1 = max(a[i, 0], b[j, 0])
                iy1 = max(a[i, 1], b[j, 1])
                if min(a[i, 2], b[j, 2]) <= ix1 or min(a[i, 3], b[j, 3]) <= iy1:
                    continue  # no positive-area overlap
                if _cell_index(ix1, x0, cell, gx) != cx or _cell_index(iy1, y0, cell, gy) != cy:
                    continue  # this pair belongs to another cell
                v = _pair_metric(a[i, 0], a[i, 1], a[i, 2], a[i, 3],
                                 b[j, 0], b[j, 1], b[j, 2], b[j, 3], metric)
                if v >= min_value:
                    if out_b.shape[0] > 0:
                        out_b[pos + found] = j
                        out_v[pos + found] = v
                    found += 1
    return found


@njit(parallel=True)
def overlap_pairs(a, b, min_value, metric):
    """All (i, j, value) with ``metric(a[i], b[j]) >= min_value > 0``, sorted by i then j.

    Only pairs with a positive-area intersection can qualify (every metric here is <= IoU), so the
    search goes through a grid built on ``b``: memory is O(pairs found), not O(N * M).
    """
    both = np.concatenate((a, b))
    x0, y0, cell, gx, gy = _grid_geometry(both, 4 * both.shape[0] + 16)
    start, items = _build_grid(b, x0, y0, cell, gx, gy)
    n = a.shape[0]
    none_i = np.empty(0, dtype=np.int64)
    none_v = np.empty(0)
    counts = np.zeros(n + 1, dtype=np.int64)
    for i in prange(n):  # first pass counts, second pass fills: no per-row allocation
        counts[i + 1] = _row_pairs(a, i, b, start, items, x0, y0, cell, gx, gy,
                                   min_value, metric, none_i, none_v, 0)
    offsets = np.cumsum(counts)
    out_a = np.empty(offsets[-1], dtype=np.int64)
    out_b = np.empty(offsets[-1], dtype=np.int64)
    out_v = np.empty(offsets[-1])
    for i in prange(n):
        lo = offsets[i]
        hi = offsets[i + 1]
        _row_pairs(a, i, b, start, items, x0, y0, cell, gx, gy, min_value, metric, out_b, out_v, lo)
        out_a[lo:hi] = i
        order = np.argsort(out_b[lo:hi])
        out_b[lo:hi] = out_b[lo:hi][order]
        out_v[lo:hi] = out_v[lo:hi][order]
    return out_a, out_b, out_v


# ---------------------------------------------------------------- greedy NMS


@njit(inline="always")
def _iou(boxes, areas, i, j):
    # Same operation order as _pair_metric and the numpy path: bit-identical IoU.
    iw = min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0])
    ih = min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1])
    if iw <= 0.0 or ih <= 0.0:
        return 0.0
    inter = iw * ih
    union = areas[i] + areas[j] - inter
    return inter / union if union > 0.0 else 0.0


@njit
def _nms_scan(boxes, areas, lo, hi, threshold, keep):
    """The peers' O(n * kept) scan, for small segments where a grid costs more than it saves."""
    kept = np.empty(hi - lo, dtype=np.int64)
    n_kept = 0
    for i in range(lo, hi):
        ok = True
        for k in range(n_kept):
            if _iou(boxes, areas, i, kept[k]) > threshold:
                ok = False
                break
        if ok:
            kept[n_kept] = i
            n_kept += 1
            keep[i] = True


@njit
def _nms_grid(boxes, areas, lo, hi, threshold, keep):
    """Greedy NMS over boxes[lo:hi] (already in score order) checking only kept boxes nearby.

    Suppression needs IoU > threshold >= 0, hence a positive-area overlap, hence a shared cell.
    Kept boxes are registered in every cell they cover (singly linked lists per cell); a candidate
    looks at the kept boxes of the cells it covers. Same kept set as the scan, in O(n * nearby).
    """
    seg = boxes[lo:hi]
    x0, y0, cell, gx, gy = _grid_geometry(seg, 2 * (hi - lo) + 16)
    head = np.full(gx * gy, -1, dtype=np.int64)
    capacity = 4 * (hi - lo) + 16
    nxt = np.empty(capacity, dtype=np.int64)
    item = np.empty(capacity, dtype=np.int64)
    used = 0
    for i in range(lo, hi):
        cx1, cx2, cy1, cy2 = _cell_range(boxes, i, x0, y0, cell, gx, gy)
        suppressed = False
        for cy in range(cy1, cy2 + 1):
            for cx in range(cx1, cx2 + 1):
                e = head[cy * gx + cx]
                while e >= 0:
                    if _iou(boxes, areas, i, item[e]) > threshold:
                        suppressed = True
                        break
                    e = nxt[e]
                if suppressed:
                    break
            if suppressed:
                break
        if suppressed:
            continue
        keep[i] = True
        if areas[i] <= 0.0:
            continue  # a zero-area box overlaps nothing: it can never suppress
        need = used + (cx2 - cx1 + 1) * (cy2 - cy1 + 1)
        if need > capacity:
            capacity = max(2 * capacity, need)
            grown_nxt = np.empty(capacity, dtype=np.int64)
            grown_item = np.empty(capacity, dtype=np.int64)
            grown_nxt[:used] = nxt[:used]
            grown_item[:used] = item[:used]
            nxt = grown_nxt
            item = grown_item
        for cy in range(cy1, cy2 + 1):
            for cx in range(cx1, cx2 + 1):
                c = cy * gx + cx
                item[used] = i
                nxt[used] = head[c]
                head[c] = used
                used += 1


@njit
def nms_segments(boxes, segments, threshold):
    """Hard NMS on sorted boxes, independently within each ``[segments[g], segments[g + 1])``.

    Returns a boolean keep mask over the sorted rows. ``threshold >= 0`` (the wrapper handles
    negative thresholds, which suppress every pair).
    """
    n = boxes.shape[0]
    areas = np.empty(n)
    for i in range(n):
        areas[i] = (boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
    keep = np.zeros(n, dtype=np.bool_)
    for g in range(segments.shape[0] - 1):
        lo = segments[g]
        hi = segments[g + 1]
        if hi - lo <= 64:
            _nms_scan(boxes, areas, lo, hi, threshold, keep)
        else:
            _nms_grid(boxes, areas, lo, hi, threshold, keep)
    return keep


@njit
def soft_nms_segments(boxes, scores, order_key, segments, threshold, sigma, gaussian, min_score):
    """Soft-NMS (Bodla et al. 2017) within each segment; returns (selection rank, decayed scores).

    ``rank[i]`` is the position in which row i was selected (-1 if its score decayed to
    <= min_score). Among equal current scores the row with the lower ``order_key`` is taken.
    """
    n = boxes.shape[0]
    areas = np.empty(n)
    for i in range(n):
        areas[i] = (boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
    s = scores.copy()
    rank = np.full(n, -1, dtype=np.int64)
    alive = s > min_score
    step = 0
    for g in range(segments.shape[0] - 1):
        lo = segments[g]
        hi = segments[g + 1]
        while True:
            best = -1
            for i in range(lo, hi):
                if alive[i] and (best < 0 or s[i] > s[best]
                                 or (s[i] == s[best] and order_key[i] < order_key[best])):
                    best = i
            if best < 0:
                break
            alive[best] = False
            rank[best] = step
            step += 1
            for j in range(lo, hi):
                if not alive[j]:
                    continue
                o = _iou(boxes, areas, best, j)
                if gaussian:
                    s[j] *= math.exp(-(o * o) / sigma)
                elif o > threshold:
                    s[j] *= 1.0 - o
                if s[j] <= min_score:
                    alive[j] = False
    return rank, s
