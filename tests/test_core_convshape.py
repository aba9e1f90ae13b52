"""conv-shape arithmetic (dltool.core.convshape, dltool.core.presets): the course's worked examples by
hand, the presets against their published totals, slow window-by-window references for output
sizes and receptive fields, and every class of bad spec."""

import math
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dltool.core.convshape import DTYPES, LAYER_KINDS, analyze, format_shape, parse_spec, weight_shapes
from dltool.core.presets import PRESETS, preset_network
from dltool.errors import InputError


def table(spec):
    return analyze(parse_spec(spec))


def row(spec, index=-1):
    return table(spec).rows[index]


# ---------------------------------------------------------------- the course's LeNet-5 table

LENET_TABLE = [
    # name, shape, activation size, parameters (correct), course's printed count
    ("input", (32, 32, 3), 3072, 0, None),
    ("CONV1", (28, 28, 6), 4704, 456, None),
    ("POOL1", (14, 14, 6), 1176, 0, None),
    ("CONV2", (10, 10, 16), 1600, 2416, 416),
    ("POOL2", (5, 5, 16), 400, 0, None),
    ("FC3", (120,), 120, 48120, 48001),
    ("FC4", (84,), 84, 10164, 10081),
    ("softmax1", (10,), 10, 850, 841),
]


def test_lenet5_course_table():
    summary = analyze(preset_network("lenet5"))
    got = [(r.name, r.shape, r.size, r.params, r.course_params) for r in summary.rows]
    assert got == LENET_TABLE
    conv2 = summary.rows[3]
    assert (conv2.weights, conv2.biases) == (5 * 5 * 6 * 16, 16)
    assert 2416 == (5 * 5 * 6 + 1) * 16 and 416 == 16 * (5 * 5 + 1)
    fc3 = summary.rows[5]
    assert (fc3.weights, fc3.biases) == (400 * 120, 120)
    assert 48120 == 120 * 400 + 120 and 48001 == 120 * 400 + 1
    assert summary.totals.params == 456 + 2416 + 48120 + 10164 + 850 == 62006
    assert summary.totals.activations == 4704 + 1176 + 1600 + 400 + 120 + 84 + 10
    assert summary.totals.input_size == 3072


def test_lenet5_explain_shows_both_counts():
    rows = {r.name: r for r in analyze(preset_network("lenet5")).rows}
    conv2 = rows["CONV2"]
    assert conv2.course_note == ("course: 416 = 16·(5·5+1), as if each filter saw one channel; correct: 2,416 = "
                                 "(5·5·6+1)·16, every filter spans all 6 input channels")
    assert conv2.course_note in conv2.explain
    assert "params (5·5·6+1)·16 = 2,416: weights 5·5·6·16 = 2,400, biases 16" in conv2.explain
    assert "n_H = n_W = (14 + 2·0 − 5)/1 + 1 = 10" in conv2.explain
    fc3 = rows["FC3"]
    assert fc3.course_note == ("course: 48,001 = 120·400+1, one bias for the whole layer; correct: 48,120 = "
                               "120·400+120, one bias per unit")
    assert "params 120·400+120 = 48,120: weights 120·400 = 48,000, one bias per unit (120)" in fc3.explain
    assert fc3.notes == ["flattens 5x5x16 = 400 inputs"]
    assert "10,081" in rows["FC4"].course_note and "10,164" in rows["FC4"].course_note
    assert "841" in rows["softmax1"].course_note and "850" in rows["softmax1"].course_note
    assert rows["CONV1"].course_note is None
    # every row explains itself
    assert all(r.explain for r in rows.values())


def test_course_note_when_the_course_agrees_or_differs_otherwise():
    assert row("8x8x3 | conv f=3 c=4 course=112").course_note == "course: 112, the same"
    assert row("8x8x3 | conv f=3 c=4 course=7").course_note == "course: 7; correct: 112"


def test_lenet5_receptive_fields_and_macs():
    rows = analyze(preset_network("lenet5")).rows
    assert [(r.rf, r.jump) for r in rows[:5]] == [(1, 1), (5, 1), (6, 2), (14, 2), (16, 4)]
    assert rows[5].rf is rows[5].jump is None  # an fc unit sees the whole input
    assert rows[1].macs == 28 * 28 * 6 * 5 * 5 * 3
    assert rows[5].macs == 400 * 120


