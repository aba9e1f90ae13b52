"""``dltool nms`` from the command line: in-process with click's CliRunner, exact output pinned.

Hand-made inputs live in ``tests/data/cli/``; the bundled ``samples/`` are checked against the slow
reference NMS in ``tests/reference.py``. Bad input, exit codes and ``-o`` rules shared with
``dltool iou`` are in ``test_cli_conventions.py``.
"""

import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from clitools import SAMPLES, DATA, ok, run
from reference import grouped_nms, iou_pair, soft_nms_ref


DETECTIONS_CSV = SAMPLES / "detections.csv"
DETECTIONS_JSON = SAMPLES / "detections.json"
STREET = SAMPLES / "street.png"




def csv_rows(text):
    return list(csv.reader(io.StringIO(text)))


def sample_lines():
    """The detections sample as (header, rows of cell text, raw line text per row)."""
    lines = DETECTIONS_CSV.read_text().splitlines()
    header = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:]]
    return header, rows, lines[1:]


def reference_keep(rows, header, class_agnostic=False, threshold=0.5):
    """Kept row indices by the slow reference: per (image, class), or per image."""
    col = {c: header.index(c) for c in header}
    boxes = [[float(r[col[c]]) for c in ("x1", "y1", "x2", "y2")] for r in rows]
    scores = [float(r[col["score"]]) for r in rows]
    keys = [(r[col["image"]],) if class_agnostic else (r[col["image"]], r[col["class"]]) for r in rows]
    codes = {k: i for i, k in enumerate(sorted(set(keys)))}
    return grouped_nms(boxes, scores, [codes[k] for k in keys], threshold)


# ------------------------------------------------------------------ hand-made input, exact text

# tests/data/cli/dets.csv: rows 0 and 1 are both cats on image a with IoU 81/119 = 0.68; row 2 is a
# dog on the same spot as row 1; row 3 a cat far away; row 4 a cat on another image.
DETS_KEPT = (
    "image,class,x1,y1,x2,y2,score,note\n"
    "a,cat,0,0,10,10,0.90,first\n"
    "a,dog,1,1,11,11,0.85,other class\n"
    "b,cat,0,0,10,10,0.70,other image\n"
    "a,cat,20,20,30,30,0.50,apart\n"
)


def test_hand_made_per_class_and_image():
    result = ok("nms", DATA / "dets.csv")
    assert result.stdout == DETS_KEPT
    assert result.stderr == f"nms: kept 4 of 5 boxes (hard, per class and image) from {DATA / 'dets.csv'}\n"


def test_hand_made_class_agnostic_lets_the_dog_be_suppressed():
    result = ok("nms", DATA / "dets.csv", "--class-agnostic", "-q")
    assert result.stdout == (
        "image,class,x1,y1,x2,y2,score,note\n"
        "a,cat,0,0,10,10,0.90,first\n"
        "b,cat,0,0,10,10,0.70,other image\n"
        "a,cat,20,20,30,30,0.50,apart\n"
    )
    assert result.stderr == ""


def test_hand_made_score_threshold_drops_a_score_equal_to_it():
    result = ok("nms", DATA / "dets.csv", "--score-threshold", "0.5", "-q")
    assert result.stdout == DETS_KEPT.replace("a,cat,20,20,30,30,0.50,apart\n", "")
    # just below the score: kept
    result = ok("nms", DATA / "dets.csv", "--score-threshold", "0.4999", "-q")
    assert result.stdout == DETS_KEPT


def test_hand_made_max_detections_is_per_image():
    result = ok("nms", DATA / "dets.csv", "--max-detections", "1", "-q")
    assert result.stdout == (
        "image,class,x1,y1,x2,y2,score,note\n"
        "a,cat,0,0,10,10,0.90,first\n"
        "b,cat,0,0,10,10,0.70,other image\n"
    )


def test_hand_made_iou_threshold_is_strict():
    # IoU(row 0, row 1) = 81/119; at a threshold above it both cats stay.
    result = ok("nms", DATA / "dets.csv", "--iou-threshold", "0.69", "--indices", "-q")
    assert result.stdout == "0\n2\n1\n4\n3\n"
    result = ok("nms", DATA / "dets.csv", "--iou-threshold", "0.68", "--indices", "-q")
    assert result.stdout == "0\n2\n4\n3\n"


