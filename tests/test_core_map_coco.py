"""COCO mAP (``dltool.core.detection_eval.coco_evaluate``) against pycocotools' COCOeval itself.

The reference is pycocotools (the ``test`` extra): each generated set is evaluated by
``COCO`` / ``loadRes`` / ``COCOeval(..., "bbox")`` / ``evaluate`` / ``accumulate`` / ``summarize``, and
dltool's 12 numbers must agree to 1e-12 (they agree bit for bit), and so must the whole
precision / recall / scores arrays. Every set is run through both matching paths: numpy (small
inputs) and the numba kernels.

The generated sets hold what trips evaluators up: equal scores (ties broken by image order and
file order), crowd regions, images without ground truth or without detections, ground-truth
areas and detection boxes exactly on the area borders 32² and 96², more than 100 (and more than
10) detections for one image and class, categories without ground truth, duplicate ground-truth
boxes (equal IoU: the later box wins), and IoU values exactly on the thresholds 0.5 and 0.75.
"""

import contextlib
import copy
import io
import json

import numpy as np
import pytest

from clitools import SAMPLES
from dltool.core.detection_eval import (AREA_RANGES, IOU_THRESHOLDS, MAX_DETS, RECALL_THRESHOLDS, coco_evaluate,
                                        coco_iou)
from dltool.core.map_names import COCO_METRICS

pycocotools = pytest.importorskip("pycocotools")
from pycocotools import mask as mask_utils  # noqa: E402
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

CATEGORY_IDS = [1, 2, 3, 5, 8, 13]  # 13 never has ground truth


