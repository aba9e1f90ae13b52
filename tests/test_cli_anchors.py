"""``dltool anchors-kmeans`` from the command line: in-process with click's CliRunner, output pinned.

Hand-made label sets live in ``tests/data/anchors_cli/`` (CSV, COCO, VOC, bad files); YOLO sets,
which need images, are built in ``tmp_path`` with pillow. Expected anchors come from
``dltool.core.anchors.kmeans_anchors`` on the widths and heights ``dltool.io.labels.read_labels``
gives for the same input, or, where the clusters are obvious (identical shapes), are written out.
"""

import io
import json
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from clitools import ROOT, SAMPLES, assert_error, examples, help_text, ok, option_docs, run
from dltool.cli import cli
from dltool.core.anchors import anchor_metrics, kmeans_anchors
from dltool.io.labels import read_labels

DATA = ROOT / "tests" / "data" / "anchors_cli"
COCO = SAMPLES / "coco_instances.json"
YOLO = SAMPLES / "yolo" / "labels"
SHAPES = DATA / "shapes.csv"

# shapes.csv: three shapes repeated (10x10 three times, 40x20 and 20x80 twice), and a 1.5 px
# wide box that the default --min-size 2 drops. k = 3 finds the three shapes exactly.
SHAPES_CSV = (
    "anchor,w,h,boxes,mean_iou\n"
    "0,10.0,10.0,3,1.0\n"
    "1,40.0,20.0,2,1.0\n"
    "2,20.0,80.0,2,1.0\n"
)
# the defaults the command passes to kmeans_anchors
DEFAULTS = dict(seed=0, restarts=3, update="median", max_iter=300)


def report(*args, input=None):
    """The JSON report of a quiet run."""
    result = ok("anchors-kmeans", *args, "--format", "json", "-q", input=input)
    assert result.stderr == ""
    return json.loads(result.stdout)


def expected_anchors(path, k=9, **read):
    """What the library gives on the same input with the command's defaults."""
    wh = read_labels(str(path), **read).wh
    return kmeans_anchors(wh, k, **DEFAULTS).anchors.tolist()


def temp_leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def image(path, size, fmt=None, **save):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (90, 120, 150)).save(path, format=fmt, **save)


def yolo_set(root):
    """A YOLO dataset root: images of 320x240 and 200x400 (no 640 side, so scaling shows), a
    background image with an empty label file, and labelImg's classes.txt.

    Boxes at --img-size 640 (a: x2, b: x1.6): a -> 160x240, 64x48; b -> 160x160, 64x192, and a
    segment line whose bounding box is 0.2 x 0.4 -> 64x256; b's 0.001-wide box is 0.32 px: dropped.
    """
    image(root / "images" / "train" / "a.png", (320, 240))
    image(root / "images" / "train" / "b.jpg", (200, 400))
    image(root / "images" / "train" / "c.png", (100, 100))
    labels = root / "labels" / "train"
    labels.mkdir(parents=True)
    (labels / "a.txt").write_text("0 0.5 0.5 0.25 0.5\n1 0.5 0.5 0.1 0.1\n")
    (labels / "b.txt").write_text("0 0.5 0.5 0.5 0.25\n"
                                  "2 0.5 0.5 0.2 0.3\n"
                                  "\n"
                                  "0 0.1 0.1 0.3 0.1 0.3 0.5\n"
                                  "0 0.5 0.5 0.001 0.5\n")
    (labels / "c.txt").write_text("")
    (labels / "classes.txt").write_text("cat\ndog\nbird\n")
    return root


YOLO_WH_640 = [[160, 240], [64, 48], [160, 160], [64, 192], [64, 256]]
YOLO_WH_NATIVE = [[80, 120], [32, 24], [100, 100], [40, 120], [40, 160]]
YOLO_WH_SQUARE_100 = [[25, 50], [10, 10], [50, 25], [20, 30], [20, 40]]


def yolo_notes(path, boxes=5, dropped=1, min_size="2"):
    tail = f" ({dropped} dropped: a side < {min_size} px)" if dropped else ""
    return ("anchors-kmeans: skipped 1 class-name file (classes.txt)\n"
            "anchors-kmeans: 1 of 3 label files empty (background images)\n"
            f"anchors-kmeans: {boxes} boxes from 3 images in {path}{tail}\n")


def coco_like(path, n_images=1500, seed=0):
    """A COCO-like instances file: 640-class image sizes, ~3 objects per image, sqrt(area)
    log-normal around 42 px (about 40 % small, 38 % medium, 22 % large, as COCO), w/h log-normal
    slightly tall, boxes inside their images."""
    rng = np.random.default_rng(seed)
    sizes = [(640, 480), (480, 640), (640, 427), (427, 640), (640, 426), (500, 375), (640, 360), (612, 612)]
    p = [0.35, 0.15, 0.2, 0.08, 0.07, 0.05, 0.05, 0.05]
    images, annotations = [], []
    for i in range(n_images):
        width, height = sizes[rng.choice(len(sizes), p=p)]
        images.append({"id": i + 1, "file_name": f"{i + 1:012d}.jpg", "width": width, "height": height})
        for _ in range(rng.poisson(2.9)):
            side = np.exp(rng.normal(np.log(42.0), 1.05))
            ratio = np.exp(rng.normal(-0.15, 0.55))
            w, h = min(side * np.sqrt(ratio), width), min(side / np.sqrt(ratio), height)
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": 1, "iscrowd": 0,
                                "bbox": [round(x, 2), round(y, 2), round(w, 2), round(h, 2)]})
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": [{"id": 1, "name": "thing"}]}))
    return path


@pytest.fixture(scope="module")
def coco_big(tmp_path_factory):
    return coco_like(tmp_path_factory.mktemp("coco") / "instances_like.json")