@pytest.mark.parametrize("fmt, expected", [
    ("csv", DETS_KEPT),
    ("tsv", DETS_KEPT.replace(",", "\t")),
    ("json",
     '[\n'
     '{"image": "a", "class": "cat", "x1": 0.0, "y1": 0.0, "x2": 10.0, "y2": 10.0, "score": 0.9, "note": "first"},\n'
     '{"image": "a", "class": "dog", "x1": 1.0, "y1": 1.0, "x2": 11.0, "y2": 11.0, "score": 0.85, "note": "other class"},\n'
     '{"image": "b", "class": "cat", "x1": 0.0, "y1": 0.0, "x2": 10.0, "y2": 10.0, "score": 0.7, "note": "other image"},\n'
     '{"image": "a", "class": "cat", "x1": 20.0, "y1": 20.0, "x2": 30.0, "y2": 30.0, "score": 0.5, "note": "apart"}\n'
     ']\n'),
    ("jsonl",
     '{"image": "a", "class": "cat", "x1": 0.0, "y1": 0.0, "x2": 10.0, "y2": 10.0, "score": 0.9, "note": "first"}\n'
     '{"image": "a", "class": "dog", "x1": 1.0, "y1": 1.0, "x2": 11.0, "y2": 11.0, "score": 0.85, "note": "other class"}\n'
     '{"image": "b", "class": "cat", "x1": 0.0, "y1": 0.0, "x2": 10.0, "y2": 10.0, "score": 0.7, "note": "other image"}\n'
     '{"image": "a", "class": "cat", "x1": 20.0, "y1": 20.0, "x2": 30.0, "y2": 30.0, "score": 0.5, "note": "apart"}\n'),
])
def test_hand_made_each_output_format(fmt, expected):
    result = ok("nms", DATA / "dets.csv", "--format", fmt, "-q")
    assert result.stdout == expected
    if fmt == "json":
        assert [r["note"] for r in json.loads(result.stdout)] == ["first", "other class", "other image", "apart"]


def test_auto_format_in_a_pipe_is_csv():
    assert ok("nms", DATA / "dets.csv", "-q").stdout == ok("nms", DATA / "dets.csv", "--format", "csv", "-q").stdout


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl"])
def test_output_file_format_from_extension(tmp_path, fmt):
    out = tmp_path / f"kept.{fmt}"
    result = ok("nms", DATA / "dets.csv", "-o", out, "-q")
    assert result.stdout == ""
    assert out.read_text() == ok("nms", DATA / "dets.csv", "--format", fmt, "-q").stdout


def test_indices_are_row_numbers_one_per_line():
    result = ok("nms", DATA / "dets.csv", "--indices", "-q")
    assert result.stdout == "0\n2\n4\n3\n"
    result = ok("nms", DATA / "dets.csv", "--indices", "--class-agnostic", "-q")
    assert result.stdout == "0\n4\n3\n"


def test_indices_as_json_list():
    result = ok("nms", DATA / "dets.csv", "--indices", "--format", "json", "-q")
    assert result.stdout == "[0, 2, 4, 3]\n"
    assert json.loads(result.stdout) == [0, 2, 4, 3]


def test_indices_with_output_file_is_refused(tmp_path):
    result = run("nms", DATA / "dets.csv", "--indices", "-o", tmp_path / "kept.csv")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith("Error: --indices prints to stdout")
    assert not (tmp_path / "kept.csv").exists()


@pytest.mark.parametrize("name", ["dets_xywh.csv", "dets_cxcywh.csv"])
def test_other_box_formats_keep_the_same_rows(name):
    fmt = name[len("dets_"):-len(".csv")]
    xyxy = ok("nms", DATA / "dets.csv", "--indices", "-q").stdout
    assert ok("nms", DATA / name, "--box-format", fmt, "--indices", "-q").stdout == xyxy
    # the rows are written back in the file's own columns
    original = (DATA / name).read_text().splitlines()
    assert ok("nms", DATA / name, "--box-format", fmt, "-q").stdout == "".join(
        original[int(i) + 1] + "\n" for i in ["-1", *xyxy.split()])


