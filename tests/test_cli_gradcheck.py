"""``dltool gradcheck`` from the command line, in-process with click's CliRunner (stdout is not a
terminal there: JSON unless ``--format table``).

Samples: ``samples/gradcheck/`` (good_net.py, broken_net.py with the course's two planted bugs: dW2
twice too large, db1 with 4/m; params.npz, data.npz) and ``samples/flowers.csv`` (4 features, 3
classes). User functions: ``tests/data/gradcheck/nets.py`` (a 4 -> 5 -> 5 -> 1 tanh network and
copies with one planted defect each; ``nets.example(seed)`` makes its parameters and data). Modules
that must be imported by name are written into tmp_path under a fresh name each (Python caches
imported modules by name).
"""

import importlib.util
import json
import re
import uuid

import numpy as np
import pytest

from clitools import ROOT, SAMPLES, assert_error, ok, run

GC = SAMPLES / "gradcheck"
GOOD = f"{GC / 'good_net.py'}:forward_backward"
BROKEN = f"{GC / 'broken_net.py'}:forward_backward"
SAMPLE_PARAMS = GC / "params.npz"
SAMPLE_DATA = GC / "data.npz"
FLOWERS = SAMPLES / "flowers.csv"
NETS = ROOT / "tests" / "data" / "gradcheck" / "nets.py"

TOP_KEYS = {"target", "epsilon", "mode", "checked", "relative_difference", "verdict", "fail_above", "passed",
            "blocks", "notes"}
BLOCK_KEYS = {"name", "shape", "checked", "relative_difference", "max_abs_difference", "worst_index", "numerical",
              "analytic", "verdict"}


