"""Greedy NMS, grouped NMS, Soft-NMS and the select_detections pipeline: dltool.core.nms.

Every test that takes the ``path`` fixture runs twice: with the numpy loop and with the numba kernels
(``box_kernels.nms_segments`` / ``soft_nms_segments``), chosen by monkeypatching
``dltool.core.nms.NUMBA_MIN_WORK``. The numba kernel scans segments of <= 64 boxes and uses a grid
for larger ones, so the random sets below come in both sizes. Results are compared with the
15-line greedy NMS in ``reference.py`` and with torchvision's stored output.
"""

import functools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dltool.core.nms as nms_mod
from dltool.core.nms import batched_nms, nms, select_detections, soft_nms
from dltool.errors import InputError
try:  # pytest puts tests/ on sys.path (rootdir-based "prepend" import, no tests/__init__.py)
    from reference import greedy_nms, grouped_nms, iou_pair, soft_nms_ref
except ImportError:  # tests/ imported as a package
    from tests.reference import greedy_nms, grouped_nms, iou_pair, soft_nms_ref

DATA = Path(__file__).parent / "data" / "nms"
PATHS = {"numpy": 10**18, "numba": 0}
HYPOTHESIS = settings(max_examples=100, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(params=list(PATHS))
def path(request, monkeypatch):
    """Force one code path: ``numpy`` (threshold never reached) or ``numba`` (always reached)."""
    monkeypatch.setattr(nms_mod, "NUMBA_MIN_WORK", PATHS[request.param])
    return request.param


def on_path(name, fn, *args, **kwargs):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(nms_mod, "NUMBA_MIN_WORK", PATHS[name])
        return fn(*args, **kwargs)


def assert_keep(got, want):
    got = np.asarray(got)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, np.asarray(want, dtype=np.int64))


# ---------------------------------------------------------------- random sets (seeded)


def uniform_set(rng, n):
    xy = rng.uniform(0, 300, (n, 2))
    wh = rng.uniform(5, 60, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1), rng.uniform(0, 1, n)


def clustered_set(rng, n, objects=6):
    centres = rng.uniform(50, 250, (objects, 2))
    sizes = rng.uniform(20, 80, (objects, 2))
    k = rng.integers(0, objects, n)
    c = centres[k] + rng.normal(0, 4, (n, 2))
    s = sizes[k] * rng.uniform(0.85, 1.15, (n, 2))
    return np.concatenate([c - s / 2, c + s / 2], axis=1), rng.uniform(0, 1, n)


