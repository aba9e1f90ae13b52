"""``dltool init`` from the command line, in-process with click's CliRunner (stdout is not a
terminal there: JSON unless ``--format table``).

What the issue asks of it: each method's sample std within a tolerance of its formula for large
layers (2% at 8 million weights, where the sampling error is about 0.03%); seeds reproducible;
files that load in numpy (no pickles) and in ``dltool gradcheck``; ``--probe`` showing the std
decaying under the course's x0.01 and staying within a factor 2 across 50 ReLU layers under He.
Fixtures: ``tests/data/conv_shape/small_conv.spec`` (a depthwise conv, a grouped 1x1 conv, gap, fc).
"""

import json
import math
import os
import pathlib
import re
import shlex
import subprocess
import sys

import click
import numpy as np
import pytest

from clitools import ROOT, assert_error, examples, help_text, ok, option_docs, run
from dltool.cli import cli

CONV_SPEC_FILE = ROOT / "tests" / "data" / "conv_shape" / "small_conv.spec"
COURSE_LAYERS = "12288,20,7,5,1"
COURSE_SHAPES = [(20, 12288), (7, 20), (5, 7), (1, 5)]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TRUNCATED_STD = 0.87962566103423978  # std of N(0, 1) truncated at +-2


def init(*args, input=None):
    return run("init", *args, input=input)


def report(*args, input=None):
    result = ok("init", *args, input=input)
    return json.loads(result.stdout)


def strict_json(text):
    """json.loads that refuses NaN and Infinity (not JSON)."""
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def assert_usage_error(result, *contains):
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    for text in contains:
        assert text in errors[0], (text, errors[0])


def load(path):
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


# ------------------------------------------------------------------ defaults, table and JSON


def test_default_is_the_course_network_with_he_as_json():
    data = report()
    assert set(data) == {"method", "distribution", "seed", "layers", "parameters"}
    assert (data["method"], data["distribution"], data["seed"]) == ("he", "normal", 0)
    assert [layer["name"] for layer in data["layers"]] == ["W1", "W2", "W3", "W4"]
    assert [tuple(layer["shape"]) for layer in data["layers"]] == COURSE_SHAPES
    for layer, (n, n_prev) in zip(data["layers"], COURSE_SHAPES):
        assert set(layer) == {"name", "shape", "target_std", "std"}
        assert layer["target_std"] == pytest.approx(math.sqrt(2 / n_prev), rel=1e-12)
    assert data["parameters"] == sum(n * n_prev + n for n, n_prev in COURSE_SHAPES) == 245_973
    # the default --layers is the course's network
    assert report("--layers", COURSE_LAYERS) == data


def test_table_format():
    result = ok("init", "--format", "table")
    out = result.stdout
    assert "init he (normal), seed 0: 245,973 parameters" in out
    for name, shape in zip(["W1", "W2", "W3", "W4"], ["20x12288", "7x20", "5x7", "1x5"]):
        line = next(line for line in out.splitlines() if f" {name} " in line)
        assert shape in line
    assert "0.012758" in out  # sqrt(2 / 12288)
    assert "probe" not in out
    assert result.stderr == ""


def test_json_is_the_same_for_auto_and_json():
    assert ok("init", "--layers", "30,20,10").stdout == ok("init", "--layers", "30,20,10", "--format", "json").stdout


# ------------------------------------------------------------------ -o: a parameter file for numpy and gradcheck


