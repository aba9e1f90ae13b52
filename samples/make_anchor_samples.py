"""Generate the label sets that `dltool anchors-kmeans` examples and tests run on.

Run from anywhere:  python samples/make_anchor_samples.py [OUTDIR]
Writes, next to this script (or under OUTDIR):

yolo/images/train/*.jpg|png   16 small drawn scenes of varied sizes (320x240, 240x320, 300x300...)
yolo/labels/train/*.txt       their YOLO labels, `class cx cy w h` normalised to [0, 1]:
                              0 person (tall), 1 car (wide), 2 ball and 3 sign (small objects),
                              4 bus (large). One image is background only (an empty label file)
                              and one object is labelled as a segment (polygon) line.
coco_instances.json           a COCO instances file: 40 images (sizes only, no pixels), 400
                              annotations whose sizes follow COCO's published statistics at
                              original resolution (about 41% small < 32^2, 34% medium, 24%
                              large; log-normal aspect ratios around 1 with tall person-like and
                              wide objects), 2 of them iscrowd=1 regions.

Deterministic: every run produces byte-identical files (numpy default_rng, fixed seed).
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SEED = 20240612

# ------------------------------------------------------------------ YOLO images and labels

YOLO_SIZES = [(320, 240), (240, 320), (300, 300), (320, 180), (256, 256), (320, 240), (240, 320),
              (288, 216), (320, 213), (213, 320), (300, 300), (320, 240), (240, 180), (320, 256),
              (200, 300), (320, 240)]
PNG_IMAGES = {2, 6, 10, 14}  # the others are JPEG
BACKGROUND_IMAGE = 7  # no objects: an empty label file
SEGMENT_IMAGE = 2  # one ball is labelled by its outline polygon
PERSON, CAR, BALL, SIGN, BUS = range(5)
# The detection mix: many small objects, tall people, wide cars, a few large ones.
KINDS = [BALL, SIGN, PERSON, CAR, BUS]
KIND_P = [0.30, 0.15, 0.27, 0.20, 0.08]
DRAW_ORDER = [BUS, CAR, PERSON, SIGN, BALL]  # back to front: small objects stay visible


def object_box(rng, kind, W, H):
    """An integer pixel box (x1, y1, x2, y2) inside a W x H image for one object kind."""
    if kind in (BALL, SIGN):
        side = math.exp(rng.uniform(math.log(4), math.log(26)))
        r = math.exp(rng.normal(0, 0.25 if kind == BALL else 0.4))
        w, h = side / math.sqrt(r), side * math.sqrt(r)
    elif kind == PERSON:
        h = rng.uniform(24, 0.85 * H)
        w = h * rng.uniform(0.3, 0.5)
    elif kind == CAR:
        w = rng.uniform(30, 0.6 * W)
        h = w * rng.uniform(0.4, 0.65)
    else:
        w, h = rng.uniform(0.5, 0.95) * W, rng.uniform(0.4, 0.85) * H
    w, h = max(3, min(round(w), W)), max(3, min(round(h), H))
    x1, y1 = int(rng.integers(0, W - w + 1)), int(rng.integers(0, H - h + 1))
    return x1, y1, x1 + w, y1 + h


def colour(rng, lo=40, hi=230):
    return tuple(int(v) for v in rng.integers(lo, hi, 3))


def draw_object(d, rng, kind, box):
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    if kind == BUS:
        d.rectangle((x1, y1, x2 - 1, y2 - 1), fill=colour(rng, 60, 200))
        for wx in range(x1 + 6, x2 - 12, max(12, w // 8)):
            d.rectangle((wx, y1 + h // 6, wx + max(3, w // 14), y1 + h // 3), fill=(200, 220, 240))
    elif kind == CAR:
        d.rectangle((x1 + w // 5, y1, x2 - 1 - w // 5, y1 + h // 2), fill=colour(rng))
        d.rectangle((x1, y1 + h // 3, x2 - 1, y2 - 1 - h // 6), fill=colour(rng))
        r = max(1, h // 5)
        for cx in (x1 + w // 4, x2 - w // 4):
            d.ellipse((cx - r, y2 - 1 - 2 * r, cx + r, y2 - 1), fill=(25, 25, 25))
    elif kind == PERSON:
        hr = max(1, round(0.09 * h))
        cx = (x1 + x2) // 2
        d.ellipse((cx - hr, y1, cx + hr, y1 + 2 * hr), fill=(230, 190, 150))
        d.rectangle((x1, y1 + 2 * hr, x2 - 1, y1 + int(0.6 * h)), fill=colour(rng))
        d.rectangle((x1 + w // 6, y1 + int(0.6 * h), x2 - 1 - w // 6, y2 - 1), fill=(40, 40, 90))
    elif kind == BALL:
        d.ellipse((x1, y1, x2 - 1, y2 - 1), fill=colour(rng, 120, 255))
    else:
        d.rectangle((x1, y1, x2 - 1, y2 - 1), fill=colour(rng, 120, 255), outline=(20, 20, 20))


def ellipse_polygon(rng, box, n=10):
    """Integer pixel points on the outline of the ellipse inscribed in ``box``."""
    x1, y1, x2, y2 = box
    cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2
    t = np.linspace(0, 2 * math.pi, n, endpoint=False) + rng.uniform(0, 0.3)
    return [(round(cx + rx * math.cos(a)), round(cy + ry * math.sin(a))) for a in t]


def make_yolo(rng, out):
    images, labels = out / "yolo" / "images" / "train", out / "yolo" / "labels" / "train"
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    n_boxes = 0
    for i, (W, H) in enumerate(YOLO_SIZES):
        stem = f"scene_{i:02d}"
        img = Image.new("RGB", (W, H))
        d = ImageDraw.Draw(img)
        horizon = int(rng.integers(H // 3, 2 * H // 3))
        d.rectangle((0, 0, W, horizon), fill=colour(rng, 150, 235))  # sky
        d.rectangle((0, horizon, W, H), fill=colour(rng, 70, 150))  # ground
        n = 0 if i == BACKGROUND_IMAGE else int(rng.integers(3, 16))
        kinds = rng.choice(len(KINDS), size=n, p=KIND_P).tolist()
        if i == SEGMENT_IMAGE:
            kinds[-1] = KINDS.index(BALL)  # the object labelled by its outline
        kinds = sorted(kinds, key=lambda k: DRAW_ORDER.index(KINDS[k]))
        lines = []
        segment_done = False
        for k in kinds:
            kind = KINDS[k]
            box = object_box(rng, kind, W, H)
            if i == SEGMENT_IMAGE and kind == BALL and not segment_done:
                x1, y1 = int(rng.integers(0, W - 40 + 1)), int(rng.integers(0, H - 28 + 1))
                points = ellipse_polygon(rng, (x1, y1, x1 + 40, y1 + 28))
                d.polygon(points, fill=colour(rng, 120, 255))
                lines.append(f"{kind} " + " ".join(f"{x / W:.6f} {y / H:.6f}" for x, y in points))
                segment_done = True
                continue
            draw_object(d, rng, kind, box)
            x1, y1, x2, y2 = box
            lines.append(f"{kind} {(x1 + x2) / 2 / W:.6f} {(y1 + y2) / 2 / H:.6f} "
                         f"{(x2 - x1) / W:.6f} {(y2 - y1) / H:.6f}")
        n_boxes += len(lines)
        if i in PNG_IMAGES:
            img.save(images / f"{stem}.png", optimize=True)
        else:
            img.save(images / f"{stem}.jpg", quality=75)
        (labels / f"{stem}.txt").write_text("".join(line + "\n" for line in lines))
    return n_boxes


# ------------------------------------------------------------------ COCO instances

COCO_SIZES = [(640, 480), (480, 640), (640, 427), (427, 640), (640, 360), (500, 375)]
COCO_SIZE_P = [0.42, 0.18, 0.25, 0.07, 0.04, 0.04]
N_IMAGES, N_ANNOTATIONS = 40, 400
# COCO's share of small (< 32^2), medium and large (> 96^2) objects.
AREA_P = [0.41, 0.34, 0.25]
SIDE_RANGES = [(3.0, 32.0), (32.0, 96.0), (96.0, 480.0)]  # sqrt(area) bounds per class
SHAPES = ["person", "wide", "other"]
SHAPE_P = [0.30, 0.20, 0.50]
# log(h / w): mean, std
ASPECT = {"person": (math.log(2.4), 0.3), "wide": (math.log(0.45), 0.3), "other": (0.0, 0.45)}
CATEGORIES = [(1, "person", "person"), (3, "car", "vehicle"), (6, "bus", "vehicle"),
              (8, "truck", "vehicle"), (15, "bench", "outdoor"), (63, "couch", "furniture"),
              (10, "traffic light", "outdoor"), (17, "cat", "animal"), (18, "dog", "animal"),
              (37, "sports ball", "sports"), (44, "bottle", "kitchen"), (47, "cup", "kitchen"),
              (62, "chair", "furniture"), (64, "potted plant", "furniture"), (74, "clock", "indoor")]
WIDE_IDS = [3, 6, 8, 15, 63]
OTHER_IDS = [10, 17, 18, 37, 44, 47, 62, 64, 74]


def coco_box(rng, W, H):
    """(x, y, w, h, shape) of one object, sized by COCO's area classes, inside a W x H image."""
    size_class = rng.choice(3, p=AREA_P)
    lo, hi = SIDE_RANGES[size_class]
    shape = SHAPES[rng.choice(3, p=SHAPE_P)]
    mean, std = ASPECT[shape]
    while True:  # redraw until it fits the image (large, elongated objects may not)
        side = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        r = math.exp(rng.normal(mean, std))
        w, h = round(side / math.sqrt(r), 2), round(side * math.sqrt(r), 2)
        if w <= W and h <= H:
            break
    x, y = round(rng.uniform(0, W - w), 2), round(rng.uniform(0, H - h), 2)
    return x, y, w, h, shape