def integer_set(rng, n):
    """Integer boxes and scores from 4 values: exact IoU ties, duplicates, touching, zero-area boxes."""
    xy = rng.integers(0, 12, (n, 2))
    wh = rng.integers(0, 5, (n, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float64)
    return boxes, rng.integers(1, 5, n) / 4


SETS = {"uniform": uniform_set, "clustered": clustered_set, "integer": integer_set}
THRESHOLDS = [-0.1, 0.0, 0.3, 0.5, 0.7, 1.0]


@functools.lru_cache(maxsize=None)
def _case(kind, seed, n):
    return SETS[kind](np.random.default_rng(seed), n)


@functools.lru_cache(maxsize=None)
def _reference_keep(kind, seed, n, t):
    boxes, scores = _case(kind, seed, n)
    return tuple(greedy_nms(boxes.tolist(), scores.tolist(), t))


# ---------------------------------------------------------------- torchvision's output


def _load(name):
    return (np.load(DATA / f"{name}_boxes_xyxy.npy"), np.load(DATA / f"{name}_scores.npy"),
            np.load(DATA / f"{name}_torchvision_keep.npy"))


@pytest.mark.parametrize("name, n_kept", [("uniform", 6393), ("clustered", 200)])
def test_matches_torchvision_keep(path, name, n_kept):
    boxes, scores, tv_keep = _load(name)
    assert boxes.dtype == np.float32 and boxes.shape == (10_000, 4) and len(tv_keep) == n_kept
    keep = nms(boxes, scores, 0.5)
    assert_keep(keep, tv_keep)
    assert_keep(batched_nms(boxes, scores, np.zeros(len(boxes), dtype=np.int64), 0.5), tv_keep)


@pytest.mark.parametrize("name", ["uniform", "clustered"])
def test_torchvision_sets_per_class_paths_agree(name):
    """80 classes: the numba and numpy paths agree, and equal torchvision's coordinate-offset trick."""
    boxes, scores, _ = _load(name)
    labels = np.load(DATA / f"{name}_labels80.npy")
    a = on_path("numba", nms, boxes, scores, 0.5, groups=labels)
    b = on_path("numpy", nms, boxes, scores, 0.5, groups=labels)
    assert_keep(a, b)
    # batched_nms' trick: shift each class far away from the others, then one ungrouped NMS.
    b64 = boxes.astype(np.float64)
    shifted = b64 + (labels * (b64.max() + 1))[:, None]
    assert_keep(on_path("numba", nms, shifted, scores, 0.5), a)
    # and class by class
    per_class = np.concatenate([np.flatnonzero(labels == c)[nms(boxes[labels == c], scores[labels == c])]
                                for c in range(80)])
    per_class = per_class[np.lexsort((per_class, -scores[per_class].astype(np.float64)))]
    assert_keep(a, per_class)


# ---------------------------------------------------------------- against the reference


@pytest.mark.parametrize("t", THRESHOLDS)
@pytest.mark.parametrize("kind", list(SETS))
@pytest.mark.parametrize("n", [40, 250])  # numba: one scanned segment; one gridded segment
def test_matches_reference_greedy_nms(path, kind, n, t):
    boxes, scores = _case(kind, 0, n)
    keep = nms(boxes, scores, t)
    assert_keep(keep, _reference_keep(kind, 0, n, t))
    if t < 0:
        assert len(keep) == 1
    if t >= 1:
        assert len(keep) == n


@pytest.mark.parametrize("t", [0.0, 0.3, 0.5, 0.7])
@pytest.mark.parametrize("kind", list(SETS))
def test_both_paths_identical_on_larger_sets(kind, t):
    boxes, scores = _case(kind, 1, 3000)
    assert_keep(on_path("numba", nms, boxes, scores, t), on_path("numpy", nms, boxes, scores, t))


@pytest.mark.parametrize("t", [-1.0, 0.0, 0.5, 0.8])
@pytest.mark.parametrize("kind", ["uniform", "clustered", "integer"])
def test_grouped_matches_reference_80_classes(path, kind, t):
    rng = np.random.default_rng(4)
    boxes, scores = SETS[kind](rng, 1200)
    groups = rng.integers(0, 80, len(boxes))
    groups[:300] = 7  # one big class, so the numba path also grids a grouped segment
    keep = nms(boxes, scores, t, groups=groups)
    assert_keep(keep, grouped_nms(boxes.tolist(), scores.tolist(), groups.tolist(), t))
    assert_keep(batched_nms(boxes, scores, groups, t), keep)
    if t < 0:
        assert sorted(groups[keep]) == sorted(set(groups.tolist()))  # one box per class


def test_groups_never_suppress_each_other(path):
    box = [10, 10, 20, 20]
    boxes = [box] * 6
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    assert_keep(nms(boxes, scores, 0.5), [0])
    assert_keep(nms(boxes, scores, 0.5, groups=[0, 1, 2, 0, 1, 2]), [0, 1, 2])
    assert_keep(nms(boxes, scores, 0.5, groups=[5, -3, 5, 10**12, -3, 0]), [0, 1, 3, 5])


# ---------------------------------------------------------------- hand-made edge cases


def test_iou_exactly_at_threshold_is_kept(path):
    # [0,0,2,1] vs [0,0,1,1]: intersection 1, union 2 + 1 - 1 = 2, IoU = 0.5 exactly
    assert iou_pair([0, 0, 2, 1], [0, 0, 1, 1]) == 0.5
    boxes = [[0, 0, 2, 1], [0, 0, 1, 1]]
    assert_keep(nms(boxes, [0.9, 0.8], 0.5), [0, 1])
    assert_keep(nms(boxes, [0.9, 0.8], np.nextafter(0.5, 0)), [0])
    # [0,0,2,1] vs [1,0,3,1]: IoU = 1/3 exactly as Python computes 1/3
    boxes = [[0, 0, 2, 1], [1, 0, 3, 1]]
    assert_keep(nms(boxes, [0.9, 0.8], 1 / 3), [0, 1])
    assert_keep(nms(boxes, [0.9, 0.8], np.nextafter(1 / 3, 0)), [0])


def test_iou_just_above_threshold_is_suppressed(path):
    # [0,0,2,1] vs [0,0,1+e,1]: IoU = (1+e)/2 > 0.5
    for w in [1.0000001, 1 + 2**-40, np.nextafter(1.0, 2)]:
        boxes = [[0, 0, 2, 1], [0, 0, w, 1]]
        assert iou_pair(*boxes) > 0.5
        assert_keep(nms(boxes, [0.9, 0.8], 0.5), [0])
        assert_keep(nms(boxes, [0.8, 0.9], 0.5), [1])


def test_threshold_sitting_pairs_on_the_grid_path(path):
    """100 pairs at IoU exactly 0.5 (and 100 at just above) in one segment: > 64 boxes, so gridded."""
    x = np.arange(100, dtype=np.float64) * 3
    big = np.stack([x, np.zeros(100), x + 2, np.ones(100)], axis=1)
    half = np.stack([x, np.zeros(100), x + 1, np.ones(100)], axis=1)
    above = np.stack([x, np.zeros(100), x + 1.0000001, np.ones(100)], axis=1)
    scores = np.concatenate([np.linspace(1, 0.6, 100), np.linspace(0.5, 0.1, 100)])
    keep = nms(np.concatenate([big, half]), scores, 0.5)
    assert_keep(keep, np.arange(200))
    keep = nms(np.concatenate([big, above]), scores, 0.5)
    assert_keep(keep, np.arange(100))
    keep = nms(np.concatenate([big, half]), scores, np.nextafter(0.5, 0))
    assert_keep(keep, np.arange(100))


def test_equal_scores_earlier_index_wins(path):
    boxes = [[0, 0, 1, 1], [5, 5, 6, 6], [0, 0, 1, 1], [5, 5, 6, 6]]
    assert_keep(nms(boxes, [0.5] * 4, 0.5), [0, 1])
    # the later duplicate survives only if it scores strictly higher
    assert_keep(nms(boxes, [0.5, 0.5, 0.5000001, 0.5], 0.5), [2, 1])
    # disjoint boxes, ties in the output are ordered by index
    disjoint = [[10 * k, 0, 10 * k + 1, 1] for k in range(6)]
    assert_keep(nms(disjoint, [0.5, 0.9, 0.5, 0.9, 0.1, 0.5], 0.5), [1, 3, 0, 2, 5, 4])
    # negative threshold: only the top box, the earliest among equals
    assert_keep(nms(disjoint, [0.5, 0.9, 0.5, 0.9, 0.1, 0.5], -0.5), [1])
    assert_keep(nms(disjoint, [0.5, 0.9, 0.5, 0.9, 0.1, 0.5], -0.5,
                    groups=[0, 0, 1, 1, 2, 2]), [1, 3, 5])


def test_equal_scores_on_the_grid_path(path):
    # 200 copies of one box, all with the same score: only the first index survives
    boxes = np.tile([[3.0, 4.0, 8.0, 9.0]], (200, 1))
    assert_keep(nms(boxes, np.full(200, 0.7), 0.5), [0])
    assert_keep(nms(boxes, np.full(200, 0.7), 1.0), np.arange(200))
    # ... and the highest score wins, lowest index among the highest
    scores = np.full(200, 0.7)
    scores[[150, 60, 120]] = 0.8
    assert_keep(nms(boxes, scores, 0.5), [60])


@pytest.mark.parametrize("t", [0.0, 0.5, 1.0])
def test_zero_area_boxes_never_suppress_nor_are_suppressed(path, t):
    rng = np.random.default_rng(9)
    big = np.tile([[0.0, 0.0, 100.0, 100.0]], (80, 1))
    xy = rng.uniform(10, 90, (40, 2))
    points = np.stack([xy[:, 0], xy[:, 1], xy[:, 0], xy[:, 1]], axis=1)
    xs = rng.uniform(10, 90, 40)
    vlines = np.stack([xs, np.full(40, 5.0), xs, np.full(40, 95.0)], axis=1)
    boxes = np.concatenate([points, vlines, points, big])  # duplicates of the points too
    zero = np.arange(120)
    scores = rng.uniform(0, 1, len(boxes))
    scores[120:] = rng.uniform(0, 1, 80) * 0.1 + 0.45  # boxes around and under the points
    keep = nms(boxes, scores, t)
    assert set(zero) <= set(keep.tolist())
    n_big_kept = len(set(keep.tolist()) - set(zero))
    assert n_big_kept == (80 if t >= 1 else 1)
    assert_keep(keep, greedy_nms(boxes.tolist(), scores.tolist(), t))


@pytest.mark.parametrize("groups", [None, np.zeros(0, dtype=np.int64)])
def test_empty_input(path, groups):
    keep = nms(np.zeros((0, 4)), np.zeros(0), 0.5, groups=groups)
    assert keep.shape == (0,) and keep.dtype == np.int64
    keep = nms([], [], -1.0, groups=groups)
    assert keep.shape == (0,) and keep.dtype == np.int64
    keep, s = soft_nms([], [], groups=groups)
    assert keep.shape == (0,) and keep.dtype == np.int64 and s.shape == (0,)
    keep, s = select_detections(np.zeros((0, 4)), [], groups=groups, max_detections=5)
    assert keep.shape == (0,) and keep.dtype == np.int64 and s.shape == (0,)


def test_empty_groups_list_is_accepted(path):
    """``[]`` is accepted for boxes and scores, so it should be for groups too (np.asarray([]) is
    float64, which the integer check rejects when there are no boxes at all)."""
    assert_keep(nms([], [], 0.5, groups=[]), [])
    keep, s = select_detections([], [], groups=[], score_threshold=0.1)
    assert_keep(keep, [])


def test_single_box(path):
    assert_keep(nms([[0, 0, 1, 1]], [0.3], 0.5), [0])
    assert_keep(nms([[0, 0, 0, 0]], [0.3], -1), [0])


def test_errors():
    with pytest.raises(InputError, match="expected 2 scores"):
        nms([[0, 0, 1, 1], [0, 0, 1, 1]], [0.5])
    with pytest.raises(InputError, match="finite"):
        nms([[0, 0, 1, 1]], [0.5], float("nan"))
    with pytest.raises(InputError, match="groups must be 1 integers"):
        nms([[0, 0, 1, 1]], [0.5], 0.5, groups=[0.5])
    with pytest.raises(InputError, match="groups must be 2 integers"):
        nms([[0, 0, 1, 1], [0, 0, 1, 1]], [0.5, 0.5], 0.5, groups=[1])
    with pytest.raises(InputError, match="row 1: x2 < x1"):
        nms([[0, 0, 1, 1], [0, 0, -1, 1]], [0.5, 0.5])
    with pytest.raises(InputError, match="row 0: score must be a finite"):
        nms([[0, 0, 1, 1]], [np.inf])
    with pytest.raises(InputError, match="unknown Soft-NMS method"):
        soft_nms([[0, 0, 1, 1]], [0.5], method="hard")
    with pytest.raises(InputError, match="sigma must be a positive"):
        soft_nms([[0, 0, 1, 1]], [0.5], sigma=0.0)
    with pytest.raises(InputError, match="unknown NMS method"):
        select_detections([[0, 0, 1, 1]], [0.5], method="fast")
    with pytest.raises(InputError, match="max detections must be at least 1"):
        select_detections([[0, 0, 1, 1]], [0.5], max_detections=0)


# ---------------------------------------------------------------- properties

grid_box = st.tuples(st.integers(0, 12), st.integers(0, 12), st.integers(0, 5), st.integers(0, 5)).map(
    lambda t: [t[0], t[1], t[0] + t[2], t[1] + t[3]])


@st.composite
def detections(draw, max_size=150):
    n = draw(st.integers(0, max_size))
    boxes = draw(st.lists(grid_box, min_size=n, max_size=n))
    scores = draw(st.lists(st.sampled_from([0.1, 0.25, 0.5, 0.75, 0.9, 1.0]) | st.floats(0, 1),
                           min_size=n, max_size=n))
    groups = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n) | st.just([0] * n))
    return (np.array(boxes, dtype=np.float64).reshape(-1, 4), np.array(scores, dtype=np.float64),
            np.array(groups, dtype=np.int64))


