"""The two inputs of ``dltool map``: ground truth and detections, joined into one evaluation set.

Every file is read by the kit's one reader for its format (:func:`dltool.io.boxes.read_boxes` for
COCO JSON and CSV/TSV, :func:`dltool.io.labels.read_label_boxes` for YOLO and Pascal VOC
directories); this module only checks the fields evaluation needs and joins the two sides:

- images are matched by id, then by file name, then by file stem (``000000000139.jpg`` in a COCO
  file is the image of a YOLO prediction file ``000000000139.txt``);
- classes are matched by name, then by id (a COCO results file's ``category_id``);
- image and class indices follow pycocotools' order: sorted ids (numbers numerically, text
  lexicographically), which decides how equal scores are broken.

Detections of an image or class the ground truth does not have are left out and counted (a
note), or refused with ``strict``.
"""

import math
import os
from dataclasses import dataclass, field

import numpy as np

from dltool.core.map_names import DT_FORMATS, GT_FORMATS
from dltool.errors import InputError
from dltool.io.boxes import read_boxes
from dltool.io.tabular import is_number

#: CSV ground-truth columns read besides image, class and the box (matched case-insensitively).
CSV_FLAGS = ("iscrowd", "difficult")
CSV_AREA = "area"


@dataclass
class GroundTruth:
    """Ground-truth boxes with their image and class indices (pycocotools' order).

    ``image_ids`` / ``class_ids`` are the ids as the file gives them (COCO numbers, or labels as
    text), ``class_names`` the names shown. ``xywh`` are ``[x, y, w, h]`` in pixels; ``area`` the
    annotation's area (COCO) or ``w * h``; ``crowd`` COCO's ``iscrowd``; ``difficult`` VOC's flag.
    """

    name: str
    kind: str
    image_ids: list
    image_lookup: dict
    sizes: np.ndarray
    class_ids: list
    class_names: list
    class_lookup: dict
    image: np.ndarray
    cls: np.ndarray
    xywh: np.ndarray
    area: np.ndarray
    crowd: np.ndarray
    difficult: np.ndarray
    has_classes: bool = True
    has_images: bool = True
    notes: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.xywh)


@dataclass
class Detections:
    """Detections as read: image and class labels as text, ``[x, y, w, h]`` boxes, scores."""

    name: str
    kind: str
    images: np.ndarray | None
    classes: np.ndarray | None
    xywh: np.ndarray
    scores: np.ndarray
    where: object  # row -> "file:line" for messages
    normalized: bool = False

    def __len__(self) -> int:
        return len(self.xywh)


@dataclass
class EvalSet:
    """Both sides as index arrays, ready for :mod:`dltool.core.detection_eval`."""

    gt: GroundTruth
    dt_image: np.ndarray
    dt_class: np.ndarray
    dt_xywh: np.ndarray
    dt_score: np.ndarray
    n_detections_read: int
    unknown_images: int = 0
    unknown_classes: int = 0
    notes: list = field(default_factory=list)


# -------------------------------------------------------------------- format


def _kind(path: str, fmt: str, allowed: tuple, what: str) -> str:
    if fmt not in allowed:
        raise InputError(f"unknown {what} format {fmt!r}: expected one of {', '.join(allowed)}")
    if fmt != "auto":
        return fmt
    if path != "-" and os.path.isdir(path):
        return "labels"  # YOLO or VOC: read_label_boxes decides
    ext = os.path.splitext(path)[1].lower()
    if ext in (".txt", ".xml"):
        return "labels"
    return {".json": "coco", ".csv": "csv", ".tsv": "tsv", ".tab": "tsv"}.get(ext, "sniff")


def _box_file(path: str, kind: str, box_format: str):
    input_format = {"coco": "json", "csv": "csv", "tsv": "tsv", "sniff": "auto"}[kind]
    return read_boxes(path, box_format, input_format)


# -------------------------------------------------------------------- ground truth


def read_ground_truth(path: str, fmt: str = "auto", box_format: str = "xyxy", img_size: int = 0,
                      assume_square: bool = False, strict: bool = False) -> GroundTruth:
    """Ground truth from a COCO instances JSON, a CSV/TSV, a YOLO labels or a VOC annotations directory."""
    kind = _kind(path, fmt, GT_FORMATS, "ground-truth")
    if kind in ("labels", "yolo", "voc"):
        from dltool.io.labels import read_label_boxes

        labels = read_label_boxes(path, "auto" if kind == "labels" else kind, img_size=img_size,
                                  assume_square=assume_square)
        return _from_labels(labels)
    boxes = _box_file(path, kind, box_format)
    if boxes.kind == "coco":
        return _from_coco(boxes, strict)
    if boxes.kind != "csv":
        raise InputError("expected ground truth as COCO instances JSON, CSV/TSV, or a YOLO or VOC "
                         "directory", boxes.name)
    return _from_csv(boxes)