# ---------------------------------------------------------------- presets against the published totals

PUBLISHED = {
    "lenet5": 62_006,
    "alexnet": 62_378_344,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
    "resnet18": 11_689_512,
    "inception-3a": 163_696,
}
# Multiply-adds of the conv and fc layers: torchvision lists 15.47 (vgg16), 19.63 (vgg19) and
# 1.81 (resnet18) GFLOPS; the GoogLeNet paper 128M for inception (3a).
MACS = {
    "lenet5": 651_720,
    "alexnet": 1_135_256_096,
    "vgg16": 15_470_264_320,
    "vgg19": 19_632_062_464,
    "resnet18": 1_814_073_344,
    "inception-3a": 128_049_152,
}


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_totals_equal_the_published_counts(name):
    summary = analyze(preset_network(name))
    assert summary.totals.params == PUBLISHED[name] == PRESETS[name].params
    assert f"{PUBLISHED[name]:,}" in PRESETS[name].description
    assert summary.totals.macs == MACS[name]


def test_presets_are_all_tested():
    assert set(PRESETS) == set(PUBLISHED) == set(MACS)


def test_alexnet_shapes_as_the_course_draws_them():
    rows = analyze(preset_network("alexnet")).rows
    shapes = [format_shape(r.shape) for r in rows if r.kind in ("conv", "maxpool", "fc", "softmax")]
    assert shapes == ["55x55x96", "27x27x96", "27x27x256", "13x13x256", "13x13x384", "13x13x384", "13x13x256",
                      "6x6x256", "4096", "4096", "1000"]
    assert "one tower" in PRESETS["alexnet"].description


