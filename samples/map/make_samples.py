"""Generate the inputs that `dltool map` examples and tests run on.

Run from anywhere:  python samples/map/make_samples.py
Writes, next to this script:

instances.json      COCO instances: 12 images (one without objects), 6 categories (umbrella has no
                    ground truth: its AP is -1), 90 objects of every size, 3 crowd regions
                    (iscrowd=1), segment-like areas (70-95% of the box), and two boxes whose
                    area is exactly 32² and 96² (the small / medium / large borders).
detections.json     COCO results for them: 1-3 overlapping copies of most objects (duplicates
                    that `dltool nms` removes), some with the wrong class, false positives
                    (umbrellas among them), scores with 2 decimals (ties).
detections.csv      the same detections as CSV: image by file name, class by name, x1,y1,x2,y2.
voc/*.xml           Pascal VOC annotations of 6 images, with <difficult> objects.
voc_detections.csv  detections for them (image by file stem, class by name).
predictions/*.txt   YOLO predictions (`class cx cy w h conf`) for ../yolo/labels (16 images).

Deterministic: every run writes byte-identical files (numpy default_rng, fixed seed).
"""

import json
import math
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 20240714
CATEGORIES = [(1, "person"), (2, "bicycle"), (3, "car"), (10, "traffic light"), (18, "dog"), (28, "umbrella")]
SIZES = [(640, 480), (480, 640), (640, 427), (500, 375)]


def r2(v):
    return float(round(float(v), 2))


def make_coco(rng):
    images, annotations, results = [], [], []
    ann_id = 1
    for k in range(12):
        W, H = SIZES[k % len(SIZES)]
        iid = 1000 + 7 * k
        images.append({"id": iid, "file_name": f"scene_{iid}.jpg", "width": W, "height": H})
        n = 0 if k == 5 else int(rng.integers(4, 11))
        gts = []
        for j in range(n):
            cat = CATEGORIES[int(rng.choice(5, p=[0.4, 0.1, 0.25, 0.15, 0.1]))][0]
            area = math.exp(rng.uniform(math.log(60), math.log(0.25 * W * H)))
            aspect = math.exp(rng.normal(0.6 if cat == 1 else -0.2 if cat == 3 else 0.0, 0.3))
            w, h = min(math.sqrt(area / aspect), W - 2), min(math.sqrt(area * aspect), H - 2)
            x, y = rng.uniform(0, W - w), rng.uniform(0, H - h)
            crowd = 0
            if (k, j) in ((1, 0), (6, 1), (9, 0)):  # crowd regions: large, person
                cat, crowd = 1, 1
                w, h = 0.5 * W, 0.4 * H
                x, y = rng.uniform(0, W - w), rng.uniform(0, H - h)
            box = [r2(x), r2(y), r2(w), r2(h)]
            seg_area = r2(box[2] * box[3] * rng.uniform(0.7, 0.95))
            if (k, j) == (2, 1):
                box, seg_area = [100.0, 120.0, 32.0, 32.0], 1024.0  # exactly 32²: small (and medium)
            if (k, j) == (3, 2):
                box, seg_area = [50.0, 60.0, 96.0, 96.0], 9216.0  # exactly 96²: medium (and large)
            annotations.append({"id": ann_id, "image_id": iid, "category_id": cat, "bbox": box,
                                "area": seg_area, "iscrowd": crowd})
            ann_id += 1
            gts.append((cat, box, crowd))
        dets = []
        for cat, (x, y, w, h), crowd in gts:
            copies = 1 if crowd else int(rng.choice([0, 1, 1, 2, 3]))
            for c in range(copies):
                s = 0.08 if c == 0 else 0.15
                jx, jy, jw, jh = rng.normal(0, s, 4) * [w, h, w, h]
                dcat = cat if rng.random() > 0.1 else CATEGORIES[int(rng.integers(5))][0]
                score = rng.uniform(0.5, 0.98) if c == 0 else rng.uniform(0.2, 0.8)
                dets.append((dcat, [x + jx, y + jy, max(w + jw, 2.0), max(h + jh, 2.0)], score))
        for _ in range(int(rng.integers(2, 6))):
            side = math.exp(rng.uniform(math.log(10), math.log(200)))
            cat = CATEGORIES[int(rng.integers(6))][0]
            dets.append((cat, [rng.uniform(0, W - side), rng.uniform(0, H - side), side, side * 0.8],
                         rng.uniform(0.05, 0.6)))
        for cat, box, score in dets:
            x, y, w, h = box
            w, h = min(w, W - max(x, 0)), min(h, H - max(y, 0))
            results.append({"image_id": iid, "category_id": cat,
                            "bbox": [r2(max(x, 0)), r2(max(y, 0)), r2(w), r2(h)], "score": r2(score)})
    categories = [{"id": cid, "name": name, "supercategory": "thing"} for cid, name in CATEGORIES]
    info = {"description": "dltool map sample: COCO-style ground truth with crowd regions", "version": "1.0"}
    return {"info": info, "images": images, "annotations": annotations, "categories": categories}, results


def write_json(path, doc):
    """JSON with one record per line (diff- and grep-friendly, as COCO files usually are)."""
    def block(items):
        return "[\n" + ",\n".join(json.dumps(r) for r in items) + "\n]"

    if isinstance(doc, list):
        text = block(doc)
    else:
        text = "{\n" + ",\n".join(f"{json.dumps(k)}: {block(v) if isinstance(v, list) else json.dumps(v)}"
                                   for k, v in doc.items()) + "\n}"
    path.write_text(text + "\n")