thresholds = st.sampled_from([0.0, 0.2, 1 / 3, 0.5, 0.7, 1.0]) | st.floats(0, 1)


@HYPOTHESIS
@given(det=detections(), t=thresholds)
def test_property_nms(path, det, t):
    boxes, scores, groups = det
    keep = nms(boxes, scores, t, groups=groups)
    assert keep.dtype == np.int64
    # a subset, without repeats
    assert len(set(keep.tolist())) == len(keep)
    assert all(0 <= k < len(boxes) for k in keep)
    # descending scores, equal scores by index
    for a, b in zip(keep[:-1], keep[1:]):
        assert scores[a] > scores[b] or (scores[a] == scores[b] and a < b)
    # no two kept boxes of one group overlap by more than t
    for x in range(len(keep)):
        for y in range(x + 1, len(keep)):
            i, j = keep[x], keep[y]
            if groups[i] == groups[j]:
                assert iou_pair(boxes[i], boxes[j]) <= t
    # idempotent: NMS on the survivors keeps them all, in the same order
    again = nms(boxes[keep], scores[keep], t, groups=groups[keep])
    assert_keep(again, np.arange(len(keep)))
    # and exactly the reference's choice
    assert_keep(keep, grouped_nms(boxes.tolist(), scores.tolist(), groups.tolist(), t))