def test_vgg16_by_hand():
    convs = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
             (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
    hand = sum((3 * 3 * a + 1) * b for a, b in convs) + (7 * 7 * 512 + 1) * 4096 + 4097 * 4096 + 4097 * 1000
    assert hand == 138_357_544
    rows = analyze(preset_network("vgg16")).rows
    assert [format_shape(r.shape) for r in rows if r.kind == "maxpool"] == [
        "112x112x64", "56x56x128", "28x28x256", "14x14x512", "7x7x512"]


def test_resnet18_structure():
    summary = analyze(preset_network("resnet18"))
    adds = [r for r in summary.rows if r.kind == "add"]
    assert [format_shape(r.shape) for r in adds] == ["56x56x64"] * 2 + ["28x28x128"] * 2 + ["14x14x256"] * 2 + \
        ["7x7x512"] * 2
    bns = [r for r in summary.rows if r.kind == "bn"]
    assert len(bns) == 20  # stem, 2 per block, 3 shortcuts
    assert summary.totals.non_trainable == sum(2 * r.shape[-1] for r in bns)
    assert all(r.biases == 0 for r in summary.rows if r.kind == "conv")
    assert format_shape(summary.output_shape) == "1000"
    shortcut = next(r for r in summary.rows if r.kind == "conv" and r.parent == "add3" and r.branch == 2)
    assert (shortcut.weight_shape, shortcut.shape) == ((1, 1, 64, 128), (28, 28, 128))
    # torchvision's stem pads 3 and drops a pixel: (224 + 6 − 7) = 223 is odd
    assert summary.rows[1].notes == ["(224 + 6 − 7) = 223 is not divisible by s=2: ⌊·⌋ drops the last 1 row and "
                                     "column of the padded input"]


def test_inception_3a_module():
    summary = analyze(preset_network("inception-3a"))
    join = summary.rows[-1]
    assert (join.kind, join.shape) == ("concat", (28, 28, 256))
    assert "stacked along channels: n_C = 64 + 128 + 32 + 32 = 256" in join.explain
    assert (join.rf, join.jump) == (5, 1)  # the 5x5 branch
    weights = 192 * 64 + 192 * 96 + 3 * 3 * 96 * 128 + 192 * 16 + 5 * 5 * 16 * 32 + 192 * 32
    assert summary.totals.weights == weights == 163_328  # the paper's "159K", K = 1024
    assert summary.totals.macs == 28 * 28 * weights


def test_unknown_preset():
    with pytest.raises(InputError, match="unknown preset 'vgg11'.*lenet5"):
        preset_network("vgg11")


# ---------------------------------------------------------------- the course's 1x1 bottleneck example


def test_inception_cost_example():
    direct = row("28x28x192 | conv f=5 p=same c=32")
    assert direct.shape == (28, 28, 32)
    assert direct.macs == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
    summary = table("28x28x192 | conv f=1 c=16 | conv f=5 p=same c=32")
    squeeze, expand = summary.rows[1:]
    assert squeeze.macs == 28 * 28 * 16 * 192 == 2_408_448
    assert expand.macs == 28 * 28 * 32 * 5 * 5 * 16 == 10_035_200
    assert summary.totals.macs == 12_443_648
    assert "MACs 28·28·32 outputs · 5·5·192 multiplies each = 120,422,400" in direct.explain


# ---------------------------------------------------------------- padding, stride, dilation, groups, ceil


@pytest.mark.parametrize("n, f, s, out, pads", [
    (5, 3, 2, 3, (1, 1)),
    (6, 3, 2, 3, (0, 1)),  # odd total padding: the extra pixel at the bottom/right
    (7, 5, 3, 3, (2, 2)),
    (32, 5, 1, 32, (2, 2)),
    (6, 1, 2, 3, (0, 0)),  # no padding needed, and the last pixel is never read
])
def test_same_padding_follows_tensorflow(n, f, s, out, pads):
    r = row(f"{n}x{n}x1 | conv f={f} s={s} p=same c=1")
    assert r.shape == (out, out, 1)
    assert r.padding == pads + pads
    assert out == math.ceil(n / s)


def test_same_padding_notes():
    assert row("6x6x1 | conv f=3 s=2 p=same c=1").notes == [
        "'same' pads 0 before and 1 after (TensorFlow puts the odd pixel at the bottom/right; PyTorch's "
        "padding='same' refuses s > 1)"]
    assert row("6x6x1 | conv f=1 s=2 p=same c=1").notes == [
        "(6 + 0 − 1) = 5 is not divisible by s=2: ⌊·⌋ drops the last 1 row and column of the padded input"]
    assert ("'same' (TensorFlow): n_H = n_W = ⌈6/2⌉ = 3; padding max((3 − 1)·2 + 3 − 6, 0) = 1: 0 before, "
            "1 after") in row("6x6x1 | conv f=3 s=2 p=same c=1").explain


def test_valid_is_no_padding():
    assert row("7x7x1 | conv f=3 p=valid c=1").shape == row("7x7x1 | conv f=3 p=0 c=1").shape == (5, 5, 1)


def test_not_divisible_note():
    r = row("32x32x3 | conv f=3 s=2 c=8")
    assert r.shape == (15, 15, 8)
    assert r.notes == ["(32 + 0 − 3) = 29 is not divisible by s=2: ⌊·⌋ drops the last 1 row and column of the "
                       "padded input"]
    assert "n_H = n_W = ⌊(32 + 2·0 − 3)/2⌋ + 1 = 15" in r.explain
    assert row("31x31x3 | conv f=3 s=2 c=8").notes == []
    wide = row("7x8x1 | pool f=2 s=2")
    assert wide.shape == (3, 4, 1)
    assert wide.notes == ["n_H: (7 + 0 − 2) = 5 is not divisible by s=2: ⌊·⌋ drops the last 1 row of the padded "
                          "input"]


def test_dilation():
    r = row("7x7x4 | conv f=3 d=2 c=8")
    assert r.shape == (3, 3, 8)  # f_eff = 2·(3 − 1) + 1 = 5
    assert r.params == (3 * 3 * 4 + 1) * 8  # dilation spreads the taps, it adds none
    assert (r.rf, r.jump) == (5, 1)
    assert "f_eff = d·(f − 1) + 1 = 2·(3 − 1) + 1 = 5" in r.explain
    assert row("7x7x4 | conv f=3 d=2 p=same c=8").shape == (7, 7, 8)


def test_groups_and_depthwise():
    dw = row("8x8x32 | conv f=3 p=same g=dw")
    assert dw.shape == (8, 8, 32)
    assert (dw.weights, dw.biases, dw.weight_shape) == (3 * 3 * 1 * 32, 32, (3, 3, 1, 32))
    assert dw.macs == 8 * 8 * 32 * 3 * 3
    assert any("depthwise" in line for line in dw.explain)
    assert row("8x8x32 | conv f=3 p=same g=32 c=32").params == dw.params
    grouped = row("8x8x32 | conv f=3 p=same g=4 c=64")
    assert grouped.weights == 3 * 3 * (32 // 4) * 64
    # MobileNet's depthwise separable conv vs a full 3x3 conv
    separable = table("8x8x32 | conv f=3 p=same g=dw bias=0 | conv f=1 c=64 bias=0").totals
    full = table("8x8x32 | conv f=3 p=same c=64 bias=0").totals
    assert (separable.params, full.params) == (3 * 3 * 32 + 32 * 64, 3 * 3 * 32 * 64)


def test_pool_ceil_mode():
    floor, ceil = row("5x5x1 | pool f=2 s=2"), row("5x5x1 | pool f=2 s=2 ceil=1")
    assert (floor.shape, ceil.shape) == ((2, 2, 1), (3, 3, 1))
    assert ceil.notes == ["ceil mode: the last window hangs 1 pixel past the padded input"]
    assert "n_H = n_W = ⌈(5 + 2·0 − 2)/2⌉ + 1 = 3" in ceil.explain
    # PyTorch's rule: a window may not start in the right padding (⌈4/3⌉ + 1 = 3 becomes 2)
    assert row("4x4x1 | pool f=2 s=3 p=1 ceil=1").shape == (2, 2, 1)
    # torchvision's GoogLeNet pools 112 -> 56 with ceil_mode=True
    assert row("112x112x64 | maxpool f=3 s=2 ceil=1").shape == (56, 56, 64)
    assert row("112x112x64 | maxpool f=3 s=2").shape == (55, 55, 64)


def test_pool_forms():
    assert row("8x8x3 | pool avg f=2").kind == row("8x8x3 | avgpool f=2").kind == "avgpool"
    r = row("8x8x3 | pool f=2")
    assert (r.kind, r.shape, r.params, r.macs) == ("maxpool", (4, 4, 3), 0, 0)  # stride defaults to f
    assert row("8x8x3 | pool f=3 s=1 p=same").shape == (8, 8, 3)


# ---------------------------------------------------------------- receptive field and jump


def test_receptive_field_by_hand():
    three = table("32x32x1 | conv f=3 c=1 | conv f=3 c=1 | conv f=3 c=1").rows
    assert [(r.rf, r.jump) for r in three] == [(1, 1), (3, 1), (5, 1), (7, 1)]
    strided = table("32x32x1 | conv f=3 s=2 c=1 | conv f=3 c=1").rows
    assert [(r.rf, r.jump) for r in strided] == [(1, 1), (3, 2), (7, 2)]
    assert "receptive field 3 + (3 − 1)·2 = 7, jump 2·1 = 2" in strided[2].explain


def test_receptive_field_of_global_layers():
    rows = table("8x8x4 | conv f=3 c=4 | gap | fc 10").rows
    assert (rows[2].rf, rows[2].jump, rows[2].shape) == (None, None, (1, 1, 4))
    assert (rows[3].rf, rows[3].jump) == (None, None)
    assert any("whole input" in line for line in rows[3].explain)


def window_count(n, f, s, before, after, d=1):
    """Slow reference: place the window at every stride step that fits in the padded input."""
    f_eff = d * (f - 1) + 1
    return len(range(-before, n + after - f_eff + 1, s))


@given(n=st.integers(1, 60), f=st.integers(1, 9), s=st.integers(1, 5), p=st.integers(0, 4), d=st.integers(1, 3))
def test_output_size_against_window_count(n, f, s, p, d):
    expected = window_count(n, f, s, p, p, d)
    spec = f"{n}x{n}x2 | conv f={f} s={s} p={p} d={d} c=2"
    if expected == 0:
        with pytest.raises(InputError, match="larger than the"):
            table(spec)
    else:
        assert row(spec).shape == (expected, expected, 2)
        r = row(f"{n}x{n}x2 | conv f={f} s={s} p=same d={d} c=2")
        assert r.shape[0] == window_count(n, f, s, r.padding[0], r.padding[1], d) == math.ceil(n / s)


def receptive_field_ref(layers):
    """Slow reference: the span of input pixels that output pixel 0 depends on, walked top-down."""
    lo = hi = 0
    for f, s, d in reversed(layers):
        lo, hi = lo * s, hi * s + d * (f - 1)
    return hi - lo + 1


@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(1, 2)), min_size=1, max_size=5))
def test_receptive_field_against_reference(layers):
    spec = "4000x4000x1 | " + " | ".join(f"conv f={f} s={s} d={d} p=same c=1" for f, s, d in layers)
    last = row(spec)
    assert last.rf == receptive_field_ref(layers)
    assert last.jump == math.prod(s for _, s, _ in layers)