# ------------------------------------------------------------------ CSV of w,h


def test_csv_hand_made_exact_output():
    result = ok("anchors-kmeans", SHAPES, "-k", "3")
    assert result.stdout == SHAPES_CSV
    assert result.stderr == f"anchors-kmeans: 7 boxes in {SHAPES} (1 dropped: a side < 2 px)\n"


def test_csv_is_taken_as_given_whatever_the_img_size():
    for size in ("0", "320", "1280"):
        assert ok("anchors-kmeans", SHAPES, "-k", "3", "--img-size", size, "-q").stdout == SHAPES_CSV


def test_csv_assume_square_is_ignored_with_a_note():
    result = ok("anchors-kmeans", SHAPES, "-k", "3", "--assume-square")
    assert result.stdout == SHAPES_CSV
    assert result.stderr.splitlines()[0] == ("anchors-kmeans: --assume-square ignored: csv labels give the "
                                             "box sizes without images")


def test_csv_min_size_zero_keeps_the_thin_box_and_larger_drops_more():
    result = ok("anchors-kmeans", SHAPES, "-k", "3", "--min-size", "0")
    assert result.stderr == f"anchors-kmeans: 8 boxes in {SHAPES}\n"
    result = ok("anchors-kmeans", SHAPES, "-k", "2", "--min-size", "15")
    # 10x10 three times and the thin box go; 40x20 and 20x80 stay
    assert result.stderr == f"anchors-kmeans: 4 boxes in {SHAPES} (4 dropped: a side < 15 px)\n"
    assert result.stdout == "anchor,w,h,boxes,mean_iou\n0,40.0,20.0,2,1.0\n1,20.0,80.0,2,1.0\n"
    d = report(SHAPES, "-k", "2", "--min-size", "15")
    assert (d["boxes"], d["dropped"], d["settings"]["min_size"]) == (4, 4, 15.0)


def test_csv_on_stdin():
    result = ok("anchors-kmeans", "-", "-k", "3", input=SHAPES.read_bytes())
    assert result.stdout == SHAPES_CSV
    assert result.stderr == "anchors-kmeans: 7 boxes in <stdin> (1 dropped: a side < 2 px)\n"
    # stdin is the default argument
    assert ok("anchors-kmeans", "-k", "3", "-q", input=SHAPES.read_bytes()).stdout == SHAPES_CSV
    assert report("-", "-k", "3", input=SHAPES.read_bytes())["input"] == "<stdin>"


def test_tsv_on_stdin_is_sniffed():
    tsv = SHAPES.read_text().replace(",", "\t")
    assert ok("anchors-kmeans", "-", "-k", "3", "-q", input=tsv).stdout == SHAPES_CSV