@HYPOTHESIS
@given(det=detections(max_size=80), t=thresholds)
def test_property_every_dropped_box_has_a_reason(path, det, t):
    """Maximality: each dropped box overlaps a kept, higher-ranked box of its group by more than t."""
    boxes, scores, groups = det
    keep = nms(boxes, scores, t, groups=groups)
    rank = {k: (-scores[k], k) for k in range(len(boxes))}
    for j in set(range(len(boxes))) - set(keep.tolist()):
        assert any(groups[k] == groups[j] and rank[k] < rank[j] and iou_pair(boxes[k], boxes[j]) > t
                   for k in keep)


# ---------------------------------------------------------------- Soft-NMS


def test_soft_nms_hand_values(path):
    # [0,0,2,1] vs [0,0,1,1]: IoU 0.5; [10,0,11,1] overlaps nothing
    boxes = [[0, 0, 2, 1], [0, 0, 1, 1], [10, 0, 11, 1]]
    keep, s = soft_nms(boxes, [0.9, 0.8, 0.3], iou_threshold=0.3, method="linear")
    # linear: 0.8 * (1 - 0.5) = 0.4 > 0.3
    assert_keep(keep, [0, 1, 2])
    np.testing.assert_allclose(s, [0.9, 0.4, 0.3], rtol=1e-15)
    # above the threshold of 0.5 nothing decays (IoU must be > threshold)
    keep, s = soft_nms(boxes, [0.9, 0.8, 0.3], iou_threshold=0.5, method="linear")
    np.testing.assert_allclose(s, [0.9, 0.8, 0.3], rtol=0)
    # gaussian, sigma 0.5: 0.8 * exp(-0.25 / 0.5) = 0.8 e^-0.5 ≈ 0.4852 ; no decay for IoU 0
    keep, s = soft_nms(boxes, [0.9, 0.8, 0.3], sigma=0.5, method="gaussian")
    assert_keep(keep, [0, 1, 2])
    np.testing.assert_allclose(s, [0.9, 0.8 * math.exp(-0.5), 0.3], rtol=1e-15)
    # decay reorders: with the decayed 0.4, a 0.45 box goes before it
    keep, s = soft_nms(boxes, [0.9, 0.8, 0.45], iou_threshold=0.3, method="linear")
    assert_keep(keep, [0, 2, 1])
    np.testing.assert_allclose(s, [0.9, 0.45, 0.4], rtol=1e-15)
    # min_score: a box decayed to <= min_score is dropped (0.8 * 0.5 = 0.4 <= 0.4)
    keep, s = soft_nms(boxes, [0.9, 0.8, 0.3], 0.3, method="linear", min_score=0.4)
    assert_keep(keep, [0])
    keep, s = soft_nms(boxes, [0.9, 0.8, 0.3], 0.3, method="linear", min_score=0.29)
    assert_keep(keep, [0, 1, 2])


