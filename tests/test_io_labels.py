"""Label sets for anchors-kmeans: dltool.io.labels.read_labels on YOLO, COCO, VOC and CSV.

Hand-made fixtures in ``tests/data/labels/`` (expected pixel sizes worked out by hand; at
``img_size=640`` each image is scaled so that its long side is 640, per axis
``W * 640 / max(W, H)``):

yolo/images/train/a.png 200x100 (x 640, y 320)   labels/train/a.txt  0 .5 .5 .5 .2  -> 320 x 64
                                                                      1 .25 .25 .1 .4 -> 64 x 128
yolo/images/train/b.JPG 100x200 (x 320, y 640)   labels/train/b.txt  segment x .125-.625, y .25-.75
                                                                      -> .5 x .5 -> 160 x 320
                                                                      2 .5 .5 .25 .125 -> 80 x 80
yolo/images/train/c.png 300x300                  labels/train/c.txt  empty (a background image)
yolo/images/val/d.webp  640x480 (x 640, y 480)   labels/val/d.txt    3 .5 .5 .25 .5 -> 160 x 240

coco.json   images 1: 200x100 (x 3.2), 2: 640x480 (x 1), "x": 100x400 (x 1.6);
            annotations [50,20] -> 160 x 64, [64,32] -> 64 x 32, crowd [300,300] skipped,
            [25,100] -> 40 x 160, [0.5,10] -> 1.6 x 32 dropped by min_size 2
voc/        Annotations/000001.xml 500x375 (x 1.28): dog 147x131, person (difficult), cat 64x32;
            Annotations/000002.xml 375x500 (x 1.28): car 100x25, bottle 1x40 (dropped);
            ImageSets/Main/train.txt (a VOC devkit's list, not YOLO labels)
wh.csv      W,H columns (any case): 10x20, 30.5x4, 1.5x8 (dropped)    wh.tsv  12x24, 48x6
"""

import hashlib
import io
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from dltool.errors import ExitCode, InputError
from dltool.io.labels import LABEL_FORMATS, LabelSet, read_labels

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data" / "labels"
SAMPLES = ROOT / "samples"

YOLO_640 = [[320, 64], [64, 128], [160, 320], [80, 80], [160, 240]]
YOLO_NATIVE = [[100, 20], [20, 40], [50, 100], [25, 25], [160, 240]]


def same(got, expected):
    np.testing.assert_allclose(got, np.array(expected, dtype=float).reshape(-1, 2), rtol=1e-12, atol=1e-9)


def error(path, **kwargs) -> str:
    """The message of the InputError that reading ``path`` raises."""
    with pytest.raises(InputError) as info:
        read_labels(str(path), **kwargs)
    assert info.value.exit_code == ExitCode.BAD_INPUT
    return str(info.value)


def write(folder: pathlib.Path, files: dict) -> pathlib.Path:
    """Create ``files`` ({relative path: text or bytes}) under ``folder``; return ``folder``."""
    for rel, content in files.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)
    return folder


def image(path: pathlib.Path, size, **save):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (100, 120, 140)).save(path, **save)


@pytest.fixture
def stdin(monkeypatch):
    """Replace standard input with a pipe carrying ``data``."""
    def feed(data: bytes):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    return feed


# ------------------------------------------------------------------ YOLO


@pytest.mark.parametrize("path", ["yolo", "yolo/labels", "yolo/labels/"])
def test_yolo_dir_hand_values(path):
    labels = read_labels(str(DATA / path))
    assert isinstance(labels, LabelSet)
    assert labels.kind == "yolo"
    assert labels.wh.dtype == np.float64 and labels.wh.flags.c_contiguous
    same(labels.wh, YOLO_640)
    assert labels.n_images == 4
    assert labels.dropped == 0
    assert labels.notes == ["1 of 4 label files empty (background images)"]
    assert len(labels) == 5


def test_yolo_native_pixels_and_other_img_size():
    same(read_labels(str(DATA / "yolo"), img_size=0).wh, YOLO_NATIVE)
    # img_size 320: half of the 640 values
    same(read_labels(str(DATA / "yolo"), img_size=320).wh, np.array(YOLO_640) / 2)


