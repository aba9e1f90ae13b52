"""IoU and its variants: dltool.core.iou, on both of its code paths.

Every test that takes the ``path`` fixture runs on each code path (see PATHS): the numpy broadcast
formula, the numba kernels (``dltool.core.box_kernels``), the sparse form's two grids and the IoU
matrix filled from the cover grid, chosen by monkeypatching the thresholds of ``dltool.core.iou``. Values are checked against the pair-by-pair loops in
``reference.py``, against hand-computed tables, and across the two paths.
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dltool.core.iou as iou_mod
from dltool.core.iou import METRICS, box_iou, iou_pairs, paired_iou
from dltool.errors import InputError
try:  # pytest puts tests/ on sys.path (rootdir-based "prepend" import, no tests/__init__.py)
    from reference import ciou_pair, diou_pair, giou_pair, iou_matrix_loop, iou_pair
except ImportError:  # tests/ imported as a package
    from tests.reference import ciou_pair, diou_pair, giou_pair, iou_matrix_loop, iou_pair

ALL_METRICS = list(METRICS)
# Thresholds (numba's, the corner grid's, the filled matrix's) that force each code path of
# box_iou and iou_pairs.
PATHS = {"numpy": (10**18, 10**18, 10**18), "numpy-grid": (10**18, 0, 10**18), "numba": (0, 0, 10**18),
         "fill": (10**18, 10**18, 1)}
HYPOTHESIS = settings(max_examples=100, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(params=list(PATHS))
def path(request, monkeypatch):
    """Force one code path: ``numpy`` (numba's threshold never reached; the sparse form on the corner
    grid), ``numpy-grid`` (the sparse form on the cover grid), ``numba`` (always reached) or
    ``fill`` (the IoU matrix filled from the cover grid's candidates; otherwise as ``numpy``)."""
    _force(monkeypatch, request.param)
    return request.param


def _force(mp, name):
    numba_min, corner_max, fill_min = PATHS[name]
    mp.setattr(iou_mod, "FILL_MIN_PAIRS", fill_min)
    mp.setattr(iou_mod, "FILL_PAIRS_PER_CANDIDATE", 0)  # whenever FILL_MIN_PAIRS is reached
    mp.setattr(iou_mod, "NUMBA_MIN_PAIRS", numba_min)
    mp.setattr(iou_mod, "NUMBA_MIN_CANDIDATES", numba_min)
    mp.setattr(iou_mod, "CORNER_MAX_CANDIDATES", corner_max)


def on_path(name, fn, *args, **kwargs):
    """Call ``fn`` with the given code path forced, for comparing the two paths inside one test."""
    with pytest.MonkeyPatch.context() as mp:
        _force(mp, name)
        return fn(*args, **kwargs)


# ---------------------------------------------------------------- box sets


def uniform_boxes(rng, n, extent=100.0, max_side=30.0):
    xy = rng.uniform(0, extent, (n, 2))
    wh = rng.uniform(0, max_side, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


def grid_boxes(rng, n):
    """Small integer boxes: many touching edges, exact duplicates, ties, and zero-area boxes."""
    xy = rng.integers(0, 8, (n, 2))
    wh = rng.integers(0, 4, (n, 2))  # 0 gives zero width or height
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float64)
    boxes[: n // 4] = boxes[n // 4: 2 * (n // 4)]  # exact duplicates
    return boxes


def clustered_boxes(rng, n, objects=5):
    centres = rng.uniform(20, 80, (objects, 2))
    sizes = rng.uniform(5, 30, (objects, 2))
    k = rng.integers(0, objects, n)
    c = centres[k] + rng.normal(0, 1.5, (n, 2))
    s = sizes[k] * rng.uniform(0.85, 1.15, (n, 2))
    return np.concatenate([c - s / 2, c + s / 2], axis=1)


def mixed_boxes(rng, n):
    """Uniform boxes with a few zero-area boxes, duplicates and boxes touching their neighbours."""
    b = uniform_boxes(rng, n)
    b[0] = [10, 10, 10, 20]  # zero width
    b[1] = [30, 30, 40, 30]  # zero height
    b[2] = [50, 50, 50, 50]  # a point
    b[3] = b[4]  # duplicate
    b[5] = [b[6, 2], b[6, 1], b[6, 2] + 5, b[6, 3]]  # touches box 6 along its right edge
    b[7] = [b[8, 0], b[8, 3], b[8, 2], b[8, 3] + 5]  # touches box 8 along its bottom edge
    return b


SETS = {
    "uniform": lambda rng, n: uniform_boxes(rng, n),
    "grid": grid_boxes,
    "clustered": clustered_boxes,
    "mixed": mixed_boxes,
}


# ---------------------------------------------------------------- hand-computed values

# (a, b, expected IoU), worked out by hand
IOU_TABLE = [
    # intersection [1,1,2,2] = 1, union 4 + 4 - 1 = 7
    ([0, 0, 2, 2], [1, 1, 3, 3], 1 / 7),
    ([0, 0, 2, 2], [0, 0, 2, 2], 1.0),  # identical
    ([0, 0, 1, 1], [5, 5, 6, 6], 0.0),  # disjoint
    ([0, 0, 1, 1], [1, 0, 2, 1], 0.0),  # touching along an edge
    ([0, 0, 1, 1], [1, 1, 2, 2], 0.0),  # touching at a corner
    ([0, 0, 4, 4], [1, 1, 2, 2], 1 / 16),  # contained: 1 / 16
    # intersection [1,0,2,1] = 1, union 2 + 2 - 1 = 3
    ([0, 0, 2, 1], [1, 0, 3, 1], 1 / 3),
    ([0, 0, 2, 1], [0, 0, 1, 1], 0.5),  # half of it
    # intersection 0.5 * 0.5 = 0.25, union 1 + 1 - 0.25 = 1.75
    ([0, 0, 1, 1], [0.5, 0.5, 1.5, 1.5], 0.25 / 1.75),
    # negative coordinates: intersection [-1,-1,0,0] = 1, union 4 + 1 - 1 = 4
    ([-2, -2, 0, 0], [-1, -1, 0, 0], 0.25),
]

ZERO_AREA = [[1, 1, 1, 1], [0, 1, 2, 1], [1, 0, 1, 2], [5, 5, 5, 9]]

# Hand values for the variants. For [0,0,2,2] vs [1,1,3,3]: IoU 1/7; the enclosing box C = [0,0,3,3]
# has area 9 and diagonal² 18; the centres (1,1), (2,2) are ρ² = 2 apart; equal aspect ratios: v = 0.
#   GIoU = 1/7 - (9 - 7)/9 = -5/63,  DIoU = 1/7 - 2/18 = 2/63,  CIoU = DIoU.
# For [0,0,1,1] vs [2,0,3,1] (disjoint): IoU 0, union 2, C = [0,0,3,1] of area 3, diagonal² 9 + 1 = 10,
# centres (0.5,0.5), (2.5,0.5): ρ² = 4.   GIoU = -(3 - 2)/3 = -1/3,  DIoU = -4/10,  CIoU = DIoU (v = 0).
# For [0,0,2,2] vs [0,0,4,2]: IoU 4/8 = 1/2, C = [0,0,4,2] = B, so GIoU = 1/2; centres (1,1), (2,1):
# ρ² = 1, diagonal² 16 + 4 = 20, DIoU = 1/2 - 1/20 = 9/20; atan(2) - atan(1) = atan(1/3), so
# v = 4/π² atan(1/3)², α = v / (1/2 + v), CIoU = 9/20 - v² / (1/2 + v) ≈ 0.446752.
# For [0,0,1,2] vs [0,0,2,1]: intersection 1, union 3, IoU 1/3; C = [0,0,2,2] of area 4, diagonal² 8;
# centres (0.5,1), (1,0.5): ρ² = 1/2.  GIoU = 1/3 - 1/4 = 1/12, DIoU = 1/3 - 1/16 = 13/48;
# atan(2) - atan(1/2) = atan(3/4), v = 4/π² atan(3/4)², CIoU = 13/48 - v² / (2/3 + v) ≈ 0.2708 - 0.0338 ≈ 0.2371.
_V1 = 4 / math.pi ** 2 * math.atan(1 / 3) ** 2
_V2 = 4 / math.pi ** 2 * math.atan(3 / 4) ** 2
VARIANT_TABLE = [
    ([0, 0, 2, 2], [1, 1, 3, 3], {"iou": 1 / 7, "giou": -5 / 63, "diou": 2 / 63, "ciou": 2 / 63}),
    ([0, 0, 1, 1], [2, 0, 3, 1], {"iou": 0.0, "giou": -1 / 3, "diou": -0.4, "ciou": -0.4}),
    ([0, 0, 2, 2], [0, 0, 4, 2], {"iou": 0.5, "giou": 0.5, "diou": 0.45,
                                  "ciou": 0.45 - _V1 ** 2 / (0.5 + _V1)}),
    ([0, 0, 1, 2], [0, 0, 2, 1], {"iou": 1 / 3, "giou": 1 / 12, "diou": 13 / 48,
                                  "ciou": 13 / 48 - _V2 ** 2 / (2 / 3 + _V2)}),
    # identical boxes: every variant is exactly 1
    ([3, 4, 7, 9], [3, 4, 7, 9], {"iou": 1.0, "giou": 1.0, "diou": 1.0, "ciou": 1.0}),
]


def test_hand_ciou_values_are_what_the_comments_say():
    assert VARIANT_TABLE[2][2]["ciou"] == pytest.approx(0.446752, abs=1e-6)
    assert VARIANT_TABLE[3][2]["ciou"] == pytest.approx(0.237082, abs=1e-6)


@pytest.mark.parametrize("a, b, expected", IOU_TABLE)
def test_iou_hand_table(path, a, b, expected):
    assert box_iou([a], [b])[0, 0] == pytest.approx(expected, rel=1e-15, abs=0)
    assert box_iou([b], [a])[0, 0] == pytest.approx(expected, rel=1e-15, abs=0)
    assert paired_iou([a], [b])[0] == pytest.approx(expected, rel=1e-15, abs=0)
    assert iou_pair(a, b) == pytest.approx(expected, rel=1e-15, abs=0)


def test_iou_hand_table_as_one_matrix(path):
    A = [row[0] for row in IOU_TABLE]
    B = [row[1] for row in IOU_TABLE]
    m = box_iou(A, B)
    assert m.shape == (len(A), len(B))
    np.testing.assert_allclose(np.diag(m), [row[2] for row in IOU_TABLE], rtol=1e-15, atol=0)


@pytest.mark.parametrize("metric", ALL_METRICS)
@pytest.mark.parametrize("a, b, expected", VARIANT_TABLE)
def test_variants_hand_table(path, metric, a, b, expected):
    want = expected[metric]
    assert box_iou([a], [b], metric)[0, 0] == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert box_iou([b], [a], metric)[0, 0] == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert paired_iou([a], [b], metric)[0] == pytest.approx(want, rel=1e-12, abs=1e-15)
    ref = {"iou": iou_pair, "giou": giou_pair, "diou": diou_pair, "ciou": ciou_pair}[metric]
    assert ref(a, b) == pytest.approx(want, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_zero_area_boxes_are_never_nan(path, metric):
    others = ZERO_AREA + [[0, 0, 2, 2], [1, 1, 3, 3], [-5, -5, 10, 10]]
    m = box_iou(ZERO_AREA, others, metric)
    assert np.isfinite(m).all()
    ref = np.array(iou_matrix_loop(ZERO_AREA, others, metric))
    np.testing.assert_allclose(m, ref, rtol=0, atol=1e-12)
    if metric == "iou":
        # IoU 0 with everything, itself and boxes that contain it included
        np.testing.assert_array_equal(m, 0.0)
    # with itself: every term is dropped (no area, no enclosing area, no centre distance) -> 0
    np.testing.assert_array_equal(np.diag(box_iou(ZERO_AREA, ZERO_AREA, metric)), 0.0)
    np.testing.assert_array_equal(paired_iou(ZERO_AREA, ZERO_AREA, metric), 0.0)


def test_zero_area_giou_against_a_box_hand_value(path):
    # point (1,1) vs [0,0,2,2]: IoU 0, union 4, C = [0,0,2,2] area 4 -> GIoU = 0 - 0/4 = 0
    assert box_iou([[1, 1, 1, 1]], [[0, 0, 2, 2]], "giou")[0, 0] == 0.0
    # point (3,1) vs [0,0,2,2]: union 4, C = [0,0,3,2] area 6 -> GIoU = -2/6
    assert box_iou([[3, 1, 3, 1]], [[0, 0, 2, 2]], "giou")[0, 0] == pytest.approx(-1 / 3, rel=1e-15)


# ---------------------------------------------------------------- matrix vs reference loop


@pytest.mark.parametrize("metric", ALL_METRICS)
@pytest.mark.parametrize("kind", list(SETS))
@pytest.mark.parametrize("seed", [0, 1])
def test_matrix_matches_reference_loop(path, metric, kind, seed):
    rng = np.random.default_rng(seed)
    A = SETS[kind](rng, 40)
    B = SETS[kind](rng, 31)
    got = box_iou(A, B, metric)
    assert got.shape == (40, 31) and got.dtype == np.float64
    want = np.array(iou_matrix_loop(A, B, metric))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("metric", ALL_METRICS)
@pytest.mark.parametrize("kind", list(SETS))
def test_numpy_and_numba_paths_agree(metric, kind):
    rng = np.random.default_rng(7)
    A = SETS[kind](rng, 300)
    B = SETS[kind](rng, 250)
    a = on_path("numpy", box_iou, A, B, metric)
    b = on_path("numba", box_iou, A, B, metric)
    if metric == "iou":
        np.testing.assert_array_equal(a, b)  # the design promise: bit-identical IoU
    else:
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", list(SETS))
@pytest.mark.parametrize("seed", [0, 1])
def test_filled_matrix_is_every_pair_bit_for_bit(kind, seed):
    """The filled matrix leaves pairs that do not overlap at +0.0 and computes the others with the
    same formula: equal, bit for bit and in the sign of every zero, to computing every pair."""
    rng = np.random.default_rng(seed)
    A, B = SETS[kind](rng, 300), SETS[kind](rng, 250)
    B[:5] = A[:5]  # identical boxes
    B[5:10] = A[5:10] + np.outer(A[5:10, 2] - A[5:10, 0], [1, 0, 1, 0])  # touching on the right
    every = on_path("numpy", box_iou, A, B)
    filled = on_path("fill", box_iou, A, B)
    np.testing.assert_array_equal(filled, every)
    assert not np.signbit(filled).any()


def test_fill_is_chosen_by_candidates_not_by_size(monkeypatch):
    """Spread boxes (few candidates) are filled from the grid; one cluster (every pair a
    candidate) is computed pair by pair; small matrices never build a grid."""
    filled = []
    real = iou_mod._GridJoin.fill_iou
    monkeypatch.setattr(iou_mod._GridJoin, "fill_iou", lambda self, out: (filled.append(1), real(self, out))[1])
    rng = np.random.default_rng(3)
    spread = uniform_boxes(rng, 400, extent=2000.0, max_side=30.0)
    cluster = uniform_boxes(rng, 400, extent=5.0, max_side=30.0)
    got = box_iou(spread, spread[::-1])
    assert filled == [1]
    np.testing.assert_array_equal(got, on_path("numpy", box_iou, spread, spread[::-1]))
    box_iou(cluster, cluster)
    assert filled == [1]
    box_iou(spread[:200], spread[:200])  # 40,000 pairs < FILL_MIN_PAIRS
    assert filled == [1]
    box_iou(spread, spread, "giou")  # no overlap is not 0 for the others
    assert filled == [1]


def test_unthresholded_pairs_never_build_a_grid_per_block(monkeypatch):
    """iou_pairs with a minimum <= 0 lists every pair in row blocks: each block is computed pair
    by pair, not by a grid over B built again for every block."""
    monkeypatch.setattr(iou_mod, "_GridJoin", None)
    rng = np.random.default_rng(4)
    A, B = uniform_boxes(rng, 30, extent=2000.0), uniform_boxes(rng, 70_000, extent=2000.0)
    i, j, v = iou_pairs(A, B, 0.0)
    assert len(v) == 30 * 70_000
    np.testing.assert_array_equal(v.reshape(30, 70_000), on_path("numpy", box_iou, A, B))


def test_path_fixture_really_switches_kernels(monkeypatch):
    from dltool.core import box_kernels

    calls = []
    real = box_kernels.iou_rows

    def spy(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(box_kernels, "iou_rows", spy)
    on_path("numpy", box_iou, [[0, 0, 1, 1]], [[0, 0, 1, 1]])
    assert calls == []
    on_path("numba", box_iou, [[0, 0, 1, 1]], [[0, 0, 1, 1]])
    assert calls == [1]


def test_default_threshold_uses_numba_only_for_large_inputs(monkeypatch):
    from dltool.core import box_kernels

    calls = []
    real = box_kernels.iou_rows
    monkeypatch.setattr(box_kernels, "iou_rows", lambda *a: (calls.append(1), real(*a)))
    monkeypatch.setattr(iou_mod, "NUMBA_MIN_PAIRS", 100)
    box_iou(np.zeros((9, 4)), np.zeros((11, 4)))  # 99 pairs
    assert calls == []
    box_iou(np.zeros((10, 4)), np.zeros((10, 4)))  # 100 pairs
    assert calls == [1]


# ---------------------------------------------------------------- paired and sparse forms


@pytest.mark.parametrize("metric", ALL_METRICS)
@pytest.mark.parametrize("kind", list(SETS))
def test_paired_iou_is_the_diagonal(path, metric, kind):
    rng = np.random.default_rng(3)
    A = SETS[kind](rng, 200)
    B = SETS[kind](rng, 200)
    B[:20] = A[:20]  # some identical pairs
    got = paired_iou(A, B, metric)
    assert got.shape == (200,)
    dense = box_iou(A, B, metric)
    if metric == "iou":
        np.testing.assert_array_equal(got, np.diag(dense))
    else:
        np.testing.assert_allclose(got, np.diag(dense), rtol=0, atol=1e-12)
    np.testing.assert_allclose(got, [PAIR(metric)(a, b) for a, b in zip(A, B)], rtol=0, atol=1e-12)


def PAIR(metric):
    return {"iou": iou_pair, "giou": giou_pair, "diou": diou_pair, "ciou": ciou_pair}[metric]


def _sparse_from_dense(dense, min_value):
    i, j = np.nonzero(dense >= min_value)
    return i, j, dense[i, j]


MIN_VALUES = {
    "iou": [0.0, 0.1, 0.5, 0.9],
    "giou": [-0.5, 0.0, 0.1, 0.5, 0.9],
    "diou": [-0.3, 0.0, 0.1, 0.5, 0.9],
    "ciou": [-0.3, 0.0, 0.1, 0.5, 0.9],
}
PAIR_CASES = [(m, v) for m in ALL_METRICS for v in MIN_VALUES[m]]


@pytest.mark.parametrize("metric, min_value", PAIR_CASES)
@pytest.mark.parametrize("kind", list(SETS))
def test_iou_pairs_matches_thresholded_dense(path, metric, min_value, kind):
    rng = np.random.default_rng(11)
    A = SETS[kind](rng, 150)
    B = SETS[kind](rng, 120)
    B[:10] = A[:10]  # duplicates across the sets
    dense = on_path("numpy", box_iou, A, B, metric)
    r1, r2, v = iou_pairs(A, B, min_value, metric)
    assert r1.dtype == np.int64 and r2.dtype == np.int64 and v.dtype == np.float64
    i, j, want = _sparse_from_dense(dense, min_value)
    if metric == "iou" and min_value == 0.0:
        assert len(r1) == 150 * 120  # every IoU is >= 0
    np.testing.assert_array_equal(r1, i)
    np.testing.assert_array_equal(r2, j)
    if metric == "iou":
        np.testing.assert_array_equal(v, want)
    else:
        np.testing.assert_allclose(v, want, rtol=0, atol=1e-12)
    assert (v >= min_value).all()


@pytest.mark.parametrize("case", ["far from the origin", "one huge box", "exact reach", "tall and wide"])
@pytest.mark.parametrize("min_value", [0.3, 0.5, 2 / 3, 0.9])
def test_iou_pairs_corner_bound_keeps_every_pair(path, case, min_value):
    """The corner grid's bound |x1a - x1b| <= (1 - t) max(wa, wb) is met with equality by some pairs,
    and must survive rounding far from the origin and a box that stretches the grid's cells."""
    rng = np.random.default_rng(9)
    A = uniform_boxes(rng, 300, extent=50.0, max_side=8.0)
    B = A + rng.normal(0, 0.2, A.shape)
    B[:, 2:] = np.maximum(B[:, 2:], B[:, :2])
    if case == "far from the origin":
        A, B = A * 1e-3 + 1e6, B * 1e-3 + 1e6
    elif case == "one huge box":
        A = np.concatenate([A, [[-1e4, -1e4, 1e4, 1e4]]])
        B = np.concatenate([B, [[-1e4, -1e4, 1e4 - 1, 1e4]]])
    elif case == "exact reach":  # B the right part of A: its left edge (1 - t) * wa in, IoU = t
        B = A.copy()
        B[:, 0] += (1 - min_value) * (A[:, 2] - A[:, 0])
        B[:50, 0] = np.nextafter(B[:50, 0], -np.inf)  # and a hair either side
        B[50:100, 0] = np.nextafter(B[50:100, 0], np.inf)
    else:
        A[:, 2] += 40 * rng.uniform(0, 1, len(A))
        B = A + rng.normal(0, 0.3, A.shape)
        B[:, 2:] = np.maximum(B[:, 2:], B[:, :2])
    dense = on_path("numpy", box_iou, A, B)
    r1, r2, v = iou_pairs(A, B, min_value)
    i, j, want = _sparse_from_dense(dense, min_value)
    assert len(i) >= 20
    np.testing.assert_array_equal(r1, i)
    np.testing.assert_array_equal(r2, j)
    np.testing.assert_array_equal(v, want)


@pytest.mark.parametrize("min_value", [1e-9, 0.1, 0.5, 0.9, 1.0])
def test_iou_pairs_grid_kernel_on_clusters_and_duplicates(path, min_value):
    """Larger, denser sets, so the numba grid search has many boxes per cell and spans many cells."""
    rng = np.random.default_rng(5)
    A = np.concatenate([clustered_boxes(rng, 400, objects=8), grid_boxes(rng, 100) * 12])
    B = np.concatenate([A[::3], clustered_boxes(rng, 300, objects=8), grid_boxes(rng, 100) * 12])
    dense = on_path("numpy", box_iou, A, B)
    r1, r2, v = iou_pairs(A, B, min_value)
    i, j, want = _sparse_from_dense(dense, min_value)
    assert len(i) > 0
    np.testing.assert_array_equal(r1, i)
    np.testing.assert_array_equal(r2, j)
    np.testing.assert_array_equal(v, want)


def test_iou_pairs_touching_and_zero_area_hand(path):
    A = [[0, 0, 1, 1], [0, 0, 0, 0], [2, 2, 4, 4]]
    B = [[1, 0, 2, 1],  # touches A0
         [0, 0, 0, 0],  # the same point as A1
         [0, 0, 1, 1],  # equals A0
         [3, 3, 5, 5]]  # IoU with A2 = 1 / 7
    r1, r2, v = iou_pairs(A, B, 0.1)
    np.testing.assert_array_equal(r1, [0, 2])
    np.testing.assert_array_equal(r2, [2, 3])
    np.testing.assert_allclose(v, [1.0, 1 / 7], rtol=1e-15)
    # with a minimum of 0, every pair qualifies, touching and zero-area ones with value 0
    r1, r2, v = iou_pairs(A, B, 0.0)
    assert len(r1) == 12
    assert v[(r1 == 0) & (r2 == 0)][0] == 0.0
    assert v[(r1 == 1) & (r2 == 1)][0] == 0.0
    # a minimum just above 1/7 drops that pair, exactly 1/7 keeps it (>=)
    r1, r2, v = iou_pairs(A, B, 1 / 7)
    np.testing.assert_array_equal(r2, [2, 3])
    r1, r2, v = iou_pairs(A, B, np.nextafter(1 / 7, 1))
    np.testing.assert_array_equal(r2, [2])


def test_iou_pairs_negative_giou_minimum_hand(path):
    # [0,0,1,1] vs [2,0,3,1]: GIoU -1/3 (see VARIANT_TABLE); vs [10,0,11,1]: C area 11, union 2, -9/11
    A = [[0, 0, 1, 1]]
    B = [[2, 0, 3, 1], [10, 0, 11, 1], [0, 0, 1, 1]]
    r1, r2, v = iou_pairs(A, B, -0.5, "giou")
    np.testing.assert_array_equal(r2, [0, 2])
    np.testing.assert_allclose(v, [-1 / 3, 1.0], rtol=1e-15)
    r1, r2, v = iou_pairs(A, B, -1.0, "giou")
    np.testing.assert_array_equal(r2, [0, 1, 2])


# ---------------------------------------------------------------- shapes and errors


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_empty_shapes(path, metric):
    some = [[0, 0, 1, 1], [1, 1, 2, 2], [0, 0, 3, 3]]
    assert box_iou(some, np.zeros((0, 4)), metric).shape == (3, 0)
    assert box_iou(np.zeros((0, 4)), some, metric).shape == (0, 3)
    assert box_iou([], [], metric).shape == (0, 0)
    assert paired_iou([], [], metric).shape == (0,)
    for a, b in [(some, []), ([], some), ([], [])]:
        r1, r2, v = iou_pairs(a, b, 0.5, metric)
        assert r1.shape == r2.shape == v.shape == (0,)
        assert r1.dtype == np.int64 and r2.dtype == np.int64


def test_errors():
    with pytest.raises(InputError, match="unknown metric 'dice'"):
        box_iou([[0, 0, 1, 1]], [[0, 0, 1, 1]], "dice")
    with pytest.raises(InputError, match="unknown metric"):
        paired_iou([[0, 0, 1, 1]], [[0, 0, 1, 1]], "IoU")
    with pytest.raises(InputError, match="unknown metric"):
        iou_pairs([[0, 0, 1, 1]], [[0, 0, 1, 1]], 0.5, "x")
    with pytest.raises(InputError, match="equal counts, got 2 and 1"):
        paired_iou([[0, 0, 1, 1]] * 2, [[0, 0, 1, 1]])
    with pytest.raises(InputError, match="finite number"):
        iou_pairs([[0, 0, 1, 1]], [[0, 0, 1, 1]], float("nan"))
    with pytest.raises(InputError, match="^boxes2: row 0"):
        box_iou([[0, 0, 1, 1]], [[0, 0, np.inf, 1]])
    with pytest.raises(InputError, match="^boxes1: row 1: x2 < x1"):
        box_iou([[0, 0, 1, 1], [2, 0, 1, 1]], [[0, 0, 1, 1]])


# ---------------------------------------------------------------- properties

coord = st.one_of(st.integers(-20, 20).map(float),
                  st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32))
side = st.one_of(st.integers(0, 10).map(float), st.floats(0, 500, allow_nan=False, width=32))
# Quarter-pixel grid: every sum and difference of coordinates is exact in float64.
grid_coord = st.integers(-256, 256).map(lambda k: k / 4)
grid_side = st.integers(0, 64).map(lambda k: k / 4)


@st.composite
def box_sets(draw, min_size=0, max_size=12, grid=False):
    n = draw(st.integers(min_size, max_size))
    xy = draw(hnp.arrays(np.float64, (n, 2), elements=grid_coord if grid else coord))
    wh = draw(hnp.arrays(np.float64, (n, 2), elements=grid_side if grid else side))
    return np.concatenate([xy, xy + wh], axis=1)


@HYPOTHESIS
@given(A=box_sets(), B=box_sets())
def test_property_iou_symmetric_and_in_unit_interval(path, A, B):
    m = box_iou(A, B)
    np.testing.assert_array_equal(m, box_iou(B, A).T)  # exactly symmetric
    assert ((m >= 0) & (m <= 1)).all()
    np.testing.assert_allclose(m, np.array(iou_matrix_loop(A, B)).reshape(m.shape), rtol=0, atol=1e-12)


@HYPOTHESIS
@given(A=box_sets(), B=box_sets())
def test_property_variants_bounded_and_below_iou(path, A, B):
    """Arbitrary float boxes, tiny ones included: finite, in range, and never above IoU."""
    iou = box_iou(A, B)
    bounds = {"giou": (-1, 1), "diou": (-1, 1), "ciou": (-1.5, 1)}
    for metric, (lo, hi) in bounds.items():
        m = box_iou(A, B, metric)
        assert np.isfinite(m).all()
        assert ((m >= lo - 1e-12) & (m <= hi + 1e-12)).all(), metric
        # every variant is IoU minus a penalty: iou_pairs' grid search relies on this
        assert (m <= iou + 1e-12).all(), metric
        ref = np.array(iou_matrix_loop(A, B, metric)).reshape(m.shape)
        # the centre distance loses digits when a box is tiny next to its coordinates (a box
        # 1e-12 wide at x = -1): compare with a tolerance scaled by coordinate size / diagonal
        np.testing.assert_allclose(m, ref, rtol=0, atol=_centre_tolerance(A, B))


def _centre_tolerance(A, B):
    a, b = A[:, None, :], B[None, :, :]
    scale = np.maximum(np.abs(a).max(axis=-1), np.abs(b).max(axis=-1)) + 1
    cw = np.maximum(a[..., 2], b[..., 2]) - np.minimum(a[..., 0], b[..., 0])
    ch = np.maximum(a[..., 3], b[..., 3]) - np.minimum(a[..., 1], b[..., 1])
    with np.errstate(divide="ignore"):
        rel = np.where(cw + ch > 0, scale / np.hypot(cw, ch), 0.0)
    return 1e-12 + 1e-14 * (rel.max(initial=0) + rel.max(initial=0) ** 2)


@HYPOTHESIS
@given(A=box_sets(grid=True), B=box_sets(grid=True))
def test_property_variants_symmetric_on_exact_coordinates(path, A, B):
    for metric in ["giou", "diou", "ciou"]:
        np.testing.assert_allclose(box_iou(A, B, metric), box_iou(B, A, metric).T, rtol=0, atol=1e-15)


@HYPOTHESIS
@given(A=box_sets(min_size=1))
def test_property_self_iou_is_one_for_positive_area(path, A):
    positive = (A[:, 2] > A[:, 0]) & (A[:, 3] > A[:, 1])
    d = np.diag(box_iou(A, A))
    np.testing.assert_array_equal(d[positive], 1.0)
    np.testing.assert_array_equal(d[~positive], 0.0)
    np.testing.assert_array_equal(paired_iou(A, A), d)


@HYPOTHESIS
@given(A=box_sets(min_size=1, grid=True))
def test_property_self_variants_on_exact_coordinates(path, A):
    """A box against itself: no enclosing margin, no centre distance, same aspect: every variant = IoU."""
    positive = (A[:, 2] > A[:, 0]) & (A[:, 3] > A[:, 1])
    for metric in ALL_METRICS:
        d = np.diag(box_iou(A, A, metric))
        np.testing.assert_array_equal(d[positive], 1.0)
        np.testing.assert_array_equal(d[~positive], 0.0)
        np.testing.assert_array_equal(paired_iou(A, A, metric), d)


def test_diou_symmetric_on_pixel_boxes(path):
    """On realistic pixel boxes (>= 1 px, coordinates < 2000) DIoU/CIoU are symmetric to 1e-12."""
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 1900, (300, 2))
    A = np.concatenate([xy, xy + rng.uniform(1, 100, (300, 2))], axis=1)
    xy = rng.uniform(0, 1900, (200, 2))
    B = np.concatenate([xy, xy + rng.uniform(1, 100, (200, 2))], axis=1)
    for metric in ["diou", "ciou"]:
        np.testing.assert_allclose(box_iou(A, B, metric), box_iou(B, A, metric).T, rtol=0, atol=1e-12)
        np.testing.assert_allclose(np.diag(box_iou(A, A, metric)), 1.0, rtol=0, atol=1e-12)


@HYPOTHESIS
@given(A=box_sets(), B=box_sets(), min_value=st.sampled_from([0.0, 0.05, 0.3, 0.5, 1.0]))
def test_property_iou_pairs_is_thresholded_matrix(path, A, B, min_value):
    dense = box_iou(A, B)
    r1, r2, v = iou_pairs(A, B, min_value)
    i, j, want = _sparse_from_dense(dense, min_value)
    np.testing.assert_array_equal(r1, i)
    np.testing.assert_array_equal(r2, j)
    np.testing.assert_array_equal(v, want)
