"""numba kernels for IoU and NMS. Imported only by ``dltool.core.iou`` / ``dltool.core.nms`` on
inputs large enough to pay for numba (importing it costs more than a small job's whole run).

All kernels take C-contiguous float64 ``xyxy`` boxes that the public wrappers have validated.
The pair metric is written once (:func:`_pair_metric`) and used by every kernel, with the same
floating-point operation order as the numpy paths, so both give bit-identical IoU values.
"""

import math

import numpy as np

from dltool.core.jit import njit

IOU, GIOU, DIOU, CIOU = 0, 1, 2, 3  # metric codes; dltool.core.iou.METRICS maps names to them


@njit
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


@njit(nogil=True)
def iou_rows(a, b, metric, out, lo, hi):
    """out[i, j] = metric(a[i], b[j]) for rows lo <= i < hi (one thread's share of the matrix)."""
    for i in range(lo, hi):
        for j in range(b.shape[0]):
            out[i, j] = _pair_metric(a[i, 0], a[i, 1], a[i, 2], a[i, 3],
                                     b[j, 0], b[j, 1], b[j, 2], b[j, 3], metric)


# ---------------------------------------------------------------- uniform grid
# Two boxes that overlap with positive area share at least one grid cell, so a search for
# overlapping pairs only has to look at the boxes registered in the cells a box covers. The grid's
# geometry (origin, cell size, shape) is chosen by numpy in dltool.core.grid; the kernels below only
# loop, which keeps them cheap to compile.


@njit
def _cell_index(v, v0, cell, g):
    k = int((v - v0) / cell)
    if k < 0:
        return 0
    if k >= g:
        return g - 1
    return k


@njit
def _cell_span(x1, y1, x2, y2, x0, y0, cell, gx, gy):
    """(first column, last column, first row, last row) of the cells a box covers."""
    return (_cell_index(x1, x0, cell, gx), _cell_index(x2, x0, cell, gx),
            _cell_index(y1, y0, cell, gy), _cell_index(y2, y0, cell, gy))


@njit(nogil=True)
def overlap_rows(a, cell_boxes, start, items, x0, y0, cell, gx, gy, min_value, metric, lo, hi):
    """Pairs (i, j) with metric(a[i], b[j]) >= min_value > 0, for rows lo <= i < hi.

    ``cell_boxes[k]`` is box ``items[k]`` of B, copied in cell order: a cell's boxes are read in
    one sweep of memory. A pair is looked at only in the cell holding the top-left corner of its
    intersection, so it is found once although both boxes may share several cells. Returns
    (rows of A, rows of B, values), by row of A, within a row in cell order (the caller sorts).
    """
    capacity = 1024
    out_a = np.empty(capacity, dtype=np.int64)
    out_b = np.empty(capacity, dtype=np.int64)
    out_v = np.empty(capacity)
    found = 0
    for i in range(lo, hi):
        ax1 = a[i, 0]
        ay1 = a[i, 1]
        ax2 = a[i, 2]
        ay2 = a[i, 3]
        cx1, cx2, cy1, cy2 = _cell_span(ax1, ay1, ax2, ay2, x0, y0, cell, gx, gy)
        for cy in range(cy1, cy2 + 1):
            for cx in range(cx1, cx2 + 1):
                c = cy * gx + cx
                for k in range(start[c], start[c + 1]):
                    bx1 = cell_boxes[k, 0]
                    by1 = cell_boxes[k, 1]
                    bx2 = cell_boxes[k, 2]
                    by2 = cell_boxes[k, 3]
                    ix1 = max(ax1, bx1)
                    iy1 = max(ay1, by1)
                    if min(ax2, bx2) <= ix1 or min(ay2, by2) <= iy1:
                        continue  # no positive-area overlap
                    if _cell_index(ix1, x0, cell, gx) != cx or _cell_index(iy1, y0, cell, gy) != cy:
                        continue  # this pair belongs to another cell
                    v = _pair_metric(ax1, ay1, ax2, ay2, bx1, by1, bx2, by2, metric)
                    if v >= min_value:
                        if found == capacity:  # grow by doubling: amortized O(1) a pair
                            capacity *= 2
                            out_a = _grown(out_a, capacity)
                            out_b = _grown(out_b, capacity)
                            out_v = _grown(out_v, capacity)
                        out_a[found] = i
                        out_b[found] = items[k]
                        out_v[found] = v
                        found += 1
    return out_a[:found], out_b[:found], out_v[:found]


@njit
def _grown(values, capacity):
    bigger = np.empty(capacity, dtype=values.dtype)
    bigger[:values.shape[0]] = values
    return bigger


# ---------------------------------------------------------------- greedy NMS


@njit
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
def _band_cell(cx, cy, gx):
    """Cell number with rows taken in pairs: the 2 x 2 cells a box usually covers are 4 neighbours
    in memory (when its top row is even), so their kept boxes are one stretch of slots."""
    return (cy >> 1) * (2 * gx) + 2 * cx + (cy & 1)