def test_yolo_assume_square_reads_no_image(tmp_path):
    labels = write(tmp_path, {"labels/a.txt": "0 0.5 0.5 0.5 0.25\n", "labels/b.txt": "1 0.5 0.5 0.125 1\n"})
    got = read_labels(str(labels), img_size=320, assume_square=True)
    same(got.wh, [[160, 80], [40, 320]])
    assert got.n_images == 2
    # the fixture's images are ignored too
    same(read_labels(str(DATA / "yolo"), img_size=640, assume_square=True).wh,
         [[320, 128], [64, 256], [320, 320], [160, 80], [160, 320]])


def test_yolo_assume_square_needs_an_img_size():
    assert "--assume-square needs --img-size N > 0" in error(DATA / "yolo", img_size=0, assume_square=True)


def test_yolo_min_size_drops_and_counts():
    got = read_labels(str(DATA / "yolo"), min_size=100)
    same(got.wh, [[160, 320], [160, 240]])
    assert got.dropped == 3
    # exactly on the threshold is kept (drop only when a side is < min_size)
    got = read_labels(str(DATA / "yolo"), min_size=64)
    same(got.wh, YOLO_640)
    assert got.dropped == 0


def test_yolo_segment_lines_give_their_bounding_box(tmp_path):
    write(tmp_path, {"labels/s.txt": "0 0.25 0.5 0.75 0.5 0.5 0.25 0.5 0.75\n"   # a diamond
                                     "1 0.5 0.5 0.25 0.25\n"
                                     "2 0.0 0.0 1.0 0.0 1.0 1.0\n"})             # a triangle
    same(read_labels(str(tmp_path), img_size=100, assume_square=True).wh, [[50, 50], [25, 25], [100, 100]])


def test_yolo_tolerates_rounding_outside_the_unit_interval(tmp_path):
    write(tmp_path, {"labels/a.txt": "0 0.5 0.5 1.0000005 0.5\n0 0.5 0.5 0.5 -0.0000005\n"})
    got = read_labels(str(tmp_path), img_size=100, assume_square=True, min_size=0)
    # Both lines are read (no error); the second, clipped to zero height, has no IoU with
    # anything and is dropped even at --min-size 0.
    same(got.wh, [[100, 50]])
    assert got.dropped == 1


def test_yolo_blank_lines_crlf_and_empty_files(tmp_path):
    write(tmp_path, {"labels/a.txt": "\n0 0.5 0.5 0.5 0.5\r\n\r\n   \n1 0.5 0.5 0.25 0.25",
                     "labels/b.txt": "", "labels/c.txt": "\n\n"})
    got = read_labels(str(tmp_path), img_size=64, assume_square=True)
    same(got.wh, [[32, 32], [16, 16]])
    assert got.n_images == 3
    assert got.notes == ["2 of 3 label files empty (background images)"]


def test_yolo_images_found_by_the_last_labels_component(tmp_path):
    # .../labels/project/labels/train/x.txt -> .../labels/project/images/train/x.PNG
    root = tmp_path / "labels" / "project"
    write(root, {"labels/train/x.txt": "0 0.5 0.5 0.5 0.5\n"})
    image(root / "images" / "train" / "x.PNG", (400, 100))
    same(read_labels(str(root / "labels")).wh, [[320, 80]])  # x 640/400 = 1.6


def test_yolo_image_beside_the_label_file(tmp_path):
    write(tmp_path, {"data/x.txt": "0 0.5 0.5 0.5 0.5\n"})
    image(tmp_path / "data" / "x.jpeg", (64, 128))
    same(read_labels(str(tmp_path / "data"), img_size=0).wh, [[32, 64]])


def test_yolo_relative_path_from_inside_the_labels_folder(tmp_path, monkeypatch):
    write(tmp_path, {"labels/train/x.txt": "0 0.5 0.5 0.5 0.5\n"})
    image(tmp_path / "images" / "train" / "x.jpg", (200, 100))
    monkeypatch.chdir(tmp_path / "labels" / "train")
    same(read_labels(".").wh, [[320, 160]])


def test_yolo_exif_rotated_jpeg_uses_the_displayed_size(tmp_path):
    # stored 200x100, EXIF orientation 6 (rotate 90): the labels refer to a 100x200 image
    write(tmp_path, {"labels/r.txt": "0 0.5 0.5 0.5 0.5\n"})
    exif = Image.Exif()
    exif[0x0112] = 6
    image(tmp_path / "images" / "r.jpg", (200, 100), exif=exif)
    same(read_labels(str(tmp_path), img_size=0).wh, [[50, 100]])