def _load_nets():
    spec = importlib.util.spec_from_file_location("gradcheck_cli_test_nets", NETS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nets = _load_nets()


def gradcheck(*args):
    return run("gradcheck", *args)


def report(result):
    return json.loads(result.stdout)


def blocks(result):
    return {b["name"]: b for b in report(result)["blocks"]}


def assert_user_error(result, *contains):
    """Exit 2, nothing on stdout, the user's traceback, then one ``Error: `` line, the last."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Traceback"), result.stderr
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    for text in contains:
        assert text in result.stderr, (text, result.stderr)
    return result.stderr


@pytest.fixture
def example(tmp_path):
    """(params.npz, data.npz) of nets.example(0), written into tmp_path."""
    params, data = nets.example(0)
    p, d = tmp_path / "params.npz", tmp_path / "data.npz"
    np.savez(p, **params)
    np.savez(d, **data)
    return p, d


def user_check(name, example, *args):
    p, d = example
    return gradcheck(f"{NETS}:{name}", "--params", p, "--data", d, *args)


def write_module(folder, source):
    """A module with a name no other test uses; returns the name."""
    name = f"usernet_{uuid.uuid4().hex[:10]}"
    (folder / f"{name}.py").write_text(source)
    return name


QUADRATIC = """
import numpy as np

def fn(params):
    # J = sum over blocks of 0.5 ||P||^2 + sum(P^3) / 3, dJ = P + P^2
    cost = sum(0.5 * np.sum(v ** 2) + np.sum(v ** 3) / 3 for v in params.values())
    return cost, {"d" + k: v + v ** 2 for k, v in params.items()}
"""


def write_params(path, sizes, seed=0):
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = rng.standard_normal((sizes[l], sizes[l - 1])) / np.sqrt(sizes[l - 1])
        params[f"b{l}"] = 0.1 * rng.standard_normal((sizes[l], 1))
    np.savez(path, **params)
    return params


# ------------------------------------------------------------------ acceptance


def test_acceptance_tanh_mlp_passes():
    result = gradcheck("--model", "mlp", "--layers", "20,10,5,1", "--activation", "tanh")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = report(result)
    assert out["target"] == "mlp 20,10,5,1 tanh"
    assert out["passed"] is True and out["verdict"] == "ok"
    assert out["relative_difference"] < 1e-7
    assert [b["name"] for b in out["blocks"]] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert [b["shape"] for b in out["blocks"]] == [[10, 20], [10, 1], [5, 10], [5, 1], [1, 5], [1, 1]]
    assert out["checked"] == 271 and out["mode"] == "all"
    assert result.stderr == ""


def test_acceptance_broken_sample_fails_naming_the_block():
    result = gradcheck(BROKEN, "--params", SAMPLE_PARAMS, "--data", SAMPLE_DATA)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    out = report(result)
    assert out["passed"] is False and out["verdict"] == "bug"
    b = blocks(result)
    assert b["b1"]["relative_difference"] == pytest.approx(3 / 5, rel=1e-5)  # 4/m instead of 1/m
    assert b["W2"]["relative_difference"] == pytest.approx(1 / 3, rel=1e-5)  # a factor 2
    assert b["W1"]["verdict"] == "ok" and b["b2"]["verdict"] == "ok"
    assert b["b1"]["verdict"] == b["W2"]["verdict"] == "bug"
    failed = [line for line in result.stderr.splitlines() if "FAILED" in line]
    assert len(failed) == 1, result.stderr
    index = b["b1"]["worst_index"]
    assert f"b1{index}" in failed[0], failed[0]  # "worst at b1[0, 0]"
    assert re.search(r"\bb1 relative difference 0\.6\b", failed[0]), failed[0]
    assert re.search(r"numerical [-\d.e]+, analytic [-\d.e]+", failed[0]), failed[0]


def test_acceptance_good_sample_passes():
    result = gradcheck(GOOD, "--params", SAMPLE_PARAMS, "--data", SAMPLE_DATA)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = report(result)
    assert out["passed"] is True and out["relative_difference"] < 1e-7
    assert out["target"] == GOOD


def test_acceptance_ci_reads_json_and_exit_code(tmp_path, monkeypatch):
    # `dltool gradcheck my_module:fn --params p.npz --format json`, from the module's folder.
    monkeypatch.chdir(tmp_path)
    name = write_module(tmp_path, QUADRATIC)
    write_params(tmp_path / "p.npz", [3, 4, 2])
    result = gradcheck(f"{name}:fn", "--params", "p.npz", "--format", "json")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = report(result)
    assert set(out) == TOP_KEYS
    assert out["verdict"] == "ok" and out["passed"] is True
    assert out["target"] == f"{name}:fn"


def test_json_keys_and_values():
    result = gradcheck(BROKEN, "--params", SAMPLE_PARAMS, "--data", SAMPLE_DATA, "--format", "json")
    out = report(result)
    assert set(out) == TOP_KEYS
    assert out["epsilon"] == 1e-7 and out["fail_above"] == 1e-5 and out["mode"] == "all"
    assert out["checked"] == 20 + 5 + 5 + 1
    assert out["notes"] == []
    for b in out["blocks"]:
        assert set(b) == BLOCK_KEYS
        assert b["checked"] == int(np.prod(b["shape"]))
        assert len(b["worst_index"]) == 2
        assert all(0 <= i < n for i, n in zip(b["worst_index"], b["shape"]))
        assert b["max_abs_difference"] == pytest.approx(abs(b["numerical"] - b["analytic"]), rel=1e-9, abs=1e-15)
    assert [(b["name"], b["shape"]) for b in out["blocks"]] == [("W1", [5, 4]), ("b1", [5, 1]), ("W2", [1, 5]),
                                                                ("b2", [1, 1])]


# ------------------------------------------------------------------ built-in models


@pytest.mark.parametrize("model, target", [("logreg", "logreg 4,1"), ("softmax", "softmax 4,3"),
                                           ("mlp", "mlp 4,5,3,1 relu"), (None, "mlp 4,5,3,1 relu")])
def test_every_model_passes_at_defaults(model, target):
    result = gradcheck(*(["--model", model] if model else []))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = report(result)
    assert out["target"] == target
    assert out["relative_difference"] < 1e-7 and out["verdict"] == "ok" and out["passed"] is True


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid"])
def test_every_activation_passes(activation):
    result = gradcheck("--activation", activation)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = report(result)
    assert out["target"] == f"mlp 4,5,3,1 {activation}"
    assert out["relative_difference"] < 1e-7


@pytest.mark.parametrize("model", ["logreg", "softmax", "mlp"])
def test_l2(model):
    result = gradcheck("--model", model, "--l2", "0.7", "--activation", "tanh")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = report(result)
    assert out["target"].endswith(" l2=0.7")
    assert out["relative_difference"] < 1e-7


def test_l2_changes_the_gradient():
    plain = blocks(gradcheck("--activation", "tanh"))
    reg = blocks(gradcheck("--activation", "tanh", "--l2", "5"))
    assert plain["W1"]["analytic"] != reg["W1"]["analytic"] or plain["W1"]["worst_index"] != reg["W1"]["worst_index"]


@pytest.mark.parametrize("layers, extra", [("4,2", []), ("4,5,2", []), ("4,5,2", ["--samples", "2000"])],
                         ids=["softmax-4,2", "mlp-4,5,2", "mlp-4,5,2-numba"])
def test_two_unit_softmax_output_passes(layers, extra):
    # --model softmax --layers 4,2 is a softmax over two classes: its gradient is right, so it passes.
    # (2000 examples take the numba kernel: 37 coordinates x 2000 x 11 units > NUMBA_MIN_WORK.)
    model = "softmax" if layers == "4,2" else "mlp"
    result = gradcheck("--model", model, "--layers", layers, "--activation", "tanh", *extra)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert report(result)["relative_difference"] < 1e-7


def test_larger_network_through_the_numba_kernel():
    result = gradcheck("--layers", "30,20,10,3", "--activation", "sigmoid", "--samples", "32", "--l2", "0.3")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = report(result)
    assert out["relative_difference"] < 1e-7 and out["checked"] == 600 + 20 + 200 + 10 + 30 + 3


def test_epsilon_option():
    out = report(gradcheck("--activation", "tanh", "--epsilon", "1e-6"))
    assert out["epsilon"] == 1e-6 and out["passed"] is True


@pytest.mark.parametrize("args", [["--layers", "4"], ["--layers", "4,x,1"], ["--layers", "4,0,1"]])
def test_bad_layers(args):
    assert_error(gradcheck(*args), "--layers")


@pytest.mark.parametrize("args, text", [
    (["--model", "logreg", "--layers", "4,5,1"], "--model logreg"),
    (["--model", "logreg", "--layers", "4,3"], "--model logreg"),
    (["--model", "softmax", "--layers", "4,1"], "--model softmax"),
    (["--model", "softmax", "--layers", "4,5,3"], "--model softmax"),
])
def test_layers_that_do_not_fit_the_model(args, text):
    assert_error(gradcheck(*args), text)


def test_unknown_activation_is_a_usage_error():
    result = gradcheck("--activation", "swish")
    assert result.exit_code == 2 and result.stdout == ""


# ------------------------------------------------------------------ --data


@pytest.mark.parametrize("model, target, shapes", [
    ("softmax", "softmax 4,3", [[3, 4], [3, 1]]),
    ("mlp", "mlp 4,5,3,3 relu", [[5, 4], [5, 1], [3, 5], [3, 1], [3, 3], [3, 1]]),
])
def test_data_flowers(model, target, shapes):
    result = gradcheck("--model", model, "--data", FLOWERS)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = report(result)
    assert out["target"] == target
    assert [b["shape"] for b in out["blocks"]] == shapes
    assert out["relative_difference"] < 1e-7


def test_data_flowers_changes_the_batch():
    a = report(gradcheck("--model", "softmax", "--data", FLOWERS))
    b = report(gradcheck("--model", "softmax"))
    assert a["blocks"][0]["analytic"] != b["blocks"][0]["analytic"]


@pytest.mark.parametrize("layers", ["4,5,1", "3,5,3", "4,2"])
def test_layers_that_do_not_fit_the_data(layers):
    model = "softmax" if layers.count(",") == 1 else "mlp"
    assert_error(gradcheck("--model", model, "--data", FLOWERS, "--layers", layers), "do not fit the data",
                 "4 features", "3 classes")


def test_data_logreg_two_classes(tmp_path):
    text = FLOWERS.read_text().splitlines()
    two = tmp_path / "two.csv"
    two.write_text("\n".join([text[0]] + [r for r in text[1:] if not r.endswith("virginica")]) + "\n")
    result = gradcheck("--model", "logreg", "--data", two, "--l2", "0.5")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = report(result)
    assert out["target"] == "logreg 4,1 l2=0.5" and out["relative_difference"] < 1e-7


def test_logreg_on_three_classes_is_an_error():
    assert_error(gradcheck("--model", "logreg", "--data", FLOWERS), "--model logreg")


def test_missing_data_file(tmp_path):
    result = gradcheck("--model", "softmax", "--data", tmp_path / "nope.csv")
    assert result.exit_code == 2 and result.stdout == ""


# ------------------------------------------------------------------ --params for built-in models


def test_params_file(tmp_path):
    write_params(tmp_path / "p.npz", [4, 6, 3, 1], seed=3)
    result = gradcheck("--params", tmp_path / "p.npz", "--activation", "tanh")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = report(result)
    assert out["target"] == "mlp 4,6,3,1 tanh"
    assert [b["shape"] for b in out["blocks"]] == [[6, 4], [6, 1], [3, 6], [3, 1], [1, 3], [1, 1]]
    assert out["relative_difference"] < 1e-7


def test_params_file_matching_layers(tmp_path):
    write_params(tmp_path / "p.npz", [4, 6, 3, 1])
    result = gradcheck("--params", tmp_path / "p.npz", "--layers", "4,6,3,1", "--activation", "sigmoid")
    assert result.exit_code == 0, (result.stdout, result.stderr)


def test_params_file_with_vector_biases(tmp_path):
    params = write_params(tmp_path / "p.npz", [4, 6, 3])
    np.savez(tmp_path / "flat.npz", **{k: (v.ravel() if k[0] == "b" else v) for k, v in params.items()})
    a = report(gradcheck("--params", tmp_path / "p.npz", "--activation", "tanh"))
    b = report(gradcheck("--params", tmp_path / "flat.npz", "--activation", "tanh"))
    assert a == b


def test_params_contradicting_layers(tmp_path):
    write_params(tmp_path / "p.npz", [4, 6, 3, 1])
    assert_error(gradcheck("--params", tmp_path / "p.npz", "--layers", "4,5,3,1"), "does not match", "4,6,3,1")


def test_params_contradicting_data(tmp_path):
    write_params(tmp_path / "p.npz", [4, 6, 1])
    assert_error(gradcheck("--params", tmp_path / "p.npz", "--data", FLOWERS), "do not fit the data")


def test_params_that_do_not_chain(tmp_path):
    np.savez(tmp_path / "p.npz", W1=np.ones((5, 4)), b1=np.zeros((5, 1)), W2=np.ones((1, 3)), b2=np.zeros((1, 1)))
    assert_error(gradcheck("--params", tmp_path / "p.npz"), "W2")


def test_params_missing_bias(tmp_path):
    np.savez(tmp_path / "p.npz", W1=np.ones((5, 4)), b1=np.zeros((5, 1)), W2=np.ones((1, 5)))
    assert_error(gradcheck("--params", tmp_path / "p.npz"), "b2")


def test_params_file_missing(tmp_path):
    result = gradcheck("--params", tmp_path / "nope.npz")
    assert result.exit_code == 2 and result.stdout == ""
    assert "Traceback" not in result.stderr


def test_params_not_an_npz(tmp_path):
    (tmp_path / "p.npz").write_text("not a zip")
    result = gradcheck("--params", tmp_path / "p.npz")
    assert result.exit_code == 2 and result.stdout == ""
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """train-logreg model files: a logistic one (2 classes) and a softmax one (flowers)."""
    folder = tmp_path_factory.mktemp("trained")
    text = FLOWERS.read_text().splitlines()
    two = folder / "two.csv"
    two.write_text("\n".join([text[0]] + [r for r in text[1:] if not r.endswith("virginica")]) + "\n")
    ok("train-logreg", two, "-o", folder / "two.npz", "--epochs", "5", "-q")
    ok("train-logreg", FLOWERS, "-o", folder / "three.npz", "--epochs", "5", "-q")
    return folder / "two.npz", folder / "three.npz", two


def test_train_logreg_model_for_logreg(trained):
    two, _, two_csv = trained
    for extra in ([], ["--data", two_csv]):
        result = gradcheck("--model", "logreg", "--params", two, *extra)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        out = report(result)
        assert out["target"] == "logreg 4,1"
        assert [b["shape"] for b in out["blocks"]] == [[1, 4], [1, 1]]
        assert out["relative_difference"] < 1e-7


def test_train_logreg_model_for_softmax(trained):
    _, three, _ = trained
    for extra in ([], ["--data", FLOWERS]):
        result = gradcheck("--model", "softmax", "--params", three, *extra)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        out = report(result)
        assert out["target"] == "softmax 4,3"
        assert [b["shape"] for b in out["blocks"]] == [[3, 4], [3, 1]]
        assert out["relative_difference"] < 1e-7


def test_train_logreg_model_with_the_wrong_model(trained):
    _, three, _ = trained
    assert_error(gradcheck("--model", "logreg", "--params", three), "--model logreg")
    assert_error(gradcheck("--model", "mlp", "--params", three, "--layers", "4,5,3"), "does not match")


def test_kink_note(tmp_path):
    # A hidden ReLU unit with a zero row of W1 and a zero bias: its input is exactly 0 for every example.
    params = write_params(tmp_path / "p.npz", [4, 5, 3, 1])
    params["W1"][0] = 0.0
    params["b1"][0] = 0.0
    np.savez(tmp_path / "kink.npz", **params)
    result = gradcheck("--params", tmp_path / "kink.npz")
    notes = [line for line in result.stderr.splitlines() if line.startswith("gradcheck: note:")]
    assert len(notes) == 1 and "kink" in notes[0] and "16 hidden ReLU input(s)" in notes[0], result.stderr
    out = report(result)
    assert len(out["notes"]) == 1 and "kink" in out["notes"][0]
    # The same parameters with tanh: no kink, no note.
    smooth = gradcheck("--params", tmp_path / "kink.npz", "--activation", "tanh")
    assert smooth.exit_code == 0 and "note" not in smooth.stderr and report(smooth)["notes"] == []


def test_no_kink_note_for_healthy_relu():
    result = gradcheck("--activation", "relu")
    assert result.exit_code == 0 and result.stderr == ""


# ------------------------------------------------------------------ --sample, --fast, --fail-above, --seed


def test_sample():
    result = gradcheck("--sample", "3", "--activation", "tanh")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = report(result)
    assert out["mode"] == "sample"
    assert [(b["name"], b["checked"]) for b in out["blocks"]] == [("W1", 3), ("b1", 3), ("W2", 3), ("b2", 3),
                                                                  ("W3", 3), ("b3", 1)]
    assert out["checked"] == 16


def test_sample_on_a_user_function(example):
    out = report(user_check("good", example, "--sample", "2"))
    assert out["mode"] == "sample" and [b["checked"] for b in out["blocks"]] == [2, 2, 2, 2, 2, 1]


def test_fast():
    result = gradcheck("--fast", "4", "--activation", "tanh")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = report(result)
    assert out["mode"] == "directions" and out["checked"] == 4 * 6
    assert all(b["checked"] == 4 and b["worst_index"] is None for b in out["blocks"])
    assert out["relative_difference"] < 1e-7


def test_fast_catches_the_broken_sample():
    result = gradcheck(BROKEN, "--params", SAMPLE_PARAMS, "--data", SAMPLE_DATA, "--fast", "4")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    b = blocks(result)
    assert b["b1"]["verdict"] == "bug" and b["W2"]["verdict"] == "bug"
    failed = [line for line in result.stderr.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and "b1" in failed[0]


def test_fast_with_sample_is_an_error():
    assert_error(gradcheck("--fast", "4", "--sample", "3"), "--fast", "--sample")


def test_fail_above_zero_fails_a_healthy_check():
    result = gradcheck("--activation", "tanh", "--fail-above", "0")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    out = report(result)
    assert out["passed"] is False and out["verdict"] == "ok" and out["fail_above"] == 0
    assert "FAILED" in result.stderr


def test_huge_fail_above_lets_the_broken_sample_pass():
    result = gradcheck(BROKEN, "--params", SAMPLE_PARAMS, "--data", SAMPLE_DATA, "--fail-above", "10")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = report(result)
    assert out["passed"] is True and out["verdict"] == "bug" and out["fail_above"] == 10
    assert "FAILED" not in result.stderr


def test_fail_above_judges_the_worst_block(tmp_path, monkeypatch):
    # db3 off by 1 + 6e-5: that block is 3e-5 off, the overall difference stays under 1e-5.
    monkeypatch.chdir(tmp_path)
    name = write_module(tmp_path, f"""
import importlib.util
spec = importlib.util.spec_from_file_location("nets_for_fail_above", {str(NETS)!r})
nets = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nets)

