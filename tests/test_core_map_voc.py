"""PASCAL VOC AP (``dltool.core.detection_eval.voc_evaluate`` / ``voc_ap``): values written by hand from
the devkit's formulas (``VOCevaldet.m``, ``VOCap.m`` and the VOC2007 11-point loop) on small cases,
and a slow, obvious transcription of the devkit's per-detection loop on seeded random sets.
"""

import numpy as np
import pytest

from dltool.core.detection_eval import voc_ap, voc_evaluate


def single_class(gt, dt, scores, images_gt=None, images_dt=None, difficult=None, **kw):
    g, d = len(gt), len(dt)
    images_gt = np.zeros(g, int) if images_gt is None else np.asarray(images_gt)
    images_dt = np.zeros(d, int) if images_dt is None else np.asarray(images_dt)
    n_images = int(max([0, *images_gt, *images_dt])) + 1
    return voc_evaluate(n_images, 1, images_gt, np.zeros(g, int), np.array(gt, float).reshape(-1, 4), images_dt,
                        np.zeros(d, int), np.array(dt, float).reshape(-1, 4), scores, gt_difficult=difficult, **kw)


# Three objects on two images; detections by descending score: TP, FP (no overlap), TP, a duplicate
# of the first object (FP), TP.
#   tp = 1 0 1 0 1, fp = 0 1 0 1 0, npos = 3
#   recall    = 1/3, 1/3, 2/3, 2/3, 1
#   precision = 1,   1/2, 2/3, 1/2, 3/5
GT = [[0, 0, 10, 10], [20, 20, 40, 40], [0, 0, 30, 30]]
GT_IMAGES = [0, 0, 1]
DT = [[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 40, 40], [0, 0, 10, 10], [0, 0, 30, 30]]
DT_IMAGES = [0, 0, 0, 0, 1]
SCORES = [0.9, 0.8, 0.7, 0.6, 0.5]