def test_yolo_background_image_is_never_opened(tmp_path):
    write(tmp_path, {"labels/a.txt": "0 0.5 0.5 0.5 0.5\n", "labels/empty.txt": ""})
    image(tmp_path / "images" / "a.png", (100, 100))
    same(read_labels(str(tmp_path), img_size=0).wh, [[50, 50]])  # no images/empty.*: fine


def test_yolo_dataset_root_reads_labels_only_and_skips_class_names(tmp_path):
    write(tmp_path, {"train.txt": "images/train/a.jpg\n",  # ultralytics image list at the root
                     "labels/train/a.txt": "0 0.5 0.5 0.5 0.5\n",
                     "labels/train/classes.txt": "person\ncar\n",  # labelImg's class names
                     "labels/.hidden/x.txt": "not a label\n"})
    got = read_labels(str(tmp_path), img_size=64, assume_square=True)
    same(got.wh, [[32, 32]])
    assert got.n_images == 1
    assert got.notes == ["skipped 1 class-name file (classes.txt)"]


def test_yolo_single_label_file(tmp_path):
    write(tmp_path, {"a.txt": "0 0.5 0.5 0.5 0.5\n"})
    same(read_labels(str(tmp_path / "a.txt"), img_size=64, assume_square=True).wh, [[32, 32]])
    same(read_labels(str(tmp_path / "a.txt"), img_size=64, assume_square=True, input_format="yolo").wh,
         [[32, 32]])


def test_yolo_order_is_sorted_and_deterministic(tmp_path):
    write(tmp_path, {"labels/b/z.txt": "0 0.5 0.5 0.3 0.5\n", "labels/a.txt": "0 0.5 0.5 0.1 0.5\n",
                     "labels/b/a.txt": "0 0.5 0.5 0.2 0.5\n"})
    got = read_labels(str(tmp_path), img_size=10, assume_square=True, min_size=0)
    same(got.wh, [[1, 5], [2, 5], [3, 5]])


def test_yolo_many_lines_parse_exactly(tmp_path):
    rng = np.random.default_rng(1)
    values = rng.integers(1, 2 ** 16, (3000, 4)) / 2 ** 16
    lines = [f"{c} {cx!r} {cy!r} {w!r} {h!r}\n"
             for c, (cx, cy, w, h) in zip(rng.integers(0, 80, 3000).tolist(), values.tolist())]
    for k in range(30):
        write(tmp_path, {f"labels/{k:03d}.txt": "".join(lines[k * 100:(k + 1) * 100])})
    got = read_labels(str(tmp_path), img_size=1024, assume_square=True, min_size=0)
    np.testing.assert_array_equal(got.wh, values[:, 2:] * 1024)


YOLO_ERRORS = [
    ("0 0.5 0.5 0.5\n", 1, "expected 5 fields `class cx cy w h`"),
    ("0 0.5 0.5 0.5 0.5\n0 0.5 0.5 0.5 0.5 0.9\n", 2, "got 6 fields"),
    ("0 0.5 0.5 0.5 0.5\n\n0 0.5 0.5 0.5 0.5 0.9 0.1 0.2\n", 3, "expected 5 fields"),
    ("images/train/a.jpg\n", 1, "this looks like a list of image paths"),
    ("0 0.5 abc 0.5 0.5\n", 1, "cy is 'abc', not a number"),
    ("0 0.5 0.5 0.5 0.5\n1 0.5 0.5 nan 0.5\n", 2, "w is nan: values must be finite"),
    ("0 0.5 0.5 0.5 inf\n", 1, "h is inf: values must be finite"),
    ("0 0.5 0.5 -0.25 0.5\n", 1, "w is -0.25: box width and height must be >= 0"),
    ("0 0.5 0.5 0.5 0.5\n0 320 240 50 80\n", 2, "cx is 320: coordinates must be normalised to [0, 1]"),
    ("0 0.5 1.5 0.5 0.5\n", 1, "these look like pixels"),
    ("-1 0.5 0.5 0.5 0.5\n", 1, "class must be a class index"),
    ("0.5 0.5 0.5 0.5 0.5\n", 1, "class must be a class index"),
    ("0 0.1 0.1 0.9 0.1 x 0.9\n", 1, "x3 is 'x', not a number - expected a segment"),
    ("0 0.1 0.1 0.9 0.1 0.5 1.5\n", 1, "segment point y3 is 1.5: coordinates must be normalised"),
    ("0 0.1 0.1 0.9 0.1 0.5 nan\n", 1, "values must be finite"),
]


