"""Anchor k-means (dltool.core.anchors) against a plain Lloyd k-means, hand-computed metrics, and
its properties; both code paths (numpy for small inputs, numba kernels for large ones)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dltool.core import anchors as anchors_mod
from dltool.core.anchors import (anchor_metrics, assign, kmeans_anchors, kmeans_pp, lloyd, parse_anchors,
                                 wh_iou)
from dltool.core.names import PRESET_ANCHORS
from dltool.errors import InputError
from reference import assign_ref, lloyd_ref, wh_iou_pair

PATHS = {"numpy": 10**18, "numba": 0}


@pytest.fixture(params=list(PATHS))
def path(request, monkeypatch):
    """Force one code path: ``numpy`` (threshold never reached) or ``numba`` (always reached)."""
    monkeypatch.setattr(anchors_mod, "NUMBA_MIN_PAIRS", PATHS[request.param])
    return request.param


def detection_shapes(n, seed=0):
    """Box shapes like a detection data set: log-normal areas and aspect ratios."""
    rng = np.random.default_rng(seed)
    area = np.exp(rng.normal(np.log(40.0 ** 2), 1.3, n))
    aspect = np.exp(rng.normal(0.0, 0.6, n))
    return np.column_stack([np.sqrt(area * aspect), np.sqrt(area / aspect)]).clip(2, 640)


# ---------------------------------------------------------------- IoU of shapes, by hand


def test_wh_iou_hand_values():
    wh = np.array([[2.0, 2.0], [4.0, 1.0], [1.0, 1.0]])
    anchors = np.array([[2.0, 2.0], [1.0, 4.0]])
    # [2,2] v [1,4]: inter 1*2 = 2, union 4 + 4 - 2 = 6 -> 1/3; [4,1] v [2,2]: inter 2*1, union 4+4-2 -> 1/3;
    # [4,1] v [1,4]: inter 1, union 7 -> 1/7; [1,1] v [2,2]: 1/4; [1,1] v [1,4]: 1/4.
    expected = np.array([[1.0, 1 / 3], [1 / 3, 1 / 7], [1 / 4, 1 / 4]])
    np.testing.assert_allclose(wh_iou(wh, anchors), expected, rtol=0, atol=1e-15)


def test_assignment_matches_pairwise_reference_and_breaks_ties_low(path):
    wh = np.vstack([detection_shapes(500), [[1.0, 1.0]]])
    anchors = np.array([[10.0, 13], [16, 30], [33, 23], [2.0, 0.5], [0.5, 2.0]])
    labels, best = assign(wh, anchors)
    ref_labels, ref_best = assign_ref(wh, anchors)
    np.testing.assert_array_equal(labels, ref_labels)
    np.testing.assert_allclose(best, ref_best, rtol=0, atol=1e-15)
    assert labels[-1] == 3  # [1,1] has IoU 1/4 with both [2,.5] and [.5,2]: the lower index wins


# ---------------------------------------------------------------- against the plain Lloyd k-means


@pytest.mark.parametrize("update", ["median", "mean"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lloyd_equals_plain_reference_from_the_same_seeds(path, update, seed):
    wh = detection_shapes(400, seed)
    init = kmeans_pp(wh, 6, np.random.default_rng(seed))
    run = lloyd(wh, init, update)
    ref_centroids, ref_history = lloyd_ref(wh, init, update)
    order = np.lexsort((ref_centroids[:, 0], ref_centroids.prod(axis=1)))
    np.testing.assert_allclose(run.anchors, ref_centroids[order], rtol=1e-9)
    np.testing.assert_allclose(run.history, ref_history, rtol=1e-12)


def test_numpy_and_numba_paths_give_identical_results(monkeypatch):
    wh = detection_shapes(3000, 7)
    results = []
    for threshold in PATHS.values():
        monkeypatch.setattr(anchors_mod, "NUMBA_MIN_PAIRS", threshold)
        results.append(kmeans_anchors(wh, 9, seed=5, restarts=2, generations=20))
    numpy_result, numba_result = results
    np.testing.assert_array_equal(numpy_result.anchors, numba_result.anchors)
    assert numpy_result.avg_iou == numba_result.avg_iou


def test_kmeans_pp_first_centre_and_reproducibility(path):
    wh = detection_shapes(300, 3)
    a = kmeans_pp(wh, 5, np.random.default_rng(11))
    b = kmeans_pp(wh, 5, np.random.default_rng(11))
    np.testing.assert_array_equal(a, b)
    assert a[0].tolist() == wh[np.random.default_rng(11).integers(len(wh))].tolist()
    # every centre is one of the boxes, and no box is drawn twice while distinct shapes remain
    assert {tuple(c) for c in a} <= {tuple(w) for w in wh}
    assert len({tuple(c) for c in a}) == 5


# ---------------------------------------------------------------- properties


def test_average_iou_never_decreases_and_restarts_pick_the_best(path):
    wh = detection_shapes(2000, 4)
    result = kmeans_anchors(wh, 9, seed=1, restarts=4)
    for run in result.runs:
        assert np.all(np.diff(run.history) >= 0), run.history
        assert 0.0 < run.avg_iou <= 1.0
    assert result.avg_iou == max(run.avg_iou for run in result.runs)
    assert result.avg_iou == pytest.approx(assign(wh, result.anchors)[1].mean(), abs=1e-15)


def test_anchors_sorted_by_area_and_same_seed_same_anchors(path):
    wh = detection_shapes(1500, 5)
    a = kmeans_anchors(wh, 9, seed=3)
    b = kmeans_anchors(wh, 9, seed=3)
    np.testing.assert_array_equal(a.anchors, b.anchors)
    areas = a.anchors.prod(axis=1)
    assert np.all(np.diff(areas) >= 0)
    assert a.anchors.shape == (9, 2)


def test_median_beats_mean_and_evolution_only_improves(path):
    wh = detection_shapes(3000, 6)
    median = kmeans_anchors(wh, 9, seed=0, update="median")
    mean = kmeans_anchors(wh, 9, seed=0, update="mean")
    assert median.avg_iou > mean.avg_iou
    evolved = kmeans_anchors(wh, 9, seed=0, update="median", generations=200)
    assert evolved.avg_iou >= median.avg_iou
    assert evolved.avg_iou == pytest.approx(assign(wh, evolved.anchors)[1].mean(), abs=1e-15)


def test_invariant_to_rescaling_all_boxes(path):
    wh = detection_shapes(800, 8)
    base = kmeans_anchors(wh, 6, seed=2)
    # A power of two scales exactly in floating point: identical choices, exactly scaled anchors.
    doubled = kmeans_anchors(wh * 4.0, 6, seed=2)
    np.testing.assert_array_equal(doubled.anchors, base.anchors * 4.0)
    assert doubled.avg_iou == base.avg_iou
    other = kmeans_anchors(wh * 3.7, 6, seed=2)
    np.testing.assert_allclose(other.anchors, base.anchors * 3.7, rtol=1e-9)
    assert other.avg_iou == pytest.approx(base.avg_iou, abs=1e-12)


def test_duplicate_boxes_still_give_k_distinct_anchors(path):
    shapes = np.array([[10.0, 10], [20, 40], [40, 20], [80, 80], [5, 15]])
    wh = np.repeat(shapes, [50, 30, 20, 10, 5], axis=0)
    result = kmeans_anchors(wh, 5, seed=0)
    assert sorted(map(tuple, result.anchors)) == sorted(map(tuple, shapes))
    assert result.avg_iou == 1.0


def test_more_anchors_than_distinct_shapes_is_a_clear_error(path):
    wh = np.repeat(np.array([[10.0, 10], [20, 40], [40, 20]]), 10, axis=0)
    with pytest.raises(InputError, match="at least 4 distinct box shapes, found 3"):
        kmeans_anchors(wh, 4, seed=0)


@pytest.mark.parametrize("k", [0, 6])
def test_k_out_of_range(k):
    with pytest.raises(InputError, match="cannot make"):
        kmeans_anchors(detection_shapes(5), k)


@pytest.mark.parametrize("bad", [[[1.0, 0.0]], [[np.nan, 2.0]], [[-1.0, 2.0]], [[1.0, 2.0, 3.0]]])
def test_bad_shapes_are_rejected(bad):
    with pytest.raises(InputError):
        kmeans_anchors(np.array(bad), 1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.floats(1, 500), st.floats(1, 500)), min_size=3, max_size=60),
       st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_property_avg_iou_in_unit_interval_and_monotone(path, shapes, k, seed):
    wh = np.array(shapes)
    if len(np.unique(wh, axis=0)) < k:
        return
    result = kmeans_anchors(wh, k, seed=seed)
    assert 0.0 < result.avg_iou <= 1.0
    assert np.all(np.diff(result.runs[0].history) >= 0)


# ---------------------------------------------------------------- metrics


def test_metrics_by_hand():
    wh = np.array([[10.0, 10], [40, 10], [100, 100], [2, 2]])
    anchors = np.array([[10.0, 10], [40, 40]])
    m = anchor_metrics(wh, anchors, ratio_threshold=4.0)
    # best IoU: 1; [40,10]: v [10,10] 100/400 = .25, v [40,40] 400/1600 = .25 -> .25 (anchor 0);
    # [100,100] v [40,40]: 1600/10000 = .16; [2,2] v [10,10]: 4/100 = .04.
    assert m.avg_iou == pytest.approx((1 + 0.25 + 0.16 + 0.04) / 4)
    np.testing.assert_array_equal(m.counts, [3, 1])
    np.testing.assert_allclose(m.mean_iou, [(1 + 0.25 + 0.04) / 3, 0.16])
    # ratio test (max ratio < 4): [10,10] passes anchor 0 only (vs [40,40]: exactly 4, not < 4);
    # [40,10]: v a0 ratio 4 -> fails, v a1 ratio 4 -> fails; [100,100] v a1: 2.5 passes;
    # [2,2] v a0: 5 fails. BPR = 2/4, anchors per box = (1 + 0 + 1 + 0) / 4.
    assert m.bpr == 0.5
    assert m.anchors_per_box == 0.5


def test_presets_and_parsed_anchor_lists():
    np.testing.assert_array_equal(parse_anchors("yolov5"), np.array(PRESET_ANCHORS["yolov5"], dtype=float))
    np.testing.assert_array_equal(parse_anchors("10,13, 16,30"), [[10, 13], [16, 30]])
    for bad in ["10,13,16", "", "a,b", "10,-3"]:
        with pytest.raises(InputError):
            parse_anchors(bad)


def test_pairwise_reference_formula():
    assert wh_iou_pair(2, 2, 1, 4) == pytest.approx(1 / 3)