def test_soft_nms_linear_writes_decayed_scores_in_decayed_order():
    # soft.csv: box 1 has IoU 0.8 with box 0 -> 0.8 * (1 - 0.8); box 2 overlaps nothing.
    result = ok("nms", DATA / "soft.csv", "--method", "linear", "-q")
    assert result.stdout == (
        "x1,y1,x2,y2,score\n"
        "0,0,10,10,0.9\n"
        "20,20,30,30,0.5\n"
        f"0,0,10,8,{0.8 * (1 - 0.8)!r}\n"
    )
    assert ok("nms", DATA / "soft.csv", "--method", "linear", "--indices", "-q").stdout == "0\n2\n1\n"


def test_soft_nms_gaussian_writes_decayed_scores():
    result = ok("nms", DATA / "soft.csv", "--method", "gaussian", "--format", "json", "-q")
    records = json.loads(result.stdout)
    assert [(r["x1"], r["y1"], r["x2"], r["y2"]) for r in records] == [
        (0.0, 0.0, 10.0, 10.0), (20.0, 20.0, 30.0, 30.0), (0.0, 0.0, 10.0, 8.0)]
    assert [r["score"] for r in records[:2]] == [0.9, 0.5]
    assert records[2]["score"] == pytest.approx(0.8 * np.exp(-0.64 / 0.5), rel=1e-12)
    sharper = json.loads(ok("nms", DATA / "soft.csv", "--method", "gaussian", "--sigma", "0.1",
                            "--format", "json", "-q").stdout)
    assert sharper[2]["score"] == pytest.approx(0.8 * np.exp(-0.64 / 0.1), rel=1e-12)


def test_npy_input_of_boxes_and_scores():
    result = ok("nms", DATA / "dets.npy", "-q")
    assert result.stdout == (
        "x1,y1,x2,y2,score\n"
        "0.0,0.0,10.0,10.0,0.9\n"
        "20.0,20.0,30.0,30.0,0.5\n"
    )
    assert ok("nms", DATA / "dets.npy", "--indices", "-q").stdout == "0\n2\n"


def test_npy_on_stdin_is_sniffed():
    result = ok("nms", "-", "-q", input=(DATA / "dets.npy").read_bytes())
    assert result.stdout == ok("nms", DATA / "dets.npy", "-q").stdout


def test_csv_on_stdin():
    result = ok("nms", "-", input=(DATA / "dets.csv").read_bytes())
    assert result.stdout == DETS_KEPT
    assert result.stderr == "nms: kept 4 of 5 boxes (hard, per class and image) from <stdin>\n"


def test_stdin_is_the_default_argument():
    assert ok("nms", "-q", input=(DATA / "dets.csv").read_bytes()).stdout == DETS_KEPT


def test_json_on_stdin_is_sniffed_as_coco():
    result = ok("nms", "-", "-q", input=(DATA / "coco.json").read_bytes())
    assert result.stdout == ok("nms", DATA / "coco.json", "-q").stdout
    assert result.stdout.startswith("[\n{")


# ------------------------------------------------------------------ COCO JSON stays COCO

COCO_KEPT = (
    '[\n'
    '{"image_id": 1, "category_id": 3, "bbox": [0, 0, 10, 10], "score": 0.9},\n'
    '{"image_id": 1, "category_id": 18, "bbox": [1, 1, 10, 10], "score": 0.85},\n'
    '{"image_id": 2, "category_id": 3, "bbox": [0, 0, 10, 10], "score": 0.7, "extra": "kept"}\n'
    ']\n'
)


def test_coco_input_gives_coco_output_on_a_pipe():
    result = ok("nms", DATA / "coco.json")
    assert result.stdout == COCO_KEPT
    assert result.stderr == f"nms: kept 3 of 4 boxes (hard, per class and image) from {DATA / 'coco.json'}\n"


def test_coco_to_output_file(tmp_path):
    out = tmp_path / "kept.json"
    result = ok("nms", DATA / "coco.json", "-o", out, "-q")
    assert result.stdout == ""
    assert out.read_text() == COCO_KEPT


def test_coco_as_csv_flattens_the_bbox():
    result = ok("nms", DATA / "coco.json", "--format", "csv", "-q")
    assert result.stdout == (
        "image_id,category_id,x,y,w,h,score,extra\n"
        "1,3,0,0,10,10,0.9,\n"
        "1,18,1,1,10,10,0.85,\n"
        "2,3,0,0,10,10,0.7,kept\n"
    )