@pytest.mark.parametrize("text,line,expected", YOLO_ERRORS)
def test_yolo_bad_lines_name_file_and_line(tmp_path, text, line, expected):
    write(tmp_path, {"labels/train/a.txt": "0 0.5 0.5 0.5 0.5\n", "labels/train/b.txt": text})
    message = error(tmp_path, img_size=64, assume_square=True)
    where = os.path.join(str(tmp_path), "labels", "train", "b.txt")
    assert message.startswith(f"{where}:{line}: "), message
    assert expected in message


def test_yolo_not_utf8(tmp_path):
    write(tmp_path, {"labels/a.txt": b"0 0.5 0.5 0.5 0.5\n0 0.5 0.5 0.5 \xff\n"})
    assert "a.txt:2: not UTF-8" in error(tmp_path, img_size=64, assume_square=True)


def test_yolo_missing_image_names_label_file_and_where_it_looked(tmp_path):
    write(tmp_path, {"labels/train/a.txt": "0 0.5 0.5 0.5 0.5\n"})
    message = error(tmp_path / "labels")
    label = os.path.join(str(tmp_path), "labels", "train", "a.txt")
    looked = os.path.join(str(tmp_path), "images", "train", "a.{jpg,jpeg,png,bmp,gif,tif,tiff,webp}")
    assert message.startswith(f"{label}: no image for this label file"), message
    assert looked in message
    assert "--img-size N --assume-square" in message


def test_yolo_corrupt_image_is_named(tmp_path):
    write(tmp_path, {"labels/a.txt": "0 0.5 0.5 0.5 0.5\n", "images/a.jpg": b"\xff\xd8\xffnot really a jpeg"})
    message = error(tmp_path)
    image_path = os.path.join(str(tmp_path), "images", "a.jpg")
    assert message.startswith(f"{image_path}: cannot read this image's size"), message
    assert "labels" in message and "--assume-square" in message


def test_yolo_explicit_format_on_a_dir_without_txt(tmp_path):
    write(tmp_path, {"a.xml": "<annotation/>"})
    assert "no *.txt YOLO label files found" in error(tmp_path, input_format="yolo")


# ------------------------------------------------------------------ COCO


def test_coco_hand_values_crowd_skipped_and_min_size():
    got = read_labels(str(DATA / "coco.json"))
    assert got.kind == "coco"
    same(got.wh, [[160, 64], [64, 32], [40, 160]])
    assert (got.n_images, got.dropped) == (3, 1)
    assert got.notes == ["skipped 1 crowd annotation (iscrowd=1)"]
    same(read_labels(str(DATA / "coco.json"), img_size=0).wh, [[50, 20], [64, 32], [25, 100]])
    same(read_labels(str(DATA / "coco.json"), min_size=0).wh, [[160, 64], [64, 32], [40, 160], [1.6, 32]])


def test_coco_from_stdin_with_explicit_format(stdin):
    stdin((DATA / "coco.json").read_bytes())
    got = read_labels("-", input_format="coco")
    assert got.name == "<stdin>"
    same(got.wh, [[160, 64], [64, 32], [40, 160]])


def test_coco_assume_square_is_ignored_with_a_note():
    got = read_labels(str(DATA / "coco.json"), assume_square=True)
    same(got.wh, [[160, 64], [64, 32], [40, 160]])
    assert got.notes[0].startswith("--assume-square ignored")


def coco(tmp_path, images, annotations, **extra):
    import json
    p = tmp_path / "inst.json"
    p.write_text(json.dumps({"images": images, "annotations": annotations, **extra}))
    return p


IMG = {"id": 1, "width": 640, "height": 480}
ANN = {"image_id": 1, "bbox": [0, 0, 10, 10]}