@njit
def _nms_grid(boxes, areas, lo, hi, threshold, keep, x0, y0, cell, gx, gy):
    """Greedy NMS over boxes[lo:hi] (already in score order) checking only kept boxes nearby.

    Suppression needs IoU > threshold >= 0, hence a positive-area overlap, hence a shared cell.
    Each kept box is copied, coordinates and all, into every cell it covers; a cell's kept boxes
    sit side by side in memory (room for each cell is counted beforehand: the boxes that cover
    it), so a candidate reads the kept boxes of its cells in one sweep each, whatever the score
    order. Same kept set as the scan, in O(n * nearby).
    """
    # span[c] = (first slot, end of the used slots) of cell c: side by side, one cache line.
    n_cells = gx * (gy + 1)  # _band_cell's numbering, rows in pairs
    span = np.zeros((n_cells + 1, 2), dtype=np.int64)
    for i in range(lo, hi):
        cx1, cx2, cy1, cy2 = _cell_span(boxes[i, 0], boxes[i, 1], boxes[i, 2], boxes[i, 3],
                                        x0, y0, cell, gx, gy)
        for cy in range(cy1, cy2 + 1):
            for cx in range(cx1, cx2 + 1):
                span[_band_cell(cx, cy, gx) + 1, 0] += 1
    for c in range(n_cells):  # room of cell c: slots span[c, 0] to span[c + 1, 0]
        span[c + 1, 0] += span[c, 0]
    for c in range(n_cells):
        span[c, 1] = span[c, 0]
    slots = np.empty((span[n_cells, 0], 4))
    for i in range(lo, hi):
        bx1 = boxes[i, 0]
        by1 = boxes[i, 1]
        bx2 = boxes[i, 2]
        by2 = boxes[i, 3]
        cx1, cx2, cy1, cy2 = _cell_span(bx1, by1, bx2, by2, x0, y0, cell, gx, gy)
        suppressed = False
        for cy in range(cy1, cy2 + 1):
            for cx in range(cx1, cx2 + 1):
                c = _band_cell(cx, cy, gx)
                for k in range(span[c, 0], span[c, 1]):
                    # _iou's operations in _iou's order: bit-identical IoU.
                    iw = min(bx2, slots[k, 2]) - max(bx1, slots[k, 0])
                    ih = min(by2, slots[k, 3]) - max(by1, slots[k, 1])
                    if iw <= 0.0 or ih <= 0.0:
                        continue
                    inter = iw * ih
                    union = areas[i] + (slots[k, 2] - slots[k, 0]) * (slots[k, 3] - slots[k, 1]) - inter
                    if union > 0.0 and inter / union > threshold:
                        suppressed = True
                        break
                if suppressed:
                    break
            if suppressed:
                break
        if suppressed:
            continue
        keep[i] = True
        if areas[i] <= 0.0:
            continue  # a zero-area box overlaps nothing: it can never suppress
        for cy in range(cy1, cy2 + 1):
            for cx in range(cx1, cx2 + 1):
                c = _band_cell(cx, cy, gx)
                k = span[c, 1]
                slots[k, 0] = bx1
                slots[k, 1] = by1
                slots[k, 2] = bx2
                slots[k, 3] = by2
                span[c, 1] = k + 1


@njit(nogil=True)
def nms_segments(boxes, segments, grids, threshold, keep):
    """Hard NMS on sorted boxes, independently within each ``[segments[g], segments[g + 1])``.

    Sets ``keep`` (boolean, over the sorted rows). ``grids[g]`` is segment g's grid as
    (x0, y0, cell, gx, gy) from :func:`dltool.core.grid.segment_grids`, with gx = 0 for a segment
    small enough for the plain scan. ``threshold >= 0`` (the wrapper handles negative thresholds,
    which suppress every pair).
    """
    n = boxes.shape[0]
    areas = np.empty(n)
    for i in range(n):
        areas[i] = (boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
    for g in range(segments.shape[0] - 1):
        lo = segments[g]
        hi = segments[g + 1]
        gx = int(grids[g, 3])
        if gx == 0:
            _nms_scan(boxes, areas, lo, hi, threshold, keep)
        else:
            _nms_grid(boxes, areas, lo, hi, threshold, keep, grids[g, 0], grids[g, 1], grids[g, 2],
                      gx, int(grids[g, 4]))


@njit(nogil=True)
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


def warm() -> None:
    """Compile (or load) every kernel here for the argument types the wrappers pass: tiny
    inputs, the real signatures (``dltool cache warm``)."""
    boxes = np.array([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]])
    ints = np.zeros(3, dtype=np.int64)
    segments = np.array([0, 2], dtype=np.int64)
    iou_rows(boxes, boxes, IOU, np.empty((2, 2)), 0, 2)
    overlap_rows(boxes, boxes, ints[:2], ints[:2], 0.0, 0.0, 2.0, 1, 1, 0.5, IOU, 0, 2)
    nms_segments(boxes, segments, np.zeros((1, 5)), 0.5, np.zeros(2, dtype=np.bool_))
    soft_nms_segments(boxes, np.ones(2), segments[:2].copy(), segments, 0.3, 0.5, False, 0.001)