def write_csv(path, instances, results):
    names = dict(CATEGORIES)
    files = {im["id"]: im["file_name"] for im in instances["images"]}
    rows = ["image,class,x1,y1,x2,y2,score"]
    for r in results:
        x, y, w, h = r["bbox"]
        rows.append(f"{files[r['image_id']]},{names[r['category_id']]},{x},{y},{r2(x + w)},{r2(y + h)},{r['score']}")
    path.write_text("\n".join(rows) + "\n")


VOC_CLASSES = ["person", "car", "dog"]


def make_voc(rng):
    folder = HERE / "voc"
    folder.mkdir(exist_ok=True)
    rows = ["image,class,x1,y1,x2,y2,score"]
    for k in range(6):
        stem = f"{2007000 + 32 * k:06d}"
        W, H = 500, 375
        objects = []
        for j in range(int(rng.integers(2, 6))):
            name = VOC_CLASSES[int(rng.integers(3))]
            w, h = rng.uniform(30, 220), rng.uniform(30, 200)
            x1, y1 = int(rng.uniform(1, W - w)), int(rng.uniform(1, H - h))
            x2, y2 = int(x1 + w), int(y1 + h)
            difficult = int(j == 1 and k % 2 == 0)
            objects.append((name, x1, y1, x2, y2, difficult))
            for c in range(int(rng.choice([0, 1, 1, 2]))):
                d = rng.normal(0, 6 if c == 0 else 20, 4)
                score = rng.uniform(0.5, 0.95) if c == 0 else rng.uniform(0.1, 0.6)
                rows.append(f"{stem},{name},{int(x1 + d[0])},{int(y1 + d[1])},{int(x2 + d[2])},{int(y2 + d[3])},"
                            f"{r2(score)}")
        for _ in range(int(rng.integers(1, 3))):
            x1, y1 = int(rng.uniform(0, 300)), int(rng.uniform(0, 200))
            rows.append(f"{stem},{VOC_CLASSES[int(rng.integers(3))]},{x1},{y1},{x1 + 80},{y1 + 90},"
                        f"{r2(rng.uniform(0.05, 0.5))}")
        xml = ["<annotation>", "  <folder>VOC2007</folder>", f"  <filename>{stem}.jpg</filename>",
               f"  <size><width>{W}</width><height>{H}</height><depth>3</depth></size>"]
        for name, x1, y1, x2, y2, difficult in objects:
            xml += ["  <object>", f"    <name>{name}</name>", "    <pose>Unspecified</pose>",
                    "    <truncated>0</truncated>", f"    <difficult>{difficult}</difficult>",
                    f"    <bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox>",
                    "  </object>"]
        (folder / f"{stem}.xml").write_text("\n".join(xml + ["</annotation>"]) + "\n")
    (HERE / "voc_detections.csv").write_text("\n".join(rows) + "\n")


def make_yolo_predictions(rng):
    labels = HERE.parent / "yolo" / "labels" / "train"
    folder = HERE / "predictions"
    folder.mkdir(exist_ok=True)
    for label in sorted(labels.glob("*.txt")):
        lines = []
        for text in label.read_text().split("\n"):
            fields = text.split()
            if len(fields) != 5:
                continue  # blank, or the sample's one segment line: left undetected
            cls, cx, cy, w, h = int(fields[0]), *map(float, fields[1:])
            for c in range(int(rng.choice([0, 1, 1, 1, 2]))):
                d = rng.normal(0, 0.06 if c == 0 else 0.2, 4) * [w, h, w, h]
                conf = rng.uniform(0.4, 0.95) if c == 0 else rng.uniform(0.1, 0.5)
                bw, bh = max(w + d[2], 0.01), max(h + d[3], 0.01)
                bx = min(max(cx + d[0], bw / 2), 1 - bw / 2)
                by = min(max(cy + d[1], bh / 2), 1 - bh / 2)
                lines.append(f"{cls} {bx:.6f} {by:.6f} {min(bw, 1):.6f} {min(bh, 1):.6f} {conf:.5f}")
        for _ in range(int(rng.integers(0, 3))):
            bw, bh = rng.uniform(0.05, 0.3, 2)
            lines.append(f"{int(rng.integers(5))} {rng.uniform(bw / 2, 1 - bw / 2):.6f} "
                         f"{rng.uniform(bh / 2, 1 - bh / 2):.6f} {bw:.6f} {bh:.6f} {rng.uniform(0.05, 0.4):.5f}")
        if lines:  # as ultralytics: no file for an image without predictions
            (folder / label.name).write_text("\n".join(lines) + "\n")


def main():
    rng = np.random.default_rng(SEED)
    instances, results = make_coco(rng)
    write_json(HERE / "instances.json", instances)
    write_json(HERE / "detections.json", results)
    write_csv(HERE / "detections.csv", instances, results)
    make_voc(rng)
    make_yolo_predictions(rng)
    print(f"wrote {len(instances['annotations'])} objects on {len(instances['images'])} images and "
          f"{len(results)} detections to {HERE}")


if __name__ == "__main__":
    main()
