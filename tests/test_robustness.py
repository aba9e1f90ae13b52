"""Bad input, every command: one ``Error:`` line naming the user's file (or option), exit 2,
nothing on stdout, no traceback, no file written; and ``-o`` never destroys an input.

The table below is the standing list of hostile inputs of the reliability issue (#12), one class
per row; the hypothesis properties that drive every reader are in ``test_robustness_fuzz.py``.
"""

import json
import os
import stat

import numpy as np
import pytest

from clitools import SAMPLES, assert_error, ok, run

BOXES = "x1,y1,x2,y2,score\n0,0,10,10,0.9\n1,1,11,11,0.8\n50,50,60,60,0.7\n"


def write(path, text):
    path.write_text(text)
    return path


def deep_json(depth):
    return "[" * depth + "]" * depth


def coco_results(bbox="[0, 0, 10, 10]", score="0.9"):
    return f'[{{"image_id": 1, "category_id": 1, "bbox": {bbox}, "score": {score}}}]'


def coco_instances(width="640"):
    return json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 0, "height": 480}],
                       "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10],
                                        "area": 100, "iscrowd": 0}],
                       "categories": [{"id": 1, "name": "a"}]}).replace('"width": 0', f'"width": {width}')


HUGE = "9" * 400
LONG_CELL = "1" * 200_000