def test_coco_class_agnostic():
    result = ok("nms", DATA / "coco.json", "--class-agnostic", "--indices", "-q")
    assert result.stdout == "0\n3\n"


# ------------------------------------------------------------------ the bundled samples


def test_samples_default_per_class_and_image():
    header, rows, lines = sample_lines()
    result = ok("nms", DETECTIONS_CSV)
    keep = reference_keep(rows, header)
    assert len(keep) == 23
    # exactly the reference's rows, in its order, each line as it was in the file (0.670 stays 0.670)
    assert result.stdout == "\n".join([",".join(header), *(lines[i] for i in keep)]) + "\n"
    out = csv_rows(result.stdout)
    assert out[0] == ["image", "class", "x1", "y1", "x2", "y2", "score", "model"]
    assert out[1] == ["park.png", "dog", "416.5", "290.8", "469.5", "327.3", "0.969", "yolo-m"]
    scores = [float(r[6]) for r in out[1:]]
    assert scores == sorted(scores, reverse=True)
    assert ["street.png", "car", "24.2", "315.1", "235.0", "409.6", "0.670", "yolo-s"] in out[1:]
    assert {r[7] for r in out[1:]} == {"yolo-s", "yolo-m"}
    assert result.stderr == f"nms: kept 23 of 65 boxes (hard, per class and image) from {DETECTIONS_CSV}\n"


def test_samples_no_kept_pair_of_a_class_overlaps_above_threshold():
    out = csv_rows(ok("nms", DETECTIONS_CSV, "-q").stdout)[1:]
    for i, a in enumerate(out):
        for b in out[i + 1:]:
            if a[:2] == b[:2]:
                assert iou_pair([float(v) for v in a[2:6]], [float(v) for v in b[2:6]]) <= 0.5


def test_samples_class_agnostic_suppresses_the_dog_over_the_street_person():
    dog = ["street.png", "dog", "261.7", "175.0", "298.7", "297.0", "0.688", "yolo-s"]
    per_class = csv_rows(ok("nms", DETECTIONS_CSV, "-q").stdout)[1:]
    agnostic = csv_rows(ok("nms", DETECTIONS_CSV, "--class-agnostic", "-q").stdout)[1:]
    assert dog in per_class
    assert dog not in agnostic
    header, rows, _ = sample_lines()
    keep = reference_keep(rows, header, class_agnostic=True)
    assert agnostic == [rows[i] for i in keep]
    assert len(agnostic) == 22


def test_samples_indices_match_the_reference():
    header, rows, _ = sample_lines()
    result = ok("nms", DETECTIONS_CSV, "--indices", "-q")
    assert result.stdout == "".join(f"{i}\n" for i in reference_keep(rows, header))
    as_json = ok("nms", DETECTIONS_CSV, "--indices", "--format", "json", "-q").stdout
    assert json.loads(as_json) == reference_keep(rows, header)


def test_samples_score_threshold_equal_score_is_dropped():
    out = csv_rows(ok("nms", DETECTIONS_CSV, "--score-threshold", "0.67", "-q").stdout)[1:]
    scores = [r[6] for r in out]
    assert "0.670" not in scores
    assert all(float(s) > 0.67 for s in scores)
    assert scores[-1] == "0.688"
    assert len(out) == 14


def test_samples_max_detections_per_image():
    out = csv_rows(ok("nms", DETECTIONS_CSV, "--max-detections", "2", "-q").stdout)[1:]
    assert [(r[0], r[6]) for r in out] == [
        ("park.png", "0.969"), ("harbour.png", "0.912"), ("street.png", "0.888"),
        ("harbour.png", "0.870"), ("street.png", "0.839"), ("park.png", "0.836")]