def test_coco_on_stdin_with_input_format():
    stdin = ok("anchors-kmeans", "-", "--input-format", "coco", "-q", input=COCO.read_bytes())
    assert stdin.stdout == ok("anchors-kmeans", COCO, "-q").stdout


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("args", [[], ["-"], ["-", "--input-format", "coco"], ["-k", "3"]])
def test_stdin_terminal_is_refused_not_waited_on(args, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", _Terminal())
    code = cli.main(["anchors-kmeans", *args], standalone_mode=False)
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.splitlines() == ["Error: <stdin>: standard input is a terminal: give a file, or pipe data in "
                                "(e.g. `cat boxes.csv | dltool iou -`)"]


def test_stdin_is_not_for_directory_formats():
    result = run("anchors-kmeans", "-", "--input-format", "yolo", input=b"0 0.5 0.5 0.1 0.1\n")
    assert_error(result, "Error: <stdin>: yolo labels are read from a directory")


# ------------------------------------------------------------------ YOLO labels + images


def test_yolo_dir_sizes_from_the_images_folder(tmp_path):
    root = yolo_set(tmp_path / "ds")
    labels = root / "labels"
    wh = read_labels(str(labels)).wh
    np.testing.assert_allclose(wh, YOLO_WH_640, rtol=1e-12)
    result = ok("anchors-kmeans", labels, "-k", "3")
    assert result.stderr == yolo_notes(labels)
    d = report(labels, "-k", "3")
    assert d["anchors"] == kmeans_anchors(wh, 3, **DEFAULTS).anchors.tolist()
    assert (d["kind"], d["boxes"], d["dropped"], d["images"]) == ("yolo", 5, 1, 3)
    # k = number of boxes: the anchors are the boxes themselves
    five = report(labels, "-k", "5")
    assert sorted(map(tuple, np.round(five["anchors"], 9).tolist())) == sorted(map(tuple, YOLO_WH_640))
    assert [a["boxes"] for a in five["per_anchor"]] == [1] * 5
    assert five["avg_iou"] == pytest.approx(1.0)


def test_yolo_dataset_root_reads_its_labels_folder(tmp_path):
    root = yolo_set(tmp_path / "ds")
    result = ok("anchors-kmeans", root, "-k", "3")
    assert result.stdout == ok("anchors-kmeans", root / "labels", "-k", "3", "-q").stdout
    assert result.stderr == yolo_notes(root)


def test_yolo_img_size_zero_is_native_pixels(tmp_path):
    labels = yolo_set(tmp_path / "ds") / "labels"
    np.testing.assert_allclose(read_labels(str(labels), img_size=0).wh, YOLO_WH_NATIVE, rtol=1e-12)
    d = report(labels, "-k", "3", "--img-size", "0")
    assert d["anchors"] == expected_anchors(labels, 3, img_size=0)
    assert d["settings"]["img_size"] == 0
    assert (d["boxes"], d["dropped"]) == (5, 1)
    assert d["anchors"] != report(labels, "-k", "3")["anchors"]


def test_yolo_other_img_size_scales_the_long_side(tmp_path):
    labels = yolo_set(tmp_path / "ds") / "labels"
    half = report(labels, "-k", "5", "--img-size", "320")
    full = report(labels, "-k", "5")
    np.testing.assert_allclose(half["anchors"], np.array(full["anchors"]) / 2, rtol=1e-12)


def test_yolo_assume_square_reads_no_image(tmp_path):
    labels = yolo_set(tmp_path / "ds") / "labels"
    for p in (tmp_path / "ds" / "images").rglob("*.*"):
        p.write_bytes(b"not an image")  # never opened
    np.testing.assert_allclose(read_labels(str(labels), img_size=100, assume_square=True).wh,
                               YOLO_WH_SQUARE_100, rtol=1e-12)
    result = ok("anchors-kmeans", labels, "-k", "3", "--img-size", "100", "--assume-square")
    assert result.stderr == yolo_notes(labels)
    d = report(labels, "-k", "3", "--img-size", "100", "--assume-square")
    assert d["anchors"] == expected_anchors(labels, 3, img_size=100, assume_square=True)
    # without --assume-square the broken images are read, and named
    assert_error(run("anchors-kmeans", labels, "-k", "3"), "cannot read this image's size")


def test_yolo_assume_square_needs_an_img_size(tmp_path):
    labels = yolo_set(tmp_path / "ds") / "labels"
    assert_error(run("anchors-kmeans", labels, "--assume-square", "--img-size", "0"),
                 "Error: --assume-square needs --img-size N > 0")


def test_yolo_min_size_counts_the_dropped(tmp_path):
    labels = yolo_set(tmp_path / "ds") / "labels"
    # 64x48 (a side < 50) goes too
    result = ok("anchors-kmeans", labels, "-k", "2", "--min-size", "50")
    assert result.stderr.splitlines()[-1] == (
        f"anchors-kmeans: 4 boxes from 3 images in {labels} (2 dropped: a side < 50 px)")
    result = ok("anchors-kmeans", labels, "-k", "2", "--min-size", "0.25")
    assert result.stderr == yolo_notes(labels, boxes=6, dropped=0)
    result = ok("anchors-kmeans", labels, "-k", "2", "--min-size", "63.5")
    assert result.stderr.splitlines()[-1] == (
        f"anchors-kmeans: 4 boxes from 3 images in {labels} (2 dropped: a side < 63.5 px)")


def test_yolo_image_beside_the_label_file(tmp_path):
    flat = tmp_path / "flat"
    image(flat / "x.png", (640, 320))
    (flat / "x.txt").write_text("0 0.5 0.5 0.5 0.5\n0 0.5 0.5 0.25 0.5\n")
    assert report(flat, "-k", "2")["anchors"] == [[160.0, 160.0], [320.0, 160.0]]


def test_yolo_exif_rotated_jpeg_uses_the_displayed_size(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90: stored 640x320, displayed 320x640
    image(tmp_path / "images" / "r.jpg", (640, 320), exif=exif)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "r.txt").write_text("0 0.5 0.5 0.5 0.25\n")
    assert report(tmp_path / "labels", "-k", "1")["anchors"] == [[160.0, 160.0]]


def test_yolo_samples():
    result = ok("anchors-kmeans", YOLO)
    assert result.stderr == ("anchors-kmeans: 1 of 16 label files empty (background images)\n"
                             f"anchors-kmeans: 132 boxes from 16 images in {YOLO}\n")
    d = report(YOLO)
    assert d["anchors"] == expected_anchors(YOLO)
    assert (d["kind"], d["boxes"], d["images"]) == ("yolo", 132, 16)


# ------------------------------------------------------------------ COCO instances


def test_coco_hand_made_exact_output():
    path = DATA / "coco_small.json"
    result = ok("anchors-kmeans", path, "-k", "2")
    # image 1 (1280x960) at half scale: 50x25, 20x40, the 2x2 box -> 1x1 dropped, crowd skipped
    assert result.stdout == "anchor,w,h,boxes,mean_iou\n0,20.0,40.0,2,1.0\n1,50.0,25.0,2,1.0\n"
    assert result.stderr == ("anchors-kmeans: skipped 1 crowd annotation (iscrowd=1)\n"
                             f"anchors-kmeans: 4 boxes from 2 images in {path} (1 dropped: a side < 2 px)\n")


def test_coco_native_pixels_keep_the_small_box():
    path = DATA / "coco_small.json"
    d = report(path, "-k", "5", "--img-size", "0")
    assert (d["boxes"], d["dropped"], d["images"]) == (5, 0, 2)
    # sorted by area: 4, 800, 1250, 3200, 5000
    assert d["anchors"] == [[2.0, 2.0], [20.0, 40.0], [50.0, 25.0], [40.0, 80.0], [100.0, 50.0]]


def test_coco_samples():
    result = ok("anchors-kmeans", COCO)
    assert result.stderr == ("anchors-kmeans: skipped 2 crowd annotations (iscrowd=1)\n"
                             f"anchors-kmeans: 397 boxes from 40 images in {COCO} (1 dropped: a side < 2 px)\n")
    d = report(COCO)
    assert d["anchors"] == expected_anchors(COCO)
    assert (d["input"], d["kind"], d["boxes"], d["dropped"], d["images"]) == (str(COCO), "coco", 397, 1, 40)


# ------------------------------------------------------------------ Pascal VOC


def test_voc_hand_made_exact_output():
    path = DATA / "voc"
    result = ok("anchors-kmeans", path, "-k", "2")
    # 1280x960 at half scale: 256x128 -> 128x64, 128x256 -> 64x128; the difficult person is skipped
    assert result.stdout == "anchor,w,h,boxes,mean_iou\n0,64.0,128.0,2,1.0\n1,128.0,64.0,2,1.0\n"
    assert result.stderr == ("anchors-kmeans: skipped 1 difficult object (<difficult>1</difficult>)\n"
                             f"anchors-kmeans: 4 boxes from 2 images in {path}\n")
    assert ok("anchors-kmeans", path, "-k", "2", "--input-format", "voc", "-q").stdout == result.stdout


def test_voc_native_pixels_and_library_agreement():
    path = DATA / "voc"
    d = report(path, "-k", "3", "--img-size", "0")
    assert d["anchors"] == expected_anchors(path, 3, img_size=0)
    assert (d["kind"], d["boxes"], d["images"]) == ("voc", 4, 2)
    assert sorted(map(tuple, report(path, "-k", "4", "--img-size", "0")["anchors"])) == [
        (64.0, 128.0), (128.0, 64.0), (128.0, 256.0), (256.0, 128.0)]


# ------------------------------------------------------------------ output formats


def test_csv_format_header_k_rows_sorted_by_area():
    text = ok("anchors-kmeans", COCO, "--format", "csv", "-q").stdout
    assert text == ok("anchors-kmeans", COCO, "-q").stdout  # auto in a pipe is CSV
    lines = text.split("\n")
    assert lines[0] == "anchor,w,h,boxes,mean_iou" and lines[-1] == ""
    rows = [line.split(",") for line in lines[1:-1]]
    assert [int(r[0]) for r in rows] == list(range(9))
    areas = [float(r[1]) * float(r[2]) for r in rows]
    assert areas == sorted(areas)
    d = report(COCO)
    # full precision: the CSV numbers are the JSON numbers
    assert [[float(r[1]), float(r[2])] for r in rows] == d["anchors"]
    assert sum(int(r[3]) for r in rows) == 397
    assert [float(r[4]) for r in rows] == [a["mean_iou"] for a in d["per_anchor"]]


def test_json_keys_and_values():
    d = report(COCO)
    for key in ("anchors", "avg_iou", "bpr", "anchors_per_box", "per_anchor", "settings", "boxes", "dropped"):
        assert key in d
    assert "compare" not in d
    assert d["settings"] == {"clusters": 9, "img_size": 640, "min_size": 2.0, "restarts": 3, "update": "median",
                             "evolve": 0, "seed": 0, "ratio_threshold": 4.0}
    assert len(d["anchors"]) == 9 and len(d["per_anchor"]) == 9
    assert [[a["w"], a["h"]] for a in d["per_anchor"]] == d["anchors"]
    wh = read_labels(str(COCO)).wh
    m = anchor_metrics(wh, np.array(d["anchors"]))
    assert (d["avg_iou"], d["bpr"], d["anchors_per_box"]) == (m.avg_iou, m.bpr, m.anchors_per_box)
    assert [a["boxes"] for a in d["per_anchor"]] == m.counts.tolist()
    assert len(d["iterations"]) == 3 and 0 <= d["best_restart"] < 3
    assert d["evolved_mutations"] == 0


def test_darknet_format():
    text = ok("anchors-kmeans", COCO, "-k", "6", "--format", "darknet", "-q").stdout
    anchors = report(COCO, "-k", "6")["anchors"]
    assert text == "anchors = " + ",  ".join(f"{round(w)},{round(h)}" for w, h in anchors) + "\n"
    assert re.fullmatch(r"anchors = \d+,\d+(,  \d+,\d+){5}\n", text)
    assert ok("anchors-kmeans", SHAPES, "-k", "3", "--format", "darknet", "-q").stdout == \
        "anchors = 10,10,  40,20,  20,80\n"


def test_yolov5_format_nine_anchors_three_levels():
    text = ok("anchors-kmeans", COCO, "--format", "yolov5", "-q").stdout
    pairs = [f"{round(w)},{round(h)}" for w, h in report(COCO)["anchors"]]
    assert text == ("anchors:\n"
                    f"  - [{', '.join(pairs[0:3])}]  # P3/8\n"
                    f"  - [{', '.join(pairs[3:6])}]  # P4/16\n"
                    f"  - [{', '.join(pairs[6:9])}]  # P5/32\n")


def test_yolov5_format_twelve_anchors_four_levels():
    lines = ok("anchors-kmeans", COCO, "-k", "12", "--format", "yolov5", "-q").stdout.splitlines()
    assert lines[0] == "anchors:"
    assert [line.split("#")[1].strip() for line in lines[1:]] == ["P3/8", "P4/16", "P5/32", "P6/64"]
    assert all(len(re.findall(r"\d+,\d+", line)) == 3 for line in lines[1:])


def test_yolov5_format_seven_anchors_one_list():
    text = ok("anchors-kmeans", COCO, "-k", "7", "--format", "yolov5", "-q").stdout
    pairs = [f"{round(w)},{round(h)}" for w, h in report(COCO, "-k", "7")["anchors"]]
    assert text == f"anchors:\n  - [{', '.join(pairs)}]\n"


def test_table_format_on_request():
    result = ok("anchors-kmeans", COCO, "--format", "table", "--compare", "yolov5", "-q")
    text = result.stdout
    assert "anchors: dltool" in text and "anchors: yolov5" in text
    assert "avg IoU" in text and "best possible recall" in text and "anchors per box" in text
    assert "397 boxes, ratio threshold 4" in text
    assert "anchor,w,h" not in text
    assert "\x1b[" not in text
    d = report(COCO, "--compare", "yolov5")
    assert f"{d['avg_iou']:.4f}" in text and f"{d['compare']['avg_iou']:.4f}" in text


class _TerminalOut(io.StringIO):
    def isatty(self):
        return True


def test_auto_format_is_a_table_on_a_terminal(monkeypatch, capsys):
    terminal = _TerminalOut()
    monkeypatch.setattr(sys, "stdout", terminal)
    code = cli.main(["anchors-kmeans", str(SHAPES), "-k", "3", "-q"], standalone_mode=False)
    assert code == 0
    text = terminal.getvalue()
    assert "anchors: dltool" in text and "mean IoU" in text
    assert "anchor,w,h" not in text
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("ext, fmt", [(".csv", "csv"), (".json", "json"), (".yaml", "yolov5"), (".yml", "yolov5"),
                                      (".cfg", "darknet"), (".txt", "darknet"), (".YAML", "yolov5")])
def test_output_file_format_from_extension(tmp_path, ext, fmt):
    out = tmp_path / f"anchors{ext}"
    result = ok("anchors-kmeans", COCO, "-o", out, "-q")
    assert (result.stdout, result.stderr) == ("", "")
    assert out.read_text() == ok("anchors-kmeans", COCO, "--format", fmt, "-q").stdout
    assert temp_leftovers(tmp_path) == []


def test_output_file_explicit_format_wins_over_extension(tmp_path):
    out = tmp_path / "anchors.txt"
    ok("anchors-kmeans", COCO, "-o", out, "--format", "json", "-q")
    assert json.loads(out.read_text())["anchors"] == report(COCO)["anchors"]
    # --format table with -o: a file gets the extension's format
    ok("anchors-kmeans", COCO, "-o", tmp_path / "a.csv", "--format", "table", "-q")
    assert (tmp_path / "a.csv").read_text() == ok("anchors-kmeans", COCO, "-q").stdout


@pytest.mark.parametrize("name", ["anchors.xyz", "anchors", "anchors.png"])
def test_output_file_unknown_extension_is_refused(tmp_path, name):
    out = tmp_path / name
    assert_error(run("anchors-kmeans", COCO, "-o", out), f"Error: {out}: cannot tell the format from the extension")
    assert list(tmp_path.iterdir()) == []


def test_failed_run_leaves_existing_output_untouched(tmp_path):
    existing = tmp_path / "existing.csv"
    existing.write_bytes(b"precious,data\r\n1,2\n")
    # 3 anchors from 2 distinct shapes: fails after reading, before writing
    assert_error(run("anchors-kmeans", DATA / "two_shapes.csv", "-k", "3", "-o", existing),
                 "distinct box shapes", notes="anchors-kmeans: ")
    assert existing.read_bytes() == b"precious,data\r\n1,2\n"
    assert_error(run("anchors-kmeans", DATA / "bad_negative.csv", "-o", existing))
    assert existing.read_bytes() == b"precious,data\r\n1,2\n"
    assert temp_leftovers(tmp_path) == []
    # and a good run replaces it whole
    ok("anchors-kmeans", SHAPES, "-k", "3", "-o", existing, "-q")
    assert existing.read_text() == SHAPES_CSV
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.csv"]


def test_output_into_a_missing_directory(tmp_path):
    out = tmp_path / "nope" / "anchors.csv"
    assert_error(run("anchors-kmeans", SHAPES, "-k", "3", "-o", out), str(out), "directory does not exist",
                 notes="anchors-kmeans: ")


def test_failed_output_does_not_clobber_an_existing_plot(tmp_path):
    """docs/SPEC.md §2: a failed run never clobbers a good artifact. Here -o cannot be written (its folder
    is missing), yet the run has already replaced the --plot picture before finding that out."""
    plot = tmp_path / "good.png"
    plot.write_bytes(b"a good picture from another run")
    result = run("anchors-kmeans", SHAPES, "-k", "3", "--plot", plot, "-o", tmp_path / "nope" / "a.csv")
    assert_error(result, "directory does not exist", notes="anchors-kmeans: ")
    assert plot.read_bytes() == b"a good picture from another run"


# ------------------------------------------------------------------ --compare


def test_compare_yolov5_shows_both():
    d = report(COCO, "--compare", "yolov5")
    c = d["compare"]
    assert c["name"] == "yolov5"
    assert c["anchors"] == [[10, 13], [16, 30], [33, 23], [30, 61], [62, 45], [59, 119],
                            [116, 90], [156, 198], [373, 326]]
    assert set(c) == {"name", "anchors", "avg_iou", "bpr", "anchors_per_box", "per_anchor"}
    m = anchor_metrics(read_labels(str(COCO)).wh, np.array(c["anchors"], dtype=float))
    assert (c["avg_iou"], c["bpr"], c["anchors_per_box"]) == (m.avg_iou, m.bpr, m.anchors_per_box)
    # the run's own anchors are unchanged by --compare, and so is the CSV
    without = report(COCO)
    assert {k: v for k, v in d.items() if k != "compare"} == without
    assert ok("anchors-kmeans", COCO, "--compare", "yolov5", "-q").stdout == ok("anchors-kmeans", COCO, "-q").stdout


def test_compare_yolov3_tiny():
    c = report(COCO, "-k", "6", "--compare", "yolov3-tiny")["compare"]
    assert c["name"] == "yolov3-tiny"
    assert c["anchors"] == [[10, 14], [23, 27], [37, 58], [81, 82], [135, 169], [344, 319]]
    assert len(c["per_anchor"]) == 6


def test_compare_a_list_of_numbers():
    d = report(SHAPES, "-k", "3", "--compare", "10,13, 16,30")
    c = d["compare"]
    assert c["name"] == "10,13, 16,30"
    assert c["anchors"] == [[10.0, 13.0], [16.0, 30.0]]
    assert [a["boxes"] for a in c["per_anchor"]] == [3, 4]
    # an anchor no box picks has mean_iou null
    c = report(SHAPES, "-k", "3", "--compare", "10,10, 1000,1000")["compare"]
    assert [a["boxes"] for a in c["per_anchor"]] == [7, 0]
    assert c["per_anchor"][1]["mean_iou"] is None


@pytest.mark.parametrize("spec, contains", [
    ("yolov9", "anchors 'yolov9': expected a preset"),
    ("10,13, 16", "an even count of numbers"),
    ("a,b", "expected a preset"),
    (",", "expected a preset"),
    ("10,-13", "positive"),
    ("10,nan", "positive"),
])
def test_bad_compare(spec, contains):
    assert_error(run("anchors-kmeans", COCO, "--compare", spec), contains)


def test_empty_compare_is_refused_not_ignored():
    """`--compare ""` (an unset shell variable, say) is no anchor set: bad usage, exit 2 - not a
    run that silently leaves the comparison out."""
    assert_error(run("anchors-kmeans", COCO, "--compare", ""), "expected a preset")


# ------------------------------------------------------------------ the acceptance figure


def test_acceptance_on_the_coco_sample_beats_yolov5():
    d = report(COCO, "--compare", "yolov5")
    assert d["settings"]["clusters"] == 9 and d["settings"]["img_size"] == 640
    assert d["avg_iou"] > d["compare"]["avg_iou"]
    assert d["bpr"] >= 0.99


def test_acceptance_on_a_larger_coco_like_set_beats_yolov5(coco_big):
    result = ok("anchors-kmeans", coco_big, "--compare", "yolov5", "--format", "json")
    d = json.loads(result.stdout)
    assert d["boxes"] > 3000
    assert result.stderr.splitlines()[-1].startswith(f"anchors-kmeans: {d['boxes']} boxes from 1500 images")
    assert d["avg_iou"] > d["compare"]["avg_iou"]
    assert d["bpr"] >= 0.99
    assert d["anchors"] == expected_anchors(coco_big)


# ------------------------------------------------------------------ determinism


@pytest.mark.parametrize("fmt", ["csv", "json", "darknet", "yolov5", "table"])
def test_same_seed_same_bytes_every_format(fmt):
    args = ("anchors-kmeans", COCO, "--seed", "7", "--evolve", "20", "--compare", "yolov5", "--format", fmt, "-q")
    first, second = ok(*args).stdout, ok(*args).stdout
    assert first == second and first


@pytest.mark.parametrize("ext", [".csv", ".json", ".yaml", ".cfg", ".txt"])
def test_same_seed_same_bytes_output_files(tmp_path, ext):
    a, b = tmp_path / f"a{ext}", tmp_path / f"b{ext}"
    ok("anchors-kmeans", COCO, "--seed", "3", "--evolve", "20", "-o", a, "-q")
    ok("anchors-kmeans", COCO, "--seed", "3", "--evolve", "20", "-o", b, "-q")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes().endswith(b"\n") and b"\r" not in a.read_bytes()


def test_same_seed_same_bytes_in_a_fresh_process():
    args = [str(COCO), "--seed", "5", "--evolve", "30", "--format", "json", "-q"]
    fresh = subprocess.run([sys.executable, "-m", "dltool", "anchors-kmeans", *args], capture_output=True,
                           timeout=120, cwd=ROOT)
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stdout.decode() == ok("anchors-kmeans", *args).stdout


def test_same_seed_same_bytes_on_the_numba_path(tmp_path):
    """25 000 boxes x 9 anchors is past NUMBA_MIN_PAIRS: the parallel kernels run."""
    rng = np.random.default_rng(11)
    wh = np.round(np.exp(rng.normal(3.5, 1.0, (25_000, 2))), 2) + 2
    path = tmp_path / "wh.csv"
    path.write_text("w,h\n" + "".join(f"{float(w)!r},{float(h)!r}\n" for w, h in wh))
    args = ("anchors-kmeans", path, "--restarts", "1", "--max-iter", "15", "--evolve", "3", "--format", "json", "-q")
    first, second = ok(*args).stdout, ok(*args).stdout
    assert first == second
    d = json.loads(first)
    assert d["boxes"] == 25_000
    expected = kmeans_anchors(read_labels(str(path)).wh, 9, seed=0, restarts=1, max_iter=15, generations=3)
    assert d["anchors"] == expected.anchors.tolist()


# ------------------------------------------------------------------ --plot


def test_plot_writes_a_png_and_still_prints(tmp_path):
    out = tmp_path / "anchors.png"
    result = ok("anchors-kmeans", COCO, "--plot", out, "--compare", "yolov5")
    assert result.stdout == ok("anchors-kmeans", COCO, "-q").stdout
    assert result.stderr.splitlines()[-1] == f"anchors-kmeans: plot written to {out}"
    with Image.open(out) as im:
        assert (im.format, im.size) == ("PNG", (900, 600))
        im.load()
    assert temp_leftovers(tmp_path) == []


def test_plot_bytes_are_the_same_across_runs(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    ok("anchors-kmeans", YOLO, "--plot", a, "--compare", "yolov5", "-q")
    ok("anchors-kmeans", YOLO, "--plot", b, "--compare", "yolov5", "-q")
    assert a.read_bytes() == b.read_bytes()


def test_plot_with_output_file_and_yolov5_format(tmp_path):
    ok("anchors-kmeans", YOLO, "--format", "yolov5", "--plot", tmp_path / "p.png", "-o", tmp_path / "a.yaml", "-q")
    assert (tmp_path / "a.yaml").read_text().startswith("anchors:\n  - [")
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_jpg_is_refused(tmp_path):
    out = tmp_path / "anchors.jpg"
    assert_error(run("anchors-kmeans", COCO, "--plot", out), f"Error: {out}: a chart is a PNG picture",
                 notes="anchors-kmeans: ")
    assert list(tmp_path.iterdir()) == []


def test_plot_jpg_is_refused_before_any_work(tmp_path):
    """Like -o with an unknown extension, a --plot name that can never be written is bad usage:
    refused up front with one line, not after reading every label and running k-means."""
    out = tmp_path / "anchors.jpg"
    existing = tmp_path / "anchors.csv"
    existing.write_text("keep\n")
    result = run("anchors-kmeans", COCO, "--plot", out, "-o", existing)
    assert_error(result, f"Error: {out}: a chart is a PNG picture")
    assert existing.read_text() == "keep\n"


# ------------------------------------------------------------------ --evolve, --restarts, --update, --seed


def test_evolve_never_lowers_the_average_iou():
    base = report(COCO, "--seed", "1")
    evolved = report(COCO, "--seed", "1", "--evolve", "50")
    assert evolved["avg_iou"] >= base["avg_iou"]
    assert evolved["settings"]["evolve"] == 50
    assert evolved["evolved_mutations"] >= 0
    if evolved["evolved_mutations"]:
        assert evolved["avg_iou"] > base["avg_iou"]
        assert evolved["anchors"] != base["anchors"]
    wh = read_labels(str(COCO)).wh
    assert evolved["anchors"] == kmeans_anchors(wh, 9, seed=1, restarts=3, generations=50).anchors.tolist()


def test_evolve_zero_is_the_plain_run():
    assert report(COCO, "--evolve", "0") == report(COCO)


def test_seed_changes_anchors_where_it_matters(coco_big):
    sets = {json.dumps(report(coco_big, "--restarts", "1", "--seed", str(s))["anchors"]) for s in range(4)}
    assert len(sets) > 1
    assert report(coco_big, "--seed", "2")["settings"]["seed"] == 2


def test_more_restarts_never_lower_the_average_iou(coco_big):
    # restart r draws from the r-th child of the seed: 6 restarts include the first 3
    runs = {r: report(coco_big, "--restarts", str(r)) for r in (1, 3, 6)}
    assert runs[1]["avg_iou"] <= runs[3]["avg_iou"] <= runs[6]["avg_iou"]
    assert [len(runs[r]["iterations"]) for r in (1, 3, 6)] == [1, 3, 6]
    assert runs[6]["iterations"][:3] == runs[3]["iterations"]
    assert runs[1]["anchors"] != runs[3]["anchors"]  # on this set the best of 3 is not the first


def test_update_mean_gives_other_anchors(coco_big):
    median, mean = report(coco_big), report(coco_big, "--update", "mean")
    assert mean["settings"]["update"] == "mean"
    assert mean["anchors"] != median["anchors"]
    wh = read_labels(str(coco_big)).wh
    assert mean["anchors"] == kmeans_anchors(wh, 9, seed=0, restarts=3, update="mean").anchors.tolist()


def test_ratio_threshold_changes_bpr_not_anchors():
    loose, strict = report(COCO, "--compare", "yolov5"), report(COCO, "--compare", "yolov5", "--ratio-threshold", "1.5")
    assert loose["anchors"] == strict["anchors"]
    assert strict["compare"]["bpr"] < loose["compare"]["bpr"]
    assert strict["anchors_per_box"] < loose["anchors_per_box"]


# ------------------------------------------------------------------ bad input: exit 2, one line


def yolo_bad(tmp_path, text):
    labels = tmp_path / "labels"
    labels.mkdir()
    image(tmp_path / "images" / "a.png", (64, 48))
    (labels / "a.txt").write_text(text)
    return labels


@pytest.mark.parametrize("text, line, contains", [
    ("0 0.5 0.5 0.2 0.2\n0.5 0.5 0.2 0.2\n", 2, ["expected 5 fields", "got 4 fields", "class index missing"]),
    ("0 0.5 0.5 0.2 0.2\n\n0 0.5 abc 0.2 0.2\n", 3, ["cy is 'abc', not a number"]),
    ("0 0.5 0.5 0.2 0.2\n0 0.5 0.5 1.5 0.2\n", 2, ["w is 1.5", "normalised to [0, 1]"]),
    ("0 0.5 0.5 0.2 0.2 0.9\n", 1, ["got 6 fields", "confidence column"]),
])
def test_yolo_bad_line_names_file_and_line(tmp_path, text, line, contains):
    labels = yolo_bad(tmp_path, text)
    assert_error(run("anchors-kmeans", labels), f"Error: {labels / 'a.txt'}:{line}: ", *contains)


def test_yolo_label_without_image_suggests_assume_square(tmp_path):
    labels = yolo_bad(tmp_path, "0 0.5 0.5 0.2 0.2\n")
    (tmp_path / "images" / "a.png").unlink()
    assert_error(run("anchors-kmeans", labels), f"Error: {labels / 'a.txt'}: no image for this label file",
                 "--assume-square")
    assert report(labels, "--assume-square", "-k", "1")["anchors"] == [[128.0, 128.0]]


def test_yolo_corrupt_image_is_named(tmp_path):
    labels = yolo_bad(tmp_path, "0 0.5 0.5 0.2 0.2\n")
    (tmp_path / "images" / "a.png").unlink()
    bad = tmp_path / "images" / "a.jpg"
    bad.write_bytes(b"\xff\xd8 this is not a jpeg")
    assert_error(run("anchors-kmeans", labels), f"Error: {bad}: cannot read this image's size",
                 str(labels / "a.txt"), "--assume-square")


def test_yolo_dir_without_labels(tmp_path):
    (tmp_path / "notes.md").write_text("nothing here\n")
    assert_error(run("anchors-kmeans", tmp_path), f"Error: {tmp_path}: no label files found")


def test_coco_invalid_json_names_the_line():
    path = DATA / "bad_invalid.json"
    assert_error(run("anchors-kmeans", path), f"Error: {path}:2: invalid JSON")


def test_coco_detection_results_instead_of_instances():
    path = DATA / "bad_results.json"
    assert_error(run("anchors-kmeans", path), f"Error: {path}: this is a detection-results list",
                 "instances")


def test_coco_directory_given_as_coco(tmp_path):
    assert_error(run("anchors-kmeans", tmp_path, "--input-format", "coco"), "is a directory")


def test_voc_invalid_xml_names_file_and_line():
    path = DATA / "voc_bad" / "000001.xml"
    assert_error(run("anchors-kmeans", DATA / "voc_bad"), f"Error: {path}:6: invalid XML: mismatched tag")


def test_csv_without_w_h_columns():
    path = DATA / "bad_corners.csv"
    assert_error(run("anchors-kmeans", path), f"Error: {path}:1: missing column(s) w,h",
                 "w = x2 - x1")


def test_csv_negative_width():
    path = DATA / "bad_negative.csv"
    assert_error(run("anchors-kmeans", path), f"Error: {path}:3: w is -3")


def test_csv_zero_width_kept_by_min_size_zero_is_dropped_or_located():
    """zero_side.csv line 2 is `0,10`: the reader accepts w >= 0 and --min-size 0 keeps it, but a
    box of zero width cannot be clustered. Either it is left out, or the error names the file and
    line like every other bad row - not an unlocated `boxes: row 0`."""
    path = DATA / "zero_side.csv"
    result = run("anchors-kmeans", path, "-k", "1", "--min-size", "0")
    if result.exit_code == 0:
        assert json.loads(run("anchors-kmeans", path, "-k", "1", "--min-size", "0", "--format", "json").stdout)[
            "boxes"] == 2
    else:
        assert_error(result, f"{path}:2", notes="anchors-kmeans: ")


def test_k_larger_than_distinct_shapes():
    path = DATA / "two_shapes.csv"
    result = run("anchors-kmeans", path, "-k", "3")
    assert_error(result, "Error: 3 anchors need at least 3 distinct box shapes, found 2", "-k", notes="anchors-kmeans: ")
    assert result.stderr.splitlines()[0] == f"anchors-kmeans: 4 boxes in {path}"
    assert_error(run("anchors-kmeans", path, "-k", "3", "-q"), "distinct box shapes")
    assert report(path, "-k", "2")["anchors"] == [[10.0, 10.0], [20.0, 20.0]]


def test_k_larger_than_the_number_of_boxes():
    assert_error(run("anchors-kmeans", DATA / "coco_small.json", "-k", "5"),
                 "Error: cannot make 5 anchors from 4 boxes", notes="anchors-kmeans: ")


def test_all_boxes_dropped_by_min_size():
    assert_error(run("anchors-kmeans", SHAPES, "--min-size", "1000"),
                 f"Error: no boxes in {SHAPES} (8 dropped by --min-size 1000) - lower --min-size")


def test_no_boxes_at_all():
    path = DATA / "header_only.csv"
    assert_error(run("anchors-kmeans", path), f"Error: no boxes in {path}", "no boxes to cluster")


@pytest.mark.parametrize("name", ["missing.csv", "missing.json", "missing_dir"])
def test_missing_path(tmp_path, name):
    path = tmp_path / name
    assert_error(run("anchors-kmeans", path), f"Error: {path}: no such file or directory")


def test_unknown_extension():
    path = SAMPLES / "street.png"
    assert_error(run("anchors-kmeans", path), f"Error: {path}: cannot tell the label format from the extension")


@pytest.mark.parametrize("args, contains", [
    (["-k", "0"], "-k"),
    (["--img-size", "-1"], "--img-size"),
    (["--min-size", "-1"], "--min-size"),
    (["--restarts", "0"], "--restarts"),
    (["--update", "mode"], "--update"),
    (["--ratio-threshold", "1"], "--ratio-threshold"),
    (["--format", "xml"], "--format"),
    (["--input-format", "kitti"], "--input-format"),
    (["--seed", "x"], "--seed"),
])
def test_bad_options_exit_2(args, contains):
    result = run("anchors-kmeans", SHAPES, *args)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: ")
    assert contains in result.stderr


# ------------------------------------------------------------------ --help


def test_help_shows_every_default():
    assert help_text("anchors-kmeans").startswith("Usage: dltool anchors-kmeans [OPTIONS] LABELS\n")
    docs = option_docs("anchors-kmeans")
    for name, (param, doc) in docs.items():
        if param.is_flag or param.default is None:
            continue
        assert f"[default: {param.default}" in doc.replace("\n", " "), (name, doc)
    # -o has no value default; as in `dltool nms --help`, it says where the anchors go without it
    assert "default" in docs["output"][1].lower(), docs["output"][1]


def test_help_examples_use_samples_that_exist():
    lines = examples(help_text("anchors-kmeans"))
    assert len(lines) >= 3
    for line in lines:
        assert line.startswith("dltool anchors-kmeans ")
        paths = re.findall(r"samples/[\w./-]+", line)
        assert paths, line
        for p in paths:
            assert (ROOT / p).exists(), p


def test_help_examples_run(tmp_path, monkeypatch):
    (tmp_path / "samples").symlink_to(SAMPLES)
    monkeypatch.chdir(tmp_path)
    for line in examples(help_text("anchors-kmeans")):
        argv = shlex.split(line)
        result = run(*argv[1:])
        assert result.exit_code == 0, (line, result.stderr)
        assert result.stdout, line
        for png in re.findall(r"--plot (\S+)", line):
            with Image.open(tmp_path / png) as im:
                assert im.format == "PNG"
