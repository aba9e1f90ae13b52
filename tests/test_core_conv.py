"""Convolution, pooling and dense layers (dltool.core.conv) against the course's loops (C4W1
``conv_single_step`` / ``conv_forward`` / ``pool_forward``, extended to dilation, groups and
asymmetric padding) and hand-computed examples; on every code path (numpy for small inputs, numba
serial and parallel kernels for large ones)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dltool.core import conv as conv_mod
from dltool.core.conv import conv2d, dense, output_size, pool2d, resolve_padding, same_padding
from dltool.errors import InputError

NEVER = 10**18
ALWAYS_NUMBA = {"NUMBA_MIN_WORK": 0, "NUMBA_MIN_DIRECT_WORK": 0, "NUMBA_MIN_POOL_WORK": 0}
PATHS = {  # module constants that force each code path whatever the input size
    "numpy": {"NUMBA_MIN_WORK": NEVER, "NUMBA_MIN_DIRECT_WORK": NEVER, "NUMBA_MIN_POOL_WORK": NEVER},
    "numba-serial": {**ALWAYS_NUMBA, "PARALLEL_MIN_WORK": NEVER},
    "numba-parallel": {**ALWAYS_NUMBA, "PARALLEL_MIN_WORK": 0},
    # every grouped convolution through the direct loops, not only depthwise ones
    "numba-direct": {**ALWAYS_NUMBA, "PARALLEL_MIN_WORK": 0, "DIRECT_MAX_GROUP_CHANNELS": NEVER},
}


def force_path(monkeypatch, name):
    for constant, value in PATHS[name].items():
        monkeypatch.setattr(conv_mod, constant, value)


@pytest.fixture(params=list(PATHS))
def path(request, monkeypatch):
    """Force one code path whatever the input size."""
    force_path(monkeypatch, request.param)
    return request.param


# ---------------------------------------------------------------- slow, obvious references


def zero_pad(X, pads):
    top, bottom, left, right = pads
    return np.pad(X, ((0, 0), (top, bottom), (left, right), (0, 0)))


def conv_single_step(a_slice_prev, W, b):
    """The course's one-window step: sum of the element-wise product, plus the bias."""
    return np.sum(a_slice_prev * W) + float(b)


def conv_forward_course(A_prev, W, b, hparameters):
    """The course's conv_forward, as written in C4W1 (square kernel, symmetric padding)."""
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, f, n_C_prev, n_C = W.shape
    stride, pad = hparameters["stride"], hparameters["pad"]
    n_H = int((n_H_prev - f + 2 * pad) / stride) + 1
    n_W = int((n_W_prev - f + 2 * pad) / stride) + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    A_prev_pad = zero_pad(A_prev, (pad,) * 4)
    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        for h in range(n_H):
            vert_start = stride * h
            for w in range(n_W):
                horiz_start = stride * w
                for c in range(n_C):
                    a_slice_prev = a_prev_pad[vert_start:vert_start + f, horiz_start:horiz_start + f, :]
                    Z[i, h, w, c] = conv_single_step(a_slice_prev, W[:, :, :, c], b[0, 0, 0, c])
    return Z


def group_channels(c, n_C, n_C_prev, groups):
    """The input channels that output channel c reads."""
    g = c // (n_C // groups)
    per = n_C_prev // groups
    return slice(g * per, (g + 1) * per)


def conv_ref(A, W, b, stride, pads, dilation=1, groups=1):
    """conv_forward with dilation (every d-th row/column of the window), groups, any padding."""
    m, H, Wd, C = A.shape
    f_h, f_w, _, n_C = W.shape
    s, d = stride, dilation
    top, bottom, left, right = pads
    n_H = (H + top + bottom - d * (f_h - 1) - 1) // s + 1
    n_W = (Wd + left + right - d * (f_w - 1) - 1) // s + 1
    A_pad = zero_pad(A, pads)
    Z = np.zeros((m, n_H, n_W, n_C))
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    window = A_pad[i, h * s:h * s + d * (f_h - 1) + 1:d, w * s:w * s + d * (f_w - 1) + 1:d,
                                   group_channels(c, n_C, C, groups)]
                    Z[i, h, w, c] = conv_single_step(window, W[:, :, :, c], b[c])
    return Z