@pytest.mark.parametrize("method", ["linear", "gaussian"])
def test_samples_soft_nms_matches_the_reference(method):
    header, rows, _ = sample_lines()
    boxes = [[float(v) for v in r[2:6]] for r in rows]
    scores = [float(r[6]) for r in rows]
    keys = [(r[0], r[1]) for r in rows]
    codes = {k: i for i, k in enumerate(sorted(set(keys)))}
    keep, new_scores = soft_nms_ref(boxes, scores, t=0.5, sigma=0.5, method=method,
                                    groups=[codes[k] for k in keys])
    indices = ok("nms", DETECTIONS_CSV, "--method", method, "--indices", "-q").stdout.split()
    assert [int(i) for i in indices] == keep
    out = csv_rows(ok("nms", DETECTIONS_CSV, "--method", method, "-q").stdout)
    assert out[0] == header
    got_scores = [float(r[6]) for r in out[1:]]
    assert got_scores == pytest.approx(new_scores, rel=1e-12)
    assert got_scores == sorted(got_scores, reverse=True)
    # every other column is carried through unchanged
    assert [r[:6] + r[7:] for r in out[1:]] == [rows[i][:6] + rows[i][7:] for i in keep]


def test_samples_coco_stays_coco_and_agrees_with_the_csv():
    result = ok("nms", DETECTIONS_JSON, "-q")
    kept = json.loads(result.stdout)
    original = json.loads(DETECTIONS_JSON.read_text())
    assert len(kept) == 23
    assert all(rec in original for rec in kept)  # records as they were, every key
    assert all(set(rec) == {"image_id", "category_id", "bbox", "score"} for rec in kept)
    assert kept[0] == {"image_id": 2, "category_id": 18, "bbox": [416.5, 290.8, 53.0, 36.5], "score": 0.969}
    scores = [r["score"] for r in kept]
    assert scores == sorted(scores, reverse=True)
    # the JSON sample is the CSV sample in COCO form: the same rows survive
    assert ok("nms", DETECTIONS_JSON, "--indices", "-q").stdout == ok("nms", DETECTIONS_CSV, "--indices", "-q").stdout


def test_samples_coco_to_output_file(tmp_path):
    out = tmp_path / "kept.json"
    ok("nms", DETECTIONS_JSON, "-o", out, "-q")
    assert out.read_text() == ok("nms", DETECTIONS_JSON, "-q").stdout
    assert len(json.loads(out.read_text())) == 23


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl"])
def test_samples_formats_carry_the_same_rows(fmt):
    text = ok("nms", DETECTIONS_CSV, "--format", fmt, "-q").stdout
    if fmt in ("csv", "tsv"):
        records = list(csv.DictReader(io.StringIO(text), delimiter="," if fmt == "csv" else "\t"))
        scores = [float(r["score"]) for r in records]
    elif fmt == "json":
        records = json.loads(text)
        scores = [r["score"] for r in records]
    else:
        records = [json.loads(line) for line in text.splitlines()]
        scores = [r["score"] for r in records]
    assert text.endswith("\n") and "\r" not in text
    assert len(records) == 23
    assert [r["model"] for r in records].count("yolo-m") == 6
    assert scores[:3] == [0.969, 0.912, 0.888]


def test_samples_stdin_csv():
    result = ok("nms", "-", "-q", input=DETECTIONS_CSV.read_bytes())
    assert result.stdout == ok("nms", DETECTIONS_CSV, "-q").stdout


def test_samples_stdin_json_is_coco():
    result = ok("nms", "-", "-q", input=DETECTIONS_JSON.read_bytes())
    assert result.stdout == ok("nms", DETECTIONS_JSON, "-q").stdout


# ------------------------------------------------------------------ --draw


def test_draw_writes_a_png_and_still_prints_rows(tmp_path):
    out = tmp_path / "out.png"
    result = ok("nms", DETECTIONS_CSV, "--draw", STREET, "-o", out)
    assert result.stdout == ok("nms", DETECTIONS_CSV, "-q").stdout
    assert f"nms: drew 10 kept and 17 suppressed boxes on {out}" in result.stderr.splitlines()
    with Image.open(out) as img, Image.open(STREET) as original:
        assert img.format == "PNG"
        assert img.size == original.size
        assert np.asarray(img.convert("RGB")).shape == np.asarray(original.convert("RGB")).shape
        assert not np.array_equal(np.asarray(img.convert("RGB")), np.asarray(original.convert("RGB")))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_draw_quiet_has_no_stderr(tmp_path):
    result = ok("nms", DETECTIONS_CSV, "--draw", STREET, "-o", tmp_path / "out.png", "-q")
    assert result.stderr == ""


def test_draw_without_output_file_is_a_usage_error():
    result = run("nms", DETECTIONS_CSV, "--draw", STREET)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "Error: --draw needs -o FILE.png for the picture\n"