COCO_ERRORS = [
    ([IMG], [ANN, {"image_id": 1, "bbox": [0, 0, 10]}], "annotations[1]", "\"bbox\" must be 4 numbers"),
    ([IMG], [{"image_id": 1, "bbox": [0, 0, "10", 5]}], "annotations[0]", "\"bbox\" must be 4 numbers"),
    ([IMG], [{"image_id": 1, "bbox": [0, 0, True, 5]}], "annotations[0]", "\"bbox\" must be 4 numbers"),
    ([IMG], [{"image_id": 1}], "annotations[0]", "\"bbox\" must be 4 numbers [x, y, w, h]"),
    ([IMG], [ANN, ANN, {"image_id": 1, "bbox": [0, 0, -5, 5]}], "annotations[2]", "negative width or height"),
    ([IMG], [{"image_id": 7, "bbox": [0, 0, 5, 5]}], "annotations[0]", "unknown image_id 7"),
    ([IMG], [{"image_id": [1], "bbox": [0, 0, 5, 5]}], "annotations[0]", "unknown image_id [1]"),
    ([IMG], [{"bbox": [0, 0, 5, 5]}], "annotations[0]", "missing \"image_id\""),
    ([IMG], [ANN, 5], "annotations[1]", "expected an object"),
    ([IMG, {"id": 2, "height": 480}], [ANN], "images[1]", "missing \"width\""),
    ([IMG, {"id": 2, "width": 640, "height": 0}], [ANN], "images[1]", "\"height\" must be a positive number"),
    ([IMG, {"id": 2, "width": "640", "height": 480}], [ANN], "images[1]",
     "\"width\" must be a positive number"),
    ([{"width": 640, "height": 480}], [ANN], "images[0]", "missing \"id\""),
    ([IMG, IMG], [ANN], "images[1]", "duplicate image id 1 (also images[0])"),
    ([IMG, "x"], [ANN], "images[1]", "expected an object"),
    ([{"id": None, "width": 640, "height": 480}], [ANN], "images[0]", "\"id\" must be a number or a string"),
]


@pytest.mark.parametrize("images,annotations,where,expected", COCO_ERRORS)
def test_coco_bad_entries_are_located(tmp_path, images, annotations, where, expected):
    p = coco(tmp_path, images, annotations)
    message = error(p)
    assert message.startswith(f"{p}: {where}: "), message
    assert expected in message


def test_coco_nan_bbox(tmp_path):
    p = tmp_path / "nan.json"
    p.write_text('{"images": [{"id": 1, "width": 10, "height": 10}],\n'
                 ' "annotations": [{"image_id": 1, "bbox": [0, 0, NaN, 5]}]}')
    assert error(p) == f"{p}: annotations[0]: \"bbox\" must be finite numbers, got [0, 0, NaN, 5]"


def test_coco_sizes_not_needed_for_native_pixels(tmp_path):
    p = coco(tmp_path, [{"id": 1}], [{"image_id": 1, "bbox": [0, 0, 12, 5]}])
    same(read_labels(str(p), img_size=0).wh, [[12, 5]])
    assert "missing \"width\"" in error(p)


def test_coco_invalid_json_has_the_line(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"images": [],\n "annotations": [\n  {"image_id": 1,, "bbox": [0, 0, 1, 1]}\n]}\n')
    assert error(p).startswith(f"{p}:3: invalid JSON: ")


def test_coco_detection_results_list_is_explained():
    message = error(SAMPLES / "detections.json")  # the nms/iou sample: results, not instances
    assert "this is a detection-results list; anchors need an instances file with images and annotations" \
        in message


def test_coco_detection_results_list_is_explained_fixture(tmp_path):
    p = tmp_path / "dets.json"
    p.write_text('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9}]')
    assert error(p) == (f"{p}: this is a detection-results list; anchors need an instances file with "
                        "images and annotations (e.g. instances_train2017.json)")


@pytest.mark.parametrize("text,expected", [
    ("[]", "got a list"),
    ("3", "got int"),
    ('{"annotations": []}', "\"images\" is missing"),
    ('{"images": [], "annotations": {}}', "\"annotations\" is not a list (dict)"),
])
def test_coco_wrong_document_shape(tmp_path, text, expected):
    p = tmp_path / "x.json"
    p.write_text(text)
    message = error(p)
    assert message.startswith(f"{p}: ") and expected in message


def test_coco_no_annotations_left(tmp_path):
    p = coco(tmp_path, [IMG], [{"image_id": 1, "bbox": [0, 0, 50, 50], "iscrowd": 1}])
    assert error(p) == (f"no boxes in {p} (skipped 1 crowd annotation (iscrowd=1)) - the labels hold "
                        "no boxes to cluster")


# ------------------------------------------------------------------ Pascal VOC


