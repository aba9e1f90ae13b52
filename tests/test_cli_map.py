"""``dltool map`` from the command line: in-process with click's CliRunner, outputs and exit codes pinned.

The bundled ``samples/map`` set is checked against pycocotools (the ``test`` extra); hand-made
inputs are written under ``tmp_path``.
"""

import contextlib
import csv
import io
import json
import re
import shlex

import numpy as np
import pytest
from PIL import Image

from clitools import ROOT, SAMPLES, assert_error, examples, help_text, ok, option_docs, run
from dltool.core.map_names import COCO_METRICS

MAP = SAMPLES / "map"
INSTANCES = MAP / "instances.json"
DETECTIONS = MAP / "detections.json"
DETECTIONS_CSV = MAP / "detections.csv"


def report(*args, input=None):
    result = ok("map", *args, "-q", input=input)
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def sample_stats():
    """pycocotools' 12 numbers on the sample."""
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(INSTANCES))
        E = COCOeval(gt, gt.loadRes(str(DETECTIONS)), "bbox")
        E.evaluate()
        E.accumulate()
        E.summarize()
    return E.stats


# ------------------------------------------------------------------ the sample against pycocotools


def test_sample_equals_pycocotools(sample_stats):
    r = report(DETECTIONS, INSTANCES)
    assert list(r["summary"]) == list(COCO_METRICS)
    np.testing.assert_array_equal(list(r["summary"].values()), sample_stats)


def test_csv_detections_match_images_by_file_name_and_classes_by_name():
    assert report(DETECTIONS_CSV, INSTANCES)["summary"] == report(DETECTIONS, INSTANCES)["summary"]


def test_json_report_keys():
    r = report(DETECTIONS, INSTANCES)
    assert r["protocol"] == "coco"
    assert (r["images"], r["classes"], r["ground_truth"], r["crowd"], r["detections"]) == (12, 6, 75, 3, 141)
    assert r["left_out"] == {"unknown_image": 0, "unknown_class": 0}
    umbrella = r["per_class"][-1]
    assert umbrella["name"] == "umbrella" and umbrella["ground_truth"] == 0 and umbrella["AP"] == -1
    assert [c["id"] for c in r["per_class"]] == [1, 2, 3, 10, 18, 28]
    assert "passed" not in r


def test_auto_format_in_a_pipe_is_json():
    assert ok("map", DETECTIONS, INSTANCES, "-q").stdout == ok("map", DETECTIONS, INSTANCES, "-q", "--format",
                                                               "json").stdout


@pytest.mark.parametrize("fmt, sep", [("csv", ","), ("tsv", "\t")])
def test_csv_and_tsv_rows(fmt, sep):
    r = report(DETECTIONS, INSTANCES)
    out = ok("map", DETECTIONS, INSTANCES, "-q", "--format", fmt).stdout
    rows = list(csv.reader(io.StringIO(out), delimiter=sep))
    assert rows[0] == ["class_id", "class", "ground_truth", "detections", *COCO_METRICS]
    assert rows[1][:4] == ["", "all", "72", "141"]
    assert [float(v) for v in rows[1][4:]] == list(r["summary"].values())  # full precision
    assert [row[1] for row in rows[2:]] == [c["name"] for c in r["per_class"]]
    assert rows[-1][4:] == ["-1.0"] * 12
    assert out.endswith("\n") and "\r" not in out


