"""IoU and its variants between box sets, torchvision's definitions.

``iou``  = |A ∩ B| / |A ∪ B|
``giou`` = iou − (|C| − |A ∪ B|) / |C|, C the smallest box enclosing A and B
``diou`` = iou − ρ²(centres) / c², c the diagonal of C
``ciou`` = diou − α v, v = 4/π² (atan(w_B/h_B) − atan(w_A/h_A))², α = v / (1 − iou + v)

Where a denominator is 0 (zero-area boxes) its term is dropped instead of making NaN: a zero-area
box has IoU 0 with everything, itself included. torchvision adds eps = 1e-7 to the DIoU/CIoU
denominators instead; on pixel coordinates the two agree to ~1e-10.
"""

import math

import numpy as np

from dltool.core.arrays import unique_sorted
from dltool.core.boxes import check_boxes
from dltool.core.grid import MAX_SIDE
from dltool.core.names import IOU_METRICS as METRICS
from dltool.errors import InputError

# Importing numba and loading the cached kernels costs 0.3-0.5 s per process; numpy's blocked
# matrix about 7 ns a pair. Below this many pairs numpy finishes first (whole `dltool iou -o m.npy`
# runs, median of 5: 25M pairs 0.68 s numpy against 1.28 s numba; 49M 1.52 s against 1.24 s).
NUMBA_MIN_PAIRS = 40_000_000
# The IoU matrix is filled from the cover grid's candidates (:meth:`_GridJoin.fill_iou`, about
# 70 ns a candidate plus 0.4 ms for the grid) instead of computing every pair (about 8 ns a pair)
# when there are at most one tenth as many candidates as pairs: measured at 300-3,000 boxes, the
# two cost the same at 12 % (1.2x at 300 x 300, 0.9x at 3,000 x 3,000), the fill takes half the
# time at 5 % and a fifth at 1 %. Below FILL_MIN_PAIRS the whole matrix costs under 0.5 ms.
FILL_PAIRS_PER_CANDIDATE = 10
FILL_MIN_PAIRS = 65_536
# The sparse form loads numba only when its grid holds this many candidate pairs (numpy's grid
# join costs ~100 ns a candidate, numba 0.3-0.5 s to load and ~5 ns a candidate).
NUMBA_MIN_CANDIDATES = 20_000_000
# The sparse form's first choice: numpy on the corner grid (:class:`_CornerJoin`, ~40 ns a
# candidate) while it has fewer candidates than this; beyond, numba's grid kernel pays for its load.
CORNER_MAX_CANDIDATES = 10_000_000
# The numpy matrix is computed in row blocks of about this many pairs: the temporaries of a block
# stay in the CPU's cache, and the result is the only array that goes to memory (measured: 7 ms
# for a 1,000 x 1,000 matrix, against 11-16 ms in blocks of a million pairs; threads gain nothing
# on a computation bound by memory).
MATRIX_BLOCK_PAIRS = 16_384
# The joins of the sparse form go through their candidate pairs in slices of about this many: their
# temporaries (a dozen arrays of the slice's size) stay small and mostly in cache (measured at 10k
# boxes: 80-100 ms in slices of 65,536, 130-200 ms in slices of a million).
NUMPY_BLOCK_PAIRS = 65_536


def _metric_code(metric: str) -> int:
    if metric not in METRICS:
        raise InputError(f"unknown metric {metric!r}: expected one of {', '.join(METRICS)}")
    return METRICS[metric][0]


