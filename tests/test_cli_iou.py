"""``dltool iou`` from the command line: in-process with click's CliRunner, exact output pinned.

Hand-made box files in ``tests/data/cli/`` (values exact in binary, IoUs worked out by hand):

a.csv  0: (0,0,2,2)   1: (1,1,3,3)   2: (0,0,0,5), a zero-area box
b.csv  0: (0,0,2,2)   1: (2,0,4,2), touching a[0] along an edge

IoU(a0, a1) = 1 / 7; a zero-area box has IoU 0 with everything, itself included.
"""

import csv
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from clitools import ROOT, SAMPLES, DATA, ok, run
from reference import iou_matrix_loop

A, B = DATA / "a.csv", DATA / "b.csv"
IMG_A, IMG_B = DATA / "img_a.csv", DATA / "img_b.csv"

SEVENTH = repr(1 / 7)  # 0.14285714285714285
GIOU_A1_B = repr(1 / 7 - 2 / 9)  # enclosing box 3x3, union 7




# ------------------------------------------------------------------ matrix


def test_matrix_csv_exact():
    result = ok("iou", A, B)
    assert result.stdout == (
        "a,0,1\n"
        "0,1.0,0.0\n"
        f"1,{SEVENTH},{SEVENTH}\n"
        "2,0.0,0.0\n"
    )
    assert result.stderr == "iou: 3 x 2 matrix\n"


def test_b_defaults_to_a_diagonal_one_except_zero_area():
    result = ok("iou", A, "-q")
    assert result.stdout == (
        "a,0,1,2\n"
        f"0,1.0,{SEVENTH},0.0\n"
        f"1,{SEVENTH},1.0,0.0\n"
        "2,0.0,0.0,0.0\n"
    )
    assert result.stderr == ""
    assert ok("iou", A, A, "-q").stdout == result.stdout


def test_matrix_giou_exact():
    # a2 = (0,0,0,5) against b0 = (0,0,2,2): enclosing (0,0,2,5) = 10, union 4 -> -6/10;
    # against b1 = (2,0,4,2): enclosing (0,0,4,5) = 20, union 4 -> -16/20.
    result = ok("iou", A, B, "--metric", "giou", "-q")
    assert result.stdout == (
        "a,0,1\n"
        "0,1.0,0.0\n"
        f"1,{GIOU_A1_B},{GIOU_A1_B}\n"
        "2,-0.6,-0.8\n"
    )


@pytest.mark.parametrize("metric", ["iou", "giou", "diou", "ciou"])
def test_matrix_every_metric_matches_the_reference(metric):
    boxes_a = [[0, 0, 2, 2], [1, 1, 3, 3], [0, 0, 0, 5]]
    boxes_b = [[0, 0, 2, 2], [2, 0, 4, 2]]
    data = json.loads(ok("iou", A, B, "--metric", metric, "--format", "json", "-q").stdout)
    assert data["metric"] == metric
    assert data["shape"] == [3, 2]
    np.testing.assert_allclose(data["matrix"], iou_matrix_loop(boxes_a, boxes_b, metric), rtol=0, atol=1e-12)


def test_matrix_json_structure_exact():
    result = ok("iou", A, B, "--format", "json", "-q")
    assert result.stdout == (
        f'{{"metric": "iou", "shape": [3, 2], "matrix": [[1.0, 0.0], [{SEVENTH}, {SEVENTH}], [0.0, 0.0]]}}\n')
    data = json.loads(result.stdout)
    assert set(data) == {"metric", "shape", "matrix"}


def test_matrix_tsv_and_jsonl():
    assert ok("iou", A, B, "--format", "tsv", "-q").stdout == (
        "a\t0\t1\n"
        "0\t1.0\t0.0\n"
        f"1\t{SEVENTH}\t{SEVENTH}\n"
        "2\t0.0\t0.0\n"
    )
    assert ok("iou", A, B, "--format", "jsonl", "-q").stdout == (
        '{"a": 0, "iou": [1.0, 0.0]}\n'
        f'{{"a": 1, "iou": [{SEVENTH}, {SEVENTH}]}}\n'
        '{"a": 2, "iou": [0.0, 0.0]}\n'
    )


def test_auto_format_in_a_pipe_is_csv():
    assert ok("iou", A, B, "-q").stdout == ok("iou", A, B, "--format", "csv", "-q").stdout