def reference(instances, results, cat_ids=None):
    """pycocotools' COCOeval on in-memory sets (its prints silenced)."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = copy.deepcopy(instances)
        gt.createIndex()
        dt = gt.loadRes(copy.deepcopy(results))
        E = COCOeval(gt, dt, "bbox")
        if cat_ids is not None:
            E.params.catIds = cat_ids
        E.evaluate()
        E.accumulate()
        E.summarize()
    return E


def evaluate(instances, results, use_numba):
    """dltool on the same sets: indices in sorted-id order, as pycocotools orders them."""
    image_ids = sorted(im["id"] for im in instances["images"])
    cat_ids = sorted(c["id"] for c in instances["categories"])
    image = {v: k for k, v in enumerate(image_ids)}
    cat = {v: k for k, v in enumerate(cat_ids)}
    anns = [a for a in instances["annotations"] if a["category_id"] in cat]
    dets = [r for r in results if r["category_id"] in cat]
    return coco_evaluate(
        len(image_ids), len(cat_ids),
        [image[a["image_id"]] for a in anns], [cat[a["category_id"]] for a in anns],
        np.array([a["bbox"] for a in anns], dtype=float).reshape(-1, 4),
        [image[r["image_id"]] for r in dets], [cat[r["category_id"]] for r in dets],
        np.array([r["bbox"] for r in dets], dtype=float).reshape(-1, 4), [r["score"] for r in dets],
        gt_area=[a["area"] for a in anns], gt_crowd=[bool(a["iscrowd"]) for a in anns], use_numba=use_numba)


def make_set(seed, n_images=30, crowd=0.1, many=True):
    """A small COCO set built to sit on every edge of the protocol (see the module docstring)."""
    rng = np.random.default_rng(seed)
    images, anns, results = [], [], []
    image_ids = rng.choice(np.arange(1, 10_000), n_images, replace=False).tolist()  # unsorted on purpose
    scores = np.round(np.linspace(0.05, 0.95, 12), 2)  # few distinct values: many ties
    for k, iid in enumerate(image_ids):
        W, H = (640, 480) if k % 2 else (500, 375)
        images.append({"id": iid, "width": W, "height": H, "file_name": f"{iid}.jpg"})
        kind = k % 6  # 0: no ground truth; 1: no detections; others: both
        gts = []
        if kind != 0:
            for _ in range(int(rng.integers(1, 9))):
                cid = CATEGORY_IDS[int(rng.integers(5))]
                side = float(np.exp(rng.uniform(np.log(8), np.log(300))))
                w = float(np.round(side * np.exp(rng.normal(0, 0.3)), int(rng.integers(0, 3))))
                h = float(np.round(side * np.exp(rng.normal(0, 0.3)), int(rng.integers(0, 3))))
                x = float(np.round(rng.uniform(0, W - min(w, W - 1)), 1))
                y = float(np.round(rng.uniform(0, H - min(h, H - 1)), 1))
                area = w * h * float(rng.choice([1.0, 0.8, 0.6]))
                gts.append([cid, [x, y, w, h], area, int(rng.random() < crowd)])
            # exactly on the area borders, with the box area on them too
            gts.append([CATEGORY_IDS[0], [10.0, 10.0, 32.0, 32.0], 1024.0, 0])
            gts.append([CATEGORY_IDS[1], [200.0, 100.0, 96.0, 96.0], 9216.0, 0])
            gts.append([CATEGORY_IDS[1], [300.0, 50.0, 64.0, 16.0], 32.0 ** 2, 0])  # area 1024, box 1024
            # a duplicate box: equal IoU with every detection, the later one wins the match
            gts.append(list(copy.deepcopy(gts[0])))
            gts.append([CATEGORY_IDS[2], [100.0, 100.0, 10.0, 10.0], 100.0, 0])  # IoU 0.5 / 0.75 partners
            # two boxes a detection overlaps equally (IoU 0.6 each): pycocotools gives it the later one
            gts.append([CATEGORY_IDS[3], [300.0, 300.0, 20.0, 20.0], 400.0, 0])
            gts.append([CATEGORY_IDS[3], [310.0, 300.0, 20.0, 20.0], 400.0, 0])
        for cid, box, area, is_crowd in gts:
            anns.append({"id": len(anns) + 1, "image_id": iid, "category_id": cid, "bbox": box, "area": area,
                         "iscrowd": is_crowd})
        if kind == 1:
            continue
        dets = []
        for cid, (x, y, w, h), _, _ in gts:
            for _ in range(int(rng.integers(0, 4))):
                j = rng.normal(0, 0.1, 4) * [w, h, w, h]
                c = cid if rng.random() > 0.15 else CATEGORY_IDS[int(rng.integers(6))]
                dets.append([c, [x + j[0], y + j[1], max(w + j[2], 0.5), max(h + j[3], 0.5)]])
        if kind != 0:
            results.append({"image_id": iid, "category_id": CATEGORY_IDS[3], "bbox": [305.0, 300.0, 20.0, 20.0],
                            "score": 0.99})
            results.append({"image_id": iid, "category_id": CATEGORY_IDS[3], "bbox": [310.0, 300.0, 20.0, 20.0],
                            "score": 0.98})
        dets.append([CATEGORY_IDS[2], [100.0, 100.0, 10.0, 20.0]])  # IoU exactly 0.5 with the 10x10 box
        dets.append([CATEGORY_IDS[2], [100.0, 100.0, 10.0, 7.5]])  # IoU exactly 0.75
        dets.append([CATEGORY_IDS[0], [12.0, 12.0, 32.0, 32.0]])  # detection area exactly 32²
        dets.append([CATEGORY_IDS[1], [40.0, 300.0, 96.0, 96.0]])  # exactly 96², a false positive
        for _ in range(int(rng.integers(0, 6))):  # false positives, also of the class without ground truth
            s = float(rng.uniform(5, 150))
            dets.append([CATEGORY_IDS[int(rng.integers(6))], [float(rng.uniform(0, W - s)),
                                                                float(rng.uniform(0, H - s)), s, s]])
        if many and kind == 2:  # over 100 detections of one class on one image: the maxDets cut
            cid, (x, y, w, h), _, _ = gts[0]
            for _ in range(int(rng.integers(95, 130))):
                j = rng.normal(0, 0.3, 4) * [w, h, w, h]
                dets.append([cid, [x + j[0], y + j[1], max(w + j[2], 1.0), max(h + j[3], 1.0)]])
        for cid, box in dets:
            results.append({"image_id": iid, "category_id": cid, "bbox": [float(v) for v in box],
                            "score": float(rng.choice(scores))})
    order = rng.permutation(len(results))  # file order matters for ties: shuffle it
    results = [results[i] for i in order]
    categories = [{"id": c, "name": f"c{c}"} for c in CATEGORY_IDS]
    return {"images": images, "annotations": anns, "categories": categories}, results


def assert_same(result, E):
    assert np.abs(result.stats - E.stats).max() <= 1e-12, (result.stats, E.stats)
    np.testing.assert_array_equal(result.stats, E.stats)
    np.testing.assert_array_equal(result.precision, E.eval["precision"])
    np.testing.assert_array_equal(result.recall, E.eval["recall"])
    np.testing.assert_array_equal(result.scores, E.eval["scores"])


@pytest.mark.parametrize("use_numba", [False, True], ids=["numpy", "numba"])
@pytest.mark.parametrize("seed", range(6))
def test_generated_sets_equal_pycocotools(seed, use_numba):
    instances, results = make_set(seed, crowd=0.15 if seed % 2 else 0.05)
    assert_same(evaluate(instances, results, use_numba), reference(instances, results))


@pytest.mark.parametrize("use_numba", [False, True], ids=["numpy", "numba"])
def test_detections_generated_from_coco_like_ground_truth(use_numba):
    """The bundled COCO-style instances (COCO image and category ids, segment areas, crowd
    regions) with jittered copies, random scores with ties and false positives."""
    instances = json.loads((SAMPLES / "coco_instances.json").read_text())
    rng = np.random.default_rng(7)
    results = []
    cats = [c["id"] for c in instances["categories"]]
    sizes = {im["id"]: (im["width"], im["height"]) for im in instances["images"]}
    for a in instances["annotations"]:
        x, y, w, h = a["bbox"]
        for _ in range(int(rng.integers(0, 4))):
            j = rng.normal(0, 0.12, 4) * [w, h, w, h]
            results.append({"image_id": a["image_id"], "category_id": a["category_id"] if rng.random() > 0.1
                            else int(rng.choice(cats)), "bbox": [x + j[0], y + j[1], w + abs(j[2]), h + abs(j[3])],
                            "score": float(np.round(rng.random(), 2))})
    for iid, (W, H) in sizes.items():
        for _ in range(int(rng.integers(0, 8))):
            s = float(rng.uniform(4, 200))
            results.append({"image_id": iid, "category_id": int(rng.choice(cats)),
                            "bbox": [float(rng.uniform(0, W - s)), float(rng.uniform(0, H - s)), s, s],
                            "score": float(np.round(rng.random(), 2))})
    assert sum(a["iscrowd"] for a in instances["annotations"]) > 0
    assert_same(evaluate(instances, results, use_numba), reference(instances, results))


def test_per_class_numbers_are_pycocotools_on_that_class_alone():
    instances, results = make_set(11)
    result = evaluate(instances, results, use_numba=False)
    for k, cid in enumerate(sorted(CATEGORY_IDS)):
        E = reference(instances, results, cat_ids=[cid])
        np.testing.assert_array_equal(result.per_class[k], E.stats)
    assert (result.per_class[CATEGORY_IDS.index(13)] == -1).all()  # no ground truth
    assert result.summary == dict(zip(COCO_METRICS, result.stats.tolist()))


def test_numba_and_numpy_paths_agree_on_a_larger_set():
    instances, results = make_set(3, n_images=120)
    a = evaluate(instances, results, use_numba=False)
    b = evaluate(instances, results, use_numba=True)
    for name in ("stats", "precision", "recall", "scores", "per_class"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_threaded_kernels_give_the_serial_result(monkeypatch):
    from dltool.core import map_kernels

    instances, results = make_set(4, n_images=60)
    serial = evaluate(instances, results, use_numba=True)
    monkeypatch.setattr(map_kernels, "MIN_GROUPS_PER_THREAD", 1)
    monkeypatch.setattr(map_kernels, "MIN_CLASSES_PER_THREAD", 1)
    monkeypatch.setenv("NUMBA_NUM_THREADS", "3")
    threaded = evaluate(instances, results, use_numba=True)
    for name in ("stats", "precision", "recall", "scores"):
        np.testing.assert_array_equal(getattr(threaded, name), getattr(serial, name))


@pytest.mark.slow
def test_a_large_set_through_the_threaded_kernels_equals_pycocotools():
    """1,000 images, ~100,000 detections: the size at which the kernels run on threads (~1 min)."""
    import sys

    sys.path.insert(0, str(SAMPLES.parent / "benchmarks"))
    from bench_map import make_coco_like

    instances, results = make_coco_like(1000, seed=3)
    assert_same(evaluate(instances, results, use_numba=True), reference(instances, results))


def test_iou_is_pycocotools_bbiou_bit_for_bit():
    rng = np.random.default_rng(5)
    dt = np.round(rng.uniform(0, 100, (40, 4)), 2) + [0, 0, 1, 1]
    gt = np.round(rng.uniform(0, 100, (30, 4)), 1) + [0, 0, 1, 1]
    gt[:5] = dt[:5]  # identical boxes
    crowd = rng.random(30) < 0.3
    ours = coco_iou(dt, gt, crowd)
    theirs = mask_utils.iou(dt.tolist(), gt.tolist(), crowd.astype(np.uint8).tolist())
    np.testing.assert_array_equal(ours, theirs)


def test_thresholds_are_pycocotools_params():
    from pycocotools.cocoeval import Params

    p = Params(iouType="bbox")
    np.testing.assert_array_equal(IOU_THRESHOLDS, p.iouThrs)
    np.testing.assert_array_equal(RECALL_THRESHOLDS, p.recThrs)
    np.testing.assert_array_equal(AREA_RANGES, np.array(p.areaRng, dtype=float))
    assert list(MAX_DETS) == p.maxDets


# ------------------------------------------------------------------ hand-made cases


# pycocotools' precision of a first true positive is tp / (tp + fp + eps) = 1 / (1 + 2.2e-16): AP of a
# perfect detector is 1 only to ~1e-16.
ONE = pytest.approx(1.0, abs=1e-15)


def one(gt_boxes, dt_boxes, scores, crowd=None, area=None):
    """One image, one class."""
    g, d = len(gt_boxes), len(dt_boxes)
    return coco_evaluate(1, 1, np.zeros(g, int), np.zeros(g, int), np.array(gt_boxes, float).reshape(-1, 4),
                         np.zeros(d, int), np.zeros(d, int), np.array(dt_boxes, float).reshape(-1, 4), scores,
                         gt_area=area, gt_crowd=crowd)


def test_perfect_detection_is_ap_1_and_a_miss_is_0():
    r = one([[0, 0, 50, 50]], [[0, 0, 50, 50]], [0.9])
    assert r.stats[0] == ONE and r.stats[8] == 1.0
    r = one([[0, 0, 50, 50]], [[100, 100, 50, 50]], [0.9])
    assert r.stats[0] == 0.0 and r.stats[8] == 0.0


def test_nothing_to_evaluate_is_minus_one():
    r = one([], [[0, 0, 10, 10]], [0.5])  # detections but no ground truth
    assert (r.stats == -1).all()
    r = coco_evaluate(0, 0, [], [], [], [], [], [], [])
    assert (r.stats == -1).all() and r.precision.shape == (10, 101, 0, 4, 3)


def test_no_detections_is_zero_where_there_is_ground_truth():
    r = one([[0, 0, 50, 50]], [], [])  # medium box: small and large have nothing to evaluate
    np.testing.assert_array_equal(r.stats, [0, 0, 0, -1, 0, -1, 0, 0, 0, -1, 0, -1])


def test_a_crowd_region_absorbs_detections_without_false_positives():
    # Two detections inside a crowd region: IoU against it is |d ∩ g| / |d| = 1, both ignored.
    r = one([[0, 0, 100, 100], [200, 200, 40, 40]], [[10, 10, 20, 20], [50, 50, 20, 20], [200, 200, 40, 40]],
            [0.9, 0.8, 0.7], crowd=[True, False])
    assert r.stats[0] == ONE
    assert r.n_gt[0] == 1


def test_detection_matched_to_an_out_of_range_box_is_ignored_not_false():
    # A small ground-truth box (area 100) and a detection on it: for 'large' both are ignored.
    r = one([[0, 0, 10, 10], [100, 100, 200, 200]], [[0, 0, 10, 10], [100, 100, 200, 200]], [0.9, 0.8])
    assert r.stats[5] == ONE  # APl: the small pair does not count as a false positive
    assert r.stats[3] == ONE  # APs


def test_area_borders_belong_to_both_ranges():
    r = one([[0, 0, 32, 32]], [[0, 0, 32, 32]], [0.9])  # area exactly 32²
    assert r.stats[3] == ONE and r.stats[4] == ONE and r.stats[5] == -1


def test_max_dets_cut_per_image_and_class():
    # The ground truth is found only by the 11th detection: AR10 misses it, AR100 finds it.
    gt = [[0, 0, 40, 40]]
    dts = [[200 + 5 * k, 200, 40, 40] for k in range(10)] + [[0, 0, 40, 40]]
    r = one(gt, dts, [0.9 - 0.01 * k for k in range(11)])
    assert r.stats[7] == 0.0 and r.stats[8] == 1.0


def test_equal_iou_goes_to_the_later_ground_truth():
    # The first detection overlaps both boxes with IoU 150/250 = 0.6 and takes the later one (B);
    # the second, a perfect copy of B, then finds only A (IoU 1/3): a false positive.
    r = one([[0, 0, 20, 20], [10, 0, 20, 20]], [[5, 0, 20, 20], [10, 0, 20, 20]], [0.9, 0.8])
    assert r.recall[0, 0, 0, 2] == 0.5  # IoU .50: one of the two boxes found
    r = one([[10, 0, 20, 20], [0, 0, 20, 20]], [[5, 0, 20, 20], [10, 0, 20, 20]], [0.9, 0.8])
    assert r.recall[0, 0, 0, 2] == 1.0  # boxes the other way round: the copy finds its box


def test_iou_exactly_at_threshold_is_a_match():
    # [0,0,10,10] against [0,0,10,20]: IoU 100/200 = 0.5 exactly, matched at .50 only.
    r = one([[0, 0, 10, 20]], [[0, 0, 10, 10]], [0.9])
    assert r.stats[1] == ONE and r.stats[2] == 0.0