def pool_ref(A, f, stride, pads, mode, ceil_mode=False, count_include_pad=True):
    """The course's pool_forward, with padding (-inf for max), torch's ceil mode and divisor."""
    m, H, Wd, C = A.shape
    top, bottom, left, right = pads

    def size(n, before, after):
        span = n + before + after - f
        out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
        if ceil_mode and (out - 1) * stride >= n + before:  # last window must start inside
            out -= 1
        return out

    n_H, n_W = size(H, top, bottom), size(Wd, left, right)
    out = np.zeros((m, n_H, n_W, C))
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(C):
                    rows = range(h * stride - top, h * stride - top + f)
                    cols = range(w * stride - left, w * stride - left + f)
                    values = [A[i, r, q, c] for r in rows for q in cols if 0 <= r < H and 0 <= q < Wd]
                    if mode == "max":
                        out[i, h, w, c] = max(values)
                    else:
                        if count_include_pad:
                            count = (sum(-top <= r < H + bottom for r in rows)
                                     * sum(-left <= q < Wd + right for q in cols))
                        else:
                            count = len(values)
                        out[i, h, w, c] = sum(values) / count
    return out


# ---------------------------------------------------------------- the course's worked example


def course_inputs():
    """The notebook's test: np.random.seed(1), then these draws in this order."""
    rs = np.random.RandomState(1)  # the legacy stream np.random.seed(1) starts
    A_prev = rs.randn(2, 5, 7, 4)
    W = rs.randn(3, 3, 4, 8)
    b = rs.randn(1, 1, 1, 8)
    return A_prev, W, b


def test_course_loop_reproduces_the_notebook_values():
    A_prev, W, b = course_inputs()
    Z = conv_forward_course(A_prev, W, b, {"pad": 1, "stride": 2})
    assert Z.shape == (2, 3, 4, 8)
    assert np.mean(Z) == pytest.approx(0.5511276474566768, rel=1e-14)
    np.testing.assert_allclose(Z[0, 2, 1], [-2.17796037, 8.07171329, -0.5772704, 3.36286738,
                                            4.48113645, -2.89198428, 10.99288867, 3.03171932], atol=5e-9)


def test_conv2d_matches_the_course_test_values(path):
    A_prev, W, b = course_inputs()
    Z = conv2d(A_prev, W, b, stride=2, pad=1)
    np.testing.assert_allclose(Z, conv_forward_course(A_prev, W, b, {"pad": 1, "stride": 2}), rtol=0, atol=1e-12)
    assert np.mean(Z) == pytest.approx(0.5511276474566768, rel=1e-13)
    np.testing.assert_allclose(Z[0, 2, 1], [-2.17796037, 8.07171329, -0.5772704, 3.36286738,
                                            4.48113645, -2.89198428, 10.99288867, 3.03171932], atol=5e-9)


# ---------------------------------------------------------------- hand-computed examples


def test_two_by_two_kernel_of_ones_sums_each_window(path):
    A = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)  # [[1 2 3] [4 5 6] [7 8 9]]
    Z = conv2d(A, np.ones((2, 2, 1, 1)))
    np.testing.assert_array_equal(Z[0, :, :, 0], [[12.0, 16.0], [24.0, 28.0]])
    # Padding 1 adds a border of partial sums; the bias is added everywhere.
    Z = conv2d(A, np.ones((2, 2, 1, 1)), b=np.array([0.5]), pad=1)
    np.testing.assert_array_equal(Z[0, :, :, 0], [[1, 3, 5, 3], [5, 12, 16, 9], [11, 24, 28, 15],
                                                  [7, 15, 17, 9]] + np.full((4, 4), 0.5))


def test_one_by_one_convolution_is_a_matrix_product_per_pixel(path):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((2, 4, 5, 6))
    W = rng.standard_normal((1, 1, 6, 3))
    b = rng.standard_normal(3)
    np.testing.assert_allclose(conv2d(A, W, b), A @ W[0, 0] + b, rtol=1e-13, atol=1e-13)


def test_dilated_kernel_reads_every_other_pixel(path):
    A = np.arange(25.0).reshape(1, 5, 5, 1)
    W = np.zeros((2, 2, 1, 1))
    W[1, 1] = 1.0  # the bottom-right tap, 2 pixels down and right with dilation 2
    Z = conv2d(A, W, dilation=2)
    np.testing.assert_array_equal(Z[0, :, :, 0], A[0, 2:, 2:, 0])