# Each case: a function of tmp_path returning (argv, text the Error line must contain).
CASES = {
    # ---------------------------------------------------------------- oversized fields
    "box csv cell over the csv field limit": lambda t: (
        ["nms", write(t / "b.csv", f"x1,y1,x2,y2,score\n0,0,10,{LONG_CELL}x,0.9\n")], ["b.csv:2"]),
    "w,h csv cell over the csv field limit": lambda t: (
        ["anchors-kmeans", write(t / "wh.csv", f"w,h\n10,{LONG_CELL}x\n")], ["wh.csv:2"]),
    "json nested 100000 deep (boxes)": lambda t: (["nms", write(t / "d.json", deep_json(100_000))], ["d.json"]),
    "json nested 100000 deep (labels)": lambda t: (
        ["anchors-kmeans", write(t / "d.json", deep_json(100_000))], ["d.json"]),
    "400-digit integer in bbox": lambda t: (
        ["nms", write(t / "r.json", coco_results(bbox=f"[0, 0, {HUGE}, 10]"))], ["r.json"]),
    "400-digit integer in score": lambda t: (
        ["nms", write(t / "r.json", coco_results(score=HUGE))], ["r.json"]),
    "400-digit integer in an image width": lambda t: (
        ["anchors-kmeans", write(t / "i.json", coco_instances(width=HUGE))], ["i.json"]),
    # ---------------------------------------------------------------- option values
    "--seed -1 (anchors-kmeans)": lambda t: (
        ["anchors-kmeans", SAMPLES / "coco_instances.json", "--seed", "-1"], ["--seed"]),
    "--seed -1 (train-logreg)": lambda t: (
        ["train-logreg", SAMPLES / "flowers.csv", "--seed", "-1"], ["--seed"]),
    "--seed -1 (init)": lambda t: (["init", "--layers", "4,3", "--seed", "-1"], ["--seed"]),
    "--seed -1 (gradcheck)": lambda t: (["gradcheck", "--layers", "4,3,1", "--seed", "-1"], ["--seed"]),
    "--seed -1 (gram-style)": lambda t: (
        ["gram-style", SAMPLES / "textures" / "bricks.png", "--seed", "-1"], ["--seed"]),
    "--validation-split nan": lambda t: (
        ["train-logreg", SAMPLES / "flowers.csv", "--validation-split", "nan"], ["--validation-split"]),
    "--fail-above nan": lambda t: (["gradcheck", "--layers", "4,3,1", "--fail-above", "nan"], ["--fail-above"]),
    "--epsilon 1e300 (gradcheck)": lambda t: (["gradcheck", "--layers", "4,3,1", "--epsilon", "1e300"],
                                              ["--epsilon"]),
    "--scale 1e308 (init)": lambda t: (["init", "--layers", "4,3", "--method", "random", "--scale", "1e308"],
                                       ["--scale"]),
    "--gain 1e308 (init)": lambda t: (["init", "--layers", "4,3", "--gain", "1e308"], ["--gain"]),
    "--lr -1 (gram-style)": lambda t: (
        ["gram-style", SAMPLES / "textures" / "bricks.png", "--synthesize", "-o", t / "o.png", "--optimizer",
         "adam", "--lr", "-1"], ["--lr"]),
    "--beta1 2 (gram-style)": lambda t: (
        ["gram-style", SAMPLES / "textures" / "bricks.png", "--synthesize", "-o", t / "o.png", "--optimizer",
         "adam", "--beta1", "2"], ["--beta1"]),
    "--alpha nan (gram-style)": lambda t: (
        ["gram-style", SAMPLES / "textures" / "bricks.png", "--alpha", "nan"], ["--alpha"]),
    # ---------------------------------------------------------------- sizes that cannot fit
    "init --layers 200000,200000": lambda t: (["init", "--layers", "200000,200000"], ["GiB"]),
    "gradcheck --layers 100000,100000,1": lambda t: (["gradcheck", "--layers", "100000,100000,1"], ["GiB"]),
    "conv-shape 20000x20000x3 --run": lambda t: (
        ["conv-shape", "20000x20000x3 | conv f=3 c=64", "--run"], ["GiB"]),
    # ---------------------------------------------------------------- damaged files and specs
    "conv spec nested 2000 deep": lambda t: (["conv-shape", "(" * 2000 + "32x32x3" + ")" * 2000], ["spec"]),
    "conv spec with a 5001-digit size": lambda t: (["conv-shape", "9" * 5001 + "x32x3 | conv f=3 c=8"],
                                                   ["input shape", "at most 12 digits"]),
    "conv spec with a 5001-digit filter": lambda t: (["conv-shape", "32x32x3 | conv f=" + "9" * 5001 + " c=8"],
                                                     ["f=99999", "at most 12 digits"]),
    "pool f=2 p=5 refused without --run too": lambda t: (["conv-shape", "32x32x3 | pool f=2 p=5"], ["pad"]),
    "complex npy boxes": lambda t: (["nms", t / "c.npy"], ["c.npy"]),
    "timedelta npy boxes": lambda t: (["iou", t / "td.npy"], ["td.npy"]),
    "gradcheck params with an empty W1": lambda t: (["gradcheck", "--params", t / "empty.npz"], ["empty.npz", "W1"]),
    "gradcheck params whose layers do not chain": lambda t: (
        ["gradcheck", "--params", t / "unchained.npz"], ["unchained.npz", "W2"]),
    "gram-style activations whose Gram overflows": lambda t: (
        ["gram-style", "--style-activations", t / "big.npy", "--generated-activations", t / "small.npy"],
        ["big.npy"]),
    "gram-style generated layer of another shape": lambda t: (
        ["gram-style", "--style-activations", t / "small.npy", "--generated-activations", t / "other.npy"],
        ["other.npy"]),
    "anchors-kmeans --compare with a zero width": lambda t: (
        ["anchors-kmeans", SAMPLES / "coco_instances.json", "--compare", "10,0"], ["--compare: "]),
    "anchors-kmeans --compare with an odd count": lambda t: (
        ["anchors-kmeans", SAMPLES / "coco_instances.json", "--compare", "10,20,30"], ["--compare: "]),
    # ---------------------------------------------------------------- the user's own function (gradcheck)
    "user module calls sys.exit(0) at import": lambda t: (
        ["gradcheck", f"{t / 'exits.py'}:f", "--params", t / "p.npz"], ["exits.py", "sys.exit(0)"]),
    "user function calls sys.exit(5)": lambda t: (
        ["gradcheck", f"{t / 'exits_inside.py'}:f", "--params", t / "p.npz"], ["exits_inside.py:f", "sys.exit(5)"]),
    "user function returns string gradients": lambda t: (
        ["gradcheck", f"{t / 'strings.py'}:f", "--params", t / "p.npz"], ["strings.py:f", "dW1"]),
    "user function returns a complex cost": lambda t: (
        ["gradcheck", f"{t / 'complex_cost.py'}:f", "--params", t / "p.npz"], ["complex_cost.py:f", "complex"]),
    # ---------------------------------------------------------------- output onto an input
    "nms -o its own input": lambda t: (["nms", write(t / "d.csv", BOXES), "-o", t / "d.csv"], ["d.csv"]),
    "iou -o its own input": lambda t: (["iou", write(t / "d.csv", BOXES), "-o", t / "d.csv"], ["d.csv"]),
    "train-logreg -o its own input": lambda t: (
        ["train-logreg", t / "f.csv", "-o", t / "f.csv"], ["f.csv"]),
    "anchors-kmeans -o its own input": lambda t: (
        ["anchors-kmeans", write(t / "wh.csv", "w,h\n" + "".join(f"{i + 5},{2 * i + 5}\n" for i in range(30))),
         "-k", "2", "-o", t / "wh.csv"], ["wh.csv"]),
    "predict -o the model": lambda t: (
        ["predict", t / "m.npz", SAMPLES / "flowers.csv", "-o", t / "m.npz"], ["m.npz"]),
    "-o through a symlink to the input": lambda t: (
        ["nms", write(t / "d.csv", BOXES), "-o", t / "link.csv"], ["link.csv"]),
    "-o onto a read-only file": lambda t: (["nms", write(t / "d.csv", BOXES), "-o", t / "ro.csv"], ["ro.csv"]),
}