def test_output_file_loads_in_numpy_without_pickles(tmp_path):
    path = tmp_path / "p.npz"
    result = ok("init", "--layers", COURSE_LAYERS, "--method", "he", "-o", path)
    assert "init: 4 layers, 245,973 parameters written to" in result.stderr
    data = json.loads(result.stdout)
    params = load(path)
    assert sorted(params) == ["W1", "W2", "W3", "W4", "b1", "b2", "b3", "b4"]
    for l, (shape, layer) in enumerate(zip(COURSE_SHAPES, data["layers"]), start=1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        assert W.shape == shape and W.dtype == np.float64
        assert b.shape == (shape[0], 1)
        assert not b.any()
        assert float(W.std()) == pytest.approx(layer["std"], rel=1e-12)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.npz"]  # no temporary left behind


def test_quiet_output_says_nothing_on_stderr(tmp_path):
    result = ok("init", "--layers", "4,3", "-o", tmp_path / "p.npz", "-q")
    assert result.stderr == ""
    assert (tmp_path / "p.npz").is_file()


def test_output_file_works_end_to_end_in_gradcheck(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ok("init", "--layers", COURSE_LAYERS, "--method", "he", "-o", "p.npz")
    result = ok("gradcheck", "--model", "mlp", "--layers", COURSE_LAYERS, "--params", "p.npz", "--format", "json")
    data = json.loads(result.stdout)
    assert data["passed"] is True
    assert data["checked"] == 245_973
    assert {b["name"] for b in data["blocks"]} >= {"W1", "b1", "W4", "b4"}


def test_output_into_a_missing_folder_writes_nothing(tmp_path):
    target = tmp_path / "missing" / "p.npz"
    assert_error(init("-o", target), "does not exist")
    assert not target.parent.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_bad_plot_name_stops_before_writing_the_output(tmp_path):
    out = tmp_path / "p.npz"
    assert_error(init("--layers", "10,10", "-o", out, "--probe", "--plot", tmp_path / "probe.jpg"), "PNG")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ methods, aliases, distributions

N_IN, N_OUT = 4000, 2000
FORMULAS = {
    "he": math.sqrt(2 / N_IN),
    "xavier": math.sqrt(1 / N_IN),  # the course's "Xavier"
    "lecun": math.sqrt(1 / N_IN),
    "glorot": math.sqrt(2 / (N_IN + N_OUT)),
    "random": 0.01,
    "zeros": 0.0,
}
METHODS = {  # --method -> (method, distribution) reported
    "zeros": ("zeros", "normal"), "random": ("random", "normal"), "he": ("he", "normal"),
    "xavier": ("xavier", "normal"), "glorot": ("glorot", "normal"), "lecun": ("lecun", "normal"),
    "he_normal": ("he", "truncated"), "he_uniform": ("he", "uniform"),  # Keras's HeNormal is truncated
    "kaiming_normal": ("he", "normal"), "kaiming_uniform": ("he", "uniform"),  # torch's kaiming_normal_ is not
    "glorot_normal": ("glorot", "truncated"), "glorot_uniform": ("glorot", "uniform"),  # Keras's GlorotNormal
    "xavier_normal": ("glorot", "normal"), "xavier_uniform": ("glorot", "uniform"),  # torch's xavier is glorot
    "lecun_normal": ("lecun", "truncated"), "lecun_uniform": ("lecun", "uniform"),  # Keras's lecun_normal
}


def test_every_method_choice_is_tested():
    cmd = cli.get_command(click.Context(cli), "init")
    method = next(p for p in cmd.params if p.name == "method")
    assert set(method.type.choices) == set(METHODS)


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_std_matches_its_formula(method):
    data = report("--layers", f"{N_IN},{N_OUT}", "--method", method)
    base, dist = METHODS[method]
    assert (data["method"], data["distribution"]) == (base, dist)
    (layer,) = data["layers"]
    assert layer["shape"] == [N_OUT, N_IN]
    assert layer["target_std"] == pytest.approx(FORMULAS[base], rel=1e-12)
    if base == "zeros":
        assert layer["std"] == 0.0
    else:
        assert abs(layer["std"] / layer["target_std"] - 1) < 0.02, layer


@pytest.mark.parametrize("distribution, bound", [("uniform", math.sqrt(3)), ("truncated", 2 / TRUNCATED_STD),
                                                 ("normal", None)])
def test_distribution_keeps_the_std_and_bounds_the_values(distribution, bound, tmp_path):
    path = tmp_path / "p.npz"
    data = report("--layers", f"{N_IN},{N_OUT}", "--method", "glorot", "--distribution", distribution, "-o", path)
    assert data["distribution"] == distribution
    target = FORMULAS["glorot"]
    assert abs(data["layers"][0]["std"] / target - 1) < 0.02
    W = load(path)["W1"]
    if bound:
        assert np.abs(W).max() <= bound * target * (1 + 1e-12)
        assert np.abs(W).max() > 0.99 * bound * target  # reaches (nearly) the edge
    else:
        assert np.abs(W).max() > 4 * target  # the normal's tails are there


def test_alias_with_a_different_distribution_exits_2():
    assert_error(init("--method", "he_uniform", "--distribution", "normal"), "he_uniform is he with a uniform")
    assert report("--layers", "10,10", "--method", "he_uniform", "--distribution", "uniform")["distribution"] == "uniform"


@pytest.mark.parametrize("args", [["--method", "bogus"], ["--distribution", "cauchy"]])
def test_unknown_method_or_distribution_is_a_usage_error(args):
    assert_usage_error(init(*args))


@pytest.mark.parametrize("method, gain, expected", [
    ("xavier", "tanh", 5 / 3 * math.sqrt(1 / N_IN)),
    ("glorot", "2.0", 2.0 * math.sqrt(2 / (N_IN + N_OUT))),
    ("xavier", "relu", math.sqrt(2 / N_IN)),  # = he
    ("he", "1", math.sqrt(1 / N_IN)),  # the gain replaces he's sqrt(2)
    ("lecun", "selu", 0.75 * math.sqrt(1 / N_IN)),
    ("random", "2", 0.02),
])
def test_gain(method, gain, expected):
    layer = report("--layers", f"{N_IN},{N_OUT}", "--method", method, "--gain", gain)["layers"][0]
    assert layer["target_std"] == pytest.approx(expected, rel=1e-12)
    assert abs(layer["std"] / expected - 1) < 0.02


@pytest.mark.parametrize("gain", ["bad", "-1", "0", "nan", "inf"])
def test_bad_gain_exits_2(gain):
    assert_error(init("--layers", "10,10", "--gain", gain), "--gain", repr(gain))


def test_scale_sets_the_std_of_random():
    layer = report("--layers", f"{N_IN},{N_OUT}", "--method", "random", "--scale", "0.05")["layers"][0]
    assert layer["target_std"] == 0.05
    assert abs(layer["std"] / 0.05 - 1) < 0.02
    # --scale is for --method random only
    he = report("--layers", f"{N_IN},{N_OUT}", "--method", "he", "--scale", "0.05")["layers"][0]
    assert he["target_std"] == pytest.approx(FORMULAS["he"])


@pytest.mark.parametrize("scale", ["-0.1", "nan"])
def test_bad_scale_exits_2(scale):
    assert_error(init("--method", "random", "--scale", scale), "--scale")


# ------------------------------------------------------------------ seeds


def test_same_seed_gives_byte_identical_files_and_json(tmp_path):
    a, b, c = tmp_path / "a.npz", tmp_path / "b.npz", tmp_path / "c.npz"
    ra = ok("init", "--seed", "7", "-o", a, "-q")
    rb = ok("init", "--seed", "7", "-o", b, "-q")
    rc = ok("init", "--seed", "8", "-o", c, "-q")
    assert a.read_bytes() == b.read_bytes()
    assert ra.stdout == rb.stdout
    assert a.read_bytes() != c.read_bytes()
    assert ra.stdout != rc.stdout
    assert json.loads(ra.stdout)["seed"] == 7


def test_same_seed_gives_the_same_probe():
    args = ["--layers", "50,50", "--depth", "5", "--probe", "--seed", "3"]
    assert ok("init", *args).stdout == ok("init", *args).stdout
    assert ok("init", *args).stdout != ok("init", *args[:-1], "4").stdout


# ------------------------------------------------------------------ --probe


def test_probe_json_has_a_row_per_layer():
    data = report("--layers", "60,40,30,20", "--probe", "--samples", "200", "--activation", "tanh")
    probe = data["probe"]
    assert set(probe) == {"activation", "samples", "layers"}
    assert (probe["activation"], probe["samples"]) == ("tanh", 200)
    assert [r["layer"] for r in probe["layers"]] == [1, 2, 3]
    assert [r["units"] for r in probe["layers"]] == [40, 30, 20]
    for r in probe["layers"]:
        assert set(r) == {"layer", "units", "act_mean", "act_std", "grad_std"}
        assert all(math.isfinite(r[k]) for k in ("act_mean", "act_std", "grad_std"))
        assert -1 < r["act_mean"] < 1 and 0 < r["act_std"] < 1  # tanh


def test_probe_with_depth_builds_n1_wide_layers():
    data = report("--layers", "30,20", "--depth", "4", "--probe")
    assert [tuple(layer["shape"]) for layer in data["layers"]] == [(20, 30), (20, 20), (20, 20), (20, 20)]
    assert len(data["probe"]["layers"]) == 4


def test_probe_shows_the_course_x001_vanishing():
    rows = report("--layers", "500,500", "--depth", "50", "--method", "random", "--probe")["probe"]["layers"]
    assert len(rows) == 50
    stds = [r["act_std"] for r in rows]
    assert stds[-1] < stds[0] / 1000
    assert all(later <= earlier for earlier, later in zip(stds, stds[1:]))


def test_probe_he_keeps_the_std_within_a_factor_2_over_50_relu_layers():
    rows = report("--layers", "500,500", "--depth", "50", "--method", "he", "--probe")["probe"]["layers"]
    assert len(rows) == 50
    stds = [r["act_std"] for r in rows]
    assert min(stds) > 0
    assert max(stds) / min(stds) < 2
    grads = [r["grad_std"] for r in rows]
    assert max(grads) / min(grads) < 2


def test_probe_table():
    out = ok("init", "--layers", "20,20", "--depth", "3", "--probe", "--format", "table").stdout
    assert "probe: 1000 standard-normal examples through relu layers" in out
    assert "activation std" in out and "gradient std" in out


def test_probe_of_exploding_activations_is_still_json():
    """Exploding is what --probe is for: activations that overflow must not crash the JSON."""
    result = init("--layers", "100,100", "--depth", "200", "--gain", "10", "--probe")
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    rows = strict_json(result.stdout)["probe"]["layers"]
    assert len(rows) == 200
    last = rows[-1]["act_std"]  # overflowed: null, a marker string or a huge number, but valid JSON
    assert last is None or isinstance(last, str) or last > 1e100


def test_plot_writes_a_png(tmp_path):
    png = tmp_path / "probe.png"
    result = ok("init", "--layers", "50,50", "--depth", "10", "--method", "random", "--probe", "--plot", png)
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    assert "probe plot written to" in result.stderr
    assert "probe" in json.loads(result.stdout)


def test_plot_without_probe_exits_2(tmp_path):
    assert_error(init("--layers", "10,10", "--plot", tmp_path / "probe.png"), "--probe")
    assert list(tmp_path.iterdir()) == []


def test_plot_must_be_a_png(tmp_path):
    assert_error(init("--layers", "10,10", "--probe", "--plot", tmp_path / "probe.jpg"), "PNG")
    assert list(tmp_path.iterdir()) == []


def test_depth_without_probe_exits_2():
    assert_error(init("--layers", "10,10", "--depth", "5"), "--depth", "--probe")


@pytest.mark.parametrize("args", [["--depth", "0"], ["--samples", "0"], ["--activation", "softplus"]])
def test_bad_probe_options_are_usage_errors(args):
    assert_usage_error(init("--layers", "10,10", "--probe", *args))


# ------------------------------------------------------------------ --spec: conv weights


def test_conv_spec_weights_have_the_course_shapes_and_he_std(tmp_path):
    path = tmp_path / "conv.npz"
    spec = "32x32x64 | conv f=3 c=128 | conv f=3 c=64 g=4 | pool f=2 s=2 | fc 10"
    data = report("--spec", spec, "-o", path)
    expected = [  # (W shape, fan-in)
        ((3, 3, 64, 128), 3 * 3 * 64),
        ((3, 3, 32, 64), 3 * 3 * 32),  # groups: each filter sees 128/4 of the channels
        ((10, 14 * 14 * 64), 14 * 14 * 64),
    ]
    params = load(path)
    assert sorted(params) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    for l, ((shape, fan_in), layer) in enumerate(zip(expected, data["layers"]), start=1):
        assert tuple(layer["shape"]) == shape
        assert params[f"W{l}"].shape == shape
        n_out = shape[-1] if len(shape) == 4 else shape[0]
        assert params[f"b{l}"].shape == (n_out, 1) and not params[f"b{l}"].any()
        assert layer["target_std"] == pytest.approx(math.sqrt(2 / fan_in), rel=1e-12)
        assert abs(layer["std"] / layer["target_std"] - 1) < 0.02
    assert data["parameters"] == sum(p.size for p in params.values())


def test_conv_spec_glorot_uses_torch_fans():
    layer = report("--spec", "32x32x64 | conv f=3 c=128", "--method", "glorot")["layers"][0]
    # fan_in f*f*n_C_prev, fan_out f*f*n_C
    assert layer["target_std"] == pytest.approx(math.sqrt(2 / (9 * 64 + 9 * 128)), rel=1e-12)


def test_spec_preset_name():
    data = report("--spec", "lenet5")
    assert [tuple(layer["shape"]) for layer in data["layers"]] == [
        (5, 5, 3, 6), (5, 5, 6, 16), (120, 400), (84, 120), (10, 84)]
    assert data["parameters"] == 62_006  # the same total as conv-shape --preset lenet5
    assert data["layers"][1]["target_std"] == pytest.approx(math.sqrt(2 / (5 * 5 * 6)))


def test_spec_from_a_file_and_from_stdin():
    from_file = report("--spec", CONV_SPEC_FILE)
    assert [tuple(layer["shape"]) for layer in from_file["layers"]] == [(3, 3, 1, 8), (1, 1, 2, 32), (5, 32)]
    assert [layer["target_std"] for layer in from_file["layers"]] == pytest.approx(
        [math.sqrt(2 / 9), math.sqrt(2 / 2), math.sqrt(2 / 32)])
    assert report("--spec", "-", input=CONV_SPEC_FILE.read_text()) == from_file


def test_spec_and_layers_together_exit_2():
    assert_error(init("--spec", "lenet5", "--layers", "3,4"), "--layers or --spec")


def test_probe_with_a_spec_exits_2():
    assert_error(init("--spec", "lenet5", "--probe"), "--probe")


def test_impossible_spec_exits_2_naming_the_layer():
    assert_error(init("--spec", "8x8x3 | conv f=9 c=2"), "layer 1 'conv f=9 c=2'", "larger than the input")
    assert_error(init("--spec", "8x8x3 | cnv f=3 c=2"), "unknown layer 'cnv'")


# ------------------------------------------------------------------ bad --layers


@pytest.mark.parametrize("layers", ["12288", "a,b", "4,0", "4,-1", "4,2.5", ",,"])
def test_bad_layers_exit_2_with_one_line(layers):
    assert_error(init("--layers", layers), "--layers", repr(layers))


# ------------------------------------------------------------------ --help


def test_help_documents_every_option_and_its_default():
    docs = option_docs("init")
    for name, (param, doc) in docs.items():
        if param.is_flag or param.default is None:
            continue
        assert "[default:" in doc, f"{name} does not show its default: {doc!r}"
    # options without a value default still say what happens when they are left out
    for name in ("layers", "spec", "distribution", "gain", "output", "depth", "plot"):
        assert "[default:" in docs[name][1], name


def test_help_examples_run(tmp_path):
    """Every example line runs in bash from the repository root, its output files sent to tmp_path."""
    lines = examples(help_text("init"))
    assert len(lines) >= 3
    env = {**os.environ, "PATH": f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    procs, outputs = [], []
    for line in lines:
        assert line.startswith("dltool init ")
        words = shlex.split(line)
        for flag in ("-o", "--output", "--plot"):
            if flag in words:
                i = words.index(flag) + 1
                target = tmp_path / f"{len(outputs)}-{pathlib.Path(words[i]).name}"
                words[i] = str(target)
                outputs.append(target)
        command = shlex.join(words)
        procs.append((command, subprocess.Popen(["bash", "-c", command], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                                stderr=subprocess.PIPE, text=True)))
    failed = []
    for command, proc in procs:
        out, err = proc.communicate(timeout=120)
        if proc.returncode != 0 or not out.strip():
            failed.append((command, proc.returncode, err))
        else:
            json.loads(out)
    assert not failed
    assert outputs, "the examples write no files"
    for target in outputs:
        assert target.is_file() and target.stat().st_size > 0, target
        if target.suffix == ".png":
            assert target.read_bytes()[:8] == PNG_SIGNATURE
        else:
            load(target)


def test_help_explains_the_xavier_naming_trap():
    text = " ".join(help_text("init").split())
    assert "lecun_normal" in text and "xavier" in text
    assert re.search(r"xavier_normal is torch's, i\.e\. glorot", text)


def test_acceptance_he_normal_is_keras_truncated(tmp_path):
    """ACCEPTANCE (issue 11): init --method he_normal on 1000x1000: max|w|/std <= 2.3 (Keras 2.27;
    a plain normal reaches 4.7) and the std within 1 % of sqrt(2/1000)."""
    path = tmp_path / "p.npz"
    data = report("--layers", "1000,1000", "--method", "he_normal", "-o", path)
    assert (data["method"], data["distribution"]) == ("he", "truncated")
    W = load(path)["W1"]
    assert W.shape == (1000, 1000)
    assert np.abs(W).max() / W.std() <= 2.3
    assert abs(W.std() / math.sqrt(2 / 1000) - 1) <= 0.01
    assert data["layers"][0]["std"] == pytest.approx(W.std(), rel=1e-12)
    torch = report("--layers", "1000,1000", "--method", "kaiming_normal", "-o", path)
    assert torch["distribution"] == "normal" and np.abs(load(path)["W1"]).max() / load(path)["W1"].std() > 4


def test_help_says_whose_names_are_whose():
    text = " ".join(help_text("init").split())
    assert "he_normal (Keras): he truncated" in text and "kaiming_normal (torch): he normal" in text
    assert "glorot_normal (Keras): glorot truncated" in text and "xavier_normal (torch): glorot normal" in text
    assert 'Course: C2W1 "Weight initialization for deep networks"' in text
