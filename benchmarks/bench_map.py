"""Benchmark ``dltool map`` against pycocotools' COCOeval and faster-coco-eval, whole process.

Run from the repository root (after ``pip install -e ".[test]"``, which brings pycocotools;
``pip install faster-coco-eval`` adds the second peer)::

    python benchmarks/bench_map.py             # 5,000 images, ~36,000 gt, 500,000 detections
    python benchmarks/bench_map.py --quick     # 500 images: a smoke run of a few seconds

What it measures
----------------
A synthetic COCO-sized set, generated here from a seed: 5,000 images (COCO's sizes), about 7.2
ground-truth boxes per image over COCO's 80 category ids (1% crowd regions, annotation areas below
the box areas as segment areas are), and 100 detections per image (jittered copies of the ground
truth, some of the wrong class, and false positives), scores rounded to 3 decimals so that ties
occur. Both files are written as JSON to a temporary folder.

Each tool then runs the whole process on the two files, each in a fresh Python process (so every
tool pays its own imports):

- dltool: ``dltool map detections.json instances.json --format json`` (the CLI itself);
- pycocotools: ``COCO(gt)``, ``loadRes(dt)``, ``COCOeval(..., "bbox")``, ``evaluate()``,
  ``accumulate()``, ``summarize()``;
- faster-coco-eval (if installed): the same calls through ``faster_coco_eval.COCOeval_faster``.

The 12 numbers of each peer are compared with dltool's (they must agree to 1e-12); the times are
the best of ``--repeats`` runs. A ratio is dltool's time over the peer's: 0.1x means dltool takes a
tenth of the peer's time. Goals, reported and not asserted: <= 0.1x pycocotools, <= 1x
faster-coco-eval. Absolute times on a shared 2-core machine are noise; the ratios of one run are
the figure.

Exit status: 0, or 1 if a peer's numbers differ from dltool's by 1e-12 or more.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from _common import fmt_ratio, load_average, print_table  # noqa: E402

import numpy as np  # noqa: E402

#: COCO's 80 category ids (1..90 with gaps).
COCO_CATEGORY_IDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
                     25, 27, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49,
                     50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73, 74,
                     75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90]
IMAGE_SIZES = [(640, 480), (480, 640), (640, 427), (427, 640), (500, 375), (640, 640)]


def make_coco_like(n_images=5000, boxes_per_image=7.2, dets_per_image=100, seed=0):
    """(instances dict, detection-results list): a synthetic COCO-like set.

    Ground truth: Poisson(``boxes_per_image``) boxes per image (class frequencies skewed like
    COCO's, person first), areas log-uniform from 2² to 60% of the image, aspect ratios
    log-normal, coordinates with 2 decimals; 1% crowd regions; the annotation ``area`` is 50-100%
    of the box area (a segment's area), rounded to 1 decimal. Detections: for each box, 0-3
    jittered copies (10% of them with a wrong class), then false positives up to
    ``dets_per_image``; scores with 3 decimals (ties).
    """
    rng = np.random.default_rng(seed)
    cats = np.array(COCO_CATEGORY_IDS)
    freq = 1.0 / np.arange(1, len(cats) + 1) ** 0.9
    freq /= freq.sum()
    image_ids = np.sort(rng.choice(np.arange(1, 600_000), n_images, replace=False))
    images, annotations, results = [], [], []
    ann_id = 1
    for iid in image_ids.tolist():
        W, H = IMAGE_SIZES[int(rng.integers(len(IMAGE_SIZES)))]
        images.append({"id": iid, "file_name": f"{iid:012d}.jpg", "width": W, "height": H})
        n = int(rng.poisson(boxes_per_image))
        area = np.exp(rng.uniform(np.log(4.0), np.log(0.6 * W * H), n))
        aspect = np.exp(rng.normal(0.0, 0.6, n))
        w = np.minimum(np.sqrt(area * aspect), W - 1.0)
        h = np.minimum(np.sqrt(area / aspect), H - 1.0)
        x = rng.uniform(0, W - w)
        y = rng.uniform(0, H - h)
        gt = np.round(np.column_stack([x, y, w, h]), 2)
        gcls = cats[rng.choice(len(cats), n, p=freq)]
        crowd = rng.random(n) < 0.01
        seg_area = np.round(gt[:, 2] * gt[:, 3] * rng.uniform(0.5, 1.0, n), 1)
        for k in range(n):
            annotations.append({"id": ann_id, "image_id": iid, "category_id": int(gcls[k]),
                                "bbox": gt[k].tolist(), "area": float(seg_area[k]),
                                "iscrowd": int(crowd[k])})
            ann_id += 1
        copies = rng.integers(0, 4, n)
        src = np.repeat(np.arange(n), copies)[:dets_per_image]
        m = len(src)
        jitter = rng.normal(0.0, 0.08, (m, 4)) * np.repeat(gt[src, 2:], 2, axis=0).reshape(m, 4)
        d = gt[src] + jitter
        d[:, 2:] = np.maximum(d[:, 2:], 1.0)
        dcls = gcls[src].copy()
        wrong = rng.random(m) < 0.1
        dcls[wrong] = cats[rng.integers(len(cats), size=int(wrong.sum()))]
        dscore = rng.uniform(0.3, 1.0, m)
        nf = dets_per_image - m
        fa = np.exp(rng.uniform(np.log(16.0), np.log(0.3 * W * H), nf))
        fw = np.minimum(np.sqrt(fa), W - 1.0)
        fh = np.minimum(np.sqrt(fa), H - 1.0)
        fp = np.column_stack([rng.uniform(0, W - fw), rng.uniform(0, H - fh), fw, fh])
        d = np.round(np.concatenate([d, fp]), 2)
        dcls = np.concatenate([dcls, cats[rng.choice(len(cats), nf, p=freq)]])
        dscore = np.round(np.concatenate([dscore, rng.uniform(0.0, 0.6, nf)]), 3)
        for k in rng.permutation(len(d)).tolist():
            results.append({"image_id": iid, "category_id": int(dcls[k]), "bbox": d[k].tolist(),
                            "score": float(dscore[k])})
    categories = [{"id": int(c), "name": f"class{int(c)}", "supercategory": "thing"} for c in cats]
    instances = {"info": {"description": "dltool bench_map synthetic set"}, "images": images,
                 "annotations": annotations, "categories": categories}
    return instances, results


PEER_SCRIPT = r"""
import contextlib, io, json, sys, time
t0 = time.perf_counter()
which, gt_path, dt_path = sys.argv[1:4]
with contextlib.redirect_stdout(io.StringIO()):
    if which == "pycocotools":
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
        gt = COCO(gt_path)
        dt = gt.loadRes(dt_path)
        E = COCOeval(gt, dt, "bbox")
    else:
        from faster_coco_eval import COCO, COCOeval_faster
        gt = COCO(gt_path)
        dt = gt.loadRes(dt_path)
        E = COCOeval_faster(gt, dt, "bbox")
    E.evaluate()
    E.accumulate()
    E.summarize()
print(json.dumps({"seconds": time.perf_counter() - t0, "stats": [float(v) for v in E.stats]}))
"""


def run_peer(which, gt_path, dt_path):
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PEER_SCRIPT, which, gt_path, dt_path],
                         capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    return wall, json.loads(out.stdout.strip().splitlines()[-1])["stats"]


def run_dltool(gt_path, dt_path):
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "dltool", "map", dt_path, gt_path, "--format", "json", "-q"],
                         capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    wall = time.perf_counter() - t0
    report = json.loads(out.stdout)
    return wall, [report["summary"][name] for name in report["summary"]]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 images instead of 5,000")
    parser.add_argument("--images", type=int, default=None, help="number of images (default 5000)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per tool; the best counts")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    n_images = args.images or (500 if args.quick else 5000)

    t0 = time.perf_counter()
    instances, results = make_coco_like(n_images, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        gt_path = os.path.join(tmp, "instances.json")
        dt_path = os.path.join(tmp, "detections.json")
        with open(gt_path, "w") as f:
            json.dump(instances, f)
        with open(dt_path, "w") as f:
            json.dump(results, f)
        print(f"set: {len(instances['images'])} images, {len(instances['annotations'])} gt boxes "
              f"({sum(a['iscrowd'] for a in instances['annotations'])} crowd), {len(results)} detections, "
              f"80 classes (generated in {time.perf_counter() - t0:.1f} s)")
        print(f"load average before: {load_average()}")

        tools = [("dltool map", lambda: run_dltool(gt_path, dt_path))]
        for peer, module in (("pycocotools", "pycocotools"), ("faster-coco-eval", "faster_coco_eval")):
            try:
                __import__(module)
            except ImportError:
                print(f"{peer}: not installed, skipped")
                continue
            tools.append((peer, lambda peer=peer: run_peer(peer, gt_path, dt_path)))

        run_dltool(gt_path, dt_path)  # a first run may compile the numba kernels: not timed
        times, stats = {}, {}
        for _ in range(args.repeats):
            for name, fn in tools:
                seconds, numbers = fn()
                times[name] = min(times.get(name, float("inf")), seconds)
                stats[name] = numbers
    mine = np.array(stats["dltool map"])
    rows, status = [], 0
    for name, _ in tools:
        diff = float(np.max(np.abs(np.array(stats[name]) - mine)))
        if diff >= 1e-12:
            status = 1
        rows.append([name, f"{times[name]:.2f}", fmt_ratio(times["dltool map"], times[name]),
                     "-" if name == "dltool map" else f"{diff:.1e}"])
    print()
    print_table(["tool (whole process)", "seconds", "dltool / tool", "max |diff| of 12 numbers"], rows)
    print()
    print("AP, AP50, AP75 (dltool): " + ", ".join(f"{v:.4f}" for v in mine[:3]))
    print(f"load average after: {load_average()}")
    return status


if __name__ == "__main__":
    sys.exit(main())