def prepare(name, tmp):
    """Files some cases need beyond their own argv."""
    if name == "complex npy boxes":
        np.save(tmp / "c.npy", np.array([[0, 0, 1, 1]], dtype=complex))
    elif name == "timedelta npy boxes":
        np.save(tmp / "td.npy", np.array([[0, 0, 1, 1]], dtype="timedelta64[s]"))
    elif name == "train-logreg -o its own input":
        (tmp / "f.csv").write_bytes((SAMPLES / "flowers.csv").read_bytes())
    elif name == "predict -o the model":
        ok("train-logreg", SAMPLES / "flowers.csv", "-o", tmp / "m.npz", "-q")
    elif name == "-o through a symlink to the input":
        (tmp / "link.csv").symlink_to(tmp / "d.csv")
    elif name.startswith("gradcheck params"):
        np.savez(tmp / "empty.npz", W1=np.zeros((0, 4)), b1=np.zeros((0, 1)))
        np.savez(tmp / "unchained.npz", W1=np.ones((3, 4)), b1=np.zeros((3, 1)), W2=np.ones((1, 5)), b2=np.zeros((1, 1)))
    elif name.startswith("gram-style"):
        np.save(tmp / "big.npy", np.full((4, 4, 3), 1e200))
        np.save(tmp / "small.npy", np.ones((4, 4, 3)))
        np.save(tmp / "other.npy", np.ones((4, 4, 5)))
    elif name.startswith("user "):
        np.savez(tmp / "p.npz", W1=np.ones((1, 4)), b1=np.zeros((1, 1)))
        write(tmp / "exits.py", "import sys\nsys.exit(0)\n\ndef f(p):\n    pass\n")
        write(tmp / "exits_inside.py", "import sys\n\ndef f(p):\n    sys.exit(5)\n")
        write(tmp / "strings.py", "def f(p):\n    return 1.0, {'dW1': [['a'] * 4], 'db1': [['b']]}\n")
        write(tmp / "complex_cost.py", "def f(p):\n    return 1j + p['W1'].sum(), {'dW1': p['W1'] * 0, 'db1': p['b1'] * 0}\n")
    elif name == "-o onto a read-only file":
        write(tmp / "ro.csv", "precious\n").chmod(stat.S_IRUSR | stat.S_IRGRP)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_exits_2_naming_the_file_or_option(tmp_path, name):
    prepare(name, tmp_path)
    argv, fragments = CASES[name](tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    result = run(*argv)
    assert_error(result, *fragments, notes=("train-logreg:", "nms:", "iou:", "anchors-kmeans:", "predict:"))
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before, "a failed run changed or left files"


@pytest.mark.parametrize("redirect, says", [("> /dev/full", "No space left on device"),
                                            (">&-", "standard output is closed")])
def test_unwritable_stdout_exits_2_with_one_line(redirect, says):
    import shlex
    import subprocess
    import sys

    from clitools import ROOT

    line = f"{shlex.quote(sys.executable)} -m dltool nms samples/detections.csv -q {redirect}"
    done = subprocess.run(["bash", "-c", line], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [done.stderr.strip()] and done.stderr.startswith("Error: standard output")
    assert says in done.stderr


def test_closed_stdout_is_fine_when_the_output_goes_to_a_file(tmp_path):
    import shlex
    import subprocess
    import sys

    from clitools import ROOT

    out = tmp_path / "kept.csv"
    line = f"{shlex.quote(sys.executable)} -m dltool nms samples/detections.csv -q -o {out} >&-"
    done = subprocess.run(["bash", "-c", line], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("image,class,x1,y1,x2,y2,score")


# ---------------------------------------------------------------- unreadable folders
# Root reads a 0o000 folder, so these make the listing itself fail, as it does for a user without
# the permission.


def _deny_listing(monkeypatch, denied):
    real_scandir, real_listdir = os.scandir, os.listdir

    def refuse(path, real):
        if os.path.abspath(path) == os.path.abspath(denied):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", lambda path=".": refuse(path, real_scandir))
    monkeypatch.setattr(os, "listdir", lambda path=".": refuse(path, real_listdir))


def test_unlistable_label_folder_is_permission_denied(tmp_path, monkeypatch):
    sub = tmp_path / "labels" / "train"
    sub.mkdir(parents=True)
    write(sub / "a.txt", "0 0.5 0.5 0.1 0.1\n")
    _deny_listing(monkeypatch, sub)
    result = run("anchors-kmeans", tmp_path / "labels", "--img-size", "640", "--assume-square")
    assert_error(result, "train", "permission denied")


def test_unlistable_image_folder_is_permission_denied(tmp_path, monkeypatch):
    (tmp_path / "shapes").mkdir()
    _deny_listing(monkeypatch, tmp_path / "shapes")
    assert_error(run("train-logreg", tmp_path / "shapes"), "shapes", "Permission denied")


def test_unlistable_class_folder_is_permission_denied(tmp_path, monkeypatch):
    for cls in ("a", "b"):
        (tmp_path / "shapes" / cls).mkdir(parents=True)
        (tmp_path / "shapes" / cls / "0.png").write_bytes((SAMPLES / "shapes" / "circle" / "000.png").read_bytes())
    _deny_listing(monkeypatch, tmp_path / "shapes" / "b")
    assert_error(run("train-logreg", tmp_path / "shapes"), "b", "ermission denied")


def test_unlistable_image_folder_of_yolo_labels_is_permission_denied(tmp_path, monkeypatch):
    import shutil

    shutil.copytree(SAMPLES / "yolo", tmp_path / "yolo")
    _deny_listing(monkeypatch, tmp_path / "yolo" / "images" / "train")
    assert_error(run("anchors-kmeans", tmp_path / "yolo" / "labels"), "images", "permission denied")
