"""``dltool conv-shape`` from the command line, in-process with click's CliRunner (stdout is not a
terminal there: CSV unless ``--format``).

The numbers are the issue's acceptance figures, worked out by hand: the presets' published
parameter totals, the course's LeNet-5 table (with the two counts the course prints wrong), and the
inception "computational cost" example (120,422,400 multiplies, 12,443,648 with a 1x1 bottleneck).
Fixtures: ``tests/data/conv_shape/`` (lenet5.spec: LeNet-5 written out with comments and blank
lines; custom.spec: dilation, groups, ceil mode, avg pools, gap, bn and add/concat blocks, with its
totals by hand; impossible.spec: a filter larger than its input on line 5).
"""

import csv
import io
import json
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

from clitools import ROOT, assert_error, examples, help_text, ok, option_docs, run
from dltool.core.convshape import DTYPES, analyze
from dltool.core.presets import PRESETS, preset_network

DATA = ROOT / "tests" / "data" / "conv_shape"
LENET_FILE = DATA / "lenet5.spec"
CUSTOM_FILE = DATA / "custom.spec"
IMPOSSIBLE_FILE = DATA / "impossible.spec"

#: preset -> published parameter count (the issue's list).
PUBLISHED = {
    "lenet5": 62_006,
    "alexnet": 62_378_344,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
    "resnet18": 11_689_512,
    "inception-3a": 163_696,
}

#: The course's LeNet-5: (name, shape, activation size, correct params, MACs).
LENET_ROWS = [
    ("input", [32, 32, 3], 3072, 0, 0),
    ("CONV1", [28, 28, 6], 4704, 456, 28 * 28 * 6 * 5 * 5 * 3),
    ("POOL1", [14, 14, 6], 1176, 0, 0),
    ("CONV2", [10, 10, 16], 1600, 2416, 10 * 10 * 16 * 5 * 5 * 6),
    ("POOL2", [5, 5, 16], 400, 0, 0),
    ("FC3", [120], 120, 48120, 120 * 400),
    ("FC4", [84], 84, 10164, 84 * 120),
    ("softmax1", [10], 10, 850, 10 * 84),
]

INCEPTION_NAIVE = "28x28x192 | conv f=5 c=32 p=same"
INCEPTION_BOTTLENECK = "28x28x192 | conv f=1 c=16 | conv f=5 c=32 p=same"

LAYER_KEYS = {"number", "name", "kind", "spec", "shape", "size", "weights", "biases", "params", "non_trainable",
              "macs", "receptive_field", "jump", "padding", "parent", "branch", "notes", "explain", "course"}
CSV_COLUMNS = ["number", "name", "kind", "spec", "shape", "size", "weights", "biases", "params", "macs",
               "receptive_field", "jump", "notes"]


def conv(*args, input=None):
    return run("conv-shape", *args, input=input)