def test_soft_nms_identical_boxes_linear_drop(path):
    # identical boxes: IoU 1, linear decay to 0 -> dropped
    keep, s = soft_nms([[0, 0, 1, 1]] * 3, [0.5, 0.9, 0.7], method="linear")
    assert_keep(keep, [1])
    np.testing.assert_array_equal(s, [0.9])


@pytest.mark.parametrize("method, t, sigma", [("linear", 0.3, 0.5), ("linear", 0.0, 0.5),
                                              ("gaussian", 0.3, 0.5), ("gaussian", 0.3, 0.1)])
@pytest.mark.parametrize("kind", list(SETS))
@pytest.mark.parametrize("grouped", [False, True])
def test_soft_nms_matches_reference(path, kind, method, t, sigma, grouped):
    rng = np.random.default_rng(21)
    boxes, scores = SETS[kind](rng, 150)
    groups = rng.integers(0, 3, 150) if grouped else None
    keep, s = soft_nms(boxes, scores, t, sigma, method, groups=groups)
    ref_keep, ref_s = soft_nms_ref(boxes.tolist(), scores.tolist(), t, sigma, method, 0.001,
                                   None if groups is None else groups.tolist())
    assert_keep(keep, ref_keep)
    np.testing.assert_allclose(s, ref_s, rtol=0, atol=1e-12)
    assert (s > 0.001).all()
    assert (np.diff(s) <= 0).all()
    assert (s <= scores[keep]).all()  # scores only ever decay