def test_table_shows_pycocotools_lines(monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")  # rich folds long cells to fit 80 columns
    out = ok("map", DETECTIONS, INSTANCES, "-q", "--format", "table").stdout
    assert "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]" in out
    assert "Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]" in out
    ap = report(DETECTIONS, INSTANCES)["summary"]["AP"]
    assert f"{ap:.3f}" in out and "umbrella" in out


def test_stdin_and_the_nms_pipe():
    data = DETECTIONS.read_bytes()
    assert report("-", INSTANCES, input=data) == {**report(DETECTIONS, INSTANCES), "detections_file": "<stdin>"}
    kept = ok("nms", DETECTIONS, "--iou-threshold", "0.6", "-q").stdout
    after = report("-", INSTANCES, input=kept)
    assert after["detections"] < 141
    assert after["summary"]["AP"] > report(DETECTIONS, INSTANCES)["summary"]["AP"]  # duplicates were FPs


def test_ground_truth_on_stdin():
    assert report(DETECTIONS, "-", input=INSTANCES.read_bytes())["summary"] == report(DETECTIONS, INSTANCES)["summary"]


def test_notes_on_stderr():
    result = ok("map", DETECTIONS, INSTANCES)
    assert result.stderr == (f"map: 141 detections of {DETECTIONS} against 75 ground-truth boxes of {INSTANCES} "
                             "(12 images, 6 classes, coco)\n")


def test_a_small_job_does_not_import_numba(tmp_path):
    import subprocess
    import sys

    code = ("import sys\nfrom dltool.cli import cli\n"
            f"code = cli.main(['map', {str(DETECTIONS)!r}, {str(INSTANCES)!r}, '-q', "
            f"'-o', {str(tmp_path / 'r.json')!r}],"
            " standalone_mode=False)\nprint(code, 'numba' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["0", "False"], out.stderr


# ------------------------------------------------------------------ --fail-below: the CI contract


def test_fail_below_exits_1_under_the_threshold_and_0_above():
    ap = report(DETECTIONS, INSTANCES)["summary"]["AP"]
    result = run("map", DETECTIONS, INSTANCES, "--fail-below", "0.35")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["passed"] is False  # the report is still written
    assert result.stderr.splitlines()[-1] == f"map: FAILED: AP {ap:.4f} < --fail-below 0.35"
    result = run("map", DETECTIONS, INSTANCES, "--fail-below", "0.3")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["passed"] is True
    assert result.stderr.splitlines()[-1] == f"map: passed: AP {ap:.4f} >= --fail-below 0.3"
    # at the threshold exactly: passed (fails only *below*)
    assert run("map", DETECTIONS, INSTANCES, "--fail-below", repr(ap), "-q").exit_code == 0


def test_fail_metric_selects_the_number():
    r = report(DETECTIONS, INSTANCES)["summary"]
    assert run("map", DETECTIONS, INSTANCES, "--fail-metric", "AP50", "--fail-below", "0.6", "-q").exit_code == 0
    assert r["AP50"] > 0.6 > r["AP75"]
    result = run("map", DETECTIONS, INSTANCES, "--fail-metric", "AP75", "--fail-below", "0.6", "-q")
    assert result.exit_code == 1 and json.loads(result.stdout)["fail_metric"] == "AP75"


def test_nothing_to_evaluate_fails_the_gate(tmp_path):
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"images": [{"id": 1}], "annotations": [], "categories": [{"id": 1, "name": "a"}]}))
    result = run("map", DETECTIONS, gt, "--fail-below", "0", "--strict")
    assert result.exit_code == 2  # the detections' images are not in this ground truth
    dets = tmp_path / "dets.json"
    dets.write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.5}]))
    result = run("map", dets, gt, "--fail-below", "0")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["summary"]["AP"] == -1
    assert "map: FAILED: AP -1 (nothing to evaluate) < --fail-below 0" in result.stderr


@pytest.mark.parametrize("args, mentions", [
    (["--fail-metric", "mAP", "--fail-below", "0.5"], ["VOC number"]),
    (["--protocol", "voc", "--fail-metric", "AP", "--fail-below", "0.5"], ["COCO number"]),
    (["--fail-metric", "AP"], ["--fail-below"]),
    (["--fail-below", "1.5"], ["[-1, 1]"]),
])
def test_gate_usage_errors(args, mentions):
    assert_error(run("map", DETECTIONS, INSTANCES, *args), *mentions)


# ------------------------------------------------------------------ VOC and YOLO


def test_voc_protocols_on_the_sample():
    r07 = report(MAP / "voc_detections.csv", MAP / "voc", "--protocol", "voc07")
    r10 = report(MAP / "voc_detections.csv", MAP / "voc", "--protocol", "voc")
    assert list(r07["summary"]) == ["mAP"] and r07["difficult"] == 3
    assert [c["name"] for c in r07["per_class"]] == ["car", "dog", "person"]
    assert [c["ground_truth"] for c in r07["per_class"]] == [5, 5, 3]  # difficult ones not counted
    for r in (r07, r10):
        aps = [c["AP"] for c in r["per_class"]]
        assert r["summary"]["mAP"] == pytest.approx(np.mean(aps), abs=1e-15)
    assert r07["summary"] != r10["summary"]
    plus = report(MAP / "voc_detections.csv", MAP / "voc", "--protocol", "voc", "--plus-one")
    assert plus["plus_one"] is True


def test_voc_csv_output():
    out = ok("map", MAP / "voc_detections.csv", MAP / "voc", "--protocol", "voc07", "-q", "--format", "csv").stdout
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["class_id", "class", "ground_truth", "detections", "tp", "fp", "recall", "precision", "AP"]
    assert rows[1][:4] == ["", "all", "13", "27"]