def _numpy_metric(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """Broadcast formula: ``a`` and ``b`` broadcast against each other (pairs of the sparse forms,
    row blocks of the GIoU/DIoU/CIoU matrix; the IoU matrix has :func:`_numpy_iou_matrix`).

    Same operation order as ``box_kernels._pair_metric``, so IoU values are bit-identical.
    """
    ax1, ay1, ax2, ay2 = (a[..., k] for k in range(4))
    bx1, by1, bx2, by2 = (b[..., k] for k in range(4))
    area_a = (ax2 - ax1) * (ay2 - ay1)
    area_b = (bx2 - bx1) * (by2 - by1)
    if metric == "iou":
        return _numpy_iou(ax1, ay1, ax2, ay2, bx1, by1, bx2, by2, area_a, area_b)
    iw = np.minimum(ax2, bx2) - np.maximum(ax1, bx1)
    ih = np.minimum(ay2, by2) - np.maximum(ay1, by1)
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    union = area_a + area_b - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
        cw = np.maximum(ax2, bx2) - np.minimum(ax1, bx1)
        ch = np.maximum(ay2, by2) - np.minimum(ay1, by1)
        if metric == "giou":
            area_c = cw * ch
            return np.where(area_c > 0, iou - (area_c - union) / area_c, iou)
        diag2 = cw * cw + ch * ch
        dx = (ax1 + ax2) / 2.0 - (bx1 + bx2) / 2.0  # centres first: see box_kernels._pair_metric
        dy = (ay1 + ay2) / 2.0 - (by1 + by2) / 2.0
        diou = np.where(diag2 > 0, iou - (dx * dx + dy * dy) / diag2, iou)
        if metric == "diou":
            return diou
        d = np.arctan2(bx2 - bx1, by2 - by1) - np.arctan2(ax2 - ax1, ay2 - ay1)
        v = (4.0 / (np.pi * np.pi)) * d * d
        denom = 1.0 - iou + v
        alpha = np.where(denom > 0, v / denom, 0.0)
        return diou - alpha * v


def _numpy_iou(ax1, ay1, ax2, ay2, bx1, by1, bx2, by2, area_a, area_b, out=None, work=None, some_area=False):
    """Plain IoU with two temporaries, in place in ``out`` when given (the matrix form's hot path;
    fresh pages cost more than the arithmetic here): the same values, bit for bit, as the general
    formula. Sides are clipped at 0 so that a product with no overlap is +0.0.

    ``work``: two arrays of the result's shape for the temporaries, which the matrix form reuses
    for every block. ``some_area``: the caller knows that of every pair at least one box has an
    area, so no union is 0.
    """
    shape = np.broadcast_shapes(ax1.shape, bx1.shape)
    out = np.empty(shape) if out is None else out
    spare, other = (np.empty(shape), np.empty(shape)) if work is None else work
    inter = np.minimum(ax2, bx2, out=out)
    inter -= np.maximum(ax1, bx1, out=spare)
    np.maximum(inter, 0.0, out=inter)  # iw
    ih = np.minimum(ay2, by2, out=spare)
    ih -= np.maximum(ay1, by1, out=other)
    np.maximum(ih, 0.0, out=ih)
    inter *= ih
    union = np.add(area_a, area_b, out=other)
    union -= inter
    if some_area:
        return np.divide(inter, union, out=out)
    # Where union is 0 both boxes have no area, so inter (already in ``out``) is 0 too.
    np.divide(inter, union, out=out, where=union > 0)
    return out


def box_iou(boxes1, boxes2, metric: str = "iou") -> np.ndarray:
    """Pairwise metric between every box of ``boxes1`` and every box of ``boxes2``.

    Parameters
    ----------
    boxes1 : array_like of shape (N, 4), xyxy
    boxes2 : array_like of shape (M, 4), xyxy
    metric : {"iou", "giou", "diou", "ciou"}

    Returns
    -------
    ndarray of shape (N, M), float64
    """
    code = _metric_code(metric)
    a = check_boxes(boxes1, "boxes1")
    b = check_boxes(boxes2, "boxes2")
    if metric == "iou" and a.shape[0] * b.shape[0] >= FILL_MIN_PAIRS:
        # Most pairs of a real scene do not overlap, and their IoU is 0 (+0.0, as the formula
        # gives): when the grid finds few candidates, only those are computed.
        grid = _GridJoin(a, b)
        if grid.candidates * FILL_PAIRS_PER_CANDIDATE <= a.shape[0] * b.shape[0]:
            return grid.fill_iou(np.zeros((a.shape[0], b.shape[0])))
    return _every_pair(a, b, metric, code)


def _every_pair(a, b, metric: str, code: int) -> np.ndarray:
    """The (N, M) matrix, every pair computed: numpy in row blocks, numba from NUMBA_MIN_PAIRS."""
    if a.shape[0] * b.shape[0] >= NUMBA_MIN_PAIRS:
        from dltool.core import box_kernels
        from dltool.core.threads import run_rows

        out = np.empty((a.shape[0], b.shape[0]))
        run_rows(box_kernels.iou_rows, a.shape[0], a, b, code, out, min_rows=max(1, 100_000 // max(1, b.shape[0])))
        return out
    if metric == "iou":
        return _numpy_iou_matrix(a, b)
    out = np.empty((a.shape[0], b.shape[0]))
    rows = max(1, MATRIX_BLOCK_PAIRS // max(1, b.shape[0]))
    for lo in range(0, a.shape[0], rows):
        out[lo:lo + rows] = _numpy_metric(a[lo:lo + rows, None, :], b[None, :, :], metric)
    return out


def _numpy_iou_matrix(a, b) -> np.ndarray:
    """The plain IoU matrix in numpy, in row blocks of A against B's coordinates as contiguous
    columns (broadcasting against strided columns costs ~20 % more); the general formula's values,
    bit for bit.

    The blocks' two temporaries are allocated once. Fresh ones for every block sit at the top of
    the heap, and glibc hands them back to the system on every free (its trim threshold starts at
    128 KiB and only grows once some larger array has been freed): two page-faulting allocations
    a block. Measured on a 1,000 x 1,000 matrix right after reading the two CSV files: 8-12 ms
    against 16-21 ms.
    """
    out = np.empty((a.shape[0], b.shape[0]))
    bx1, by1, bx2, by2 = (np.ascontiguousarray(b[:, k]) for k in range(4))
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (bx2 - bx1) * (by2 - by1)
    some_area = bool(len(a) and len(b)) and (area_a.min() > 0 or area_b.min() > 0)
    rows = max(1, MATRIX_BLOCK_PAIRS // max(1, b.shape[0]))
    work = np.empty((2, min(rows, a.shape[0]), b.shape[0]))
    for lo in range(0, a.shape[0], rows):
        ax1, ay1, ax2, ay2 = (a[lo:lo + rows, k:k + 1] for k in range(4))
        block = out[lo:lo + rows]
        _numpy_iou(ax1, ay1, ax2, ay2, bx1, by1, bx2, by2, area_a[lo:lo + rows, None], area_b, block,
                   work[:, :len(block)], some_area)
    return out


def paired_iou(boxes1, boxes2, metric: str = "iou") -> np.ndarray:
    """Metric between row i of ``boxes1`` and row i of ``boxes2``: shape (N,)."""
    _metric_code(metric)
    a = check_boxes(boxes1, "boxes1")
    b = check_boxes(boxes2, "boxes2")
    if a.shape[0] != b.shape[0]:
        raise InputError(f"paired boxes need equal counts, got {a.shape[0]} and {b.shape[0]}")
    # Linear in N: numpy is never slow enough here to be worth numba's import.
    return np.asarray(_numpy_metric(a, b, metric), dtype=np.float64)


def _cell_index(v, v0, cell, g):
    """Grid cells along one axis: int((v - v0) / cell) clamped to [0, g - 1] (v >= v0 here), as
    the kernels compute them."""
    return np.minimum(((v - v0) / cell).astype(np.int64), g - 1)


def _slices(counts):
    """(lo, hi) runs of ``counts`` (candidates per entry) holding about NUMPY_BLOCK_PAIRS candidates
    each: the joins' temporaries stay bounded."""
    ends = np.cumsum(counts)
    cuts = unique_sorted(np.searchsorted(ends, np.arange(0, int(ends[-1]) if len(ends) else 0, NUMPY_BLOCK_PAIRS),
                                         side="right"))
    return zip(cuts, np.append(cuts[1:], len(counts)))


def _sorted_pairs(parts):
    """The (rows of A, rows of B, values) of a join's slices as one set, sorted by A's row then B's."""
    if not parts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
    i, j, v = (np.concatenate(p) for p in zip(*parts))
    order = np.lexsort((j, i))
    return i[order].astype(np.int64), j[order].astype(np.int64), v[order]


class _GridJoin:
    """The sparse form on a uniform grid: every box is listed in the cells it covers (B's lists in
    CSR form, ``sorted_b[start[c]:start[c + 1]]``), and a pair is kept in the cell of the top-left
    corner of its intersection only. :meth:`pairs` joins the lists of A and B in numpy, about
    100 ns a candidate pair; :meth:`kernel_pairs` runs the numba kernel on the same lists, for grids
    of at least NUMBA_MIN_CANDIDATES candidates, where it pays for numba's 0.3-0.5 s to load.
    """

    def __init__(self, a, b):
        from dltool.core.grid import grid_geometry

        self.a, self.b = a, b
        self.x0, self.y0, self.cell, self.gx, self.gy = grid_geometry(np.concatenate((a, b)), 4 * (len(a) + len(b)) + 16)
        cells_b, self.rows_b = self._register(b)
        order = np.argsort(cells_b, kind="stable")
        self.sorted_b = self.rows_b[order]
        self.start = np.searchsorted(cells_b[order], np.arange(self.gx * self.gy + 1))
        self.cells_a, self.rows_a = self._register(a)
        self.per_entry = self.start[self.cells_a + 1] - self.start[self.cells_a]
        self.candidates = int(self.per_entry.sum())

    def _register(self, boxes):
        """(cell, row) for every cell each box covers."""
        cx1, cx2 = (_cell_index(boxes[:, k], self.x0, self.cell, self.gx) for k in (0, 2))
        cy1, cy2 = (_cell_index(boxes[:, k], self.y0, self.cell, self.gy) for k in (1, 3))
        width = cx2 - cx1 + 1
        counts = width * (cy2 - cy1 + 1)
        rows = np.repeat(np.arange(len(boxes)), counts)
        k = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
        return (cy1[rows] + k // width[rows]) * self.gx + cx1[rows] + k % width[rows], rows

    def kernel_pairs(self, min_value: float, code: int):
        """The same pairs by the numba kernel, on this grid's lists of B (for grids too full for numpy).

        Rows of A go in chunks to threads; each chunk returns its own pairs. Memory is O(pairs
        found), not O(N * M).
        """
        from dltool.core import box_kernels
        from dltool.core.threads import run_rows

        parts = run_rows(box_kernels.overlap_rows, len(self.a), self.a, np.ascontiguousarray(self.b[self.sorted_b]),
                         self.start, self.sorted_b, self.x0, self.y0, self.cell, self.gx, self.gy, min_value, code,
                         min_rows=2048)
        return _sorted_pairs(parts)

    def _overlapping(self):
        """Per slice of A's cell entries: (i, j, ix1, iy1, entry) of the candidates whose boxes
        overlap with positive area; (ix1, iy1) is their intersection's top-left corner, ``entry``
        the cell entry of A that found them. A pair that shares k cells comes k times."""
        ax1, ay1, ax2, ay2 = (np.ascontiguousarray(self.a[:, k]) for k in range(4))
        bx1, by1, bx2, by2 = (np.ascontiguousarray(self.b[:, k]) for k in range(4))
        for lo, hi in _slices(self.per_entry):
            n = self.per_entry[lo:hi]
            entry = np.repeat(np.arange(lo, hi), n)  # which cell entry of A each candidate comes from
            first = np.repeat(self.start[self.cells_a[lo:hi]] - (np.cumsum(n) - n), n)
            j = self.sorted_b[first + np.arange(len(entry))]
            i = self.rows_a[entry]
            # Overlap along x first: most candidates fail there, and the rest shrink at once.
            ix1 = np.maximum(ax1[i], bx1[j])
            keep = np.minimum(ax2[i], bx2[j]) > ix1
            i, j, ix1, entry = i[keep], j[keep], ix1[keep], entry[keep]
            iy1 = np.maximum(ay1[i], by1[j])
            keep = np.minimum(ay2[i], by2[j]) > iy1
            yield i[keep], j[keep], ix1[keep], iy1[keep], entry[keep]

    def pairs(self, min_value: float, metric: str):
        parts = []
        for i, j, ix1, iy1, entry in self._overlapping():
            # Each pair once: in the cell of its intersection's top-left corner.
            once = (_cell_index(iy1, self.y0, self.cell, self.gy) * self.gx
                    + _cell_index(ix1, self.x0, self.cell, self.gx) == self.cells_a[entry])
            i, j = i[once], j[once]
            v = np.asarray(_numpy_metric(self.a[i], self.b[j], metric), dtype=np.float64)
            good = v >= min_value
            parts.append((i[good], j[good], v[good]))
        return _sorted_pairs(parts)

    def fill_iou(self, out):
        """Plain IoU of every overlapping pair into ``out`` (N x M, zeros elsewhere): the matrix
        form when few pairs overlap. A pair found in several cells is written with the same value
        each time, which costs less than finding its one cell."""
        for i, j, _, _, _ in self._overlapping():
            out[i, j] = _numpy_metric(self.a[i], self.b[j], "iou")
        return out


class _CornerJoin:
    """The sparse form for a positive minimum, on the boxes' top-left corners.

    IoU >= t > 0 needs an intersection width of at least t * max(wa, wb) (inter >= t * area and
    ih <= h), so the left edges are at most (1 - t) * max(wa, wb) apart: |x1a - x1b| <= rx, the
    same for y1 with ry, where rx, ry are that bound for the widest and tallest box. With B's
    corners on a grid of rx x ry cells, a box of A meets only the 3 x 3 cells around its own
    corner: one row of 3 cells is a contiguous run of B's cell-sorted list, and the per-pair bound
    then drops most candidates before any IoU is computed. Every metric here is <= IoU, so the
    same candidates serve them all. A few very large boxes make the cells large and the
    candidates many: :attr:`candidates` says so before any pair is made.
    """

    def __init__(self, a, b, min_value: float):
        self.a, self.b, self.t = a, b, min_value
        self.wa, self.ha = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
        self.wb, self.hb = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        both = np.concatenate((a, b))
        x0, y0 = float(both[:, 0].min()), float(both[:, 1].min())
        width, height = float(both[:, 0].max()) - x0, float(both[:, 1].max()) - y0
        # Cells a little wider than the reach and its rounding slack (see pairs): a pair within
        # reach is never two cells apart. At most MAX_SIDE per side, and about as many cells as
        # boxes (tiny boxes spread wide would need a huge, empty grid): larger cells only add
        # candidates, never drop one.
        magnitude = 2e-9 * float(np.abs(both).max())
        cx = max((1.0 - min_value) * max(self.wa.max(), self.wb.max()) * (1 + 1e-6) + magnitude,
                 width / MAX_SIDE, 1e-300)
        cy = max((1.0 - min_value) * max(self.ha.max(), self.hb.max()) * (1 + 1e-6) + magnitude,
                 height / MAX_SIDE, 1e-300)
        spread = (width / cx + 1) * (height / cy + 1) / (4 * len(both) + 16)
        if spread > 1:
            cx, cy = cx * math.sqrt(spread), cy * math.sqrt(spread)
        gx, gy = int(width / cx) + 1, int(height / cy) + 1
        cell_b = self._cells(b, x0, y0, cx, cy, gx, gy)
        self.order = np.argsort(cell_b, kind="stable")
        self.sorted_b = b[self.order]
        start = np.searchsorted(cell_b[self.order], np.arange(gx * gy + 1))
        cell_a = self._cells(a, x0, y0, cx, cy, gx, gy)
        col, row = cell_a % gx, cell_a // gx
        # For each of the 3 rows of cells around A's corner: the run of B's list it covers.
        self.first, self.count = [], []
        for dy in (-1, 0, 1):
            r = row + dy
            inside = (r >= 0) & (r < gy)
            r = np.clip(r, 0, gy - 1)
            lo = start[r * gx + np.maximum(col - 1, 0)]
            hi = start[r * gx + np.minimum(col + 1, gx - 1) + 1]
            self.first.append(lo)
            self.count.append(np.where(inside, hi - lo, 0))
        self.per_row = self.count[0] + self.count[1] + self.count[2]
        self.candidates = int(self.per_row.sum())

    @staticmethod
    def _cells(boxes, x0, y0, cx, cy, gx, gy):
        """The cell of each box's top-left corner."""
        return _cell_index(boxes[:, 1], y0, cy, gy) * gx + _cell_index(boxes[:, 0], x0, cx, gx)

    def pairs(self, metric: str):
        a, b, t = self.a, self.sorted_b, self.t
        ax1, ay1 = np.ascontiguousarray(a[:, 0]), np.ascontiguousarray(a[:, 1])
        bx1, by1 = np.ascontiguousarray(b[:, 0]), np.ascontiguousarray(b[:, 1])
        wb, hb = self.wb[self.order], self.hb[self.order]
        parts = []
        for lo, hi in _slices(self.per_row):  # rows of A
            for first, count in zip(self.first, self.count):
                n = count[lo:hi]
                total = int(n.sum())
                if total == 0:
                    continue
                i = np.repeat(np.arange(lo, hi), n)
                j = np.arange(total) - np.repeat(np.cumsum(n) - n - first[lo:hi], n)
                # The per-pair bound, with slack for rounding (never drops a pair numpy would keep).
                slack_x = 1e-9 * (np.abs(ax1[i]) + np.abs(bx1[j]))
                keep = np.abs(ax1[i] - bx1[j]) <= (1.0 - t) * np.maximum(self.wa[i], wb[j]) * (1 + 1e-6) + slack_x
                i, j = i[keep], j[keep]
                slack_y = 1e-9 * (np.abs(ay1[i]) + np.abs(by1[j]))
                keep = np.abs(ay1[i] - by1[j]) <= (1.0 - t) * np.maximum(self.ha[i], hb[j]) * (1 + 1e-6) + slack_y
                i, j = i[keep], j[keep]
                v = np.asarray(_numpy_metric(a[i], b[j], metric), dtype=np.float64)
                good = v >= t
                parts.append((i[good], self.order[j[good]], v[good]))
        return _sorted_pairs(parts)


def iou_pairs(boxes1, boxes2, min_value: float, metric: str = "iou"):
    """The sparse form: every pair with ``metric >= min_value``, for sets too large for a matrix.

    Returns
    -------
    rows1, rows2 : ndarray of shape (K,), int64, sorted by rows1 then rows2
    values : ndarray of shape (K,), float64
    """
    code = _metric_code(metric)
    a = check_boxes(boxes1, "boxes1")
    b = check_boxes(boxes2, "boxes2")
    if not np.isfinite(min_value):
        raise InputError(f"the minimum {metric} must be a finite number, got {min_value}")
    if len(a) == 0 or len(b) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy(), np.empty(0)
    if min_value > 0:
        # Every metric here is <= IoU, so a positive minimum needs a positive-area overlap: only
        # boxes near each other are compared, on the corner grid, else on the cover grid.
        corner = _CornerJoin(a, b, float(min_value))
        if corner.candidates < CORNER_MAX_CANDIDATES:
            return corner.pairs(metric)
        grid = _GridJoin(a, b)
        if grid.candidates >= NUMBA_MIN_CANDIDATES:
            return grid.kernel_pairs(float(min_value), code)
        return grid.pairs(float(min_value), metric)
    # Otherwise every pair can qualify: in row blocks, so memory stays bounded whatever N * M is.
    rows = max(1, NUMPY_BLOCK_PAIRS // max(1, len(b)))
    parts1, parts2, parts_v = [], [], []
    for lo in range(0, len(a), rows):
        block = _every_pair(a[lo:lo + rows], b, metric, code)
        i, j = np.nonzero(block >= min_value)
        parts1.append(i + lo)
        parts2.append(j)
        parts_v.append(block[i, j])
    return (np.concatenate(parts1).astype(np.int64), np.concatenate(parts2).astype(np.int64),
            np.concatenate(parts_v))