@pytest.mark.parametrize("method", ["linear", "gaussian"])
def test_soft_nms_paths_agree_on_torchvision_clusters(method):
    boxes, scores, _ = _load("clustered")
    boxes, scores = boxes[:3000], scores[:3000]
    a_keep, a_s = on_path("numba", soft_nms, boxes, scores, 0.3, 0.5, method)
    b_keep, b_s = on_path("numpy", soft_nms, boxes, scores, 0.3, 0.5, method)
    assert_keep(a_keep, b_keep)
    np.testing.assert_allclose(a_s, b_s, rtol=0, atol=1e-12)


# ---------------------------------------------------------------- select_detections


def test_select_detections_score_threshold_is_strict(path):
    boxes = [[10 * k, 0, 10 * k + 5, 5] for k in range(5)]
    scores = [0.5, 0.3, 0.30000001, 0.2, 0.3]
    keep, s = select_detections(boxes, scores, score_threshold=0.3)
    assert_keep(keep, [0, 2])
    np.testing.assert_array_equal(s, [0.5, 0.30000001])
    keep, s = select_detections(boxes, scores)  # no threshold: everything
    assert_keep(keep, [0, 2, 1, 4, 3])


def test_select_detections_max_per_image(path):
    # disjoint boxes, so NMS drops nothing; images 0, 1, 2
    boxes = [[10 * k, 0, 10 * k + 5, 5] for k in range(9)]
    scores = [0.1, 0.9, 0.5, 0.8, 0.7, 0.3, 0.6, 0.2, 0.4]
    images = [0, 0, 0, 1, 1, 1, 2, 2, 0]
    keep, s = select_detections(boxes, scores, images=images, max_detections=2)
    # image 0: 1 (0.9), 2 (0.5); image 1: 3 (0.8), 4 (0.7); image 2: 6 (0.6), 7 (0.2); global score order
    assert_keep(keep, [1, 3, 4, 6, 2, 7])
    np.testing.assert_array_equal(s, [0.9, 0.8, 0.7, 0.6, 0.5, 0.2])
    keep, _ = select_detections(boxes, scores, images=images, max_detections=1)
    assert_keep(keep, [1, 3, 6])
    keep, _ = select_detections(boxes, scores, max_detections=3)  # no images: 3 overall
    assert_keep(keep, [1, 3, 4])
    keep, _ = select_detections(boxes, scores, images=images, max_detections=100)
    assert_keep(keep, np.argsort(-np.array(scores), kind="stable"))