def _id_key(value) -> str:
    return value if isinstance(value, str) else str(value)


def _sorted_ids(ids: list) -> list:
    """pycocotools' order (np.unique): numbers numerically, text lexicographically."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in ids):
        return sorted(range(len(ids)), key=lambda k: ids[k])
    return sorted(range(len(ids)), key=lambda k: _id_key(ids[k]))


def _lookup(primary: list, *secondary: list) -> dict:
    """text -> index: the primary keys, then secondary names where they are unambiguous."""
    table = {key: k for k, key in enumerate(primary)}
    for names in secondary:
        seen = {}
        for k, key in enumerate(names):
            if key is not None and key not in table:
                seen.setdefault(key, set()).add(k)
        table.update({key: ks.pop() for key, ks in seen.items() if len(ks) == 1})
    return table


def _stem(name):
    return None if name is None else os.path.splitext(os.path.basename(str(name)))[0]


def _from_coco(boxes, strict: bool) -> GroundTruth:
    name = boxes.name
    doc = boxes.document
    if doc is None:
        raise InputError("this is a detection-results list; the ground truth must be a COCO instances "
                         "file {\"images\": [...], \"annotations\": [...], \"categories\": [...]} "
                         "- are DETECTIONS and GROUND_TRUTH swapped?", name)
    notes = []
    records = boxes.records
    # images
    images = doc.get("images")
    if images is None:
        images = [{"id": i} for i in dict.fromkeys(rec.get("image_id") for rec in records)]
        notes.append("no \"images\" list: the images are those the annotations name")
    if not isinstance(images, list):
        raise InputError(f"\"images\" must be a list, got {type(images).__name__}", name)
    seen = {}
    for k, im in enumerate(images):
        where = f"{name}: images[{k}]"
        if not isinstance(im, dict) or "id" not in im:
            raise InputError("expected an object with an \"id\" (and file_name, width, height)", where)
        iid = im["id"]
        if isinstance(iid, bool) or not isinstance(iid, (int, float, str)):
            raise InputError(f"\"id\" must be a number or a string, got {iid!r}", where)
        if iid in seen:
            raise InputError(f"duplicate image id {iid!r} (also images[{seen[iid]}]) - give each image its own id",
                             where)
        seen[iid] = k
    order = _sorted_ids([im["id"] for im in images])
    images = [images[k] for k in order]
    image_ids = [im["id"] for im in images]
    image_index = {iid: k for k, iid in enumerate(image_ids)}
    lookup = _lookup([_id_key(i) for i in image_ids], [im.get("file_name") for im in images],
                     [_stem(im.get("file_name")) for im in images])
    sizes = np.full((len(images), 2), np.nan)
    for k, im in enumerate(images):
        w, h = im.get("width"), im.get("height")
        if _real(w) and _real(h) and w > 0 and h > 0:
            sizes[k] = w, h
    # categories
    cats = doc.get("categories")
    if not cats:
        cats = [{"id": c} for c in dict.fromkeys(rec.get("category_id") for rec in records)]
        if cats:
            notes.append("no \"categories\" list: the classes are the category ids the annotations name")
    if not isinstance(cats, list):
        raise InputError(f"\"categories\" must be a list, got {type(cats).__name__}", name)
    seen_ids, seen_names = {}, {}
    for k, cat in enumerate(cats):
        where = f"{name}: categories[{k}]"
        if not isinstance(cat, dict) or "id" not in cat:
            raise InputError("expected an object with \"id\" and \"name\"", where)
        cid = cat["id"]
        if isinstance(cid, bool) or not isinstance(cid, (int, float, str)):
            raise InputError(f"\"id\" must be a number or a string, got {cid!r}", where)
        if cid in seen_ids:
            raise InputError(f"duplicate category id {cid!r} (also categories[{seen_ids[cid]}])", where)
        seen_ids[cid] = k
        cname = str(cat.get("name", cid))
        if cname in seen_names:
            raise InputError(f"duplicate category name {cname!r} (also categories[{seen_names[cname]}]) - "
                             "names must be unique to match detections by name", where)
        seen_names[cname] = k
    order = _sorted_ids([c["id"] for c in cats])
    cats = [cats[k] for k in order]
    class_ids = [c["id"] for c in cats]
    class_names = [str(c.get("name", c["id"])) for c in cats]
    class_index = {cid: k for k, cid in enumerate(class_ids)}
    class_lookup = _lookup(class_names, [_id_key(c) for c in class_ids])
    # annotations
    n = len(records)
    image = np.empty(n, dtype=np.int64)
    cls = np.empty(n, dtype=np.int64)
    area = np.empty(n)
    crowd = np.zeros(n, dtype=bool)
    keep = np.ones(n, dtype=bool)
    ann_ids, no_area, zero_id, unknown = {}, 0, 0, {}
    for k, rec in enumerate(records):
        where = f"{name}: annotations[{k}]"
        try:
            image[k] = image_index[rec.get("image_id")]
        except (KeyError, TypeError):
            raise InputError(f"unknown image_id {rec.get('image_id')!r}: no entry in \"images\" has this id",
                             where) from None
        c = class_index.get(rec.get("category_id")) if _hashable(rec.get("category_id")) else None
        if c is None:
            if strict:
                raise InputError(f"category_id {rec.get('category_id')!r} is not in \"categories\" - add the "
                                 "category, or drop --strict to leave such annotations out", where)
            unknown[_id_key(rec.get("category_id"))] = unknown.get(_id_key(rec.get("category_id")), 0) + 1
            keep[k] = False
            c = 0
        cls[k] = c
        if "id" in rec:
            aid = rec["id"]
            if not _hashable(aid):
                raise InputError(f"\"id\" must be a number or a string, got {aid!r}", where)
            if aid in ann_ids:
                raise InputError(f"duplicate annotation id {aid!r} (also annotations[{ann_ids[aid]}]): "
                                 "pycocotools keeps only one of them - give each annotation its own id", where)
            ann_ids[aid] = k
            zero_id += aid == 0
        value = rec.get("area")
        if value is None:
            no_area += 1
            value = boxes.xywh[k, 2] * boxes.xywh[k, 3]
        elif not _real(value) or not math.isfinite(value) or value < 0:
            raise InputError(f"\"area\" must be a number >= 0, got {value!r}", where)
        area[k] = value
        flag = rec.get("iscrowd", 0)
        if flag not in (0, 1) or not isinstance(flag, (int, bool)):
            raise InputError(f"\"iscrowd\" must be 0 or 1, got {flag!r}", where)
        crowd[k] = bool(flag)
    if no_area:
        notes.append(f"{_count(no_area, 'annotation')} without \"area\": their box area w*h is used")
    if zero_id:
        notes.append("an annotation has id 0: pycocotools takes 0 for 'no match' and counts a detection "
                     "matched to it as a false positive; dltool counts it as a match")
    if unknown:
        notes.append(f"{_count(sum(unknown.values()), 'annotation')} of categories not in \"categories\" "
                     f"left out ({_examples(unknown)}), as pycocotools does")
    return GroundTruth(name, "coco", image_ids, lookup, sizes, class_ids, class_names, class_lookup,
                       image[keep], cls[keep], boxes.xywh[keep], area[keep], crowd[keep],
                       np.zeros(int(keep.sum()), dtype=bool), notes=notes)


def _real(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _hashable(v) -> bool:
    return isinstance(v, (int, float, str)) and not isinstance(v, bool)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 'es' if word.endswith('s') else 's'}"


def _examples(counts: dict, most: int = 3) -> str:
    keys = list(counts)
    shown = ", ".join(repr(k) for k in keys[:most])
    return shown + (", ..." if len(keys) > most else "")


def _label_order(labels: list) -> list:
    """Text labels in order: numerically when every one is a whole number (YOLO class indices)."""
    if labels and all(_is_int_text(v) for v in labels):
        return sorted(labels, key=lambda v: (int(v), v))
    return sorted(labels)


def _is_int_text(text: str) -> bool:
    try:
        int(text)
    except (TypeError, ValueError):
        return False
    return True


def _from_csv(boxes) -> GroundTruth:
    name = boxes.name
    lowered = [c.lower() for c in boxes.columns]
    n = len(boxes)
    xywh = np.column_stack([boxes.xyxy[:, :2], boxes.xyxy[:, 2:] - boxes.xyxy[:, :2]]) if n else np.zeros((0, 4))
    flags = {}
    for column in CSV_FLAGS + (CSV_AREA,):
        if column not in lowered:
            continue
        j = lowered.index(column)
        values = np.empty(n)
        for row, cells in enumerate(boxes.records):
            cell = cells[j].strip()
            if column == CSV_AREA:
                ok = is_number(cell) and math.isfinite(float(cell)) and float(cell) >= 0
                expected = "a number >= 0 (the object's area in pixels)"
            else:
                ok = cell in ("0", "1") or cell.lower() in ("true", "false")
                expected = "0 or 1"
            if not ok:
                raise InputError(f"{boxes.columns[j]} must be {expected}, got {cell!r}", boxes.where(row))
            values[row] = float(cell) if column == CSV_AREA else cell.lower() in ("1", "true")
        flags[column] = values
    has_images = boxes.images is not None
    image_labels = boxes.images if has_images else np.full(n, "", dtype=object)
    images = _label_order(list(dict.fromkeys(image_labels.tolist()))) if has_images else [""]
    image_index = {v: k for k, v in enumerate(images)}
    has_classes = boxes.classes is not None
    class_labels = boxes.classes if has_classes else np.full(n, "object", dtype=object)
    classes = _label_order(list(dict.fromkeys(class_labels.tolist()))) if has_classes else ["object"]
    class_index = {v: k for k, v in enumerate(classes)}
    area = flags.get(CSV_AREA, xywh[:, 2] * xywh[:, 3])
    return GroundTruth(name, "csv", images, _lookup(images, [os.path.basename(i) for i in images],
                                                    [_stem(i) for i in images]),
                       np.full((len(images), 2), np.nan), classes, classes, dict(class_index),
                       np.array([image_index[v] for v in image_labels.tolist()], dtype=np.int64),
                       np.array([class_index[v] for v in class_labels.tolist()], dtype=np.int64),
                       xywh, np.asarray(area, dtype=np.float64),
                       flags.get("iscrowd", np.zeros(n)).astype(bool), flags.get("difficult", np.zeros(n)).astype(bool),
                       has_classes=has_classes, has_images=has_images,
                       notes=["the ground truth has a score column: are DETECTIONS and GROUND_TRUTH swapped?"]
                       if boxes.scores is not None and n else [])


def _from_labels(labels) -> GroundTruth:
    order = _sorted_ids(labels.images)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    images = [labels.images[k] for k in order]
    aliases = [labels.aliases[k] for k in order]
    classes = _label_order(list(dict.fromkeys(labels.classes.tolist())))
    class_index = {v: k for k, v in enumerate(classes)}
    xywh = labels.xywh
    return GroundTruth(labels.name, labels.kind, images, _lookup(images, aliases, [_stem(a) for a in aliases]),
                       labels.sizes[order] if len(order) else np.zeros((0, 2)), classes, classes, dict(class_index),
                       rank[labels.image] if len(labels.image) else np.zeros(0, np.int64),
                       np.array([class_index[v] for v in labels.classes.tolist()], dtype=np.int64),
                       xywh, xywh[:, 2] * xywh[:, 3], np.zeros(len(xywh), dtype=bool), labels.difficult,
                       notes=list(labels.notes))


# -------------------------------------------------------------------- detections


def read_detections(path: str, fmt: str = "auto", box_format: str = "xyxy") -> Detections:
    """Detections from a COCO results JSON, a CSV/TSV with a score column, or YOLO prediction files."""
    kind = _kind(path, fmt, DT_FORMATS, "detections")
    if kind in ("labels", "yolo"):
        from dltool.io.labels import read_label_boxes

        labels = read_label_boxes(path, "yolo", confidences=True)
        return Detections(labels.name, "yolo", np.array(labels.images, dtype=object)[labels.image],
                          labels.classes, labels.xywh, labels.scores, labels.where.__getitem__, normalized=True)
    boxes = _box_file(path, kind, box_format)
    if boxes.kind == "coco" and boxes.document is not None:
        raise InputError("this is a COCO instances (ground-truth) file; DETECTIONS must be a results list "
                         "[{\"image_id\", \"category_id\", \"bbox\", \"score\"}] - are the two files swapped?",
                         boxes.name)
    if boxes.kind not in ("coco", "csv"):
        raise InputError("expected detections as COCO results JSON, CSV/TSV or YOLO prediction files", boxes.name)
    if boxes.scores is None and len(boxes):
        hint = "each detection needs a \"score\"" if boxes.kind == "coco" else "add a 'score' column"
        raise InputError(f"no scores: average precision ranks detections by score - {hint}", boxes.name)
    if boxes.kind == "coco" and len(boxes) and (boxes.images is None or boxes.classes is None):
        key = "image_id" if boxes.images is None else "category_id"
        row = next(k for k, rec in enumerate(boxes.records) if key not in rec)
        raise InputError(f"missing \"{key}\": each detection names its image and category", boxes.where(row))
    xywh = boxes.xywh if boxes.xywh is not None else (
        np.column_stack([boxes.xyxy[:, :2], boxes.xyxy[:, 2:] - boxes.xyxy[:, :2]]) if len(boxes) else np.zeros((0, 4)))
    return Detections(boxes.name, boxes.kind, boxes.images, boxes.classes, xywh,
                      boxes.scores if boxes.scores is not None else np.zeros(0), boxes.where)


# -------------------------------------------------------------------- joining


def join(gt: GroundTruth, dt: Detections, strict: bool = False) -> EvalSet:
    """Image and class indices of the detections in the ground truth's order, boxes in pixels."""
    notes = []
    n = len(dt)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return EvalSet(gt, empty, empty.copy(), np.zeros((0, 4)), np.zeros(0), 0)
    if not gt.has_images or dt.images is None:
        if len(gt.image_ids) > 1:
            raise InputError(f"the detections have no image column but the ground truth has "
                             f"{len(gt.image_ids)} images - add an 'image' column", dt.name)
        if dt.images is not None and n:
            notes.append("the ground truth has no image column: the detections' image column is not used")
        image = np.full(n, 0 if gt.image_ids else -1, dtype=np.int64)
    else:
        look = gt.image_lookup
        image = np.array([look.get(v, -1) for v in dt.images.tolist()], dtype=np.int64)
    if not gt.has_classes:
        if dt.classes is not None and n:
            notes.append("the ground truth has no class column: every detection counts as its one class")
        cls = np.zeros(n, dtype=np.int64)
    elif dt.classes is None:
        if n and len(gt.class_ids) > 1:
            raise InputError(f"the detections have no class column but the ground truth has "
                             f"{len(gt.class_ids)} classes - add a 'class' column", dt.name)
        cls = np.full(n, 0 if gt.class_ids else -1, dtype=np.int64)
    else:
        look = gt.class_lookup
        cls = np.array([look.get(v, -1) for v in dt.classes.tolist()], dtype=np.int64)
    bad_image, bad_class = image < 0, cls < 0
    for bad, what, labels in ((bad_image, "image", dt.images), (bad_class & ~bad_image, "class", dt.classes)):
        if not bad.any():
            continue
        row = int(np.argmax(bad))
        missing = dict.fromkeys(labels[bad].tolist()) if labels is not None else {"": None}
        if strict:
            known = gt.image_ids if what == "image" else gt.class_names
            shown = f": {_examples(dict.fromkeys(known))}" if known else ""
            raise InputError(f"{what} {labels[row] if labels is not None else ''!r} is not in the ground truth "
                             f"{gt.name} (it has {_count(len(known), what)}{shown}) - drop --strict to leave "
                             "such detections out", dt.where(row))
        notes.append(f"{_count(int(bad.sum()), 'detection')} of {_count(len(missing), what)} not in the "
                     f"ground truth left out ({_examples(missing)}) - --strict refuses them")
    keep = ~(bad_image | bad_class)
    if n and not keep.any():
        notes.append(f"none of the detections is of an image and class of {gt.name}: do the two files belong "
                     "together?")
    xywh = dt.xywh[keep]
    image_kept = image[keep]
    if dt.normalized and len(xywh):
        sizes = gt.sizes[image_kept]
        missing = np.isnan(sizes).any(axis=1)
        if missing.any():
            row = int(np.flatnonzero(keep)[np.argmax(missing)])
            unsized = gt.image_ids[image_kept[np.argmax(missing)]]
            raise InputError(f"YOLO predictions are normalised to [0, 1] and need their image's size in pixels; "
                             f"the ground truth {gt.name} gives none for image {unsized!r} "
                             "- use ground truth with sizes (COCO images[].width/height, YOLO labels beside "
                             "their images, VOC <size>)", dt.where(row))
        xywh = xywh * np.tile(sizes, 2)
    return EvalSet(gt, image_kept, cls[keep], np.ascontiguousarray(xywh, dtype=np.float64), dt.scores[keep], n,
                   int(bad_image.sum()), int((bad_class & ~bad_image).sum()), notes)