def rectangle_rle(x, y, w, h, W, H):
    """Uncompressed COCO RLE (column-major runs, zeros first) of a box's pixels."""
    mask = np.zeros((H, W), dtype=np.uint8)
    mask[int(y):math.ceil(y + h), int(x):math.ceil(x + w)] = 1
    flat = mask.flatten(order="F")
    edges = np.concatenate([[0], np.flatnonzero(np.diff(flat)) + 1, [flat.size]])
    counts = np.diff(edges).tolist()
    return {"counts": ([0] if flat[0] else []) + counts, "size": [H, W]}


def make_coco(rng, out):
    ids = sorted(int(v) for v in rng.choice(np.arange(1, 581930), size=N_IMAGES, replace=False))
    images = []
    for image_id in ids:
        W, H = COCO_SIZES[rng.choice(len(COCO_SIZES), p=COCO_SIZE_P)]
        images.append({"id": image_id, "file_name": f"{image_id:012d}.jpg", "width": W, "height": H})
    per_image = rng.multinomial(N_ANNOTATIONS - N_IMAGES, np.full(N_IMAGES, 1 / N_IMAGES)) + 1
    annotations = []
    crowd_images = set(rng.choice(N_IMAGES, size=2, replace=False).tolist())
    for k, (image, n) in enumerate(zip(images, per_image)):
        W, H = image["width"], image["height"]
        for j in range(n):
            x, y, w, h, shape = coco_box(rng, W, H)
            if shape == "person":
                category = 1
            else:
                category = int(rng.choice(WIDE_IDS if shape == "wide" else OTHER_IDS))
            ann = {"id": 900000 + len(annotations), "image_id": image["id"], "category_id": category,
                   "bbox": [x, y, w, h], "area": round(w * h, 2), "iscrowd": 0,
                   "segmentation": [[x, y, round(x + w, 2), y, round(x + w, 2), round(y + h, 2), x,
                                     round(y + h, 2)]]}
            if k in crowd_images and j == 0:  # a crowd of people: one RLE region, iscrowd=1
                w, h = round(0.6 * W, 2), round(0.3 * H, 2)
                x, y = round(0.2 * W, 2), round(0.5 * H, 2)
                ann.update(category_id=1, bbox=[x, y, w, h], area=round(w * h, 2), iscrowd=1,
                           segmentation=rectangle_rle(x, y, w, h, W, H))
            annotations.append(ann)
    categories = [{"supercategory": s, "id": i, "name": n} for i, n, s in CATEGORIES]
    info = {"description": "dltool anchors-kmeans sample: COCO-like instances, sizes only",
            "version": "1.0", "year": 2024}
    text = ("{\n"
            f'"info": {json.dumps(info)},\n'
            '"licenses": [],\n'
            '"images": [\n' + ",\n".join(json.dumps(im) for im in images) + "\n],\n"
            '"annotations": [\n' + ",\n".join(json.dumps(a) for a in annotations) + "\n],\n"
            '"categories": [\n' + ",\n".join(json.dumps(c) for c in categories) + "\n]\n"
            "}\n")
    (out / "coco_instances.json").write_text(text)
    return len(images), len(annotations)


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    rng = np.random.default_rng(SEED)
    n_boxes = make_yolo(rng, out)
    n_images, n_annotations = make_coco(rng, out)
    print(f"wrote yolo/ ({len(YOLO_SIZES)} images, {n_boxes} boxes) and coco_instances.json "
          f"({n_images} images, {n_annotations} annotations) to {out}")


if __name__ == "__main__":
    main()