# ---------------------------------------------------------------- other layers, blocks, totals


def test_bn_bias_and_activations():
    conv, bn, relu = table("8x8x3 | conv f=3 c=16 bias=0 | bn | relu").rows[1:]
    assert (conv.weights, conv.biases) == (3 * 3 * 3 * 16, 0)
    assert (bn.weights, bn.biases, bn.non_trainable, bn.macs) == (16, 16, 32, 0)
    assert (relu.params, relu.shape) == (0, (6, 6, 16))
    assert row("10 | bn").params == 20
    for act in ("relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", "softmax", "dropout 0.5"):
        r = row(f"8x8x3 | {act}")
        assert (r.shape, r.params, r.rf) == ((8, 8, 3), 0, 1)


def test_flatten_fc_softmax():
    flat, fc, soft = table("5x5x16 | flatten | fc 120 bias=0 | softmax 10").rows[1:]
    assert flat.shape == (400,) and fc.notes == []
    assert (fc.weights, fc.biases, fc.weight_shape) == (48000, 0, (120, 400))
    assert (soft.params, soft.macs, soft.shape) == (1210, 1200, (10,))
    assert table("784 | fc 20").rows[1].params == 784 * 20 + 20  # a vector input
    assert table("28x28 | conv f=5 c=6").rows[0].shape == (28, 28, 1)  # n_C defaults to 1