def fn(params, data):
    cost, grads = nets.good(params, data)
    grads["db3"] = grads["db3"] * (1 + 6e-5)
    return cost, grads
""")
    params, data = nets.example(0)
    np.savez("p.npz", **params)
    np.savez("d.npz", **data)
    result = gradcheck(f"{name}:fn", "--params", "p.npz", "--data", "d.npz")
    out = report(result)
    assert out["relative_difference"] < 1e-5 < blocks(result)["b3"]["relative_difference"]
    assert result.exit_code == 1 and out["passed"] is False
    assert "b3" in [line for line in result.stderr.splitlines() if "FAILED" in line][0]


def test_same_seed_same_json():
    args = ["--sample", "3", "--seed", "7", "--activation", "tanh"]
    assert gradcheck(*args).stdout == gradcheck(*args).stdout
    fast = ["--fast", "3", "--seed", "7"]
    assert gradcheck(*fast).stdout == gradcheck(*fast).stdout


def test_other_seed_other_batch():
    assert gradcheck("--seed", "1").stdout != gradcheck("--seed", "2").stdout


def test_format_table():
    result = gradcheck("--activation", "tanh", "--format", "table")
    assert result.exit_code == 0
    text = result.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    for word in ("block", "rel. diff", "verdict", "W1", "b3", "PASSED", "mlp 4,5,3,1 tanh"):
        assert word in text, word


def test_format_table_failed():
    result = gradcheck(BROKEN, "--params", SAMPLE_PARAMS, "--data", SAMPLE_DATA, "--format", "table")
    assert result.exit_code == 1
    assert "FAILED" in result.stdout and "bug" in result.stdout


def test_quiet_silences_notes_and_the_failed_line(tmp_path):
    result = gradcheck(BROKEN, "--params", SAMPLE_PARAMS, "--data", SAMPLE_DATA, "-q")
    assert result.exit_code == 1 and result.stderr == ""
    assert report(result)["passed"] is False


# ------------------------------------------------------------------ user functions


def test_module_function_from_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = write_module(tmp_path, QUADRATIC)
    write_params(tmp_path / "p.npz", [3, 4, 2], seed=1)
    result = gradcheck(f"{name}:fn", "--params", "p.npz")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = report(result)
    assert [b["name"] for b in out["blocks"]] == ["W1", "b1", "W2", "b2"]
    assert out["relative_difference"] < 1e-7


def test_file_py_function(example):
    result = user_check("good", example)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = report(result)
    assert out["target"] == f"{NETS}:good"
    assert out["relative_difference"] < 1e-7 and out["checked"] == 61
    assert result.stderr == ""


def test_relative_file_path(tmp_path, monkeypatch, example):
    monkeypatch.chdir(NETS.parent)
    p, d = example
    result = gradcheck("nets.py:good_l2", "--params", p, "--data", d)
    assert result.exit_code == 0, (result.stdout, result.stderr)


def test_file_with_a_sibling_import(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    helper = f"helper_{uuid.uuid4().hex[:10]}"
    (folder / f"{helper}.py").write_text("def grad(v):\n    return v + v ** 2\n")
    (folder / "net.py").write_text(f"import numpy as np\nfrom {helper} import grad\n\n"
                                   "def fn(params):\n"
                                   "    cost = sum(0.5 * np.sum(v ** 2) + np.sum(v ** 3) / 3 for v in params.values())\n"
                                   "    return cost, {'d' + k: grad(v) for k, v in params.items()}\n")
    write_params(tmp_path / "p.npz", [3, 2])
    monkeypatch.chdir(tmp_path)
    result = gradcheck("project/net.py:fn", "--params", "p.npz")
    assert result.exit_code == 0, (result.stdout, result.stderr)


def test_function_without_data(tmp_path):
    write_params(tmp_path / "p.npz", [3, 4, 2], seed=2)
    result = gradcheck(f"{NETS}:no_data", "--params", tmp_path / "p.npz")
    assert result.exit_code == 0, (result.stdout, result.stderr)


@pytest.mark.parametrize("name, block", [("missing_factor", "W1"), ("transposed", "W2"), ("dropped_l2_w3", "W3")])
def test_wrong_backward_is_caught(example, name, block):
    result = user_check(name, example)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    out = report(result)
    worst = max(out["blocks"], key=lambda b: b["relative_difference"])
    assert worst["name"] == block and worst["verdict"] == "bug"
    failed = [line for line in result.stderr.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and f"worst at {block}{worst['worst_index']}" in failed[0], result.stderr


def test_dropped_l2_is_caught(example):
    result = user_check("dropped_l2", example)
    assert result.exit_code == 1
    b = blocks(result)
    assert all(b[n]["verdict"] == "bug" for n in ("W1", "W2", "W3"))
    assert all(b[n]["relative_difference"] < 1e-5 for n in ("b1", "b2", "b3"))  # L2 leaves biases alone


@pytest.mark.parametrize("name", ["good_l2", "by_names", "flat_biases", "mutating"])
def test_accepted_forms(example, name):
    result = user_check(name, example)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert report(result)["relative_difference"] < 1e-7


@pytest.mark.parametrize("name, text", [
    ("missing_key", "no 'db2'"),
    ("wrong_shape", "dW1 has shape (5, 3), but W1 has shape (5, 4)"),
    ("nan_cost", "not finite"),
    ("nan_grad", "db1 has non-finite values"),
    ("not_tuple", "(cost, grads)"),
    ("three_items", "3 items"),
])
def test_malformed_results(example, name, text):
    assert_error(user_check(name, example), text)


def test_user_function_raises(example):
    line = next(i for i, text in enumerate(NETS.read_text().splitlines(), 1) if text.strip().startswith('raise ValueError("planted failure'))
    stderr = assert_user_error(user_check("raises", example), "ValueError: planted failure in the user's helper")
    assert f'nets.py", line {line}, in _helper' in stderr, stderr
    assert "in raises" in stderr
    assert stderr.splitlines()[-1].startswith("Error: your function raised ValueError")
    assert "dltool/" not in stderr and "dltool\\" not in stderr  # only the user's frames


def test_module_failing_on_import(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = write_module(tmp_path, "import numpy as np\n\nx = 1\nraise RuntimeError('broken at import')\n")
    write_params(tmp_path / "p.npz", [3, 1])
    stderr = assert_user_error(gradcheck(f"{name}:fn", "--params", "p.npz"), "RuntimeError: broken at import",
                               f'{name}.py", line 4')
    assert stderr.splitlines()[-1].startswith("Error: importing")


def test_file_failing_on_import(tmp_path):
    (tmp_path / "bad.py").write_text("def fn(params):\n    pass\n\n1 / 0\n")
    write_params(tmp_path / "p.npz", [3, 1])
    assert_user_error(gradcheck(f"{tmp_path / 'bad.py'}:fn", "--params", tmp_path / "p.npz"),
                      "ZeroDivisionError", 'bad.py", line 4')


def test_module_with_a_missing_dependency(tmp_path, monkeypatch):
    # Their module's own failed import is their error (with a traceback), not "no module named <theirs>".
    monkeypatch.chdir(tmp_path)
    name = write_module(tmp_path, "import no_such_dependency_xyz\n\ndef fn(params):\n    pass\n")
    write_params(tmp_path / "p.npz", [3, 1])
    assert_user_error(gradcheck(f"{name}:fn", "--params", "p.npz"), "no_such_dependency_xyz")


def test_missing_module(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_params(tmp_path / "p.npz", [3, 1])
    assert_error(gradcheck("no_such_module_abc:fn", "--params", "p.npz"), "no_such_module_abc")


def test_missing_file(tmp_path):
    write_params(tmp_path / "p.npz", [3, 1])
    assert_error(gradcheck(f"{tmp_path / 'nope.py'}:fn", "--params", tmp_path / "p.npz"), "nope.py")


def test_missing_function(example):
    p, d = example
    assert_error(gradcheck(f"{NETS}:no_such_function", "--params", p, "--data", d), "no_such_function")


def test_missing_params():
    assert_error(gradcheck(f"{NETS}:good"), "--params")


@pytest.mark.parametrize("spec", ["nocolon", ":fn", "module:", "module:not-a-name"])
def test_bad_spec(spec, tmp_path):
    write_params(tmp_path / "p.npz", [3, 1])
    assert_error(gradcheck(spec, "--params", tmp_path / "p.npz"), "MODULE:FUNCTION")


def test_function_and_model_together(example):
    p, d = example
    assert_error(gradcheck(f"{NETS}:good", "--model", "mlp", "--params", p), "--model")


def test_float32_user_function_gets_a_note(example):
    result = user_check("float32", example)
    assert result.exit_code in (0, 1), (result.stdout, result.stderr)
    notes = [line for line in result.stderr.splitlines() if line.startswith("gradcheck: note:")]
    assert notes and any("float32" in n for n in notes), result.stderr
    assert any("float32" in n for n in report(result)["notes"])


def test_float64_user_function_has_no_note(example):
    result = user_check("good", example)
    assert "note" not in result.stderr and report(result)["notes"] == []


def test_user_function_printing_does_not_break_the_json(tmp_path, monkeypatch):
    # Data on stdout, everything else on stderr: a user function with debugging prints (common in
    # course notebooks) must not turn `--format json` output into something a CI job cannot parse.
    monkeypatch.chdir(tmp_path)
    name = write_module(tmp_path, QUADRATIC.replace("    return cost,", "    print('cost =', cost)\n    return cost,"))
    write_params(tmp_path / "p.npz", [3, 2])
    result = gradcheck(f"{name}:fn", "--params", "p.npz", "--format", "json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["passed"] is True


def test_user_data_must_be_an_npz(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = write_module(tmp_path, QUADRATIC)
    write_params(tmp_path / "p.npz", [3, 2])
    result = gradcheck(f"{name}:fn", "--params", "p.npz", "--data", FLOWERS)
    assert result.exit_code == 2 and result.stdout == ""
    assert "Traceback" not in result.stderr and result.stderr.startswith("Error: ")


def test_user_params_file_with_non_parameters(tmp_path, monkeypatch):
    # Only W1, b1, ... are parameters; other arrays in the file are not checked.
    monkeypatch.chdir(tmp_path)
    name = write_module(tmp_path, QUADRATIC)
    params = write_params(tmp_path / "p.npz", [3, 2])
    np.savez(tmp_path / "p2.npz", **params, mean=np.zeros(3))
    out = report(gradcheck(f"{name}:fn", "--params", "p2.npz"))
    assert [b["name"] for b in out["blocks"]] == ["W1", "b1"]


# ------------------------------------------------------------------ a cost that is not a function of theta alone

DROPOUT_NET = '''
import numpy as np


def forward_backward(params, data, keep_prob=KEEP):
    """The course's two-layer net with inverted dropout on the hidden layer (C2W1), unseeded."""
    X, Y = data["X"], data["Y"]
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    m = X.shape[1]
    Z1 = W1 @ X + b1
    A1 = np.maximum(Z1, 0)
    D1 = (np.random.rand(*A1.shape) < keep_prob) / keep_prob
    A1 = A1 * D1
    Z2 = W2 @ A1 + b2
    A2 = 1 / (1 + np.exp(-Z2))
    cost = -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))
    dZ2 = A2 - Y
    dW2 = dZ2 @ A1.T / m
    db2 = dZ2.sum(axis=1, keepdims=True) / m
    dZ1 = (W2.T @ dZ2) * D1 * (Z1 > 0)
    dW1 = dZ1 @ X.T / m
    db1 = dZ1.sum(axis=1, keepdims=True) / m
    return cost, {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
'''


def test_dropout_in_the_cost_is_named_and_exits_2(tmp_path):
    """ACCEPTANCE (issue 11): a user function with dropout makes gradcheck exit 2 with a message that
    names the non-deterministic cost and the course's remedy, before any coordinate is checked."""
    (tmp_path / "dropout_net.py").write_text(DROPOUT_NET.replace("KEEP", "0.8"))
    spec = f"{tmp_path / 'dropout_net.py'}:forward_backward"
    error = assert_error(gradcheck(spec, "--params", SAMPLE_PARAMS, "--data", SAMPLE_DATA))
    match = re.fullmatch(rf"Error: {re.escape(spec)}: the cost is not deterministic: two evaluations at the same "
                         r"parameters gave (\S+) and (\S+) - gradient checking needs J\(theta\) to depend on theta "
                         r"alone: turn dropout off \(keep_prob = 1, as the course does while checking\) and any "
                         r"other randomness \(sampling, shuffling\), or fix its seed inside the function", error)
    assert match, error
    assert float(match[1]) != float(match[2])
    for mode in (["--sample", "3"], ["--fast", "2"], ["--format", "table"]):
        assert_error(gradcheck(spec, "--params", SAMPLE_PARAMS, "--data", SAMPLE_DATA, *mode), "not deterministic")
    # keep_prob = 1: the same network is deterministic and checks out
    (tmp_path / "no_dropout_net.py").write_text(DROPOUT_NET.replace("KEEP", "1.0"))
    result = gradcheck(f"{tmp_path / 'no_dropout_net.py'}:forward_backward", "--params", SAMPLE_PARAMS,
                       "--data", SAMPLE_DATA)
    assert result.exit_code == 0, result.stderr
    assert report(result)["passed"] is True


def test_other_user_errors_name_the_function(example):
    error = assert_error(user_check("missing_key", example))
    assert error.startswith(f"Error: {NETS}:missing_key: grads has no 'db2'"), error


def test_help_names_the_course_section():
    from clitools import help_text

    text = " ".join(help_text("gradcheck").split())
    assert 'Course: C2W1 "Gradient checking"' in text
    assert "keep_prob = 1" in text