def test_select_detections_tied_scores_top_n_by_index(path):
    boxes = [[10 * k, 0, 10 * k + 5, 5] for k in range(6)]
    keep, _ = select_detections(boxes, [0.5] * 6, images=[1, 0, 1, 0, 1, 0], max_detections=2)
    assert_keep(keep, [0, 1, 2, 3])


def test_select_detections_full_pipeline_vs_reference(path):
    rng = np.random.default_rng(33)
    boxes, scores = clustered_set(rng, 400)
    images = rng.integers(0, 4, 400)
    classes = rng.integers(0, 3, 400)
    groups = images * 3 + classes
    keep, s = select_detections(boxes, scores, groups=groups, images=images, iou_threshold=0.45,
                                score_threshold=0.2, max_detections=7)
    rows = [i for i in range(400) if scores[i] > 0.2]
    ref = grouped_nms(boxes[rows].tolist(), scores[rows].tolist(), groups[rows].tolist(), 0.45)
    ref = [rows[k] for k in ref]
    count = {}
    want = []
    for k in ref:
        count[images[k]] = count.get(images[k], 0) + 1
        if count[images[k]] <= 7:
            want.append(k)
    assert len(want) < len(ref)  # the cap did something
    assert_keep(keep, want)
    np.testing.assert_array_equal(s, scores[want])


@pytest.mark.parametrize("method", ["linear", "gaussian"])
def test_select_detections_soft(path, method):
    rng = np.random.default_rng(34)
    boxes, scores = clustered_set(rng, 200)
    groups = rng.integers(0, 2, 200)
    keep, s = select_detections(boxes, scores, groups=groups, iou_threshold=0.3, score_threshold=0.25,
                                method=method, sigma=0.5)
    rows = np.flatnonzero(scores > 0.25)
    ref_keep, ref_s = soft_nms_ref(boxes[rows].tolist(), scores[rows].tolist(), 0.3, 0.5, method, 0.25,
                                   groups[rows].tolist())
    assert_keep(keep, rows[ref_keep])
    np.testing.assert_allclose(s, ref_s, rtol=0, atol=1e-12)
    assert (s > 0.25).all()