def test_add_block():
    summary = table("56x56x64 | add[ conv f=3 p=1 c=64 | relu | conv f=3 p=1 c=64 ; ] | relu")
    names = [(r.name, r.depth, r.parent, r.branch) for r in summary.rows]
    assert names == [("input", 0, None, None), ("conv1", 1, "add1", 1), ("relu1", 1, "add1", 1),
                     ("conv2", 1, "add1", 1), ("add1", 0, None, None), ("relu2", 0, None, None)]
    join = summary.rows[4]
    assert (join.shape, join.params, join.rf, join.jump) == ((56, 56, 64), 0, 5, 1)
    assert join.notes == ["branch 2 is empty: the block's input passes through (identity)"]
    assert "element-wise sum: branch 1 56x56x64 + branch 2 56x56x64 (identity) -> 56x56x64" in join.explain
    assert summary.totals.params == 2 * (3 * 3 * 64 + 1) * 64


def test_nested_blocks_and_multiline_specs():
    one_line = "16x16x8 | concat[ conv f=1 c=4 ; add[ conv f=3 p=same c=8 ; ] | conv f=1 c=4 ] | gap | fc 10"
    file_form = """
        # a block inside a block
        16x16x8
        concat[
            conv f=1 c=4       # branch 1
            ;
            add[ conv f=3 p=same c=8 ; ]
            conv f=1 c=4
        ]
        gap | fc 10
    """
    a, b = table(one_line), table(file_form)
    assert [(r.name, r.shape, r.params) for r in a.rows] == [(r.name, r.shape, r.params) for r in b.rows]
    assert a.rows[5].kind == "concat" and a.rows[5].shape == (16, 16, 8)


def test_names_numbers_and_text():
    net = parse_spec("8x8x3 | conv f=3 c=4 name=stem | pool f=2 | conv f=1 c=2 | avgpool f=2")
    rows = analyze(net).rows
    assert [(r.number, r.name, r.text) for r in rows] == [
        (0, "input", "8x8x3"), (1, "stem", "conv f=3 c=4 name=stem"), (2, "maxpool1", "pool f=2"),
        (3, "conv1", "conv f=1 c=2"), (4, "avgpool1", "avgpool f=2")]