def test_depthwise_convolution_filters_each_channel_alone(path):
    A = np.zeros((1, 3, 3, 2))
    A[0, :, :, 0] = 1.0
    A[0, :, :, 1] = 10.0
    W = np.ones((3, 3, 1, 4))  # depth multiplier 2: outputs 0, 1 read channel 0; 2, 3 read channel 1
    W[..., 1] = 2.0
    W[..., 3] = -1.0
    Z = conv2d(A, W, groups=2)
    np.testing.assert_array_equal(Z.reshape(-1), [9.0, 18.0, 90.0, -90.0])


def test_max_and_average_pooling_by_hand(path):
    A = np.array([[1.0, 2, 5, 6], [3, 4, 7, 8], [-1, -2, 0, 9], [-3, -4, 1, 2]]).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(pool2d(A, 2, mode="max")[0, :, :, 0], [[4, 8], [-1, 9]])
    np.testing.assert_array_equal(pool2d(A, 2, mode="avg")[0, :, :, 0], [[2.5, 6.5], [-2.5, 3.0]])
    # Padding 1, stride 2: the corner window holds one pixel and three zeros of padding (torch's
    # default divides by 4); max pooling ignores the padding, so the negative corner survives.
    avg = pool2d(A, 2, stride=2, pad=1, mode="avg")[0, :, :, 0]
    assert avg[0, 0] == 0.25 and avg[2, 0] == -0.75 and avg[1, 1] == (4 + 7 - 2 + 0) / 4
    assert pool2d(A, 2, stride=2, pad=1, mode="avg", count_include_pad=False)[0, 2, 0, 0] == -3.0
    assert pool2d(A, 2, stride=2, pad=1, mode="max")[0, 2, 0, 0] == -3.0


def test_ceil_mode_keeps_the_partial_last_window():
    A = np.arange(25.0).reshape(1, 5, 5, 1)
    assert pool2d(A, 2).shape == (1, 2, 2, 1)
    out = pool2d(A, 2, ceil_mode=True, mode="avg")
    assert out.shape == (1, 3, 3, 1)
    # The last window overhangs the input: only its one pixel (24) counts, as in torch.
    assert out[0, 2, 2, 0] == 24.0
    assert out[0, 0, 2, 0] == (4 + 9) / 2
    assert pool2d(A, 2, ceil_mode=True, mode="max")[0, 2, 2, 0] == 24.0


def test_output_size_and_ceil_mode_rule():
    assert output_size(5, 3, 2, (1, 1)) == 3
    assert output_size(7, 2, 2, ceil_mode=True) == 4
    # torch: a last window that would start in the right padding is dropped.
    assert output_size(4, 2, 2, (1, 1), ceil_mode=False) == 3
    assert output_size(4, 2, 2, (1, 1), ceil_mode=True) == 3
    assert output_size(2, 5, 1) == 0
    # a window one pixel longer than the input, stride 2, ceil mode: torch's one position (the
    # window starts inside the input and hangs past it), as conv-shape counts it
    assert output_size(5, 6, 2, ceil_mode=True) == 1
    np.testing.assert_array_equal(pool2d(np.arange(25.0).reshape(1, 5, 5, 1), 6, 2, ceil_mode=True), [[[[24.0]]]])


def test_conv_and_conv_shape_share_the_window_rules():
    from dltool.core import padding
    from dltool.core.convshape import analyze, parse_spec

    for spec, (n, f, s, p, ceil) in [("9x9x1 | pool f=3 s=2 ceil=1", (9, 3, 2, 0, True)),
                                     ("10x10x1 | pool f=3 s=3 p=1 ceil=1", (10, 3, 3, 1, True)),
                                     ("11x11x2 | conv f=4 c=1 s=3 p=2", (11, 4, 3, 2, False))]:
        row = analyze(parse_spec(spec)).rows[1]
        assert row.shape[0] == padding.window_count(n, f, s, p, p, 1, ceil) == output_size(n, f, s, (p, p),
                                                                                               ceil_mode=ceil)
    row = analyze(parse_spec("7x7x1 | conv f=3 c=1 s=2 p=same")).rows[1]
    assert row.padding[:2] == padding.same_padding(7, 3, 2) == same_padding(7, 3, 2)


