"""Generate the box sample files used in the dltool docs and tests.

Run from anywhere:  python samples/make_box_samples.py
Writes street.png, ground_truth.csv, detections.csv and detections.json next to
this script. Deterministic: every run produces byte-identical files.
"""
import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
W, H = 640, 427
SEED = 20240611
IMAGE_IDS = {"street.png": 1, "park.png": 2, "harbour.png": 3}
COCO_IDS = {"person": 1, "car": 3, "traffic light": 10, "dog": 18}

# Ground truth (xyxy pixels). The street.png objects are drawn from these boxes.
GROUND_TRUTH = [
    ("street.png", "car", 30, 318, 240, 405),
    ("street.png", "car", 372, 296, 548, 370),
    ("street.png", "person", 262, 178, 298, 300),
    ("street.png", "person", 292, 188, 324, 298),
    ("street.png", "person", 150, 222, 174, 292),
    ("street.png", "dog", 566, 262.5, 626, 301.5),
    ("street.png", "traffic light", 452, 70, 478, 140),
    ("park.png", "person", 120.5, 140, 180, 330),
    ("park.png", "person", 300, 150, 352, 340.5),
    ("park.png", "dog", 190, 270, 280, 335),
    ("park.png", "dog", 420, 290, 470, 330),
    ("harbour.png", "car", 60, 250, 300, 360),
    ("harbour.png", "person", 340, 180, 380, 320),
    ("harbour.png", "person", 395.5, 190, 430, 310),
    ("harbour.png", "traffic light", 520, 40, 550, 120),
    ("harbour.png", "car", 470, 280, 630, 350.5),
]


def draw_car(d, x1, y1, x2, y2, colour):
    w, h = x2 - x1, y2 - y1
    r = 0.18 * h  # wheel radius; wheels touch the bottom of the box
    d.rounded_rectangle((x1 + 0.22 * w, y1, x2 - 0.25 * w, y1 + 0.5 * h), radius=0.12 * h, fill=colour)
    d.rectangle((x1 + 0.27 * w, y1 + 0.08 * h, x2 - 0.3 * w, y1 + 0.38 * h), fill=(170, 210, 235))
    d.rounded_rectangle((x1, y1 + 0.35 * h, x2, y2 - 0.15 * h), radius=0.15 * h, fill=colour)
    for cx in (x1 + 0.2 * w, x2 - 0.2 * w):
        d.ellipse((cx - r, y2 - 2 * r, cx + r, y2), fill=(25, 25, 25))
        d.ellipse((cx - r / 2, y2 - 1.5 * r, cx + r / 2, y2 - r / 2), fill=(150, 150, 150))
    d.rectangle((x2 - 0.04 * w, y1 + 0.42 * h, x2, y1 + 0.52 * h), fill=(255, 230, 120))


def draw_person(d, x1, y1, x2, y2, shirt):
    w, h = x2 - x1, y2 - y1
    cx, hr = (x1 + x2) / 2, 0.09 * h  # head radius
    d.ellipse((cx - hr, y1, cx + hr, y1 + 2 * hr), fill=(230, 190, 150))
    d.rounded_rectangle((x1, y1 + 2 * hr, x2, y1 + 0.6 * h), radius=0.2 * w, fill=shirt)
    leg = max(2, round(0.22 * w))
    d.line((cx - 0.2 * w, y1 + 0.58 * h, x1 + 0.2 * w, y2), fill=(40, 40, 90), width=leg)
    d.line((cx + 0.2 * w, y1 + 0.58 * h, x2 - 0.2 * w, y2), fill=(40, 40, 90), width=leg)


def draw_dog(d, x1, y1, x2, y2):
    w, h = x2 - x1, y2 - y1
    brown = (140, 90, 40)
    d.ellipse((x1 + 0.1 * w, y1 + 0.3 * h, x2 - 0.25 * w, y1 + 0.75 * h), fill=brown)
    d.ellipse((x2 - 0.35 * w, y1, x2, y1 + 0.5 * h), fill=brown)
    d.line((x1 + 0.15 * w, y1 + 0.45 * h, x1, y1 + 0.2 * h), fill=brown, width=3)
    for lx in (x1 + 0.2 * w, x1 + 0.35 * w, x2 - 0.45 * w, x2 - 0.32 * w):
        d.line((lx, y1 + 0.6 * h, lx, y2), fill=brown, width=4)


def draw_traffic_light(d, x1, y1, x2, y2):
    w, h = x2 - x1, y2 - y1
    cx = (x1 + x2) / 2
    d.rectangle((cx - 2, y2, cx + 2, 300), fill=(60, 60, 60))  # pole, outside the box
    d.rounded_rectangle((x1, y1, x2, y2), radius=0.2 * w, fill=(30, 30, 30))
    r = 0.3 * w
    for i, c in enumerate([(230, 40, 30), (90, 80, 20), (30, 90, 40)]):
        cy = y1 + (i + 0.5) * h / 3
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=c)