@pytest.mark.parametrize("path", ["voc", "voc/Annotations"])
def test_voc_hand_values_difficult_skipped(path):
    got = read_labels(str(DATA / path))
    assert got.kind == "voc"
    same(got.wh, [[188.16, 167.68], [81.92, 40.96], [128, 32]])
    assert (got.n_images, got.dropped) == (2, 1)
    assert got.notes == ["skipped 1 difficult object (<difficult>1</difficult>)"]
    same(read_labels(str(DATA / path), img_size=0).wh, [[147, 131], [64, 32], [100, 25]])


def test_voc_single_file_and_explicit_format():
    single = read_labels(str(DATA / "voc/Annotations/000002.xml"), img_size=0, min_size=0)
    same(single.wh, [[100, 25], [1, 40]])
    same(read_labels(str(DATA / "voc"), input_format="voc", img_size=0).wh, [[147, 131], [64, 32], [100, 25]])


VOC_OBJECT = "<object><name>{name}</name><bndbox>{box}</bndbox></object>"
SIZE = "<size><width>100</width><height>50</height></size>"


def voc(size, *objects) -> str:
    return f"<annotation>\n{size}\n" + "\n".join(objects) + "\n</annotation>\n"


def bndbox(x1, y1, x2, y2) -> str:
    return f"<xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax>"


GOOD = VOC_OBJECT.format(name="dog", box=bndbox(0, 0, 10, 10))

VOC_ERRORS = [
    (voc(SIZE, GOOD, VOC_OBJECT.format(name="cat", box=bndbox(0, 0, 10, 10).replace("<xmax>10</xmax>", ""))),
     ": object[1] (cat): missing <xmax> - each <object> needs <bndbox>"),
    (voc(SIZE, "<object><name>cat</name></object>"), ": object[0] (cat): missing <bndbox>"),
    (voc(SIZE, "<object><bndbox/></object>"), ": object[0]: missing <xmin>"),
    (voc(SIZE, VOC_OBJECT.format(name="cat", box=bndbox(20, 0, 10, 10))),
     ": object[0] (cat): xmax < xmin or ymax < ymin in (20,0,10,10)"),
    (voc(SIZE, VOC_OBJECT.format(name="cat", box=bndbox(0, "ten", 10, 10))),
     ": object[0] (cat): <ymin> is 'ten', not a number"),
    (voc(SIZE, VOC_OBJECT.format(name="cat", box=bndbox(0, 0, "nan", 10))),
     ": object[0] (cat): <xmax> is nan: must be a finite number"),
    (voc("", GOOD),
     ": missing <size> - each annotation needs <size><width>W</width><height>H</height></size>"),
    (voc("<size><width>100</width></size>", GOOD), ": missing <height>"),
    (voc("<size><width>0</width><height>50</height></size>", GOOD),
     ": <size> is 0x50: width and height must be > 0"),
    ("<doc><object/></doc>", ": expected a Pascal VOC <annotation> document, got <doc>"),
]


@pytest.mark.parametrize("text,expected", VOC_ERRORS)
def test_voc_bad_annotations_are_located(tmp_path, text, expected):
    write(tmp_path, {"Annotations/a.xml": voc(SIZE, GOOD), "Annotations/b.xml": text})
    message = error(tmp_path)
    assert message.startswith(os.path.join(str(tmp_path), "Annotations", "b.xml") + expected), message


def test_voc_parse_error_has_line_and_column(tmp_path):
    write(tmp_path, {"b.xml": "<annotation>\n<size><width>1</width>\n<height>1</height></sise>\n"
                              "</annotation>\n"})
    message = error(tmp_path)
    where = os.path.join(str(tmp_path), "b.xml")
    assert message.startswith(f"{where}:3: invalid XML: mismatched tag (column "), message


def test_voc_sizes_not_needed_for_native_pixels(tmp_path):
    write(tmp_path, {"a.xml": voc("", VOC_OBJECT.format(name="dog", box=bndbox(1, 2, 31, 12)))})
    same(read_labels(str(tmp_path), img_size=0).wh, [[30, 10]])


def test_voc_all_difficult_is_no_boxes(tmp_path):
    difficult = ("<object><name>x</name><difficult>1</difficult>"
                 f"<bndbox>{bndbox(0, 0, 10, 10)}</bndbox></object>")
    write(tmp_path, {"a.xml": voc(SIZE, difficult)})
    message = error(tmp_path)
    assert message.startswith(f"no boxes in {tmp_path} (skipped 1 difficult object"), message


# ------------------------------------------------------------------ CSV