def test_worked_example_curves():
    r = single_class(GT, DT, SCORES, GT_IMAGES, DT_IMAGES)
    np.testing.assert_allclose(r.recall[0], [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(r.precision[0], [1, 1 / 2, 2 / 3, 1 / 2, 3 / 5], rtol=0, atol=1e-15)
    assert (r.n_gt[0], r.n_dt[0], r.tp[0], r.fp[0]) == (3, 5, 3, 2)


def test_worked_example_voc2007_11_point():
    # t = 0, .1, .2, .3 (recall >= t everywhere): max precision 1;
    # t = .4, .5, .6: points with recall 2/3, 2/3, 1: max(2/3, 1/2, 3/5) = 2/3;
    # t = .7, .8, .9, 1: only recall 1: 3/5.
    expected = (4 * 1 + 3 * (2 / 3) + 4 * (3 / 5)) / 11
    r = single_class(GT, DT, SCORES, GT_IMAGES, DT_IMAGES, use_07_metric=True)
    assert r.ap[0] == pytest.approx(expected, abs=1e-15)
    assert r.mAP == r.ap[0]


def test_worked_example_all_point():
    # mrec = 0, 1/3, 1/3, 2/3, 2/3, 1, 1; mpre = 0, 1, 1/2, 2/3, 1/2, 3/5, 0, made non-increasing
    # from the right: 1, 1, 2/3, 2/3, 3/5, 3/5, 0. Recall steps of 1/3 at precision 1, 2/3, 3/5.
    expected = (1 / 3) * 1 + (1 / 3) * (2 / 3) + (1 / 3) * (3 / 5)
    r = single_class(GT, DT, SCORES, GT_IMAGES, DT_IMAGES)
    assert r.ap[0] == pytest.approx(expected, abs=1e-15)


def test_difficult_objects_are_neither_counted_nor_false_positives():
    # Object 1 is difficult: npos = 1; its detection (score .8) is ignored, not a FP.
    r = single_class([[0, 0, 10, 10], [20, 20, 30, 30]], [[20, 20, 30, 30], [0, 0, 10, 10]], [0.8, 0.7],
                     difficult=[False, True])
    assert (r.n_gt[0], r.tp[0], r.fp[0]) == (1, 1, 0)
    # the ignored detection stays a point of the curve: precision there is 0 (no TP or FP yet)
    np.testing.assert_array_equal(r.precision[0], [0.0, 1.0])
    np.testing.assert_array_equal(r.recall[0], [0.0, 1.0])
    assert r.ap[0] == 1.0


def test_best_overlap_already_taken_is_a_false_positive():
    # VOC looks only at the detection's best-overlapping object: once that is taken, a second
    # detection is a FP even though another object overlaps it with IoU >= 0.5.
    gt = [[0, 0, 10, 10], [0, 0, 10, 12]]  # IoU between them 100/120
    dt = [[0, 0, 10, 10], [0, 0, 10, 10]]
    r = single_class(gt, dt, [0.9, 0.8])
    assert (r.tp[0], r.fp[0]) == (1, 1)


def test_iou_exactly_half_is_correct():
    r = single_class([[0, 0, 10, 20]], [[0, 0, 10, 10]], [0.9])  # IoU 100/200 = 0.5: >= minoverlap
    assert r.tp[0] == 1


def test_plus_one_counts_pixels_as_the_devkit():
    # Continuous: IoU (9*4)/(9*9) = 0.444 < 0.5. Devkit pixels: (10*5)/(10*10) = 0.5 >= 0.5.
    gt, dt = [[0, 0, 9, 9]], [[0, 0, 9, 4]]
    assert single_class(gt, dt, [0.9]).tp[0] == 0
    assert single_class(gt, dt, [0.9], plus_one=True).tp[0] == 1


def test_recall_exactly_on_a_tenth_reaches_that_threshold():
    # 10 objects, the first 3 detections correct then nothing: recall 3/10 reaches t = 0.3
    # (dltool's thresholds are k/10; np.arange(0, 1.1, 0.1) has 0.30000000000000004 there).
    gt = [[20 * k, 0, 20 * k + 10, 10] for k in range(10)]
    dt = gt[:3]
    r = single_class(gt, dt, [0.9, 0.8, 0.7], use_07_metric=True)
    assert r.ap[0] == pytest.approx(4 / 11, abs=1e-15)  # t = 0, .1, .2, .3 at precision 1


def test_class_without_ground_truth_is_minus_one_and_left_out_of_the_mean():
    r = voc_evaluate(1, 2, [0], [0], [[0, 0, 10, 10]], [0, 0], [0, 1], [[0, 0, 10, 10], [0, 0, 5, 5]], [0.9, 0.8])
    assert r.ap[1] == -1 and r.ap[0] == 1.0 and r.mAP == 1.0


def test_no_detections_is_zero_and_no_ground_truth_at_all_is_minus_one():
    r = single_class([[0, 0, 10, 10]], [], [])
    assert r.ap[0] == 0.0 and r.mAP == 0.0
    r = voc_evaluate(1, 1, [], [], [], [], [], [], [])
    assert r.ap[0] == -1 and r.mAP == -1


def test_equal_scores_keep_input_order():
    # Two detections with equal scores on one object: the first listed is the TP (stable sort).
    r = single_class([[0, 0, 10, 10]], [[50, 50, 60, 60], [0, 0, 10, 10]], [0.5, 0.5])
    np.testing.assert_array_equal(r.precision[0], [0.0, 0.5])
    r = single_class([[0, 0, 10, 10]], [[0, 0, 10, 10], [50, 50, 60, 60]], [0.5, 0.5])
    np.testing.assert_array_equal(r.precision[0], [1.0, 0.5])


def test_voc_ap_formulas():
    assert voc_ap([], [], True) == 0.0 and voc_ap([], [], False) == 0.0
    assert voc_ap([0.5, 1.0], [1.0, 0.5], False) == pytest.approx(0.5 * 1 + 0.5 * 0.5)
    assert voc_ap([0.5, 1.0], [1.0, 0.5], True) == pytest.approx((6 * 1 + 5 * 0.5) / 11)


# ------------------------------------------------------------------ the devkit's loop, transcribed


def devkit_reference(gt, gt_img, gt_cls, gt_diff, dt, dt_img, dt_cls, scores, n_classes, use_07):
    """VOCevaldet.m line by line (continuous IoU, stable sort), then VOCap / the 11-point loop."""
    aps = []
    for c in range(n_classes):
        npos = sum(1 for k in range(len(gt)) if gt_cls[k] == c and not gt_diff[k])
        taken = [False] * len(gt)
        ids = [k for k in range(len(dt)) if dt_cls[k] == c]
        ids = sorted(ids, key=lambda k: -scores[k])  # Python's sort is stable, as MATLAB's
        tp, fp = [], []
        for d in ids:
            ovmax, jmax = -np.inf, -1
            for j in range(len(gt)):
                if gt_img[j] != dt_img[d] or gt_cls[j] != c:
                    continue
                bb, bg = dt[d], gt[j]
                iw = min(bb[2], bg[2]) - max(bb[0], bg[0])
                ih = min(bb[3], bg[3]) - max(bb[1], bg[1])
                if iw > 0 and ih > 0:
                    ua = (bb[2] - bb[0]) * (bb[3] - bb[1]) + (bg[2] - bg[0]) * (bg[3] - bg[1]) - iw * ih
                    ov = iw * ih / ua
                    if ov > ovmax:
                        ovmax, jmax = ov, j
            if ovmax >= 0.5:
                if not gt_diff[jmax]:
                    if not taken[jmax]:
                        tp.append(1), fp.append(0)
                        taken[jmax] = True
                    else:
                        tp.append(0), fp.append(1)
                else:
                    tp.append(0), fp.append(0)
            else:
                tp.append(0), fp.append(1)
        if npos == 0:
            aps.append(-1.0)
            continue
        ctp, cfp = np.cumsum(tp), np.cumsum(fp)
        rec = ctp / npos
        prec = np.array([t / (t + f) if t + f else 0.0 for t, f in zip(ctp, cfp)])
        if use_07:
            ap = 0.0
            for t in np.arange(11) / 10:
                p = prec[rec >= t]
                ap += (p.max() if p.size else 0.0) / 11
        else:
            mrec = np.concatenate(([0.0], rec, [1.0]))
            mpre = np.concatenate(([0.0], prec, [0.0]))
            for i in range(len(mpre) - 2, -1, -1):
                mpre[i] = max(mpre[i], mpre[i + 1])
            i = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
            ap = float(np.sum((mrec[i] - mrec[i - 1]) * mpre[i]))
        aps.append(ap)
    return np.array(aps)


@pytest.mark.parametrize("use_07", [True, False], ids=["voc07", "voc"])
@pytest.mark.parametrize("seed", range(5))
def test_random_sets_equal_the_devkit_loop(seed, use_07):
    rng = np.random.default_rng(seed)
    n_images, n_classes = 8, 4
    g = 40
    gt_img, gt_cls = rng.integers(0, n_images, g), rng.integers(0, n_classes - 1, g)  # last class: no gt
    xy = rng.integers(0, 80, (g, 2)).astype(float)
    gt = np.column_stack([xy, xy + rng.integers(5, 40, (g, 2))])
    gt_diff = rng.random(g) < 0.2
    src = rng.integers(0, g, 120)
    dt = gt[src] + rng.integers(-4, 5, (120, 4))
    dt[:, 2:] = np.maximum(dt[:, 2:], dt[:, :2] + 1)
    dt_img, dt_cls = gt_img[src].copy(), gt_cls[src].copy()
    flip = rng.random(120) < 0.15
    dt_cls[flip] = rng.integers(0, n_classes, int(flip.sum()))
    scores = np.round(rng.random(120), 1)  # ties
    r = voc_evaluate(n_images, n_classes, gt_img, gt_cls, gt, dt_img, dt_cls, dt, scores, gt_difficult=gt_diff,
                     use_07_metric=use_07)
    expected = devkit_reference(gt.tolist(), gt_img, gt_cls, gt_diff, dt.tolist(), dt_img, dt_cls, scores,
                                n_classes, use_07)
    np.testing.assert_allclose(r.ap, expected, rtol=0, atol=1e-12)
    assert r.ap[-1] == -1