def report(*args, input=None):
    result = ok("conv-shape", *args, "--format", "json", input=input)
    return json.loads(result.stdout)


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def assert_usage_error(result, *contains):
    """click's usage error: exit 2, nothing on stdout, an ``Error: `` line on stderr."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    for text in contains:
        assert text in errors[0], (text, errors[0])


# ------------------------------------------------------------------ presets against the published totals


@pytest.mark.parametrize("preset", list(PUBLISHED))
def test_every_preset_reproduces_its_published_parameter_count(preset):
    data = report("--preset", preset)
    assert data["network"] == preset
    assert data["totals"]["params"] == PUBLISHED[preset]
    assert data["totals"]["params"] == data["totals"]["weights"] + data["totals"]["biases"]
    assert data["totals"]["params"] == sum(layer["params"] for layer in data["layers"])
    assert data["totals"]["macs"] == sum(layer["macs"] for layer in data["layers"])
    # a preset's name also works as the SPEC argument
    assert report(preset)["totals"] == data["totals"]


def test_presets_cover_the_published_list():
    assert set(PRESETS) == set(PUBLISHED)
    assert {name: p.params for name, p in PRESETS.items()} == PUBLISHED


def test_vgg16_table_prints_the_published_total():
    result = ok("conv-shape", "--preset", "vgg16", "--format", "table")
    assert "138,357,544" in result.stdout
    title = result.stdout.strip().splitlines()[0]
    assert "vgg16" in title and "138,357,544 parameters" in title
    # torchvision's 15.47 GFLOPS (multiply-adds)
    assert "15,470,264,320" in result.stdout
    assert re.search(r"memory \(float32\): activations [\d,.]+ MiB for a batch of 1", result.stdout)


@pytest.mark.parametrize("preset, macs, output", [
    ("vgg16", 15_470_264_320, [1000]),
    ("resnet18", 1_814_073_344, [1000]),
    ("inception-3a", 128_049_152, [28, 28, 256]),  # the paper's "128M"
])
def test_preset_multiply_adds_and_output(preset, macs, output):
    data = report("--preset", preset)
    assert data["totals"]["macs"] == macs
    assert data["output"] == output


def test_resnet18_counts_batch_norm_buffers_apart():
    t = report("--preset", "resnet18")["totals"]
    # 20 batch norms over 4,800 channels in all: gamma, beta trained; running mean, variance buffers
    assert t["non_trainable"] == 9600


# ------------------------------------------------------------------ the course's LeNet-5


def test_lenet5_rows_json():
    data = report("--preset", "lenet5")
    got = [(r["name"], r["shape"], r["size"], r["params"], r["macs"]) for r in data["layers"]]
    assert got == [tuple(row) for row in LENET_ROWS]
    assert data["input"] == [32, 32, 3] and data["output"] == [10]
    assert data["totals"]["activations"] == 4704 + 1176 + 1600 + 400 + 120 + 84 + 10


def test_lenet5_rows_csv():
    result = ok("conv-shape", "--preset", "lenet5")  # auto in a pipe: CSV
    rows = csv_rows(result.stdout)
    assert [(r["name"], r["shape"], int(r["size"]), int(r["params"])) for r in rows] == [
        (name, "x".join(map(str, shape)), size, params) for name, shape, size, params, _ in LENET_ROWS]


def test_lenet5_table_rows():
    out = ok("conv-shape", "--preset", "lenet5", "--format", "table").stdout
    for name, shape, size, params, _ in LENET_ROWS[1:]:
        line = next(line for line in out.splitlines() if f" {name} " in line)
        assert "x".join(map(str, shape)) in line, line
        assert f"{size:,}" in line and f"{params:,}" in line, line
    assert "62,006 parameters" in out


def _explain_blocks(text):
    """{row name: [lines]} of the --explain section."""
    blocks, current = {}, None
    for line in text.splitlines():
        m = re.match(r"^(\S+) \((.*)\):$", line)
        if m:
            current = blocks.setdefault(m.group(1), [])
        elif current is not None and line.startswith("  "):
            current.append(line.strip())
        elif not line.strip():
            current = None
    return blocks


@pytest.mark.parametrize("name, course, correct", [
    ("CONV2", "416", "2,416"),
    ("FC3", "48,001", "48,120"),
    ("FC4", "10,081", "10,164"),
    ("softmax1", "841", "850"),
])
def test_lenet5_explain_shows_the_course_count_beside_the_correct_one(name, course, correct):
    out = ok("conv-shape", "--preset", "lenet5", "--explain", "--format", "table").stdout
    blocks = _explain_blocks(out)
    lines = blocks[name]
    course_lines = [line for line in lines if line.startswith("course:")]
    assert len(course_lines) == 1, lines
    assert course_lines[0].startswith(f"course: {course} ") and f"correct: {correct} " in course_lines[0]
    text = "\n".join(lines)
    assert text.count(f"course: {course}") == 1
    assert text.count(f"correct: {correct}") == 1
    # the arithmetic line carries the correct count once too
    assert len([line for line in lines if line.startswith("params ") and f"= {correct}" in line]) == 1
    # the rows the course got right carry no course line
    for other in ("CONV1", "POOL1", "POOL2"):
        assert not [line for line in blocks[other] if "course" in line]


def test_lenet5_explain_says_what_the_course_did_wrong():
    blocks = _explain_blocks(ok("conv-shape", "--preset", "lenet5", "--explain", "--format", "table").stdout)
    conv2 = next(line for line in blocks["CONV2"] if line.startswith("course:"))
    assert "416 = 16·(5·5+1)" in conv2 and "2,416 = (5·5·6+1)·16" in conv2
    fc3 = next(line for line in blocks["FC3"] if line.startswith("course:"))
    assert "48,001 = 120·400+1" in fc3 and "48,120 = 120·400+120" in fc3


def test_lenet5_json_carries_the_course_note_once():
    rows = {r["name"]: r for r in report("--preset", "lenet5")["layers"]}
    for name, course in (("CONV2", "416"), ("FC3", "48,001")):
        r = rows[name]
        assert r["course"].startswith(f"course: {course}")
        assert r["explain"].count(r["course"]) == 1
    assert rows["CONV1"]["course"] is None


def test_without_explain_the_table_has_no_arithmetic():
    out = ok("conv-shape", "--preset", "lenet5", "--format", "table").stdout
    assert "course:" not in out and "CONV2 (" not in out


# ------------------------------------------------------------------ the inception cost example


def test_inception_naive_5x5_costs_120_million_multiplies():
    data = report(INCEPTION_NAIVE)
    conv1 = data["layers"][1]
    assert conv1["shape"] == [28, 28, 32]
    assert conv1["macs"] == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
    assert data["totals"]["macs"] == 120_422_400
    assert conv1["padding"] == [2, 2, 2, 2]
    csv_row = csv_rows(ok("conv-shape", INCEPTION_NAIVE).stdout)[1]
    assert csv_row["macs"] == "120422400"
    table = ok("conv-shape", INCEPTION_NAIVE, "--format", "table").stdout
    assert "120,422,400 multiply-adds" in table


def test_inception_bottleneck_costs_12_million_multiplies():
    data = report(INCEPTION_BOTTLENECK)
    first, second = data["layers"][1:]
    assert first["shape"] == [28, 28, 16] and first["macs"] == 28 * 28 * 16 * 192 == 2_408_448
    assert second["shape"] == [28, 28, 32] and second["macs"] == 28 * 28 * 32 * 5 * 5 * 16 == 10_035_200
    assert data["totals"]["macs"] == 12_443_648
    assert data["network"] == INCEPTION_BOTTLENECK


# ------------------------------------------------------------------ where the spec comes from


def _shape_table(data):
    return [(r["shape"], r["size"], r["params"], r["macs"], r["receptive_field"], r["jump"]) for r in data["layers"]]


def test_spec_from_a_file_with_comments_and_blank_lines():
    data = report(LENET_FILE)
    assert data["network"] == str(LENET_FILE)
    assert data["totals"]["params"] == 62_006
    assert _shape_table(data) == _shape_table(report("--preset", "lenet5"))
    assert [r["name"] for r in data["layers"]] == ["input", "conv1", "maxpool1", "conv2", "maxpool2", "fc1", "fc2",
                                                   "softmax1"]


def test_spec_from_stdin():
    text = LENET_FILE.read_text()
    from_stdin = ok("conv-shape", "-", input=text)
    from_file = ok("conv-shape", LENET_FILE)
    assert from_stdin.stdout == from_file.stdout
    data = report("-", input=text)
    assert data["totals"]["params"] == 62_006


def test_spec_text_with_new_lines_is_the_same_as_with_bars():
    multiline = "32x32x3\nconv f=5 c=6\nmaxpool f=2 s=2\nfc 10\n"
    bars = "32x32x3 | conv f=5 c=6 | maxpool f=2 s=2 | fc 10"
    assert _shape_table(report(multiline)) == _shape_table(report(bars))


# ------------------------------------------------------------------ output formats


def test_csv_header_and_rows():
    result = ok("conv-shape", INCEPTION_BOTTLENECK, "--format", "csv")
    lines = result.stdout.splitlines()
    assert lines[0] == ",".join(CSV_COLUMNS)
    assert lines[1:] == [
        "0,input,input,28x28x192,28x28x192,150528,0,0,0,0,1,1,",
        "1,conv1,conv,conv f=1 c=16,28x28x16,12544,3072,16,3088,2408448,1,1,",
        "2,conv2,conv,conv f=5 c=32 p=same,28x28x32,25088,12800,32,12832,10035200,5,1,",
    ]
    assert result.stdout.endswith("\n") and "\r" not in result.stdout


def test_csv_of_a_whole_input_layer_leaves_rf_empty_and_keeps_notes():
    rows = csv_rows(ok("conv-shape", "--preset", "lenet5", "--format", "csv").stdout)
    fc3 = next(r for r in rows if r["name"] == "FC3")
    assert fc3["receptive_field"] == "" and fc3["jump"] == ""
    assert fc3["notes"] == "flattens 5x5x16 = 400 inputs"


def test_json_keys():
    data = report("--preset", "inception-3a")
    assert set(data) == {"network", "input", "output", "layers", "totals", "memory"}
    assert set(data["totals"]) == {"params", "weights", "biases", "non_trainable", "macs", "activations"}
    assert set(data["memory"]) == {"batch", "dtype", "activation_bytes", "parameter_bytes"}
    for layer in data["layers"]:
        assert set(layer) == LAYER_KEYS, layer["name"]
        assert "seconds" not in layer
    assert data["input"] == [28, 28, 192]
    concat = next(r for r in data["layers"] if r["kind"] == "concat")
    members = [r for r in data["layers"] if r["parent"] == concat["name"]]
    assert {r["branch"] for r in members} == {1, 2, 3, 4}


def test_auto_format_in_a_pipe_is_csv():
    assert ok("conv-shape", INCEPTION_NAIVE).stdout == ok("conv-shape", INCEPTION_NAIVE, "--format", "csv").stdout


# ------------------------------------------------------------------ memory


@pytest.mark.parametrize("preset, batch, dtype", [
    ("lenet5", 1, "float32"),
    ("resnet18", 32, "float16"),
    ("vgg16", 8, "bfloat16"),
    ("inception-3a", 3, "float64"),
    ("alexnet", 5, "int8"),
])
def test_memory_for_batch_and_dtype(preset, batch, dtype):
    data = report("--preset", preset, "--batch", batch, "--dtype", dtype)
    summary = analyze(preset_network(preset))
    t = data["totals"]
    assert data["memory"] == {"batch": batch, "dtype": dtype,
                              "activation_bytes": summary.activation_bytes(batch, dtype),
                              "parameter_bytes": summary.param_bytes(dtype)}
    # activations: every row's output, the input excluded (as the code documents)
    assert t["activations"] == sum(r["size"] for r in data["layers"][1:])
    assert data["memory"]["activation_bytes"] == t["activations"] * batch * DTYPES[dtype]
    assert data["memory"]["parameter_bytes"] == t["params"] * DTYPES[dtype]


def test_memory_line_in_the_table():
    out = ok("conv-shape", "--preset", "resnet18", "--batch", "32", "--dtype", "float16", "--format", "table").stdout
    mib = 8_230_376 * 32 * 2 / 2 ** 20
    assert f"memory (float16): activations {mib:,.1f} MiB for a batch of 32" in out
    assert f"parameters {11_689_512 * 2 / 2 ** 20:,.1f} MiB" in out


@pytest.mark.parametrize("args", [["--batch", "0"], ["--batch", "x"], ["--dtype", "float8"]])
def test_bad_batch_or_dtype(args):
    assert_usage_error(conv("--preset", "lenet5", *args))


# ------------------------------------------------------------------ --list-presets


def test_list_presets_csv():
    result = ok("conv-shape", "--list-presets")
    rows = csv_rows(result.stdout)
    assert result.stdout.splitlines()[0] == "name,parameters,description"
    assert {r["name"]: int(r["parameters"]) for r in rows} == PUBLISHED
    for r in rows:
        assert f"{PUBLISHED[r['name']]:,}" in r["description"]


def test_list_presets_json():
    data = json.loads(ok("conv-shape", "--list-presets", "--format", "json").stdout)
    assert [d["name"] for d in data] == list(PRESETS)
    assert {d["name"]: d["parameters"] for d in data} == PUBLISHED
    assert all(set(d) == {"name", "parameters", "description"} for d in data)


def test_list_presets_table():
    out = ok("conv-shape", "--list-presets", "--format", "table").stdout
    assert "conv-shape presets" in out
    for name, params in PUBLISHED.items():
        assert name in out and f"{params:,}" in out


# ------------------------------------------------------------------ impossible layers


@pytest.mark.parametrize("spec, contains", [
    # filter larger than the input
    ("5x5x3 | conv f=7 c=2", ["layer 1 'conv f=7 c=2' on 5x5x3", "(5 + 2·0 − 7)/1 + 1 = −1",
                              "filter is larger than the input"]),
    ("8x8x3 | conv f=3 c=4 | pool f=9", ["layer 2 'pool f=9' on 6x6x4", "⌊(6 + 2·0 − 9)/9⌋ + 1 = 0",
                                         "window is larger than the input"]),
    ("4x4x3 | conv f=7 c=2 p=1", ["layer 1", "(4 + 2·1 − 7)/1 + 1 = 0", "larger than the padded input"]),
    ("9x4x3 | conv f=5 c=2", ["layer 1 'conv f=5 c=2' on 9x4x3", "n_W = (4 + 2·0 − 5)/1 + 1 = 0"]),
    # add with mismatched channels
    ("8x8x3 | add[ conv f=3 p=same c=4 ; ]", ["layer 1", "on 8x8x3", "an add needs equal shapes",
                                              "branch 1 8x8x4 + branch 2 8x8x3 (identity)"]),
    ("8x8x3 | add[ conv f=3 c=3 ; ]", ["an add needs equal shapes", "branch 1 6x6x3 + branch 2 8x8x3"]),
    # concat with mismatched sizes
    ("8x8x3 | concat[ conv f=3 c=4 ; conv f=1 c=4 ]", ["layer 1", "a concat needs equal n_H x n_W",
                                                        "branch 1 6x6x4, branch 2 8x8x4"]),
    # groups not dividing the channels
    ("8x8x6 | conv f=3 c=4 g=4", ["layer 1 'conv f=3 c=4 g=4' on 8x8x6", "n_C_prev = 6 is not divisible by g=4"]),
    ("8x8x6 | conv f=3 c=5 g=3", ["layer 1 'conv f=3 c=5 g=3' on 8x8x6", "c = 5 filters is not divisible by g=3"]),
    # a conv after an fc layer
    ("8x8x3 | fc 10 | conv f=1 c=2", ["layer 2 'conv f=1 c=2' on 10", "needs an n_H x n_W x n_C input"]),
])
def test_impossible_layer_exits_2_naming_it(spec, contains):
    assert_error(conv(spec), *contains)


def test_impossible_layer_in_a_file_gives_file_and_line():
    line = assert_error(conv(IMPOSSIBLE_FILE), "layer 2 'conv f=5 c=8' on 4x4x4", "(4 + 2·0 − 5)/1 + 1 = 0")
    assert line.startswith(f"Error: {IMPOSSIBLE_FILE}:5: ")


def test_impossible_layer_from_stdin_gives_the_line():
    line = assert_error(conv("-", input=IMPOSSIBLE_FILE.read_text()), "layer 2")
    assert line.startswith("Error: <stdin>:5: ")


def test_impossible_layer_with_run_is_still_one_error_line():
    assert_error(conv("5x5x3 | conv f=7 c=2", "--run"), "layer 1")


# ------------------------------------------------------------------ spec parse errors


@pytest.mark.parametrize("spec, contains", [
    ("8x8x3 | foo 3", ["layer 1 'foo 3'", "unknown layer 'foo'"]),
    ("8x8x3 | cnov f=3 c=2", ["unknown layer 'cnov'", "did you mean conv?"]),
    ("8x8x3 | conv f=3 c=2 z=1", ["layer 1", "unknown option z", "conv takes f, c, s"]),
    ("8x8x3 | conv f=x c=2", ["layer 1 'conv f=x c=2'", "f=x: expected a whole number >= 1"]),
    ("8x8x3 | conv f=0 c=2", ["f=0: expected a whole number >= 1"]),
    ("8x8x3 | conv f=3 c=2 p=half", ["p=half: expected same, valid or a whole number >= 0"]),
    ("8x8x3 | dropout 1.5", ["rate in [0, 1)"]),
    ("8x8x3 | conv f=3", ["conv needs c="]),
    ("8x8x3 | fc", ["fc needs units="]),
    ("8x8x3 | conv f=3 c=2 f=5", ["option f given twice"]),
    ("8x8x3 | add[ conv f=1 c=3 ; ", ["layer 1", "is never closed: add a ']'"]),
    ("8x8x3 | conv f=1 c=3 ]", ["unexpected ']' after layer 1"]),
    ("8x8x3 | conv f=1 c=3 ; relu", ["unexpected ';' after layer 1"]),
    ("8x8x3 | add[ conv f=1 c=3 ]", ["add needs at least two branches"]),
    ("8x8x3 | add conv f=1 c=3", ["add joins branches"]),
    ("conv f=3 c=2 | relu", ["starts with the input shape", "32x32x3"]),
    ("8x8x3", ["no layers after the input shape 8x8x3"]),
    ("", ["empty spec"]),
    ("8x8x3 | maxpool f=2 p=same ceil=1", ["ceil=1 rounds up the explicit-padding formula"]),
])
def test_spec_parse_errors_exit_2(spec, contains):
    assert_error(conv(spec), *contains)


def test_parse_error_in_a_multiline_spec_names_the_line():
    assert_error(conv("8x8x3\nconv f=3 c=2\nfoo\n"), "line 3", "unknown layer 'foo'")


def test_neither_spec_nor_preset_exits_2():
    assert_error(conv(), "give a SPEC", "--preset")


def test_spec_and_preset_together_exit_2():
    assert_error(conv(INCEPTION_NAIVE, "--preset", "lenet5"), "give a SPEC", "--preset")


def test_unknown_preset_is_a_usage_error():
    assert_usage_error(conv("--preset", "vgg11"), "--preset")


# ------------------------------------------------------------------ --run


@pytest.mark.parametrize("spec", ["lenet5", "inception-3a", "resnet18", "alexnet"])
def test_run_confirms_every_preset_shape(spec):
    result = ok("conv-shape", "--preset", spec, "--run", "--format", "json")
    data = json.loads(result.stdout)
    assert data["totals"]["params"] == PUBLISHED[spec]
    assert "every shape matches the table" in result.stderr
    for layer in data["layers"][1:]:
        assert isinstance(layer["seconds"], float) and layer["seconds"] >= 0, layer["name"]
    assert "seconds" not in data["layers"][0]  # the input is not run
    # --run changes nothing else
    plain = report("--preset", spec)
    assert [{k: v for k, v in layer.items() if k != "seconds"} for layer in data["layers"]] == plain["layers"]


CUSTOM_ROWS = [  # by hand: (name, kind, shape, params, macs, rf)
    ("input", "input", [17, 15, 4], 0, 0, 1),
    ("conv1", "conv", [17, 15, 8], 296, 17 * 15 * 8 * 3 * 3 * 4, 5),
    ("bn1", "bn", [17, 15, 8], 16, 0, 5),
    ("relu1", "relu", [17, 15, 8], 0, 0, 5),
    ("conv2", "conv", [9, 8, 8], 80, 9 * 8 * 8 * 3 * 3 * 1, 7),
    ("conv3", "conv", [9, 8, 16], 48, 9 * 8 * 16 * 2, 7),
    ("avgpool1", "avgpool", [5, 5, 16], 0, 0, 11),
    ("conv4", "conv", [5, 5, 16], 2304, 5 * 5 * 16 * 3 * 3 * 16, 19),
    ("bn2", "bn", [5, 5, 16], 32, 0, 19),
    ("relu2", "relu", [5, 5, 16], 0, 0, 19),
    ("add1", "add", [5, 5, 16], 0, 0, 19),
    ("maxpool1", "maxpool", [3, 3, 16], 0, 0, 23),
    ("conv5", "conv", [2, 2, 32], 4640, 2 * 2 * 32 * 3 * 3 * 16, 39),
    ("conv6", "conv", [2, 2, 32], 544, 2 * 2 * 32 * 16, 23),
    ("add2", "add", [2, 2, 32], 0, 0, 39),
    ("conv7", "conv", [2, 2, 8], 264, 2 * 2 * 8 * 32, 39),
    ("avgpool2", "avgpool", [2, 2, 32], 0, 0, 71),
    ("concat1", "concat", [2, 2, 40], 0, 0, 71),
    ("gap1", "gap", [1, 1, 40], 0, 0, None),
    ("flatten1", "flatten", [40], 0, 0, None),
    ("dropout1", "dropout", [40], 0, 0, None),
    ("fc1", "fc", [10], 410, 400, None),
    ("softmax1", "softmax", [10], 0, 0, None),
]


def test_custom_spec_table_by_hand():
    data = report(CUSTOM_FILE)
    assert [(r["name"], r["kind"], r["shape"], r["params"], r["macs"], r["receptive_field"])
            for r in data["layers"]] == [tuple(r) for r in CUSTOM_ROWS]
    assert data["totals"]["params"] == 8_634
    assert data["totals"]["macs"] == 160_432
    assert data["totals"]["activations"] == 10_836
    assert data["totals"]["non_trainable"] == 48


def test_run_on_a_custom_spec_with_every_kind_of_layer():
    result = ok("conv-shape", CUSTOM_FILE, "--run", "--format", "json")
    data = json.loads(result.stdout)
    assert [r["shape"] for r in data["layers"]] == [r[2] for r in CUSTOM_ROWS]
    assert all("seconds" in r for r in data["layers"][1:])
    assert "through 22 layers" in result.stderr and "every shape matches the table" in result.stderr


def test_run_adds_a_seconds_column_to_csv_and_ms_to_the_table():
    rows = csv_rows(ok("conv-shape", "--preset", "lenet5", "--run", "-q").stdout)
    assert list(rows[0])[-1] == "seconds"
    assert rows[0]["seconds"] == "" and all(float(r["seconds"]) >= 0 for r in rows[1:])
    result = ok("conv-shape", "--preset", "lenet5", "--run", "-q", "--format", "table")
    assert result.stderr == ""
    assert "ms" in result.stdout.splitlines()[2]


def test_conv_shape_without_run_does_not_import_numba():
    code = ("import io, sys\n"
            "from dltool.cli import cli\n"
            "real, sys.stdout = sys.stdout, io.StringIO()\n"
            "rc = cli.main(['conv-shape', '--preset', 'vgg16', '--format', 'json'], standalone_mode=False)\n"
            "out, sys.stdout = sys.stdout.getvalue(), real\n"
            "import json\n"
            "print(rc, json.loads(out)['totals']['params'])\n"
            "print('numba' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == ["0 138357544", "False"]


def test_conv_shape_help_does_not_import_numba():
    code = ("import sys\n"
            "from dltool.cli import cli\n"
            "rc = cli.main(['conv-shape', '--help'], standalone_mode=False)\n"
            "print(rc, 'numba' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.stdout.splitlines()[-1] == "0 False", result.stderr


# ------------------------------------------------------------------ --help


def test_help_documents_every_option_and_its_default():
    for name, (param, doc) in option_docs("conv-shape").items():
        if param.is_flag or param.default is None:
            continue
        assert "[default:" in doc, f"{name} does not show its default: {doc!r}"


def test_help_examples_run():
    lines = examples(help_text("conv-shape"))
    assert len(lines) >= 5
    for line in lines:
        assert line.startswith("dltool conv-shape ")
    env = {**os.environ, "PATH": f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    procs = [(line, subprocess.Popen(["bash", "-c", line], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)) for line in lines]
    failed = []
    for line, proc in procs:
        out, err = proc.communicate(timeout=120)
        if proc.returncode != 0 or not out:
            failed.append((line, proc.returncode, err))
    assert not failed


def test_help_examples_quote_their_specs():
    for line in examples(help_text("conv-shape")):
        words = shlex.split(line)
        specs = [w for w in words[2:] if "|" in w]
        for spec in specs:
            assert report(spec)["totals"]["params"] > 0
