"""``dltool train-logreg`` and ``dltool predict`` from the command line: in-process with click's
CliRunner, plus the ``--help`` examples in real shells.

Data: ``samples/flowers.csv`` (4 features, ``species``, 3 classes) and ``samples/shapes/`` (an image
folder: circle/, square/, 64x64 PNGs). Small hand-made files live in ``tests/data/logreg_cli/``:

* ``bad_cell.csv`` - ``abc`` in petal_length on line 5;  ``nan_cell.csv`` - ``NaN`` on line 3
* ``one_class.csv`` - setosa rows only
* ``validation.csv`` - the first 30 flower rows, columns reordered (species first)
* ``validation_unknown_label.csv`` - the same form, one row of class ``rose``
* ``extra_column.csv`` - flower rows with an ``id`` column in front
* ``features_only.csv`` - the first 10 flower rows without the species column
* ``corrupt.png`` - text; ``truncated.png`` - the first 300 bytes of a sample PNG

Expected predictions are recomputed with plain numpy from the model file (``np.load`` without
pickles): Z = ((X - mean) / std) Wᵀ + b, then softmax, or sigmoid for two classes.
"""

import csv
import io
import json
import math
import re
import shlex
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from clitools import ROOT, SAMPLES, assert_error, examples, help_text, ok, option_docs, run
from dltool.core import logreg as logreg_module

DATA = ROOT / "tests" / "data" / "logreg_cli"
FLOWERS = SAMPLES / "flowers.csv"
SHAPES = SAMPLES / "shapes"
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
FLOWER_CLASSES = ["setosa", "versicolor", "virginica"]
SHAPE_CLASSES = ["circle", "square"]
REPORT_KEYS = {"model", "data", "classes", "features", "train", "validation", "optimizer", "epochs",
               "stopped_early", "stop_reason", "kept", "seconds", "history", "warnings", "settings"}
METRIC_KEYS = {"examples", "accuracy", "log_loss", "confusion_matrix"}
SETTING_KEYS = {"optimizer", "auto_optimizer", "l2", "epochs", "tol", "seed", "standardize", "image_size"}
COURSE_SETTING_KEYS = SETTING_KEYS | {"lr", "lr_schedule", "beta1", "beta2", "epsilon", "batch_size", "patience",
                                     "keep_best"}
MODEL_KEYS = {"W", "b", "classes", "mean", "std", "image_size", "feature_names", "label_name", "options"}


# ------------------------------------------------------------------ helpers