def test_yolo_predictions_against_yolo_labels():
    r = report(MAP / "predictions", SAMPLES / "yolo" / "labels")
    assert r["images"] == 16 and r["classes"] == 5 and r["left_out"] == {"unknown_image": 0, "unknown_class": 0}
    assert [c["name"] for c in r["per_class"]] == ["0", "1", "2", "3", "4"]
    assert 0 < r["summary"]["AP"] < 1


def test_yolo_labels_equal_the_same_boxes_as_coco(tmp_path):
    """The YOLO sample turned into COCO (pixel boxes from the image sizes) scores the same, to rounding."""
    from dltool.io.labels import read_label_boxes

    gt = read_label_boxes(str(SAMPLES / "yolo" / "labels"))
    dt = read_label_boxes(str(MAP / "predictions"), confidences=True)
    images = [{"id": k + 1, "file_name": f"{name}.jpg", "width": int(w), "height": int(h)}
              for k, (name, (w, h)) in enumerate(zip(gt.images, gt.sizes))]
    anns = [{"id": i + 1, "image_id": int(gt.image[i]) + 1, "category_id": int(gt.classes[i]),
             "bbox": gt.xywh[i].tolist(), "area": float(gt.xywh[i, 2] * gt.xywh[i, 3]), "iscrowd": 0}
            for i in range(len(gt))]
    index = {name: k + 1 for k, name in enumerate(gt.images)}
    res = [{"image_id": index[dt.images[dt.image[i]]], "category_id": int(dt.classes[i]),
            "bbox": (dt.xywh[i] * np.tile(gt.sizes[index[dt.images[dt.image[i]]] - 1], 2)).tolist(),
            "score": float(dt.scores[i])} for i in range(len(dt))]
    (tmp_path / "gt.json").write_text(json.dumps({"images": images, "annotations": anns,
                                                  "categories": [{"id": c, "name": str(c)} for c in range(5)]}))
    (tmp_path / "dt.json").write_text(json.dumps(res))
    a = report(tmp_path / "dt.json", tmp_path / "gt.json")["summary"]
    b = report(MAP / "predictions", SAMPLES / "yolo" / "labels")["summary"]
    assert a == pytest.approx(b, abs=1e-12)


def test_img_size_changes_only_the_area_ranges():
    native = report(MAP / "predictions", SAMPLES / "yolo" / "labels")["summary"]
    scaled = report(MAP / "predictions", SAMPLES / "yolo" / "labels", "--img-size", "640")["summary"]
    assert [scaled[k] for k in ("AP", "AP50", "AP75", "AR100")] == [native[k] for k in ("AP", "AP50", "AP75", "AR100")]
    assert scaled["APs"] != native["APs"]


def test_coco_protocol_on_voc_ground_truth_ignores_difficult_objects():
    r = report(MAP / "voc_detections.csv", MAP / "voc")
    assert r["difficult"] == 3 and [c["ground_truth"] for c in r["per_class"]] == [5, 5, 3]
    assert 0 < r["summary"]["AP"] < r["summary"]["AP50"]


# ------------------------------------------------------------------ artifacts


def test_npz_arrays(tmp_path):
    out = tmp_path / "pr.npz"
    result = ok("map", DETECTIONS, INSTANCES, "-o", out, "-q")
    assert json.loads(result.stdout)["summary"]  # the report still goes to stdout
    with np.load(out) as z:
        assert z["precision"].shape == (10, 101, 6, 4, 3)
        assert z["recall"].shape == (10, 6, 4, 3)
        assert list(z["class_names"]) == ["person", "bicycle", "car", "traffic light", "dog", "umbrella"]
        assert list(z["max_dets"]) == [1, 10, 100]
        np.testing.assert_array_equal(z["stats"], list(json.loads(result.stdout)["summary"].values()))
    assert [p.name for p in tmp_path.iterdir()] == ["pr.npz"]


@pytest.mark.parametrize("ext, fmt", [("json", "json"), ("csv", "csv"), ("tsv", "tsv")])
def test_report_file_format_from_extension(tmp_path, ext, fmt):
    out = tmp_path / f"report.{ext}"
    assert ok("map", DETECTIONS, INSTANCES, "-o", out, "-q").stdout == ""
    assert out.read_text() == ok("map", DETECTIONS, INSTANCES, "-q", "--format", fmt).stdout


def test_plot(tmp_path):
    png = tmp_path / "pr.png"
    ok("map", DETECTIONS, INSTANCES, "--plot", png, "-q")
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size == (900, 600)
    ok("map", MAP / "voc_detections.csv", MAP / "voc", "--protocol", "voc07", "--plot", png, "-q")