def test_totals_and_memory():
    summary = table("32x32x3 | conv f=5 c=6 | pool f=2 s=2")
    t = summary.totals
    assert (t.params, t.weights, t.biases, t.macs, t.activations) == (456, 450, 6, 352_800, 4704 + 1176)
    assert summary.activation_bytes() == (4704 + 1176) * 4
    assert summary.activation_bytes(batch=64, dtype="float16") == (4704 + 1176) * 64 * 2
    assert summary.param_bytes("float64") == 456 * 8
    assert set(DTYPES) >= {"float32", "float16", "bfloat16", "float64"}
    with pytest.raises(InputError, match="unknown dtype 'float8'"):
        summary.activation_bytes(dtype="float8")


def test_weight_shapes_for_init():
    shapes = weight_shapes(parse_spec("32x32x3 | conv f=5 c=6 | pool f=2 s=2 | conv f=3 g=2 c=4 | bn | fc 10"))
    assert shapes == [((5, 5, 3, 6), 75, 150), ((3, 3, 3, 4), 27, 36), ((10, 576), 576, 10)]  # 12x12x4 flattened


def test_layer_kinds_registry_covers_the_grammar():
    assert {"conv", "pool", "fc", "softmax", "flatten", "bn", "relu", "gap", "dropout", "add", "concat"} <= \
        set(LAYER_KINDS)


def test_core_needs_neither_numpy_nor_numba():
    code = ("import sys\nfrom dltool.core.presets import PRESETS, preset_network\n"
            "from dltool.core.convshape import analyze\n"
            "[analyze(preset_network(n)) for n in PRESETS]\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'numba')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("spec, message", [
    ("", "empty spec: expected an input shape such as 32x32x3"),
    ("# nothing\n", "empty spec"),
    ("32x32x3", "no layers after the input shape 32x32x3"),
    ("conv f=5 c=6", "the spec starts with the input shape n_H x n_W x n_C such as 32x32x3, got 'conv f=5 c=6'"),
    ("32x32x3, conv f=5 c=6", "separate layers with '|' or new lines"),
    ("0x32x3 | relu", "input shape 0x32x3: sizes must be >= 1"),
    ("32x32x3 | conv f=5 c=6 | pool f=2 | conv f=5 x=2",
     "layer 3 'conv f=5 x=2': unknown option x (conv takes f, c, s, p, d, g, bias, name, course)"),
    ("32x32x3 | conv f=5", "layer 1 'conv f=5': conv needs c= (the number of filters)"),
    ("32x32x3 | conv c=5", "conv needs f= (the filter size)"),
    ("32x32x3 | pool s=2", "pool needs f="),
    ("32x32x3 | fc", "fc needs units= (the number of units), e.g. 'fc 120'"),
    ("32x32x3 | cnv f=5 c=3", "unknown layer 'cnv' - did you mean conv?"),
    ("32x32x3 | conv f=0 c=3", "f=0: expected a whole number >= 1"),
    ("32x32x3 | conv f=3 c=3 s=-1", "s=-1: expected a whole number >= 1"),
    ("32x32x3 | conv f=3 c=3 p=full", "p=full: expected same, valid or a whole number >= 0"),
    ("32x32x3 | conv f=3 c=3 bias=maybe", "bias=maybe: expected 1 or 0"),
    ("32x32x3 | conv f=3 c=3 f=4", "option f given twice"),
    ("32x32x3 | conv f=3 c=3 7", "unexpected '7': options are key=value"),
    ("32x32x3 | fc 10 20", "unexpected '20'"),
    ("32x32x3 | pool f=3 mode=min", "mode=min: expected max or avg"),
    ("32x32x3 | maxpool f=2 mode=avg", "unknown option mode (maxpool takes f, s, p, ceil, name, course)"),
    ("32x32x3 | pool f=3 p=same ceil=1", "ceil=1 rounds up the explicit-padding formula"),
    ("32x32x3 | dropout 1.5", "rate=1.5: expected a rate in [0, 1)"),
    ("32x32x3 | relu name=1x", "name=1x: expected letters"),
    ("32x32x3 | add[ conv f=3 p=1 c=3 ]", "add needs at least two branches separated by ';'"),
    ("32x32x3 | add[ conv f=3 p=1 c=3 ; ", "layer 1: 'add[' is never closed: add a ']'"),
    ("32x32x3 | add[ relu ; ] relu", "expected '|' or a new line after ']', got 'relu'"),
    ("32x32x3 | relu ; relu", "unexpected ';' after layer 1: ';' separates the branches"),
    ("32x32x3 | relu ]", "unexpected ']'"),
    ("32x32x3 | [ relu ; relu ]", "'[' must follow add or concat"),
    ("32x32x3 | conv[ relu ; relu ]", "'[' opens the branches of add or concat, not of conv"),
    ("32x32x3 | add f=3", "add joins branches: write add[ branch ; branch ]"),
])
def test_parse_errors(spec, message):
    with pytest.raises(InputError) as info:
        parse_spec(spec)
    assert message in str(info.value)