def test_csv_hand_values_any_case_and_extra_columns():
    got = read_labels(str(DATA / "wh.csv"))
    assert got.kind == "csv" and got.n_images == 0
    same(got.wh, [[10, 20], [30.5, 4]])
    assert got.dropped == 1
    # never scaled: img_size does not apply
    same(read_labels(str(DATA / "wh.csv"), img_size=320, min_size=0).wh, [[10, 20], [30.5, 4], [1.5, 8]])
    same(read_labels(str(DATA / "wh.tsv")).wh, [[12, 24], [48, 6]])


def test_csv_from_stdin(stdin):
    stdin(b"w,h\n12,24\n48,6.5\n")
    got = read_labels("-")
    assert (got.name, got.kind) == ("<stdin>", "csv")
    same(got.wh, [[12, 24], [48, 6.5]])


def test_tsv_from_stdin_is_sniffed(stdin):
    stdin(b"id\tW\tH\n1\t12\t24\n")
    same(read_labels("-").wh, [[12, 24]])


def test_stdin_terminal_is_refused(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True
    monkeypatch.setattr(sys, "stdin", Tty())
    assert "standard input is a terminal" in error("-")


@pytest.mark.parametrize("fmt", ["yolo", "voc"])
def test_stdin_only_for_csv_and_coco(fmt, stdin):
    stdin(b"w,h\n1,2\n")
    assert error("-", input_format=fmt).startswith(f"<stdin>: {fmt} labels are read from a directory")


CSV_ERRORS = [
    ("w,h\n10,20\n10,abc\n", 3, "h must be a number of pixels, got 'abc'"),
    ("w,h\n10,20\n\n,20\n", 4, "w must be a number of pixels, got ''"),
    ("W,H\nnan,20\n", 2, "W must be a finite number, got nan"),
    ("w,h\n10,20\n10,inf\n", 3, "h must be a finite number, got inf"),
    ("w,h\n10,20\n-3,20\n", 3, "w is -3: box width and height must be >= 0"),
    ("w,h\n10,20\n10,20,30\n", 3, "expected 2 fields (w,h), got 3"),
    ("10,20\n30,40\n", 1, "expected a header row naming the columns (w,h), got numbers"),
    ("width,height\n10,20\n", 1, "missing column(s) w,h: the header is 'width,height'"),
    ("image,x1,y1,x2,y2\na,0,0,5,5\n", 1, "for corners, add w = x2 - x1 and h = y2 - y1"),
    ("w,h,W\n1,2,3\n", 1, "column 'w' appears twice"),
]


@pytest.mark.parametrize("text,line,expected", CSV_ERRORS)
def test_csv_bad_rows_name_file_and_line(tmp_path, text, line, expected):
    p = tmp_path / "wh.csv"
    p.write_text(text)
    message = error(p)
    assert message.startswith(f"{p}:{line}: "), message
    assert expected in message


def test_csv_empty_and_header_only(tmp_path):
    (tmp_path / "empty.csv").write_text("\n\n")
    assert error(tmp_path / "empty.csv").startswith(f"{tmp_path / 'empty.csv'}: empty: expected a header row")
    (tmp_path / "header.csv").write_text("w,h\n")
    assert error(tmp_path / "header.csv") == (f"no boxes in {tmp_path / 'header.csv'} - the labels hold "
                                              "no boxes to cluster")


def test_csv_stdin_error_is_located(stdin):
    stdin(b"w,h\n1,2\n3,x\n")
    assert error("-").startswith("<stdin>:3: h must be a number")


# ------------------------------------------------------------------ detection, options, empty results


def test_missing_path():
    assert error(DATA / "nope") == f"{DATA / 'nope'}: no such file or directory - check the path"


def test_dir_without_labels(tmp_path):
    write(tmp_path, {"readme.md": "hi", "sub/instances.json": "{}"})
    message = error(tmp_path)
    assert message.startswith(f"{tmp_path}: no label files found: expected YOLO *.txt label files or "
                              "Pascal VOC *.xml annotations")
    assert "for COCO, give the instances .json file itself" in message


def test_unknown_file_extension(tmp_path):
    (tmp_path / "boxes.npy").write_bytes(b"")
    assert "cannot tell the label format from the extension" in error(tmp_path / "boxes.npy")


@pytest.mark.parametrize("fmt,expected", [("coco", "a COCO instances .json file"),
                                          ("csv", "a .csv/.tsv file with w,h columns")])
def test_directory_for_a_file_format(fmt, expected):
    assert error(DATA / "yolo", input_format=fmt) == f"{DATA / 'yolo'}: is a directory, expected {expected}"


def test_explicit_format_overrides_the_extension(tmp_path):
    p = tmp_path / "sizes.txt"
    p.write_text("w,h\n4,8\n")
    same(read_labels(str(p), input_format="csv").wh, [[4, 8]])


def test_voc_devkit_with_imagesets_txt_is_voc():
    assert read_labels(str(DATA / "voc")).kind == "voc"


@pytest.mark.parametrize("kwargs,expected", [
    ({"input_format": "darknet"},
     "unknown label format 'darknet': expected one of auto, yolo, coco, voc, csv"),
    ({"img_size": -1}, "--img-size must be a whole number of pixels >= 0"),
    ({"img_size": 640.5}, "--img-size must be a whole number"),
    ({"min_size": -1}, "--min-size must be a finite number of pixels >= 0"),
    ({"min_size": float("nan")}, "--min-size must be a finite number"),
])
def test_bad_options(kwargs, expected):
    assert expected in error(DATA / "wh.csv", **kwargs)


def test_label_formats_registry():
    assert LABEL_FORMATS == ("auto", "yolo", "coco", "voc", "csv")


def test_everything_dropped_by_min_size():
    message = error(DATA / "yolo", min_size=1000)
    assert message == (f"no boxes in {DATA / 'yolo'} (5 dropped by --min-size 1000; 1 of 4 label files empty "
                       "(background images)) - lower --min-size, or raise --img-size")


def test_all_label_files_empty(tmp_path):
    write(tmp_path, {"labels/a.txt": "", "labels/b.txt": "\n"})
    message = error(tmp_path, img_size=64, assume_square=True)
    assert message.startswith(f"no boxes in {tmp_path} (2 of 2 label files empty"), message


def test_importing_the_module_does_not_import_pillow():
    code = "import sys, dltool.io.labels; print('PIL' in sys.modules, 'numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.stdout.split() == ["False", "False"], out.stderr


# ------------------------------------------------------------------ bundled samples


def test_yolo_sample_reads():
    for path in (SAMPLES / "yolo", SAMPLES / "yolo" / "labels" / "train"):
        got = read_labels(str(path))
        assert (got.kind, got.n_images, len(got), got.dropped) == ("yolo", 16, 132, 0)
        assert got.notes == ["1 of 16 label files empty (background images)"]
        assert got.wh.max() <= 640
    segment_lines = [ln for p in sorted((SAMPLES / "yolo" / "labels" / "train").glob("*.txt"))
                     for ln in p.read_text().splitlines() if len(ln.split()) > 5]
    assert len(segment_lines) == 1
    assert len(read_labels(str(SAMPLES / "yolo"), assume_square=True)) == 132


def test_coco_sample_reads_with_cocos_size_mix():
    got = read_labels(str(SAMPLES / "coco_instances.json"), img_size=0)
    assert (got.kind, got.n_images, len(got), got.dropped) == ("coco", 40, 397, 1)
    assert got.notes == ["skipped 2 crowd annotations (iscrowd=1)"]
    area = got.wh.prod(axis=1)
    small, large = np.mean(area < 32 ** 2), np.mean(area >= 96 ** 2)
    assert 0.35 < small < 0.48 and 0.17 < large < 0.30
    assert len(read_labels(str(SAMPLES / "coco_instances.json"))) == 397


def digest(folder: pathlib.Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_sample_generator_reproduces_the_text_files(tmp_path):
    subprocess.run([sys.executable, str(SAMPLES / "make_anchor_samples.py"), str(tmp_path)],
                   check=True, capture_output=True, timeout=120)
    assert (tmp_path / "coco_instances.json").read_bytes() == (SAMPLES / "coco_instances.json").read_bytes()
    labels = "yolo/labels/train"
    assert digest(tmp_path / labels) == digest(SAMPLES / labels)
    # images: the same files and sizes (encoder bytes may differ between pillow builds)
    fresh = sorted((tmp_path / "yolo/images/train").iterdir())
    bundled = sorted((SAMPLES / "yolo/images/train").iterdir())
    assert [p.name for p in fresh] == [p.name for p in bundled]
    for a, b in zip(fresh, bundled):
        with Image.open(a) as ia, Image.open(b) as ib:
            assert ia.size == ib.size