def test_plot_must_be_png(tmp_path):
    assert_error(run("map", DETECTIONS, INSTANCES, "--plot", tmp_path / "pr.jpg"), ".png")


def test_output_naming_an_input_is_refused(tmp_path):
    copy = tmp_path / "dets.json"
    copy.write_bytes(DETECTIONS.read_bytes())
    assert_error(run("map", copy, INSTANCES, "-o", copy), "also an input")
    assert copy.read_bytes() == DETECTIONS.read_bytes()


# ------------------------------------------------------------------ bad input: exit 2, one line


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def instances(**changes):
    doc = {"images": [{"id": 1, "width": 100, "height": 100}, {"id": 2, "width": 100, "height": 100}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100,
                            "iscrowd": 0}],
           "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]}
    doc.update(changes)
    return doc


DETS = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9}]


def test_unknown_images_and_classes_are_left_out_with_a_note(tmp_path):
    gt = write(tmp_path, "gt.json", instances())
    box = [0, 0, 5, 5]
    dets = write(tmp_path, "dt.json", DETS + [{"image_id": 7, "category_id": 1, "bbox": box, "score": 0.8},
                                              {"image_id": 1, "category_id": 9, "bbox": box, "score": 0.8},
                                              {"image_id": 1, "category_id": "dog", "bbox": box, "score": 0.1}])
    result = ok("map", dets, gt)
    r = json.loads(result.stdout)
    assert r["left_out"] == {"unknown_image": 1, "unknown_class": 1}
    assert r["detections"] == 4 and r["per_class"][1]["detections"] == 1  # "dog" matched by name
    assert f"map: {dets}: 1 detection of 1 image not in the ground truth left out ('7') - --strict refuses them" \
        in result.stderr
    assert f"map: {dets}: 1 detection of 1 class not in the ground truth left out ('9')" in result.stderr
    err = assert_error(run("map", dets, gt, "--strict"), "image '7' is not in the ground truth", "--strict")
    assert err.startswith(f"Error: {dets}: item 1: ")