# ---------------------------------------------------------------- "same" padding (TensorFlow's rule)


@pytest.mark.parametrize("n, f, s, d, expected", [
    (5, 3, 1, 1, (1, 1)),
    (5, 3, 2, 1, (1, 1)),  # out 3, total 2*2 + 3 - 5 = 2
    (6, 3, 2, 1, (0, 1)),  # out 3, total 1: the odd pixel goes after
    (224, 7, 2, 1, (2, 3)),  # ResNet's stem
    (224, 2, 2, 1, (0, 0)),
    (7, 1, 2, 1, (0, 0)),
    (10, 3, 1, 2, (2, 2)),  # dilated: effective size 5
    (4, 4, 1, 1, (1, 2)),
])
def test_same_padding_table(n, f, s, d, expected):
    assert same_padding(n, f, s, d) == expected


@pytest.mark.parametrize("H, Wd", [(6, 7), (7, 6), (5, 5)])
def test_same_padding_with_stride_two_gives_ceil_and_asymmetric_pads(path, H, Wd):
    rng = np.random.default_rng(H * 10 + Wd)
    A = rng.standard_normal((2, H, Wd, 3))
    W = rng.standard_normal((4, 3, 3, 5))
    b = rng.standard_normal(5)
    Z = conv2d(A, W, b, stride=2, pad="same")
    assert Z.shape == (2, -(-H // 2), -(-Wd // 2), 5)
    pads = same_padding(H, 4, 2) + same_padding(Wd, 3, 2)
    assert resolve_padding("same", (H, Wd), (4, 3), 2) == pads
    np.testing.assert_allclose(Z, conv_ref(A, W, b, 2, pads), rtol=1e-12, atol=1e-12)
    assert conv2d(A, W, b, stride=2, pad="valid").shape == (2, (H - 4) // 2 + 1, (Wd - 3) // 2 + 1, 5)


# ---------------------------------------------------------------- against the loop reference

CASES = [  # (A shape, f, stride, pads (t, b, l, r), dilation, groups, n_C)
    ((2, 7, 8, 3), 3, 1, (1, 1, 1, 1), 1, 1, 4),
    ((2, 9, 7, 4), 3, 2, (0, 1, 0, 1), 1, 1, 6),
    ((1, 10, 10, 2), 5, 3, (2, 2, 1, 3), 1, 1, 3),
    ((2, 6, 6, 5), 1, 1, (0, 0, 0, 0), 1, 1, 7),  # 1x1
    ((1, 11, 9, 3), 3, 1, (2, 2, 2, 2), 2, 1, 4),  # dilated
    ((1, 12, 12, 2), 3, 2, (0, 0, 1, 0), 3, 1, 2),
    ((2, 8, 8, 6), 3, 1, (1, 1, 1, 1), 1, 2, 4),  # two groups
    ((1, 7, 9, 6), 3, 2, (1, 2, 1, 2), 1, 3, 6),
    ((2, 8, 7, 4), 3, 1, (1, 1, 1, 1), 1, 4, 4),  # depthwise
    ((1, 9, 9, 3), 3, 2, (1, 1, 0, 1), 2, 3, 6),  # depthwise, multiplier 2, dilated
    ((1, 5, 5, 3), 5, 1, (0, 0, 0, 0), 1, 1, 2),  # the window is the whole image
]


def case_arrays(case, seed):
    shape, f, s, pads, d, g, n_C = case
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape), rng.standard_normal((f, f, shape[3] // g, n_C)),
            rng.standard_normal(n_C))


@pytest.mark.parametrize("k", range(len(CASES)))
def test_conv2d_matches_loop_reference(path, k):
    shape, f, s, pads, d, g, n_C = CASES[k]
    A, W, b = case_arrays(CASES[k], k)
    Z = conv2d(A, W, b, stride=s, pad=pads, dilation=d, groups=g)
    np.testing.assert_allclose(Z, conv_ref(A, W, b, s, pads, d, g), rtol=1e-12, atol=1e-12)


POOL_CASES = [  # (A shape, f, stride, pads, ceil_mode)
    ((2, 6, 6, 3), 2, 2, (0, 0, 0, 0), False),
    ((1, 7, 5, 2), 3, 2, (1, 1, 1, 1), False),
    ((2, 7, 7, 2), 2, 2, (0, 0, 0, 0), True),
    ((1, 8, 9, 3), 3, 2, (1, 1, 0, 0), True),
    ((1, 10, 10, 1), 3, 3, (1, 1, 1, 1), True),
    ((1, 6, 7, 2), 3, 1, (0, 2, 1, 2), False),  # asymmetric
    ((1, 5, 5, 2), 5, 1, (0, 0, 0, 0), False),  # global pooling
]


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("k", range(len(POOL_CASES)))
def test_pool2d_matches_loop_reference(path, mode, k):
    shape, f, s, pads, ceil_mode = POOL_CASES[k]
    A = np.random.default_rng(k).standard_normal(shape)
    for count_pad in (True, False):
        out = pool2d(A, f, s, pads, mode, ceil_mode, count_include_pad=count_pad)
        np.testing.assert_allclose(out, pool_ref(A, f, s, pads, mode, ceil_mode, count_pad), rtol=1e-14, atol=1e-14)


def test_pool2d_same_padding_keeps_ceil_of_the_size(path):
    A = np.random.default_rng(5).standard_normal((1, 7, 8, 2))
    out = pool2d(A, 3, 2, "same", "max")
    assert out.shape == (1, 4, 4, 2)
    np.testing.assert_array_equal(out, pool_ref(A, 3, 2, same_padding(7, 3, 2) + same_padding(8, 3, 2), "max"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(H=st.integers(1, 9), Wd=st.integers(1, 9), C=st.integers(1, 4), f=st.integers(1, 4),
       s=st.integers(1, 3), d=st.integers(1, 2), pads=st.tuples(*[st.integers(0, 2)] * 4),
       groups_index=st.integers(0, 2), n_out_per_group=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_conv2d_equals_reference_for_any_geometry(H, Wd, C, f, s, d, pads, groups_index, n_out_per_group, seed):
    divisors = [g for g in range(1, C + 1) if C % g == 0]
    g = divisors[groups_index % len(divisors)]
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((2, H, Wd, C))
    W = rng.standard_normal((f, f, C // g, g * n_out_per_group))
    b = rng.standard_normal(g * n_out_per_group)
    f_eff = d * (f - 1) + 1
    if H + pads[0] + pads[1] < f_eff or Wd + pads[2] + pads[3] < f_eff:
        with pytest.raises(InputError, match="does not fit"):
            conv2d(A, W, b, s, pads, d, g)
        return
    Z = conv2d(A, W, b, s, pads, d, g)
    np.testing.assert_allclose(Z, conv_ref(A, W, b, s, pads, d, g), rtol=1e-12, atol=1e-12)
    assert Z.shape[1:3] == (output_size(H, f, s, pads[:2], d), output_size(Wd, f, s, pads[2:], d))


# ---------------------------------------------------------------- code paths agree, blocks included


@pytest.mark.parametrize("groups", [1, 2, 8])
def test_numpy_and_numba_paths_agree_also_when_split_into_blocks(monkeypatch, groups):
    rng = np.random.default_rng(groups)
    A = rng.standard_normal((3, 17, 13, 8))
    W = rng.standard_normal((3, 3, 8 // groups, 16))
    b = rng.standard_normal(16)
    results = []
    for name in PATHS:
        force_path(monkeypatch, name)
        # Whole images per block, then a few output rows of one image per block.
        for block in (1 << 22, 2 * 6 * 72, 1):
            monkeypatch.setattr(conv_mod, "BLOCK_ELEMENTS", block)
            args = dict(stride=2, pad=(1, 2, 0, 1), dilation=1, groups=groups)
            results.append(conv2d(A, W, b, **args))
    for other in results[1:]:
        np.testing.assert_allclose(results[0], other, rtol=1e-12, atol=1e-12)


def test_numba_path_is_chosen_by_size(monkeypatch):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((1, 40, 40, 16))
    W = rng.standard_normal((3, 3, 16, 32))
    work = 40 * 40 * 9 * 16 * 32  # multiply-adds of a 'same' 3x3 convolution
    routes = []
    real = conv_mod._gemm_forward

    def spy(*args):
        routes.append("numba" if args[5] is not None else "numpy")
        return real(*args)

    monkeypatch.setattr(conv_mod, "_gemm_forward", spy)
    results = []
    for threshold in (work + 1, work):
        monkeypatch.setattr(conv_mod, "NUMBA_MIN_WORK", threshold)
        results.append(conv2d(A, W, pad="same"))
    assert routes == ["numpy", "numba"]
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-12)


def test_pool_paths_agree(monkeypatch):
    A = np.random.default_rng(1).standard_normal((2, 33, 31, 5))
    results = []
    for name in PATHS:
        force_path(monkeypatch, name)
        results.append([pool2d(A, 3, 2, 1, mode, True, cp) for mode in ("max", "avg") for cp in (True, False)])
    for other in results[1:]:
        for x, y in zip(results[0], other):
            np.testing.assert_allclose(x, y, rtol=1e-14, atol=1e-14)


# ---------------------------------------------------------------- shapes, dtypes, single examples


def test_single_example_and_course_bias_shape(path):
    rng = np.random.default_rng(2)
    A = rng.standard_normal((6, 5, 3))
    W = rng.standard_normal((3, 3, 3, 2))
    b = rng.standard_normal((1, 1, 1, 2))
    Z = conv2d(A, W, b, pad=1)
    assert Z.shape == (6, 5, 2) and Z.dtype == np.float64
    np.testing.assert_allclose(Z, conv2d(A[None], W, b.reshape(2), pad=1)[0], rtol=0, atol=0)
    assert pool2d(A, 2).shape == (3, 2, 3)


def test_integer_and_float32_inputs_give_float64(path):
    A = np.arange(16, dtype=np.int32).reshape(1, 4, 4, 1)
    Z = conv2d(A, np.ones((2, 2, 1, 1), dtype=np.float32))
    assert Z.dtype == np.float64
    np.testing.assert_array_equal(Z[0, :, :, 0], [[10, 14, 18], [26, 30, 34], [42, 46, 50]])
    assert pool2d(A, 2).dtype == np.float64


def test_empty_batch():
    Z = conv2d(np.zeros((0, 5, 5, 2)), np.ones((3, 3, 2, 4)))
    assert Z.shape == (0, 3, 3, 4)
    assert pool2d(np.zeros((0, 4, 4, 3)), 2).shape == (0, 2, 2, 3)


def test_dense_is_a_times_w_transposed_plus_b():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((5, 7))
    W = rng.standard_normal((3, 7))
    b = rng.standard_normal(3)
    np.testing.assert_allclose(dense(A, W, b), A @ W.T + b, rtol=0, atol=0)
    np.testing.assert_allclose(dense(A, W, b.reshape(3, 1)), A @ W.T + b, rtol=0, atol=0)
    np.testing.assert_allclose(dense(A, W), A @ W.T, rtol=0, atol=0)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("call, message", [
    (lambda: conv2d(np.zeros((5, 5)), np.zeros((3, 3, 1, 1))), r"shape \(m, n_H, n_W, n_C\)"),
    (lambda: conv2d(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 2, 4))), r"expected shape \(3, 3, 3, 4\)"),
    (lambda: conv2d(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 3))), r"\(f, f, n_C_prev, n_C\)"),
    (lambda: conv2d(np.zeros((1, 5, 5, 4)), np.zeros((3, 3, 2, 3)), groups=2), "must divide"),
    (lambda: conv2d(np.zeros((1, 5, 5, 4)), np.zeros((3, 3, 4, 3)), groups=0), "groups must be"),
    (lambda: conv2d(np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 1, 2)), b=np.zeros(3)), r"\(2,\) or \(1, 1, 1, 2\)"),
    (lambda: conv2d(np.full((1, 5, 5, 1), np.nan), np.zeros((3, 3, 1, 1))), r"A: entry \(0, 0, 0, 0\) is nan"),
    (lambda: conv2d(np.zeros((1, 5, 5, 1)), np.full((3, 3, 1, 1), np.inf)), "W: entry .* is inf"),
    (lambda: conv2d(np.zeros((1, 5, 5, 1), dtype=complex), np.zeros((3, 3, 1, 1))), "real numbers"),
    (lambda: conv2d(np.zeros((1, 5, 5, 1), dtype=bool), np.zeros((3, 3, 1, 1))), "real numbers"),
    (lambda: conv2d(np.zeros((1, 2, 5, 1)), np.zeros((3, 3, 1, 1))), "does not fit"),
    (lambda: conv2d(np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 1, 1)), dilation=3), "does not fit"),
    (lambda: conv2d(np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 1, 1)), stride=0), "stride must be >= 1"),
    (lambda: conv2d(np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 1, 1)), stride=1.5), "int or a pair"),
    (lambda: conv2d(np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 1, 1)), pad="full"), "'valid' or 'same'"),
    (lambda: conv2d(np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 1, 1)), pad=-1), "padding must be >= 0"),
    (lambda: conv2d(np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 1, 1)), pad=(1, 1, 1, -1)), "ints >= 0"),
    (lambda: pool2d(np.zeros((1, 4, 4, 1)), 2, mode="min"), "unknown pooling mode"),
    (lambda: pool2d(np.zeros((1, 4, 4, 1)), 2, pad=2), "smaller than the 2x2 window"),
    (lambda: pool2d(np.zeros((1, 4, 4, 1)), 5), "does not fit"),
    (lambda: dense(np.zeros((2, 3)), np.zeros((4, 2))), r"expected shape \(n_out, 3\)"),
    (lambda: dense(np.zeros((2, 3, 1)), np.zeros((4, 3))), r"shape \(m, n\)"),
    (lambda: dense(np.zeros((2, 3)), np.zeros((4, 3)), np.zeros(3)), r"expected shape \(4,\)"),
])
def test_bad_input_raises_input_error(call, message):
    with pytest.raises(InputError, match=message):
        call()