def test_matrix_to_npy(tmp_path):
    out = tmp_path / "m.npy"
    result = ok("iou", A, B, "-o", out)
    assert result.stdout == ""
    m = np.load(out)
    assert m.dtype == np.float64 and m.shape == (3, 2)
    np.testing.assert_array_equal(m, np.array([[1.0, 0.0], [1 / 7, 1 / 7], [0.0, 0.0]]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npy"]


@pytest.mark.parametrize("ext, fmt", [("csv", "csv"), ("tsv", "tsv"), ("json", "json")])
def test_matrix_to_text_file_format_from_extension(tmp_path, ext, fmt):
    out = tmp_path / f"m.{ext}"
    ok("iou", A, B, "-o", out, "-q")
    assert out.read_text() == ok("iou", A, B, "--format", fmt, "-q").stdout


def test_matrix_to_file_with_unknown_extension(tmp_path):
    result = run("iou", A, B, "-o", tmp_path / "m.txt", "-q")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {tmp_path / 'm.txt'}: cannot tell the format from the extension")
    assert len(result.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ --paired, --min-iou


def test_paired_same_file():
    result = ok("iou", B, B, "--paired")
    assert result.stdout == "a,b,iou\n0,0,1.0\n1,1,1.0\n"
    assert result.stderr == "iou: 2 pairs\n"


def test_paired_rows():
    result = ok("iou", IMG_B, A, "--paired", "-q")
    # img_b: (0,0,2,2) (1,1,3,3) (0,0,1,1) against a: (0,0,2,2) (1,1,3,3) (0,0,0,5)
    assert result.stdout == "a,b,iou\n0,0,1.0\n1,1,1.0\n2,2,0.0\n"


def test_paired_json_and_npy(tmp_path):
    result = ok("iou", B, B, "--paired", "--format", "json", "-q")
    assert result.stdout == '[\n{"a": 0, "b": 0, "iou": 1.0},\n{"a": 1, "b": 1, "iou": 1.0}\n]\n'
    ok("iou", IMG_B, A, "--paired", "-o", tmp_path / "p.npy", "-q")
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), [1.0, 1.0, 0.0])


def test_paired_unequal_lengths_is_an_error():
    result = run("iou", A, B, "--paired")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: --paired needs equal box counts, got 3 in {A} and 2 in {B}\n"


def test_paired_and_min_iou_do_not_combine():
    result = run("iou", A, A, "--paired", "--min-iou", "0.5")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --paired and --min-iou")


def test_min_iou_sparse_rows():
    result = ok("iou", A, B, "--min-iou", "0.1")
    assert result.stdout == f"a,b,iou\n0,0,1.0\n1,0,{SEVENTH}\n1,1,{SEVENTH}\n"
    assert result.stderr == "iou: 3 pairs\n"


def test_min_iou_is_inclusive():
    assert ok("iou", A, B, "--min-iou", SEVENTH, "-q").stdout == f"a,b,iou\n0,0,1.0\n1,0,{SEVENTH}\n1,1,{SEVENTH}\n"
    assert ok("iou", A, B, "--min-iou", "1", "-q").stdout == "a,b,iou\n0,0,1.0\n"
    assert ok("iou", A, B, "--min-iou", "1.5", "-q").stdout == "a,b,iou\n"


def test_min_iou_zero_lists_every_pair():
    result = ok("iou", A, B, "--min-iou", "0", "-q")
    assert result.stdout == (
        "a,b,iou\n"
        "0,0,1.0\n0,1,0.0\n"
        f"1,0,{SEVENTH}\n1,1,{SEVENTH}\n"
        "2,0,0.0\n2,1,0.0\n"
    )


def test_min_iou_giou_column_is_named_after_the_metric():
    result = ok("iou", A, B, "--min-iou", "-0.65", "--metric", "giou", "-q")
    assert result.stdout == f"a,b,giou\n0,0,1.0\n0,1,0.0\n1,0,{GIOU_A1_B}\n1,1,{GIOU_A1_B}\n2,0,-0.6\n"


def test_min_iou_json_and_npy(tmp_path):
    result = ok("iou", A, B, "--min-iou", "0.1", "--format", "json", "-q")
    assert json.loads(result.stdout) == [{"a": 0, "b": 0, "iou": 1.0}, {"a": 1, "b": 0, "iou": 1 / 7},
                                         {"a": 1, "b": 1, "iou": 1 / 7}]
    ok("iou", A, B, "--min-iou", "0.1", "-o", tmp_path / "pairs.npy", "-q")
    np.testing.assert_array_equal(np.load(tmp_path / "pairs.npy"),
                                  [[0, 0, 1.0], [1, 0, 1 / 7], [1, 1, 1 / 7]])


# ------------------------------------------------------------------ image-aware


def test_image_aware_matrix():
    # img_a: A (0,0,2,2), B (0,0,2,2); img_b: A (0,0,2,2), B (1,1,3,3), A (0,0,1,1)
    result = ok("iou", IMG_A, IMG_B, "-q")
    assert result.stdout == (
        "a,0,1,2\n"
        "0,1.0,0.0,0.25\n"
        f"1,0.0,{SEVENTH},0.0\n"
    )


def test_image_aware_giou_gives_minus_one_across_images():
    result = ok("iou", IMG_A, IMG_B, "--metric", "giou", "-q")
    assert result.stdout == (
        "a,0,1,2\n"
        "0,1.0,-1.0,0.25\n"
        f"1,-1.0,{GIOU_A1_B},-1.0\n"
    )


def test_image_aware_b_defaults_to_a():
    # the two boxes of img_a are the same box on different images: not compared
    assert ok("iou", IMG_A, "-q").stdout == "a,0,1\n0,1.0,0.0\n1,0.0,1.0\n"


def test_image_aware_min_iou_never_lists_other_images():
    assert ok("iou", IMG_A, IMG_B, "--min-iou", "0", "-q").stdout == (
        f"a,b,iou\n0,0,1.0\n0,2,0.25\n1,1,{SEVENTH}\n")
    assert ok("iou", IMG_A, IMG_B, "--min-iou", "-1", "--metric", "giou", "-q").stdout == (
        f"a,b,giou\n0,0,1.0\n0,2,0.25\n1,1,{GIOU_A1_B}\n")


def test_image_aware_paired():
    assert ok("iou", IMG_A, DATA / "img_a.csv", "--paired", "-q").stdout == "a,b,iou\n0,0,1.0\n1,1,1.0\n"


def test_one_file_without_image_column_compares_everything():
    assert ok("iou", IMG_A, B, "-q").stdout == "a,0,1\n0,1.0,0.0\n1,1.0,0.0\n"


def test_image_aware_npy(tmp_path):
    ok("iou", IMG_A, IMG_B, "-o", tmp_path / "m.npy", "--metric", "giou", "-q")
    np.testing.assert_array_equal(np.load(tmp_path / "m.npy"),
                                  [[1.0, -1.0, 0.25], [-1.0, 1 / 7 - 2 / 9, -1.0]])


# ------------------------------------------------------------------ inputs


def test_stdin_as_a():
    result = ok("iou", "-", B, "-q", input=A.read_bytes())
    assert result.stdout == ok("iou", A, B, "-q").stdout


def test_stdin_as_b():
    result = ok("iou", A, "-", "-q", input=B.read_bytes())
    assert result.stdout == ok("iou", A, B, "-q").stdout


def test_stdin_is_the_default_argument():
    assert ok("iou", "-q", input=A.read_bytes()).stdout == ok("iou", A, "-q").stdout


def test_stdin_twice_is_refused():
    result = run("iou", "-", "-", input=A.read_bytes())
    assert result.exit_code == 2
    assert result.stderr == "Error: standard input can be read once: give at most one of A and B as '-'\n"


def test_json_on_stdin_is_sniffed_as_coco():
    coco = DATA / "coco.json"
    result = ok("iou", "-", coco, "--format", "json", "-q", input=coco.read_bytes())
    assert result.stdout == ok("iou", coco, coco, "--format", "json", "-q").stdout
    assert json.loads(result.stdout)["shape"] == [4, 4]


def test_npy_input_uses_the_first_four_columns():
    result = ok("iou", DATA / "dets.npy", "-q")
    r = repr(81 / 119)
    assert result.stdout == f"a,0,1,2\n0,1.0,{r},0.0\n1,{r},1.0,0.0\n2,0.0,0.0,1.0\n"


@pytest.mark.parametrize("name, fmt", [("dets_xywh.csv", "xywh"), ("dets_cxcywh.csv", "cxcywh")])
def test_box_formats_give_the_same_matrix(name, fmt):
    expected = ok("iou", DATA / "dets.csv", "-q").stdout
    assert ok("iou", DATA / name, "--box-format", fmt, "-q").stdout == expected


def test_coco_against_csv_sample():
    data = json.loads(ok("iou", SAMPLES / "detections.json", SAMPLES / "ground_truth.csv",
                         "--metric", "giou", "--format", "json", "-q").stdout)
    assert data["metric"] == "giou"
    assert data["shape"] == [65, 16]


def test_samples_ground_truth_against_itself():
    text = ok("iou", SAMPLES / "ground_truth.csv", "-q").stdout
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["a", *map(str, range(16))]
    m = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    assert [int(r[0]) for r in rows[1:]] == list(range(16))
    np.testing.assert_array_equal(np.diag(m), np.ones(16))
    np.testing.assert_array_equal(m, m.T)
    assert ((m >= 0) & (m <= 1)).all()


def test_samples_detections_against_ground_truth_min_iou():
    text = ok("iou", SAMPLES / "detections.csv", SAMPLES / "ground_truth.csv", "--min-iou", "0.5", "-q").stdout
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["a", "b", "iou"]
    det = list(csv.DictReader(open(SAMPLES / "detections.csv")))
    gt = list(csv.DictReader(open(SAMPLES / "ground_truth.csv")))
    assert len(rows) > 1
    for a, b, v in rows[1:]:
        assert float(v) >= 0.5
        assert det[int(a)]["image"] == gt[int(b)]["image"]
    # the sparse rows are the matrix entries >= 0.5
    m = json.loads(ok("iou", SAMPLES / "detections.csv", SAMPLES / "ground_truth.csv",
                      "--format", "json", "-q").stdout)["matrix"]
    expected = [(i, j) for i in range(65) for j in range(16) if m[i][j] >= 0.5]
    assert [(int(a), int(b)) for a, b, _ in rows[1:]] == expected


# ------------------------------------------------------------------ nms | iou, two real processes


def test_pipe_nms_into_iou():
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    nms = subprocess.Popen([sys.executable, "-m", "dltool", "nms", str(SAMPLES / "detections.csv")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    iou = subprocess.Popen([sys.executable, "-m", "dltool", "iou", "-", str(SAMPLES / "ground_truth.csv"),
                            "--format", "json"],
                           stdin=nms.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    nms.stdout.close()  # only iou reads it now
    out, iou_err = iou.communicate(timeout=120)
    nms_err = nms.stderr.read()
    nms.stderr.close()
    assert nms.wait(timeout=120) == 0, nms_err
    assert iou.returncode == 0, iou_err
    assert nms_err.decode() == f"nms: kept 23 of 65 boxes (hard, per class and image) from {SAMPLES / 'detections.csv'}\n"
    assert iou_err.decode() == "iou: 23 x 16 matrix\n"
    data = json.loads(out)
    assert data["metric"] == "iou"
    assert data["shape"] == [23, 16]
    m = np.array(data["matrix"])
    assert m.shape == (23, 16)
    assert ((m >= 0) & (m <= 1)).all()
    # both files have an image column: every kept detection overlaps only ground truth of its image
    kept = list(csv.DictReader(io.StringIO(
        subprocess.run([sys.executable, "-m", "dltool", "nms", str(SAMPLES / "detections.csv"), "-q"],
                       capture_output=True, check=True, cwd=ROOT, env=env).stdout.decode())))
    gt = list(csv.DictReader(open(SAMPLES / "ground_truth.csv")))
    for i, d in enumerate(kept):
        for j, g in enumerate(gt):
            if d["image"] != g["image"]:
                assert m[i, j] == 0.0
    assert m.max(axis=1)[0] > 0.5  # the top detection (the park dog) matches its ground truth


def test_image_aware_paired_across_images(tmp_path):
    other = tmp_path / "swapped.csv"
    other.write_text("image,x1,y1,x2,y2\nB,0,0,2,2\nB,0,0,2,2\n")
    assert ok("iou", IMG_A, other, "--paired", "-q").stdout == "a,b,iou\n0,0,0.0\n1,1,1.0\n"
    assert ok("iou", IMG_A, other, "--paired", "--metric", "giou", "-q").stdout == "a,b,giou\n0,0,-1.0\n1,1,1.0\n"


def test_tsv_input():
    r = repr(81 / 119)
    assert ok("iou", DATA / "dets.tsv", "-q").stdout == f"a,0,1\n0,1.0,{r}\n1,{r},1.0\n"