@pytest.mark.parametrize("name, gt, dets, where, mentions", [
    ("swapped", None, None, "instances.json", ["detection-results list", "swapped"]),
    ("duplicate annotation id", instances(annotations=[
        {"id": 3, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 0},
        {"id": 3, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 0}]), DETS,
     "gt.json: annotations[1]", ["duplicate annotation id 3", "annotations[0]"]),
    ("duplicate image id", instances(images=[{"id": 1}, {"id": 1}]), DETS, "gt.json: images[1]",
     ["duplicate image id 1"]),
    ("duplicate category", instances(categories=[{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]), DETS,
     "gt.json: categories[1]", ["duplicate category id 1"]),
    ("annotation of an unknown image", instances(annotations=[
        {"id": 1, "image_id": 5, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 0}]), DETS,
     "gt.json: annotations[0]", ["unknown image_id 5"]),
    ("bad iscrowd", instances(annotations=[
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 2}]), DETS,
     "gt.json: annotations[0]", ['"iscrowd" must be 0 or 1']),
    ("bad area", instances(annotations=[
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": "big", "iscrowd": 0}]), DETS,
     "gt.json: annotations[0]", ['"area"']),
    ("missing score", instances(), [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}], "dt.json",
     ["no scores", '"score"']),
    ("NaN score", instances(), '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": NaN}]',
     "dt.json: item 0", ['"score" must be a finite number']),
    ("missing category_id", instances(), [{"image_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}], "dt.json: item 0",
     ['missing "category_id"']),
    ("instances as detections", instances(), instances(), "dt.json", ["instances", "swapped"]),
])
def test_bad_coco_input(tmp_path, name, gt, dets, where, mentions):
    if gt is None:  # the two sample files the wrong way round
        result = run("map", INSTANCES, DETECTIONS)
        where = str(DETECTIONS)
    else:
        gt_path, dt_path = write(tmp_path, "gt.json", gt), write(tmp_path, "dt.json", dets)
        result = run("map", dt_path, gt_path)
        where = str(tmp_path / where)
    err = assert_error(result, *mentions)
    assert err.startswith(f"Error: {where}"), err


def test_csv_detections_need_scores_and_finite_ones(tmp_path):
    gt = write(tmp_path, "gt.csv", "image,class,x1,y1,x2,y2\na,cat,0,0,10,10\n")
    no_score = write(tmp_path, "dt.csv", "image,class,x1,y1,x2,y2\na,cat,0,0,10,10\n")
    assert_error(run("map", no_score, gt), "no scores", "'score' column")
    nan = write(tmp_path, "nan.csv", "image,class,x1,y1,x2,y2,score\na,cat,0,0,10,10,nan\n")
    err = assert_error(run("map", nan, gt), "score", "finite")
    assert err.startswith(f"Error: {nan}:2: ")


def test_csv_ground_truth_with_crowd_and_area_columns(tmp_path):
    gt = write(tmp_path, "gt.csv", "image,class,x1,y1,x2,y2,iscrowd,area\n"
                                   "a,cat,0,0,10,10,0,100\na,cat,50,50,100,100,1,2500\nb,dog,0,0,40,40,0,900\n")
    dt = write(tmp_path, "dt.csv", "image,class,x1,y1,x2,y2,score\n"
                                   "a,cat,0,0,10,10,0.9\na,cat,60,60,70,70,0.8\nb,dog,0,0,40,40,0.7\n")
    r = report(dt, gt)
    assert r["crowd"] == 1 and [c["ground_truth"] for c in r["per_class"]] == [1, 1]
    assert r["summary"]["AP"] == pytest.approx(1.0, abs=1e-15)  # the second cat is inside the crowd region
    bad = write(tmp_path, "bad.csv", "image,class,x1,y1,x2,y2,iscrowd\na,cat,0,0,10,10,yes\n")
    err = assert_error(run("map", dt, bad), "iscrowd must be 0 or 1", "'yes'")
    assert err.startswith(f"Error: {bad}:2: ")


def test_csv_without_image_and_class_columns(tmp_path):
    gt = write(tmp_path, "gt.csv", "x1,y1,x2,y2\n0,0,10,10\n20,20,30,30\n")
    dt = write(tmp_path, "dt.csv", "x1,y1,x2,y2,score\n0,0,10,10,0.9\n")
    r = report(dt, gt)
    assert (r["images"], r["classes"]) == (1, 1) and r["summary"]["AR100"] == 0.5


def test_empty_detections_score_zero(tmp_path):
    dt = write(tmp_path, "dt.json", [])
    r = report(dt, INSTANCES)
    assert r["detections"] == 0
    assert r["summary"]["AP"] == 0.0 and r["per_class"][-1]["AP"] == -1


def test_yolo_prediction_lines_need_a_confidence(tmp_path):
    folder = tmp_path / "pred"
    folder.mkdir()
    (folder / "scene_00.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    err = assert_error(run("map", folder, SAMPLES / "yolo" / "labels"), "expected 6 fields", "save_conf")
    assert err.startswith(f"Error: {folder / 'scene_00.txt'}:1: ")


def test_yolo_predictions_need_image_sizes(tmp_path):
    gt = write(tmp_path, "gt.csv", "image,class,x1,y1,x2,y2\nscene_00,0,0,0,10,10\n")
    assert_error(run("map", MAP / "predictions", gt), "need their image's size", notes="map: ")


@pytest.mark.parametrize("args, mentions", [
    (["-", "-"], ["only one of"]),
    ([MAP / "missing.json", INSTANCES], ["no such file"]),
    ([DETECTIONS, MAP / "voc", "--dt-format", "yolo"], ["YOLO"]),
])
def test_usage_errors(args, mentions):
    assert_error(run("map", *args), *mentions)


# ------------------------------------------------------------------ --help


def test_help_documents_every_option_and_its_default():
    for name, (param, doc) in option_docs("map").items():
        if param.is_flag:
            continue
        assert "default" in doc.lower(), f"{name} does not say its default: {doc!r}"


def test_help_examples_use_samples_that_exist():
    lines = examples(help_text("map"))
    assert len(lines) >= 5
    for line in lines:
        assert line.startswith("dltool ")
        for path in re.findall(r"samples/[\w./-]+", line):
            assert (ROOT / path).exists(), path


def test_help_examples_run(tmp_path, monkeypatch):
    """Every example line runs (pipes chained in-process) and exits 0, writing only in tmp_path."""
    (tmp_path / "samples").symlink_to(SAMPLES)
    monkeypatch.chdir(tmp_path)
    for line in examples(help_text("map")):
        stdin = None
        for stage in line.split(" | "):
            argv = shlex.split(stage)
            result = run(*argv[1:], input=stdin)
            assert result.exit_code == 0, (line, result.stderr)
            stdin = result.stdout.encode()
    assert (tmp_path / "pr.png").is_file() and (tmp_path / "pr.npz").is_file()