def make_street():
    img = Image.new("RGB", (W, H))
    d = ImageDraw.Draw(img)
    for y in range(250):  # sky gradient
        t = y / 250
        d.line((0, y, W, y), fill=(int(90 + 110 * t), int(150 + 70 * t), int(230 + 20 * t)))
    d.ellipse((40, 30, 90, 80), fill=(255, 235, 150))  # sun
    for bx, bw, bh, c in [(0, 90, 110, 150), (95, 120, 150, 120), (230, 80, 90, 165),
                          (500, 140, 130, 135)]:
        d.rectangle((bx, 250 - bh, bx + bw, 250), fill=(c, c, c + 10))
        for wy in range(250 - bh + 12, 240, 22):
            for wx in range(bx + 10, bx + bw - 12, 20):
                d.rectangle((wx, wy, wx + 9, wy + 11), fill=(200, 215, 235))
    d.rectangle((0, 250, W, 300), fill=(195, 190, 180))  # sidewalk
    d.rectangle((0, 300, W, 304), fill=(120, 120, 120))  # curb
    d.rectangle((0, 304, W, H), fill=(70, 70, 75))  # road
    for x in range(10, W, 80):
        d.rectangle((x, 386, x + 40, 390), fill=(235, 235, 235))
    objects = [(c, b) for img_id, c, *b in GROUND_TRUTH if img_id == "street.png"]
    shirts = iter([(200, 50, 50), (50, 120, 200), (240, 180, 40)])
    cars = iter([(200, 30, 40), (40, 90, 170)])
    for cls, b in objects:
        if cls == "traffic light":
            draw_traffic_light(d, *b)
        elif cls == "dog":
            draw_dog(d, *b)
        elif cls == "person":
            draw_person(d, *b, next(shirts))
    for cls, b in objects:  # cars last: they are in front
        if cls == "car":
            draw_car(d, *b, next(cars))
    img = img.quantize(colors=64, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    img.save(HERE / "street.png", optimize=True)


def box(rng, x1, y1, x2, y2, jitter=3.0, scale=0.1):
    cx, cy = (x1 + x2) / 2 + rng.normal(0, jitter), (y1 + y2) / 2 + rng.normal(0, jitter)
    w, h = (x2 - x1) * rng.uniform(1 - scale, 1 + scale), (y2 - y1) * rng.uniform(1 - scale, 1 + scale)
    return [round(float(v), 1) for v in np.clip([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2],
                                                 [0, 0, 0, 0], [W, H, W, H])]


def make_detections(rng):
    rows = {img_id: [] for img_id in IMAGE_IDS}
    for n, (img_id, cls, *b) in enumerate(GROUND_TRUTH):
        top = rng.uniform(0.6, 0.97)
        scores = [top] + list(top - rng.uniform(0.05, 0.5, size=rng.integers(1, 5)))
        dets = [[img_id, cls, *box(rng, *b), round(float(s), 3)] for s in scores]
        if n == 1:  # second street car: two overlapping detections with equal scores
            dets[1][6] = dets[0][6]
        if n == 2:  # a wrong-class "dog" on the first street person (lower score)
            dets.append([img_id, "dog", *box(rng, *b, jitter=2, scale=0.05), round(top - 0.2, 3)])
        rows[img_id] += dets
    for img_id in IMAGE_IDS:  # low-score false positives
        for _ in range(rng.integers(2, 4)):
            x1, y1 = rng.uniform(0, W - 80), rng.uniform(0, H - 80)
            b = box(rng, x1, y1, x1 + rng.uniform(20, 80), y1 + rng.uniform(20, 80), jitter=0)
            rows[img_id].append([img_id, rng.choice(list(COCO_IDS)), *b, round(rng.uniform(0.05, 0.3), 3)])
    out = []
    for img_id, dets in rows.items():  # detector order: grouped by image, shuffled inside
        model = "yolo-s" if img_id != "park.png" else "yolo-m"
        out += [d + [model] for d in (dets[i] for i in rng.permutation(len(dets)))]
    return out


def main():
    rng = np.random.default_rng(SEED)
    make_street()
    with open(HERE / "ground_truth.csv", "w", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(["image", "class", "x1", "y1", "x2", "y2"])
        wr.writerows([i, c, *(float(v) for v in b)] for i, c, *b in GROUND_TRUTH)
    dets = make_detections(rng)
    with open(HERE / "detections.csv", "w", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(["image", "class", "x1", "y1", "x2", "y2", "score", "model"])
        wr.writerows([i, str(c), *b, f"{s:.3f}", m] for i, c, *b, s, m in dets)
    coco = [{"image_id": IMAGE_IDS[i], "category_id": COCO_IDS[str(c)],
             "bbox": [x1, y1, round(x2 - x1, 1), round(y2 - y1, 1)], "score": s}
            for i, c, x1, y1, x2, y2, s, _ in dets]
    (HERE / "detections.json").write_text("[\n" + ",\n".join(json.dumps(d) for d in coco) + "\n]\n")
    print(f"wrote street.png ({W}x{H}), {len(GROUND_TRUTH)} ground-truth boxes, "
          f"{len(dets)} detections (csv + coco json) to {HERE}")


if __name__ == "__main__":
    main()