def test_parse_errors_name_the_line():
    with pytest.raises(InputError) as info:
        parse_spec("32x32x3\nconv f=5 c=6\n\nconv f=5 x=2")
    assert str(info.value).startswith("line 4, layer 2 'conv f=5 x=2': unknown option x")
    with pytest.raises(InputError) as info:
        parse_spec("32x32x3\nconv f=5 c=6\nconv f=5 x=2", source="net.txt")
    assert info.value.where == "net.txt:3"
    assert str(info.value) == "net.txt:3: layer 2 'conv f=5 x=2': unknown option x (conv takes f, c, s, p, d, g, " \
                              "bias, name, course)"


@pytest.mark.parametrize("spec, message", [
    ("32x32x3 | conv f=5 c=6 | pool f=2 s=2 | conv f=5 c=16 | pool f=2 s=2 | conv f=7 c=8",
     "layer 5 'conv f=7 c=8' on 5x5x16: (5 + 2·0 − 7)/1 + 1 = −1: the filter is larger than the input - pad or "
     "use a smaller f"),
    ("5x5x16 | conv f=7 s=2 c=3", "on 5x5x16: ⌊(5 + 2·0 − 7)/2⌋ + 1 = 0: the filter is larger"),
    ("5x5x16 | pool f=9 p=1", "⌊(5 + 2·1 − 9)/9⌋ + 1 = 0: the window is larger than the padded input"),
    ("5x6x16 | conv f=6 c=3", "on 5x6x16: n_H = (5 + 2·0 − 6)/1 + 1 = 0"),
    ("5x5x16 | conv f=3 c=3 g=3", "n_C_prev = 16 is not divisible by g=3"),
    ("5x5x16 | conv f=3 c=6 g=4", "c = 6 filters is not divisible by g=4"),
    ("5x5x16 | fc 10 | conv f=1 c=3", "layer 2 'conv f=1 c=3' on 10: conv needs an n_H x n_W x n_C input"),
    ("5x5x16 | flatten | pool f=2", "pool needs an n_H x n_W x n_C input, got the vector 400"),
    ("5x5x16 | fc 10 | gap", "gap needs an n_H x n_W x n_C input"),
    ("56x56x64 | add[ conv f=3 s=2 p=1 c=128 ; ]",
     "layer 1 'add[ conv f=3 s=2 p=1 c=128 ; ]' on 56x56x64: an add needs equal shapes, got branch 1 28x28x128 + "
     "branch 2 56x56x64 (identity) - give the shortcut a 1x1 conv"),
    ("28x28x192 | concat[ conv f=3 c=64 ; conv f=1 c=32 ]",
     "a concat needs equal n_H x n_W, got branch 1 26x26x64, branch 2 28x28x32"),
    ("28x28x8 | concat[ flatten ; conv f=1 c=8 ]", "a concat needs equal n_H x n_W"),
    ("1x1x16 | add[ conv f=1 s=2 c=16 ; ]", "the branches step through the input at different strides (jumps 1, 2)"),
])
def test_impossible_layers(spec, message):
    network = parse_spec(spec)
    with pytest.raises(InputError) as info:
        analyze(network)
    assert message in str(info.value)


def test_impossible_layer_in_a_file_names_the_line():
    network = parse_spec("32x32x3\n# a comment\nconv f=50 c=1\n", source="net.txt")
    with pytest.raises(InputError) as info:
        analyze(network)
    assert info.value.where == "net.txt:3"
    assert "layer 1 'conv f=50 c=1' on 32x32x3: (32 + 2·0 − 50)/1 + 1 = −17" in str(info.value)