def test_draw_image_with_no_boxes_names_the_ids(tmp_path):
    result = run("nms", DETECTIONS_CSV, "--draw", STREET, "--image-id", "beach.png", "-o", tmp_path / "out.png")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2  # the note, then the error
    assert lines[-1].startswith(f"Error: no boxes of image 'beach.png' in {DETECTIONS_CSV}")
    assert "harbour.png, park.png, street.png" in lines[-1]
    assert "--image-id" in lines[-1]
    assert not (tmp_path / "out.png").exists()


def test_draw_image_named_after_the_file(tmp_path):
    # No --image-id: the picture's file name picks the rows; a name with no rows is an error.
    other = tmp_path / "beach.png"
    other.write_bytes(STREET.read_bytes())
    result = run("nms", DETECTIONS_CSV, "--draw", other, "-o", tmp_path / "out.png", "-q")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: no boxes of image ")
    assert "beach" in result.stderr and "street.png" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_draw_with_image_id(tmp_path):
    other = tmp_path / "frame.png"
    other.write_bytes(STREET.read_bytes())
    result = ok("nms", DETECTIONS_CSV, "--draw", other, "--image-id", "street.png", "-o", tmp_path / "out.png")
    assert "nms: drew 10 kept and 17 suppressed boxes" in result.stderr


def test_draw_on_a_file_that_is_not_an_image(tmp_path):
    result = run("nms", DETECTIONS_CSV, "--draw", DETECTIONS_CSV, "--image-id", "street.png",
                 "-o", tmp_path / "out.png", "-q")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {DETECTIONS_CSV}: cannot read image")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "out.png").exists()


# ------------------------------------------------------------------ CSV dialect details


def test_crlf_quoted_cells_and_mixed_case_header():
    # CRLF line ends, a blank line, quoted cells with a comma and a quote, 'X1'/'Score'/'Class' headers.
    result = ok("nms", DATA / "crlf_quoted.csv")
    assert result.stdout == (
        "X1,Y1,X2,Y2,Score,Class,note\n"
        '0,0,10,10,0.5,1,"a, b"\n'
        "20,20,30,30,0.3,2,x\n"
    )
    assert result.stderr == f"nms: kept 2 of 3 boxes (hard, per class) from {DATA / 'crlf_quoted.csv'}\n"
    # row numbers count data rows, not file lines
    assert ok("nms", DATA / "crlf_quoted.csv", "--indices", "-q").stdout == "0\n2\n"
    records = json.loads(ok("nms", DATA / "crlf_quoted.csv", "--format", "json", "-q").stdout)
    assert records[0] == {"X1": 0.0, "Y1": 0.0, "X2": 10.0, "Y2": 10.0, "Score": 0.5, "Class": "1", "note": "a, b"}


def test_utf8_bom_is_dropped():
    assert ok("nms", DATA / "bom.csv", "-q").stdout == "x1,y1,x2,y2,score\n0,0,1,1,0.5\n"


def test_tsv_input_gives_csv_in_a_pipe_and_tsv_on_request():
    assert ok("nms", DATA / "dets.tsv", "-q").stdout == "x1,y1,x2,y2,score,note\n0,0,10,10,0.9,a\n"
    assert ok("nms", DATA / "dets.tsv", "--format", "tsv", "-q").stdout == (
        "x1\ty1\tx2\ty2\tscore\tnote\n0\t0\t10\t10\t0.9\ta\n")


def test_score_threshold_nan_is_refused():
    # Every other threshold (--iou-threshold, --sigma, iou --min-iou) refuses NaN with exit 2; a NaN
    # score threshold must not silently drop every box and report success.
    result = run("nms", DATA / "dets.csv", "--score-threshold", "nan")
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith("Error: ")
    assert "score" in result.stderr.splitlines()[-1].lower()


def test_output_file_with_unknown_extension(tmp_path):
    result = run("nms", DATA / "dets.csv", "-o", tmp_path / "kept.png", "-q")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {tmp_path / 'kept.png'}: cannot tell the format from the extension")
    assert list(tmp_path.iterdir()) == []