# ---------------------------------------------------------------- import cost, cache, threads


def run_python(code: str, env=None) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                            env={**os.environ, **(env or {})}, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_small_convolutions_do_not_import_numba():
    out = run_python(
        "import sys, numpy as np\n"
        "from dltool.core.conv import conv2d, pool2d, dense\n"
        "A = np.ones((1, 8, 8, 3)); W = np.ones((3, 3, 3, 4))\n"
        "Z = conv2d(A, W, pad='same'); pool2d(A, 2)\n"
        "conv2d(A, np.ones((3, 3, 1, 3)), groups=3); dense(np.ones((2, 3)), np.ones((4, 3)))\n"
        "print('numba' in sys.modules)\n")
    assert out.split() == ["False"]


KERNEL_JOB = (
    "import json, numpy as np\n"
    "import dltool.core.conv as cv\n"
    "from dltool.core import conv_kernels as ck\n"
    "cv.NUMBA_MIN_WORK = cv.NUMBA_MIN_DIRECT_WORK = cv.NUMBA_MIN_POOL_WORK = cv.PARALLEL_MIN_WORK = 0\n"
    "rng = np.random.default_rng(0)\n"
    "A = rng.standard_normal((2, 20, 18, 6)); Wd = rng.standard_normal((3, 3, 1, 12))\n"
    "W = rng.standard_normal((3, 3, 6, 8))\n"
    "Z = cv.conv2d(A, W, pad='same', stride=2)\n"
    "D = cv.conv2d(A, Wd, groups=6, dilation=2)\n"
    "P = cv.pool2d(A, 3, 2, 1, 'avg', True)\n"
    "kernels = [k for k in vars(ck).values() if hasattr(k, 'stats')]\n"
    "misses = sum(sum(k.stats.cache_misses.values()) for k in kernels)\n"
    "used = sorted(k.__name__ for k in kernels if k.signatures)\n"
    "print(json.dumps([misses, used] + [float(np.sum(x * x)).hex() for x in (Z, D, P)]))\n"
)


def test_numba_kernels_are_cached_and_do_not_depend_on_the_thread_count():
    first = json.loads(run_python(KERNEL_JOB).strip().splitlines()[-1])  # compiles (or loads) and caches
    second = json.loads(run_python(KERNEL_JOB).strip().splitlines()[-1])
    assert second[0] == 0, "the second process recompiled a kernel instead of loading the cache"
    assert second[1] == ["direct_parallel", "im2col", "pool_parallel"]
    single = json.loads(run_python(KERNEL_JOB, env={"NUMBA_NUM_THREADS": "1"}).strip().splitlines()[-1])
    assert single[0] == 0
    assert first[2:] == second[2:] == single[2:]