def flowers_table(path=FLOWERS):
    """(header, X float (m, 4) in FEATURES order, labels) of a flowers-like CSV, read with csv."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    idx = [header.index(c) for c in FEATURES]
    X = np.array([[float(r[i]) for i in idx] for r in rows[1:]])
    labels = [r[header.index("species")] for r in rows[1:]] if "species" in header else None
    return header, X, labels


def load(path):
    """The model file as plain numpy arrays (no dltool, no pickles)."""
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def recompute(model, X):
    """Class probabilities from the saved arrays with plain numpy."""
    if model["mean"].size:
        X = (X - model["mean"]) / model["std"]
    Z = X @ model["W"].T + model["b"]
    if Z.shape[1] == 1:
        p = 1.0 / (1.0 + np.exp(-Z[:, 0]))
        return np.column_stack([1.0 - p, p])
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def pixels(files, size=64):
    """Images as the model sees them: RGB, size x size, [0, 1], flattened (H, W, C)."""
    rows = []
    for file in files:
        with Image.open(file) as im:
            rgb = im.convert("RGB")
            if rgb.size != (size, size):
                rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)
            rows.append(np.asarray(rgb, dtype=np.float64).reshape(-1) / 255.0)
    return np.array(rows)


def parse_csv(text, delimiter=","):
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    return rows[0], rows[1:]


def probabilities(rows, first):
    """The p_* columns of parsed prediction rows (the columns from index ``first``) as floats."""
    return np.array([[float(v) for v in r[first:]] for r in rows])


def train_report(*args, input=None):
    """The JSON report of a quiet training run (JSON is the default in a pipe)."""
    result = ok("train-logreg", *args, "-q", input=input)
    assert result.stderr == ""
    return json.loads(result.stdout)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def train_calls(monkeypatch):
    """Spy on logreg.train as the CLI calls it (``from dltool.core import logreg``; ``logreg.train``)."""
    calls = []
    real = logreg_module.train

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(logreg_module, "train", spy)
    return calls


@pytest.fixture(scope="module")
def flowers(tmp_path_factory):
    """(model path, report) of the default training on flowers.csv."""
    path = tmp_path_factory.mktemp("flowers") / "flowers.npz"
    result = ok("train-logreg", FLOWERS, "-o", path)
    assert result.stderr == (f"train-logreg: 150 examples x 4 features, 3 classes (softmax) from {FLOWERS}\n"
                             f"train-logreg: model written to {path}\n")
    return path, json.loads(result.stdout)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """(model path, report) of training on the image folder with a quarter held out."""
    path = tmp_path_factory.mktemp("shapes") / "shapes.npz"
    return path, train_report(SHAPES, "--validation-split", "0.25", "-o", path)


@pytest.fixture(scope="module")
def flowers_predictions(flowers):
    """stdout of ``predict`` on flowers.csv (with its label column)."""
    result = ok("predict", flowers[0], FLOWERS)
    return result


def shape_files():
    return sorted(SHAPES.glob("*/*.png"))


# ------------------------------------------------------------------ train-logreg: data forms


def test_train_flowers_report(flowers):
    _, report = flowers
    assert set(report) == REPORT_KEYS
    assert report["model"] == "softmax"
    assert report["data"] == str(FLOWERS)
    assert report["classes"] == FLOWER_CLASSES
    assert report["features"] == 4
    train = report["train"]
    assert set(train) == METRIC_KEYS | {"cost", "gradient"}
    assert train["examples"] == 150
    assert train["accuracy"] > 0.9
    cm = np.array(train["confusion_matrix"])
    assert cm.shape == (3, 3) and cm.sum() == 150 and cm.sum(axis=1).tolist() == [50, 50, 50]
    assert np.trace(cm) / 150 == pytest.approx(train["accuracy"])
    assert 0 < train["log_loss"] < math.log(3)
    assert report["validation"] is None
    # the default: Newton (auto, for 15 parameters), to max |dJ| <= 1e-6, and the report says so
    assert report["optimizer"] == "newton"
    history = report["history"]
    assert len(history) == report["epochs"] and 1 <= report["epochs"] <= 20
    assert [h["epoch"] for h in history] == list(range(1, report["epochs"] + 1))
    assert all(set(h) == {"epoch", "cost", "gradient", "step"} for h in history)
    assert history[0]["cost"] == pytest.approx(math.log(3))  # zero weights: uniform probabilities
    costs = [h["cost"] for h in history] + [train["cost"]]
    assert all(a > b for a, b in zip(costs, costs[1:]))  # Newton with a line search: J falls every step
    assert train["gradient"] <= 1e-6 < history[-1]["gradient"]
    assert report["stopped_early"] is True
    assert report["stop_reason"] == f"max |dJ| = {train['gradient']:.3g} <= tol 1e-06"
    assert report["kept"] == "the solver's final weights"
    assert report["warnings"] == []
    assert report["seconds"] >= 0
    settings = report["settings"]
    assert set(settings) == SETTING_KEYS
    assert settings == {"optimizer": "newton", "auto_optimizer": True, "l2": 1.0, "epochs": 1000, "tol": 1e-6,
                        "seed": 0, "standardize": True, "image_size": 0}


def test_train_flowers_model_file(flowers):
    path, report = flowers
    assert leftovers(path.parent) == []
    model = load(path)
    assert MODEL_KEYS <= set(model)
    assert model["W"].shape == (3, 4) and model["W"].dtype == np.float64
    assert model["b"].shape == (3,)
    assert model["classes"].tolist() == FLOWER_CLASSES
    _, X, _ = flowers_table()
    np.testing.assert_allclose(model["mean"], X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(model["std"], X.std(axis=0), rtol=1e-12)
    assert int(model["image_size"]) == 0
    assert model["feature_names"].tolist() == FEATURES
    assert str(model["label_name"]) == "species"
    assert json.loads(str(model["options"])) == report["settings"]
    # the report's accuracy is the saved model's on the same data
    P = recompute(model, X)
    _, _, labels = flowers_table()
    predicted = np.array(FLOWER_CLASSES)[P.argmax(axis=1)]
    assert np.mean(predicted == np.array(labels)) == pytest.approx(report["train"]["accuracy"])


def test_train_image_folder(shapes):
    path, report = shapes
    assert set(report) == REPORT_KEYS
    assert report["model"] == "logistic"
    assert report["classes"] == SHAPE_CLASSES
    assert report["features"] == 64 * 64 * 3
    assert report["train"]["examples"] == 60
    assert report["validation"]["examples"] == 20
    assert set(report["validation"]) == METRIC_KEYS
    assert np.array(report["validation"]["confusion_matrix"]).sum(axis=1).tolist() == [10, 10]
    assert report["validation"]["accuracy"] >= 0.9
    assert report["train"]["accuracy"] >= 0.9
    assert report["history"][0]["cost"] == pytest.approx(math.log(2))
    assert report["optimizer"] == "lbfgs" and report["settings"]["auto_optimizer"]  # 12,289 parameters
    assert report["train"]["gradient"] <= 1e-6
    assert report["settings"]["image_size"] == 64
    model = load(path)
    assert model["W"].shape == (1, 12288)
    assert model["b"].shape == (1,)
    assert model["classes"].tolist() == SHAPE_CLASSES  # the folder names
    assert model["mean"].shape == (12288,) and model["std"].shape == (12288,)
    assert int(model["image_size"]) == 64
    assert json.loads(str(model["options"])) == report["settings"]


def test_train_image_folder_notes_on_stderr(tmp_path):
    result = ok("train-logreg", SHAPES, "--epochs", "3", "-o", tmp_path / "m.npz")
    lines = result.stderr.splitlines()
    assert len(lines) == 3, lines
    assert lines[0] == f"train-logreg: 80 examples x 12288 features, 2 classes (logistic) from {SHAPES}"
    # three L-BFGS iterations do not reach the optimum: said, like scikit-learn's ConvergenceWarning
    assert re.fullmatch(r"train-logreg: warning: reached --epochs 3 iterations with max \|dJ\| = [0-9.e-]+ > "
                        r"tol 1e-06: the optimum is not reached - raise --epochs", lines[1]), lines[1]
    assert lines[2] == f"train-logreg: model written to {tmp_path / 'm.npz'}"
    report = json.loads(result.stdout)
    assert report["epochs"] == 3 and report["stopped_early"] is False and len(report["warnings"]) == 1
    quiet = ok("train-logreg", SHAPES, "--epochs", "3", "--tol", "0", "-o", tmp_path / "m.npz")
    assert len(quiet.stderr.splitlines()) == 2  # --tol 0 asks for the 3 iterations: nothing to warn about


def test_train_stdin_csv_same_model_as_the_file(flowers, tmp_path):
    out = tmp_path / "stdin.npz"
    report = train_report("-", "--label-column", "species", "-o", out, input=FLOWERS.read_text())
    assert report["data"] == "<stdin>"
    assert report["classes"] == FLOWER_CLASSES
    assert report["train"] == flowers[1]["train"]
    a, b = load(flowers[0]), load(out)
    for key in ("W", "b", "mean", "std", "classes", "feature_names", "label_name", "options"):
        assert np.array_equal(a[key], b[key]), key


def test_train_stdin_label_column_not_last(flowers, tmp_path):
    """--label-column picks the column wherever it is (matched case-insensitively)."""
    header, X, labels = flowers_table()
    text = "species," + ",".join(FEATURES) + "\n" + "".join(
        f"{lab}," + ",".join(repr(float(v)) for v in row) + "\n" for lab, row in zip(labels, X))
    out = tmp_path / "first.npz"
    report = train_report("-", "--label-column", "SPECIES", "-o", out, input=text)
    assert report["classes"] == FLOWER_CLASSES
    np.testing.assert_array_equal(load(out)["W"], load(flowers[0])["W"])


def test_train_default_data_is_stdin():
    report = train_report("--label-column", "species", input=FLOWERS.read_text())
    assert report["data"] == "<stdin>" and report["train"]["examples"] == 150


@pytest.mark.parametrize("labels", ["int", "str"])
def test_train_npz(flowers, tmp_path, labels):
    _, X, names = flowers_table()
    y = np.array([FLOWER_CLASSES.index(v) for v in names]) if labels == "int" else np.array(names)
    data = tmp_path / "flowers_xy.npz"
    np.savez(data, X=X, y=y)
    model_path = tmp_path / "m.npz"
    report = train_report(data, "-o", model_path)
    classes = ["0", "1", "2"] if labels == "int" else FLOWER_CLASSES
    assert report["classes"] == classes
    assert report["features"] == 4 and report["train"]["examples"] == 150
    assert report["train"] == flowers[1]["train"]
    model = load(model_path)
    assert model["classes"].tolist() == classes
    assert model["feature_names"].tolist() == ["x0", "x1", "x2", "x3"]
    assert int(model["image_size"]) == 0
    np.testing.assert_array_equal(model["W"], load(flowers[0])["W"])
    # predict on the npz, with and without y
    result = ok("predict", model_path, data)
    assert result.stderr == f"predict: accuracy {report['train']['accuracy']:.4f} on 150 labelled examples\n"
    header, rows = parse_csv(result.stdout)
    assert header == ["predicted"] + [f"p_{c}" for c in classes]
    np.testing.assert_allclose(probabilities(rows, 1), recompute(model, X), rtol=1e-9, atol=1e-15)
    np.savez(tmp_path / "x_only.npz", X=X)
    unlabelled = ok("predict", model_path, tmp_path / "x_only.npz")
    assert unlabelled.stdout == result.stdout and unlabelled.stderr == ""


def test_train_format_table():
    result = ok("train-logreg", FLOWERS, "--format", "table", "-q", "--validation-split", "0.2")
    text = result.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    for word in ("examples", "accuracy", "log-loss", "train", "validation", "confusion matrix (train)",
                 "confusion matrix (validation)", *FLOWER_CLASSES):
        assert word in text, word
    assert result.stderr == ""


def test_train_json_is_the_pipe_default():
    auto = ok("train-logreg", FLOWERS, "-q").stdout
    explicit = ok("train-logreg", FLOWERS, "-q", "--format", "json").stdout
    assert json.loads(auto).keys() == json.loads(explicit).keys() == REPORT_KEYS
    assert auto.endswith("\n")


def test_train_two_classes_of_a_csv_is_logistic(tmp_path):
    text = "".join(line + "\n" for line in FLOWERS.read_text().splitlines() if not line.endswith(",virginica"))
    out = tmp_path / "binary.npz"
    report = train_report("-", "-o", out, input=text)
    assert report["model"] == "logistic" and report["classes"] == ["setosa", "versicolor"]
    assert report["history"][0]["cost"] == pytest.approx(math.log(2))
    assert report["train"]["accuracy"] == 1.0
    model = load(out)
    assert model["W"].shape == (1, 4) and model["b"].shape == (1,)
    result = ok("predict", out, "-", input=text)
    header, rows = parse_csv(result.stdout)
    assert header == ["predicted", "p_setosa", "p_versicolor"]
    _, X, _ = flowers_table()
    keep = [lab != "virginica" for lab in flowers_table()[2]]
    np.testing.assert_allclose(probabilities(rows, 1), recompute(model, X[keep]), rtol=1e-9, atol=1e-15)
    assert result.stderr == "predict: accuracy 1.0000 on 100 labelled examples\n"


def test_numeric_labels_sort_as_numbers(tmp_path):
    rows = [(0.1 * i, 1.0 if i % 2 else -1.0, "10" if i % 2 else "2") for i in range(20)]
    text = "a,b,label\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows)
    out = tmp_path / "num.npz"
    report = train_report("-", "-o", out, input=text)
    assert report["classes"] == ["2", "10"]
    assert load(out)["classes"].tolist() == ["2", "10"]
    header, got = parse_csv(ok("predict", out, "-", "-q", input=text).stdout)
    assert header == ["predicted", "p_2", "p_10"]
    assert [r[0] for r in got] == [c for _, _, c in rows]


def test_constant_feature_keeps_std_one(tmp_path):
    _, X, labels = flowers_table()
    X = np.column_stack([X, np.full(len(X), 7.0)])
    np.savez(tmp_path / "const.npz", X=X, y=np.array(labels))
    out = tmp_path / "m.npz"
    train_report(tmp_path / "const.npz", "-o", out)
    model = load(out)
    assert model["std"][-1] == 1.0 and model["mean"][-1] == 7.0
    assert np.isfinite(model["W"]).all()


def test_validation_on_an_image_folder(tmp_path):
    root = class_folder(tmp_path / "small", per_class=10)
    report = train_report(root, "--validation", SHAPES, "--image-size", "16")
    assert report["train"]["examples"] == 20
    assert report["validation"]["examples"] == 80
    assert np.array(report["validation"]["confusion_matrix"]).sum(axis=1).tolist() == [40, 40]


def untidy_folder(root):
    """A class folder with a loose image at the top and a text file in a class folder."""
    class_folder(root)
    shutil.copy(SHAPES / "square" / "010.png", root / "loose.png")
    (root / "circle" / "readme.txt").write_text("not an image\n")
    return root


READER_NOTES = ["ignored 1 image directly in {root} (not in a class subfolder)",
                "ignored 1 file that is not an image (jpg jpeg png bmp gif tif tiff webp)"]


def test_reader_notes_on_stderr(shapes, tmp_path):
    root = untidy_folder(tmp_path / "untidy")
    notes = [n.format(root=root) for n in READER_NOTES]
    result = ok("train-logreg", root, "--epochs", "3", "--tol", "0")
    assert result.stderr.splitlines() == [f"train-logreg: {n}" for n in notes] + [
        f"train-logreg: 6 examples x 12288 features, 2 classes (logistic) from {root}"]
    assert ok("train-logreg", root, "--epochs", "3", "-q").stderr == ""
    result = ok("predict", shapes[0], root)
    lines = result.stderr.splitlines()
    assert lines[:2] == [f"predict: {n}" for n in notes]
    assert len(lines) == 3 and lines[2].startswith("predict: accuracy ") and "on 6 labelled examples" in lines[2]
    assert len(parse_csv(result.stdout)[1]) == 6  # the loose image is not predicted
    assert ok("predict", shapes[0], root, "-q").stderr == ""


def test_error_after_reader_notes(train_calls, tmp_path):
    root = tmp_path / "one"
    (root / "circle").mkdir(parents=True)
    shutil.copy(SHAPES / "circle" / "000.png", root / "circle" / "a.png")
    (root / "circle" / "notes.txt").write_text("x\n")
    assert_error(run("train-logreg", root), "one class", "'circle'", notes="train-logreg: ")
    assert_error(run("train-logreg", root, "-q"), "one class", "'circle'")
    assert train_calls == []


def test_warning_on_implausibly_many_classes(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "ids.npz", X=rng.normal(size=(60, 2)), y=np.arange(60) % 40)
    result = ok("train-logreg", tmp_path / "ids.npz", "--epochs", "5")
    warnings = [line for line in result.stderr.splitlines() if line.startswith("train-logreg: warning:")]
    assert warnings == ["train-logreg: warning: 40 classes in 60 examples - is 'y' really the label? "
                        "(--label-column)"]
    assert json.loads(result.stdout)["classes"][:3] == ["0", "1", "2"]
    assert ok("train-logreg", tmp_path / "ids.npz", "--epochs", "5", "-q").stderr == ""


def test_failed_training_leaves_the_old_model(flowers, tmp_path):
    out = tmp_path / "m.npz"
    shutil.copy(flowers[0], out)
    before = out.read_bytes()
    assert_error(run("train-logreg", DATA / "bad_cell.csv", "-o", out), "bad_cell.csv:5: ")
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("args", [["train-logreg"], ["train-logreg", "-"], ["predict", "MODEL"],
                                  ["predict", "MODEL", "-"]])
def test_stdin_terminal_is_refused_not_waited_on(flowers, args, monkeypatch, capsys):
    from dltool.cli import cli

    monkeypatch.setattr(sys, "stdin", _Terminal())
    code = cli.main([str(flowers[0]) if a == "MODEL" else a for a in args], standalone_mode=False)
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: <stdin>: standard input is a terminal")


# ------------------------------------------------------------------ predict


def test_predict_flowers_round_trip(flowers, flowers_predictions):
    path, report = flowers
    result = flowers_predictions
    header, rows = parse_csv(result.stdout)
    assert header == ["predicted", "p_setosa", "p_versicolor", "p_virginica"]
    assert len(rows) == 150
    P = probabilities(rows, 1)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    assert [r[0] for r in rows] == [FLOWER_CLASSES[i] for i in P.argmax(axis=1)]
    _, X, labels = flowers_table()
    expected = recompute(load(path), X)
    np.testing.assert_allclose(P, expected, rtol=1e-9, atol=1e-15)
    accuracy = np.mean(np.array([r[0] for r in rows]) == np.array(labels))
    assert accuracy == pytest.approx(report["train"]["accuracy"])
    assert result.stderr == f"predict: accuracy {accuracy:.4f} on 150 labelled examples\n"


def test_predict_quiet_drops_the_accuracy_note(flowers, flowers_predictions):
    result = ok("predict", flowers[0], FLOWERS, "-q")
    assert result.stderr == "" and result.stdout == flowers_predictions.stdout


def test_predict_without_label_column(flowers, flowers_predictions, tmp_path):
    header, X, _ = flowers_table()
    data = tmp_path / "features.csv"
    data.write_text(",".join(FEATURES) + "\n" + "".join(",".join(f"{v:.2f}" for v in row) + "\n" for row in X))
    result = ok("predict", flowers[0], data)
    assert result.stdout == flowers_predictions.stdout
    assert result.stderr == ""  # no labels, no accuracy


def test_predict_columns_matched_by_name(flowers, flowers_predictions):
    result = ok("predict", flowers[0], DATA / "validation.csv")  # species first, features shuffled
    header, rows = parse_csv(result.stdout)
    _, first_30 = parse_csv(flowers_predictions.stdout)
    first_30 = first_30[:30]
    assert header == ["predicted", "p_setosa", "p_versicolor", "p_virginica"]
    assert [r[0] for r in rows] == [r[0] for r in first_30]
    np.testing.assert_allclose(probabilities(rows, 1), probabilities(first_30, 1), rtol=1e-12, atol=1e-15)
    assert result.stderr.startswith("predict: accuracy ") and "on 30 labelled examples" in result.stderr


def test_predict_stdin(flowers, flowers_predictions):
    result = ok("predict", flowers[0], "-", input=FLOWERS.read_text())
    assert result.stdout == flowers_predictions.stdout
    assert result.stderr == flowers_predictions.stderr
    default = ok("predict", flowers[0], input=FLOWERS.read_text())  # DATA defaults to '-'
    assert default.stdout == flowers_predictions.stdout


def test_predict_image_folder(shapes):
    path, _ = shapes
    result = ok("predict", path, SHAPES)
    header, rows = parse_csv(result.stdout)
    assert header == ["path", "predicted", "p_circle", "p_square"]
    files = shape_files()
    assert [r[0] for r in rows] == [f.relative_to(SHAPES).as_posix() for f in files]
    P = probabilities(rows, 2)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    assert [r[1] for r in rows] == [SHAPE_CLASSES[i] for i in P.argmax(axis=1)]
    np.testing.assert_allclose(P, recompute(load(path), pixels(files)), rtol=1e-9, atol=1e-12)
    truth = [f.parent.name for f in files]
    accuracy = np.mean(np.array([r[1] for r in rows]) == np.array(truth))
    assert accuracy >= 0.9
    assert result.stderr == f"predict: accuracy {accuracy:.4f} on 80 labelled examples\n"


def test_predict_flat_image_folder(shapes, tmp_path):
    path, _ = shapes
    flat = tmp_path / "flat"
    flat.mkdir()
    picked = [SHAPES / "circle" / "003.png", SHAPES / "square" / "007.png", SHAPES / "circle" / "021.png"]
    for i, src in enumerate(picked):
        shutil.copy(src, flat / f"img{i}.png")
    result = ok("predict", path, flat)
    header, rows = parse_csv(result.stdout)
    assert header == ["path", "predicted", "p_circle", "p_square"]
    assert [r[0] for r in rows] == ["img0.png", "img1.png", "img2.png"]
    _, all_rows = parse_csv(ok("predict", path, SHAPES, "-q").stdout)
    by_path = {r[0]: r[1:] for r in all_rows}
    same = [by_path[p.relative_to(SHAPES).as_posix()] for p in picked]
    assert [r[1] for r in rows] == [r[0] for r in same]
    # equal up to rounding (BLAS sums a 3-row and an 80-row product in different orders)
    np.testing.assert_allclose(probabilities(rows, 2), probabilities(same, 1), rtol=1e-12, atol=1e-15)
    assert result.stderr == ""


def test_predict_image_model_resizes_to_its_size(tmp_path):
    """A model trained at --image-size 8 resizes any image to 8x8 (here 64x64 and 20x12 ones)."""
    model_path = tmp_path / "tiny.npz"
    report = train_report(SHAPES, "--image-size", "8", "-o", model_path)
    assert report["features"] == 8 * 8 * 3 and report["settings"]["image_size"] == 8
    model = load(model_path)
    assert int(model["image_size"]) == 8 and model["W"].shape == (1, 192)
    flat = tmp_path / "flat"
    flat.mkdir()
    shutil.copy(SHAPES / "square" / "000.png", flat / "a.png")
    Image.new("RGB", (20, 12), (200, 30, 30)).save(flat / "b.png")
    _, rows = parse_csv(ok("predict", model_path, flat).stdout)
    expected = recompute(model, pixels([flat / "a.png", flat / "b.png"], size=8))
    np.testing.assert_allclose(probabilities(rows, 2), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl"])
def test_predict_formats(flowers, flowers_predictions, fmt):
    result = ok("predict", flowers[0], FLOWERS, "--format", fmt, "-q")
    header, rows = parse_csv(flowers_predictions.stdout)
    expected = [dict(zip(header, [r[0], *map(float, r[1:])])) for r in rows]
    text = result.stdout
    assert text.endswith("\n") and "\r" not in text
    if fmt in ("csv", "tsv"):
        got_header, got_rows = parse_csv(text, "\t" if fmt == "tsv" else ",")
        got = [dict(zip(got_header, [r[0], *map(float, r[1:])])) for r in got_rows]
        assert got_header == header
    elif fmt == "json":
        got = json.loads(text)
    else:
        lines = text.splitlines()
        assert len(lines) == 150
        got = [json.loads(line) for line in lines]
    assert got == expected
    assert list(got[0]) == header


def test_predict_format_table(flowers):
    text = ok("predict", flowers[0], FLOWERS, "--format", "table", "-q").stdout
    assert "predicted" in text and "p_setosa" in text and "virginica" in text


@pytest.mark.parametrize("name, fmt", [("out.csv", "csv"), ("out.tsv", "tsv"), ("out.json", "json"),
                                       ("out.jsonl", "jsonl")])
def test_predict_output_file(flowers, tmp_path, name, fmt):
    out = tmp_path / name
    result = ok("predict", flowers[0], FLOWERS, "-o", out, "-q")
    assert result.stdout == "" and result.stderr == ""
    assert out.read_text() == ok("predict", flowers[0], FLOWERS, "--format", fmt, "-q").stdout
    assert leftovers(tmp_path) == []


def test_predict_output_extension(flowers, tmp_path):
    out = tmp_path / "out.txt"
    assert_error(run("predict", flowers[0], FLOWERS, "-o", out, "-q"), "out.txt", "--format")
    assert not out.exists()
    ok("predict", flowers[0], FLOWERS, "-o", out, "--format", "csv", "-q")
    assert out.read_text() == ok("predict", flowers[0], FLOWERS, "-q").stdout


def test_predict_notes_labels_the_model_never_saw(flowers):
    result = ok("predict", flowers[0], DATA / "validation_unknown_label.csv")
    assert result.stderr.startswith("predict: accuracy ")
    assert "on 6 labelled examples" in result.stderr and "labels the model never saw: rose" in result.stderr
    _, rows = parse_csv(result.stdout)
    assert len(rows) == 6 and all(r[0] in FLOWER_CLASSES for r in rows)


def test_predict_output_into_missing_folder(flowers, tmp_path):
    assert_error(run("predict", flowers[0], FLOWERS, "-o", tmp_path / "nope" / "p.csv", "-q"),
                 "directory does not exist")


# ------------------------------------------------------------------ options


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "rmsprop", "adam"])
def test_each_optimizer(tmp_path, optimizer):
    out = tmp_path / "m.npz"
    report = train_report(FLOWERS, "--optimizer", optimizer, "-o", out)
    assert report["optimizer"] == report["settings"]["optimizer"] == optimizer
    assert report["settings"]["auto_optimizer"] is False
    assert set(report["settings"]) == COURSE_SETTING_KEYS
    history = report["history"]
    assert all(set(h) == {"epoch", "lr", "cost"} for h in history)
    assert all(h["lr"] == 0.01 for h in history)  # constant unless --lr-schedule says otherwise
    assert history[-1]["cost"] < history[0]["cost"]
    assert report["train"]["accuracy"] > 0.75
    assert report["kept"].startswith("the best weights")
    assert json.loads(str(load(out)["options"]))["optimizer"] == optimizer


@pytest.mark.parametrize("batch, resolved", [("0", 0), ("16", 16), ("auto", 0)])
def test_batch_size(batch, resolved):
    report = train_report(FLOWERS, "--optimizer", "adam", "--batch-size", batch, "--epochs", "50", "--tol", "0")
    assert report["settings"]["batch_size"] == resolved
    assert report["settings"]["lr_schedule"] == "constant"  # no decay switched on by the batch size
    assert [h["lr"] for h in report["history"]] == [0.01] * 50
    assert report["epochs"] == 50
    assert report["history"][-1]["cost"] < report["history"][0]["cost"]


def test_help_example_adam_minibatch_exponential_decay():
    report = train_report(FLOWERS, "--optimizer", "adam", "--batch-size", "16", "--lr-schedule", "exponential")
    settings = report["settings"]
    assert settings["optimizer"] == "adam" and settings["batch_size"] == 16
    assert settings["lr_schedule"] == "exponential" and settings["decay_base"] == 0.95
    assert [h["lr"] for h in report["history"]] == pytest.approx(
        [0.95 ** e * 0.01 for e in range(1, report["epochs"] + 1)], rel=1e-14)


def test_course_learning_rate_decay_acceptance():
    """ACCEPTANCE (issue 11): --optimizer gd --lr 0.2 --lr-schedule inverse --decay-rate 1 gives
    alpha = 0.1 at epoch 1 and 0.0667 at epoch 2, epoch_num counted from 1 as in the lecture."""
    report = train_report(FLOWERS, "--optimizer", "gd", "--lr", "0.2", "--lr-schedule", "inverse",
                          "--decay-rate", "1", "--epochs", "4")
    history = report["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert [h["lr"] for h in history] == pytest.approx([0.1, 0.0667, 0.05, 0.04], abs=5e-5)
    assert history[1]["lr"] == 0.2 / 3
    assert history[0]["cost"] == pytest.approx(math.log(3))
    settings = report["settings"]
    assert settings["lr"] == 0.2 and settings["lr_schedule"] == "inverse" and settings["decay_rate"] == 1.0
    assert "decay_base" not in settings and "time_interval" not in settings


@pytest.mark.parametrize("schedule, extra, expected", [
    ("sqrt", ["--k", "2"], [2 / math.sqrt(e) * 0.1 for e in (1, 2, 3, 4)]),
    ("staircase", ["--decay-rate", "1", "--time-interval", "2"], [0.1, 0.05, 0.05, 0.1 / 3]),
    ("exponential", ["--decay-base", "0.5"], [0.05, 0.025, 0.0125, 0.00625]),
    ("constant", [], [0.1] * 4)])
def test_lr_schedules(schedule, extra, expected):
    report = train_report(FLOWERS, "--optimizer", "momentum", "--lr", "0.1", "--lr-schedule", schedule, *extra,
                          "--epochs", "4", "--tol", "0")
    assert [h["lr"] for h in report["history"]] == pytest.approx(expected, rel=1e-14)


def test_solver_choice_is_reported(tmp_path):
    newton = train_report(FLOWERS)
    lbfgs = train_report(FLOWERS, "--optimizer", "lbfgs")
    assert newton["optimizer"] == "newton" and newton["settings"]["auto_optimizer"] is True
    assert lbfgs["optimizer"] == "lbfgs" and lbfgs["settings"]["auto_optimizer"] is False
    # two ways to the same optimum
    assert lbfgs["train"]["cost"] == pytest.approx(newton["train"]["cost"], rel=1e-9)
    assert lbfgs["epochs"] > newton["epochs"]
    table = ok("train-logreg", FLOWERS, "--format", "table", "-q").stdout
    assert "newton (auto)" in table and "iterations" in table


def test_cost_rising_warns_and_the_best_weights_are_kept(tmp_path):
    """Adam at a rate far too large: the cost rises for several epochs; stderr says the rate is
    too large, and the model holds the weights of the best epoch (the report says which)."""
    out = tmp_path / "m.npz"
    result = ok("train-logreg", FLOWERS, "--optimizer", "adam", "--lr", "3", "--tol", "0", "--epochs", "20",
                "-o", out)
    report = json.loads(result.stdout)
    costs = [h["cost"] for h in report["history"]]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("train-logreg: warning: ")]
    assert warnings and warnings == [f"train-logreg: warning: {w}" for w in report["warnings"]]
    first = re.fullmatch(r"train-logreg: warning: the training cost rose (\d+) epochs in a row, from (\S+) "
                         r"\(epoch (\d+)\) to (\S+) \(epoch (\d+)\): the learning rate 3 is probably too large - "
                         r"lower --lr or add --lr-schedule", warnings[0])
    assert first, warnings[0]
    rises, start, end = int(first[1]), int(first[3]), int(first[5])
    assert rises == end - start >= 3
    assert all(costs[e] > costs[e - 1] for e in range(start, end))  # epochs start+1 .. end rose
    assert float(first[2]) == pytest.approx(costs[start - 1], rel=1e-5)
    best = int(np.argmin(costs))  # full batch: costs[e] is J of the weights after e epochs
    assert report["kept"] == f"the best weights: those after epoch {best} (best training cost), not the last"
    assert report["train"]["cost"] == pytest.approx(min(costs), rel=1e-12)
    quiet = ok("train-logreg", FLOWERS, "--optimizer", "adam", "--lr", "3", "--tol", "0", "--epochs", "20", "-q")
    assert quiet.stderr == ""
    last = train_report(FLOWERS, "--optimizer", "adam", "--lr", "3", "--tol", "0", "--epochs", "20", "--keep-last")
    assert last["kept"] == "the last weights (epoch 20; --keep-last)"
    assert last["train"]["cost"] > report["train"]["cost"]


def test_validation_watches_the_kept_weights():
    report = train_report(FLOWERS, "--optimizer", "adam", "--lr", "3", "--tol", "0", "--epochs", "20",
                          "--validation-split", "0.2")
    val = [h["val_cost"] for h in report["history"]]
    best = int(np.argmin(val)) + 1
    assert report["kept"].startswith("the best weights") and "(best validation log-loss)" in report["kept"]
    assert f"epoch {best}" in report["kept"]
    assert report["validation"]["log_loss"] == pytest.approx(min(val), rel=1e-12)


def test_sklearn_optimum_through_the_cli(tmp_path):
    """End to end: the training part of scikit-learn's breast-cancer split as an .npz; dltool
    standardizes it as StandardScaler does and reaches the lbfgs optimum (tol 1e-10) to 1e-6."""
    datasets = pytest.importorskip("sklearn.datasets")
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    for name in ("breast_cancer", "wine"):
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        X_train, _, y_train, _ = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
        np.savez(tmp_path / "train.npz", X=X_train, y=y_train)
        report = train_report(tmp_path / "train.npz")
        Xs = StandardScaler().fit_transform(X_train)
        clf = LogisticRegression(tol=1e-10, max_iter=100_000).fit(Xs, y_train)
        optimum = logreg_module.cost_and_grads(clf.coef_, clf.intercept_, Xs, y_train, l2=1.0)[0]
        assert 0 <= (report["train"]["cost"] - optimum) / optimum <= 1e-6, name


def test_l2_zero(tmp_path):
    common = ("--epochs", "200", "--tol", "0")
    free = train_report(FLOWERS, "--l2", "0", "-o", tmp_path / "free.npz", *common)
    held = train_report(FLOWERS, "--l2", "10", "-o", tmp_path / "held.npz", *common)
    assert free["settings"]["l2"] == 0.0 and held["settings"]["l2"] == 10.0
    assert np.linalg.norm(load(tmp_path / "free.npz")["W"]) > np.linalg.norm(load(tmp_path / "held.npz")["W"])


def test_no_standardize(tmp_path):
    out = tmp_path / "raw.npz"
    report = train_report(FLOWERS, "--no-standardize", "-o", out)
    assert report["settings"]["standardize"] is False
    model = load(out)
    assert model["mean"].size == 0 and model["std"].size == 0
    result = ok("predict", out, FLOWERS, "-q")
    _, rows = parse_csv(result.stdout)
    _, X, _ = flowers_table()
    np.testing.assert_allclose(probabilities(rows, 1), recompute(model, X), rtol=1e-9, atol=1e-15)


def test_validation_data():
    report = train_report(FLOWERS, "--validation", DATA / "validation.csv")
    val = report["validation"]
    assert set(val) == METRIC_KEYS
    assert val["examples"] == 30
    cm = np.array(val["confusion_matrix"])
    assert cm.shape == (3, 3) and cm.sum() == 30
    assert np.trace(cm) / 30 == pytest.approx(val["accuracy"])
    assert report["train"]["examples"] == 150  # nothing held out of the training set


def test_validation_split_holds_out_each_class():
    report = train_report(FLOWERS, "--validation-split", "0.2")
    assert report["train"]["examples"] == 120 and report["validation"]["examples"] == 30
    assert np.array(report["validation"]["confusion_matrix"]).sum(axis=1).tolist() == [10, 10, 10]


def test_validation_and_split_do_not_combine(train_calls, tmp_path):
    out = tmp_path / "m.npz"
    assert_error(run("train-logreg", FLOWERS, "--validation", DATA / "validation.csv", "--validation-split", "0.2",
                     "-o", out), "--validation", "--validation-split")
    assert train_calls == [] and not out.exists()


def test_epochs_with_tol_zero_run_every_epoch():
    report = train_report(FLOWERS, "--optimizer", "adam", "--epochs", "5", "--tol", "0")
    assert report["epochs"] == 5
    assert len(report["history"]) == 5
    assert report["stopped_early"] is False
    assert report["stop_reason"] == "ran all --epochs 5"
    assert report["settings"]["epochs"] == 5 and report["settings"]["tol"] == 0.0


def without_seconds(text):
    stripped, n = re.subn(r'"seconds": [0-9.e+-]+', '"seconds": S', text)
    assert n == 1
    return stripped


def test_same_seed_same_bytes(tmp_path):
    args = (FLOWERS, "--optimizer", "adam", "--batch-size", "16", "--validation-split", "0.2", "--seed", "7",
            "--epochs", "30", "-q")
    a = ok("train-logreg", *args, "-o", tmp_path / "a.npz")
    b = ok("train-logreg", *args, "-o", tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    assert without_seconds(a.stdout) == without_seconds(b.stdout)
    # the seed matters: another one shuffles and splits differently
    other = tuple("8" if a == "7" else a for a in args)
    c = ok("train-logreg", *other, "-o", tmp_path / "c.npz")
    assert not np.array_equal(load(tmp_path / "a.npz")["W"], load(tmp_path / "c.npz")["W"])
    assert json.loads(c.stdout)["settings"]["seed"] == 8


def test_plot_png(tmp_path):
    png = tmp_path / "cost.png"
    result = ok("train-logreg", FLOWERS, "--validation-split", "0.2", "--plot", png)
    assert f"train-logreg: cost curve written to {png}" in result.stderr
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size[0] > 100 and im.size[1] > 100
    assert leftovers(tmp_path) == []


def test_plot_not_png_refused_before_training(train_calls, tmp_path):
    assert_error(run("train-logreg", FLOWERS, "--plot", tmp_path / "cost.jpg", "-o", tmp_path / "m.npz"),
                 "cost.jpg", ".png")
    assert train_calls == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option", ["-o", "--plot"])
def test_output_into_missing_folder_refused_before_training(train_calls, tmp_path, option):
    target = tmp_path / "missing" / ("m.npz" if option == "-o" else "cost.png")
    assert_error(run("train-logreg", FLOWERS, option, target), str(target), "directory does not exist")
    assert train_calls == []
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ errors: exit 2, one line


# (arguments after train-logreg, texts the one error line must contain)
TRAIN_ERRORS = [
    ([FLOWERS, "--label-column", "nope"], [f"{FLOWERS}:1: ", "'nope'", "species", "--label-column"]),
    ([DATA / "bad_cell.csv"], [f"{DATA / 'bad_cell.csv'}:5: ", "'petal_length'", "'abc'"]),
    ([DATA / "nan_cell.csv"], [f"{DATA / 'nan_cell.csv'}:3: ", "'sepal_width'", "'NaN'"]),
    ([DATA / "one_class.csv"], [str(DATA / "one_class.csv"), "one class", "'setosa'"]),
    ([FLOWERS, "--optimizer", "adam", "--batch-size", "x"], ["--batch-size", "'x'"]),
    ([FLOWERS, "--optimizer", "adam", "--batch-size", "-1"], ["--batch-size", "-1"]),
    ([FLOWERS, "--optimizer", "adam", "--lr", "fast"], ["--lr", "'fast'"]),
    ([FLOWERS, "--optimizer", "adam", "--lr", "0"], ["--lr"]),
    ([FLOWERS, "--tol", "soon"], ["--tol", "'soon'"]),
    ([FLOWERS, "--tol", "-1"], ["--tol", "-1"]),
    ([FLOWERS, "--lr", "0.1"], ["--lr applies only to the course's optimizers (gd, momentum, rmsprop, adam)",
                                "--optimizer auto trains with newton or lbfgs", "--optimizer adam"]),
    ([FLOWERS, "--optimizer", "lbfgs", "--batch-size", "16", "--beta1", "0.5"],
     ["--batch-size, --beta1 apply only", "lbfgs is a full-batch solver"]),
    ([FLOWERS, "--optimizer", "newton", "--keep-last"], ["--keep-best/--keep-last applies only"]),
    ([FLOWERS, "--optimizer", "gd", "--decay-rate", "2"], ["--decay-rate applies to --lr-schedule inverse or "
                                                           "staircase, not constant"]),
    ([FLOWERS, "--optimizer", "gd", "--lr-schedule", "inverse", "--k", "2"], ["--k applies to --lr-schedule sqrt"]),
    ([FLOWERS, "--optimizer", "gd", "--lr-schedule", "exponential", "--decay-base", "1.5"], ["--decay-base",
                                                                                            "(0, 1]"]),
    ([FLOWERS, "--l2", "-1"], ["--l2"]),
    ([FLOWERS, "--beta1", "1"], ["--beta1"]),
    ([FLOWERS, "--validation", DATA / "validation_unknown_label.csv"], ["rose", "not seen in training"]),
    ([FLOWERS, "--validation", DATA / "extra_column.csv"], ["extra_column.csv:1: ", "column(s) id"]),
    ([FLOWERS, "--validation", DATA / "features_only.csv"], ["features_only.csv:1: ", "'species'"]),
    ([DATA / "features_only.csv", "--label-column", "species"], ["features_only.csv:1: ", "'species'"]),
    ([DATA / "missing.csv"], ["missing.csv", "no such file"]),
    ([SAMPLES / "shapes" / "circle" / "000.png"], ["000.png", "folder"]),
]


@pytest.mark.parametrize("args, contains", TRAIN_ERRORS,
                         ids=[" ".join(str(a).replace(str(ROOT) + "/", "") for a in args) for args, _ in TRAIN_ERRORS])
def test_train_bad_input(train_calls, args, contains):
    assert_error(run("train-logreg", *args), *contains)
    assert train_calls == []


# click's own usage errors: exit 2, the Error line last (click adds the usage lines above it)
USAGE_ERRORS = [
    ["train-logreg", FLOWERS, "--epochs", "0"],
    ["train-logreg", FLOWERS, "--optimizer", "sgd"],
    ["train-logreg", FLOWERS, "--lr-decay", "0.1"],  # replaced by --lr-schedule inverse --decay-rate D
    ["train-logreg", FLOWERS, "--optimizer", "gd", "--lr-schedule", "linear"],
    ["train-logreg", FLOWERS, "--optimizer", "gd", "--patience", "0"],
    ["train-logreg", FLOWERS, "--validation-split", "1"],
    ["train-logreg", FLOWERS, "--format", "csv"],
    ["train-logreg", FLOWERS, "--image-size", "0"],
    ["predict"],
    ["predict", FLOWERS, FLOWERS, "--format", "xml"],
]


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=lambda a: " ".join(str(x) for x in a[:1] + a[2:]))
def test_usage_errors_exit_2(train_calls, args):
    result = run(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith("Error: ")
    assert "Traceback" not in result.stderr
    assert train_calls == []


def test_train_bad_stdin():
    assert_error(run("train-logreg", "-", "--label-column", "nope", input=FLOWERS.read_text()),
                 "<stdin>:1: ", "'nope'")
    assert_error(run("train-logreg", "-", input="a,b,label\n1,2,x\n1,oops,y\n"), "<stdin>:3: ", "'oops'")


def test_train_error_after_notes(tmp_path):
    """Training that diverges fails after the first note: -q leaves the one error line."""
    args = ("train-logreg", FLOWERS, "--optimizer", "gd", "--lr", "1e300", "-o", tmp_path / "m.npz")
    assert_error(run(*args), "diverged", "--lr", notes="train-logreg: ")
    assert_error(run(*args, "-q"), "diverged", "--lr")
    assert list(tmp_path.iterdir()) == []


def class_folder(root, per_class=3):
    """root/circle and root/square with a few sample images each."""
    for cls in SHAPE_CLASSES:
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            shutil.copy(SHAPES / cls / f"{i:03d}.png", root / cls / f"{i:03d}.png")
    return root


def test_train_empty_class_folder(train_calls, tmp_path):
    root = class_folder(tmp_path / "data")
    (root / "triangle").mkdir()
    assert_error(run("train-logreg", root), str(root / "triangle"), "empty", "'triangle'")
    assert train_calls == []


@pytest.mark.parametrize("bad", ["corrupt.png", "truncated.png"])
def test_train_unreadable_image(train_calls, tmp_path, bad):
    root = class_folder(tmp_path / "data")
    shutil.copy(DATA / bad, root / "square" / "broken.png")
    assert_error(run("train-logreg", root), str(root / "square" / "broken.png"), "cannot read this image")
    assert train_calls == []


def test_train_folder_without_class_subfolders(train_calls, tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(3):
        shutil.copy(SHAPES / "circle" / f"{i:03d}.png", flat / f"{i}.png")
    assert_error(run("train-logreg", flat), str(flat), "no class subfolders", "3 images")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_error(run("train-logreg", empty), str(empty), "empty folder")
    assert train_calls == []


def test_train_image_folder_with_one_class(tmp_path):
    root = tmp_path / "data"
    (root / "circle").mkdir(parents=True)
    shutil.copy(SHAPES / "circle" / "000.png", root / "circle" / "a.png")
    assert_error(run("train-logreg", root), "one class", "'circle'")


def test_predict_wrong_feature_count(flowers, tmp_path):
    np.savez(tmp_path / "x3.npz", X=np.ones((5, 3)), y=np.arange(5) % 2)
    assert_error(run("predict", flowers[0], tmp_path / "x3.npz"), "x3.npz", "3 feature", "expects 4")


def test_predict_missing_feature_column(flowers, tmp_path):
    data = tmp_path / "three.csv"
    data.write_text("sepal_length,sepal_width,petal_length,species\n5.1,3.5,1.4,setosa\n")
    assert_error(run("predict", flowers[0], data), f"{data}:1: ", "petal_width")
    assert_error(run("predict", flowers[0], "-", input=data.read_text()), "<stdin>:1: ", "petal_width")


def test_predict_extra_column(flowers):
    assert_error(run("predict", flowers[0], DATA / "extra_column.csv"), "extra_column.csv:1: ", "column(s) id",
                 "drop them")


def test_predict_bad_cell(flowers):
    assert_error(run("predict", flowers[0], DATA / "bad_cell.csv"), "bad_cell.csv:5: ", "'abc'")


def test_predict_csv_model_on_image_folder(flowers):
    # Refused from the model alone, before any image is read.
    assert_error(run("predict", flowers[0], SHAPES), str(SHAPES), "4 tabular features", "not an image folder")


def test_predict_image_model_on_unlabelled_csv(shapes, tmp_path):
    data = tmp_path / "features.csv"
    data.write_text(",".join(FEATURES) + "\n5.1,3.5,1.4,0.2\n")
    assert_error(run("predict", shapes[0], data), str(data), "64x64 images", "image folder")


def test_predict_image_model_on_npz(shapes, tmp_path):
    np.savez(tmp_path / "x.npz", X=np.zeros((2, 12288)))
    assert_error(run("predict", shapes[0], tmp_path / "x.npz"), "x.npz", "64x64 images", "image folder")


def test_predict_image_model_on_labelled_csv(shapes):
    """The sample CSV itself (text labels in 'species'): the error must say that the model wants
    images, not complain about a cell of the CSV."""
    error = assert_error(run("predict", shapes[0], FLOWERS), str(FLOWERS))
    assert "image" in error, error


def test_predict_not_a_model(flowers, tmp_path):
    _, X, labels = flowers_table()
    np.savez(tmp_path / "data.npz", X=X, y=np.array(labels))
    assert_error(run("predict", tmp_path / "data.npz", FLOWERS), "data.npz", "not a dltool model", "missing W",
                 "train-logreg -o")


@pytest.mark.parametrize("content", ["junk", "truncated", "empty", "csv"])
def test_predict_corrupt_model(flowers, tmp_path, content):
    bad = tmp_path / "bad.npz"
    bad.write_bytes({"junk": b"this is not a model\n", "truncated": flowers[0].read_bytes()[:300], "empty": b"",
                     "csv": FLOWERS.read_bytes()}[content])
    assert_error(run("predict", bad, FLOWERS), str(bad), "train-logreg -o")


def test_predict_missing_model(tmp_path):
    assert_error(run("predict", tmp_path / "none.npz", FLOWERS), "none.npz", "no such file")


# ------------------------------------------------------------------ Ctrl-C


def interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def test_interrupted_training_writes_no_model(monkeypatch, tmp_path):
    monkeypatch.setattr(logreg_module, "train", interrupt)
    out = tmp_path / "m.npz"
    result = run("train-logreg", FLOWERS, "-o", out, "--plot", tmp_path / "cost.png")
    assert result.exit_code == 130, (result.exit_code, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_interrupted_training_keeps_the_old_model(monkeypatch, flowers, tmp_path):
    out = tmp_path / "m.npz"
    shutil.copy(flowers[0], out)
    before = out.read_bytes()
    monkeypatch.setattr(logreg_module, "train", interrupt)
    result = run("train-logreg", SHAPES, "-o", out, "-q")
    assert result.exit_code == 130
    assert result.stdout == "" and result.stderr.strip() == ""  # click closes the ^C echo with a newline
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_interrupted_while_saving_leaves_no_partial_file(monkeypatch, flowers, tmp_path):
    """Ctrl-C in the middle of writing the .npz: the temporary file goes, the old model stays."""
    out = tmp_path / "m.npz"
    shutil.copy(flowers[0], out)
    before = out.read_bytes()

    def half_written(f, **arrays):
        f.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", half_written)
    result = run("train-logreg", FLOWERS, "-o", out, "-q")
    assert result.exit_code == 130
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


# ------------------------------------------------------------------ --help


@pytest.mark.parametrize("command, usage", [("train-logreg", "[OPTIONS] DATA"), ("predict", "[OPTIONS] MODEL DATA")])
def test_help_shows_every_default(command, usage):
    text = help_text(command)
    assert text.startswith(f"Usage: dltool {command} {usage}\n")
    assert "Examples:" in text
    docs = option_docs(command)
    for name, (param, doc) in docs.items():
        if param.is_flag and not param.secondary_opts or param.default is None:
            continue
        shown = {"standardize": "standardize", "keep_best": "keep-best"}.get(param.name, param.default)
        assert f"[default: {shown}" in doc.replace("\n", " "), (name, doc)
    assert "default" in docs["output"][1].lower(), docs["output"][1]


@pytest.mark.parametrize("command", ["train-logreg", "predict"])
def test_help_examples_use_samples_that_exist(command):
    lines = examples(help_text(command))
    assert len(lines) >= (3 if command == "train-logreg" else 1)
    for line in lines:
        assert f"dltool {command} " in line
        paths = re.findall(r"samples/[\w./-]+", line)
        assert paths, line
        for p in paths:
            assert (ROOT / p).exists(), p


@pytest.mark.parametrize("command", ["train-logreg", "predict"])
def test_help_examples_run(command, tmp_path):
    """Each example in a real shell, run in tmp_path with samples/ linked in: outputs land there,
    whatever sits in the repository root."""
    (tmp_path / "samples").symlink_to(ROOT / "samples")
    dltool = f"{shlex.quote(sys.executable)} -m dltool"
    for line in examples(help_text(command)):
        outputs = sorted(set(re.findall(r"(?<![\w/.-])([\w-]+\.(?:npz|png|csv|json))(?![\w/.-])", line)))
        script = re.sub(r"(^|&&|\|)\s*dltool ", lambda m: f"{m.group(1)} {dltool} ", line)
        done = subprocess.run(["bash", "-c", "set -o pipefail; " + script], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, (line, script, done.stderr)
        assert done.stdout, line
        assert "Traceback" not in done.stderr
        for name in outputs:
            assert (tmp_path / name).exists(), (line, name)
            if name.endswith(".png"):
                with Image.open(tmp_path / name) as im:
                    assert im.format == "PNG"
            if name.endswith(".npz"):
                assert MODEL_KEYS <= set(load(tmp_path / name))


@pytest.mark.parametrize("command, section", [
    ("train-logreg", 'Course: C1W2 "Logistic Regression as a Neural Network" (softmax: C2W3), optimizers C2W2.'),
    ("predict", 'Course: C1W2 "Logistic Regression with a Neural Network mindset" (its predict()).'),
])
def test_help_names_the_course_section(command, section):
    assert section in " ".join(help_text(command).split())


def test_help_documents_optimizers_schedules_and_tolerances():
    text = " ".join(help_text("train-logreg").split())
    for name in ("gd", "momentum", "rmsprop", "adam", "lbfgs", "newton", "auto"):
        assert f"{name}:" in text, name
    for formula in ("alpha0 / (1 + decay_rate * epoch_num)", "decay_base^epoch_num * alpha0",
                    "k / sqrt(epoch_num) * alpha0", "alpha0 / (1 + decay_rate * floor(epoch_num / time_interval))"):
        assert formula in text, formula
    assert "max |dJ/dtheta| <= TOL (auto 1e-6; scikit-learn's lbfgs stops at 1e-4)" in text