def test_output_file_format_option_wins_over_extension(tmp_path):
    out = tmp_path / "kept.txt"
    ok("nms", DATA / "dets.csv", "-o", out, "--format", "tsv", "-q")
    assert out.read_text() == DETS_KEPT.replace(",", "\t")


def test_draw_as_jpeg(tmp_path):
    out = tmp_path / "kept.jpg"
    ok("nms", DETECTIONS_CSV, "--draw", STREET, "-o", out, "-q")
    with Image.open(out) as img:
        assert img.format == "JPEG"
        assert img.size == (640, 427)


# ------------------------------------------------------------------ --course: the course's rules (C4W3)


def course_keep(rows, header):
    """The course's NMS written out (C4W3): discard p_c <= 0.6; per (image, class), highest score
    first, keep a box when its IoU with every kept box is < 0.5."""
    col = {c: header.index(c) for c in header}
    kept = []
    candidates = [i for i, r in enumerate(rows) if float(r[col["score"]]) > 0.6]
    candidates.sort(key=lambda i: (-float(rows[i][col["score"]]), i))
    for i in candidates:
        box = [float(rows[i][col[c]]) for c in ("x1", "y1", "x2", "y2")]
        same = [k for k in kept if (rows[k][col["image"]], rows[k][col["class"]]) ==
                (rows[i][col["image"]], rows[i][col["class"]])]
        if all(iou_pair(box, [float(rows[k][col[c]]) for c in ("x1", "y1", "x2", "y2")]) < 0.5 for k in same):
            kept.append(i)
    return kept


def test_course_rules_on_the_hand_made_file():
    result = ok("nms", DATA / "dets.csv", "--course")
    assert result.stdout == ("image,class,x1,y1,x2,y2,score,note\n"
                             "a,cat,0,0,10,10,0.90,first\n"
                             "a,dog,1,1,11,11,0.85,other class\n"
                             "b,cat,0,0,10,10,0.70,other image\n")  # 'apart' has p_c 0.50 <= 0.6
    assert result.stderr == (f"nms: kept 3 of 5 boxes (hard, course rules: IoU >= 0.5 suppresses, p_c <= 0.6 "
                             f"dropped, per class and image) from {DATA / 'dets.csv'}\n")


def test_course_rules_on_the_sample_equal_the_course_loop():
    header, rows, _ = sample_lines()
    expected = course_keep(rows, header)
    got = [int(v) for v in ok("nms", DETECTIONS_CSV, "--course", "--indices", "-q").stdout.split()]
    assert sorted(got) == sorted(expected) and len(got) == 17
    default = [int(v) for v in ok("nms", DETECTIONS_CSV, "--indices", "-q").stdout.split()]
    assert len(default) == 23 and set(got) < set(default)


@pytest.mark.parametrize("args, kept", [
    ([], [0, 1, 2]),  # torchvision: an IoU of exactly 0.5 is not > 0.5, both stay; no score cut
    (["--course"], [0]),  # the course: 0.5 is not < 0.5, B goes; p_c 0.6 <= 0.6, C goes
    (["--course", "--iou-threshold", "0.6"], [0, 1]),
    (["--course", "--score-threshold", "0.5"], [0, 2]),
    (["--course", "--score-threshold", "0.85"], [0]),
])
def test_course_rules_at_the_thresholds(tmp_path, args, kept):
    """Boxes built to sit exactly on the thresholds: IoU(A, B) = 50/100 = 0.5; C has p_c = 0.6."""
    data = tmp_path / "edge.csv"
    data.write_text("x1,y1,x2,y2,score\n0,0,10,10,0.9\n0,0,10,5,0.8\n50,50,60,60,0.6\n")
    assert [int(v) for v in ok("nms", data, "--indices", "-q", *args).stdout.split()] == kept


@pytest.mark.parametrize("args, text", [
    (["--course", "--method", "gaussian"], "--course is the course's greedy (hard) NMS"),
    (["--course", "--iou-threshold", "0"], "above 0"),
])
def test_course_bad_combinations(args, text):
    from clitools import assert_error

    assert_error(run("nms", DATA / "dets.csv", *args), text)


def test_course_help_says_the_difference():
    from clitools import help_text

    text = " ".join(help_text("nms").split())
    assert "--course" in text and "C4W3" in text
    assert "suppress at IoU >= 0.5, where the default (torchvision's) suppresses at IoU > 0.5" in text
