"""Gram matrices and style/content costs (dltool.core.gram) against hand-computed examples, a plain
loop reference and the factors between the normalizations."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dltool.core.gram import (ALPHA, BETA, CONTENT_NORMS, STYLE_NORMS, check_activations, content_cost, gram,
                              style_cost, style_factor, style_layer_cost, total_cost)
from dltool.errors import InputError

NORMS = list(STYLE_NORMS)

# Two 2x2x2 activations, channel by channel (rows i, columns j):
#   A[:, :, 0] = [[1, 2], [3, 4]]   A[:, :, 1] = [[0, 1], [-1, 2]]
#   B[:, :, 0] = [[1, 0], [0, 1]]   B[:, :, 1] = [[2, 1], [1, 2]]
A = np.stack([[[1, 2], [3, 4]], [[0, 1], [-1, 2]]], axis=-1).astype(float)
B = np.stack([[[1, 0], [0, 1]], [[2, 1], [1, 2]]], axis=-1).astype(float)
# Unrolled (n_C, n_H n_W), positions (0,0) (0,1) (1,0) (1,1):
#   A: [1, 2, 3, 4]    B: [1, 0, 0, 1]
#      [0, 1, -1, 2]      [2, 1, 1, 2]
# G_A = [[1+4+9+16, 0+2-3+8], [., 0+1+1+4]] = [[30, 7], [7, 6]]
# G_B = [[1+0+0+1, 2+0+0+2], [., 4+1+1+4]] = [[2, 4], [4, 10]]
G_A = np.array([[30.0, 7.0], [7.0, 6.0]])
G_B = np.array([[2.0, 4.0], [4.0, 10.0]])

# A 1x3x3 example whose costs are not binary fractions. Unrolled (n_C, n_W):
#   [1, 0, 2]
#   [0, 1, 1]    G = [[5, 2, 1], [2, 2, 1], [1, 1, 2]],  ||G - 0||^2 = 25+4+1+4+4+1+1+1+4 = 45
#   [1, 1, 0]
C3 = np.array([[1, 0, 2], [0, 1, 1], [1, 1, 0]], dtype=float).T[None]  # (1, 3, 3): [0, j, k]
G_C3 = np.array([[5.0, 2.0, 1.0], [2.0, 2.0, 1.0], [1.0, 1.0, 2.0]])


def gram_loops(a):
    """G_kk' = sum_i sum_j a_ijk a_ijk', one entry at a time."""
    n_H, n_W, n_C = a.shape
    g = np.zeros((n_C, n_C))
    for k in range(n_C):
        for k2 in range(n_C):
            s = 0.0
            for i in range(n_H):
                for j in range(n_W):
                    s += float(a[i, j, k]) * float(a[i, j, k2])
            g[k, k2] = s
    return g


def style_cost_loops(a_S, a_G):
    """The course's J^[l] = 1/(2 n_H n_W n_C)^2 sum_kk' (G_S - G_G)^2, by loops."""
    n_H, n_W, n_C = a_G.shape
    g_s, g_g = gram_loops(a_S), gram_loops(a_G)
    total = sum((g_s[k, k2] - g_g[k, k2]) ** 2 for k in range(n_C) for k2 in range(n_C))
    return total / (2 * n_H * n_W * n_C) ** 2


# ---------------------------------------------------------------- by hand


def test_gram_hand_values():
    np.testing.assert_array_equal(gram(A), G_A)
    np.testing.assert_array_equal(gram(B), G_B)
    np.testing.assert_array_equal(gram(C3), G_C3)


def test_style_cost_hand_value_2x2x2():
    # G_A - G_B = [[28, 3], [3, -4]] -> 784 + 9 + 9 + 16 = 818; 1/(2*2*2*2)^2 = 1/256
    assert style_layer_cost(G_A, G_B, (2, 2, 2)) == 818 / 256
    assert style_cost([A], [B])[0] == 818 / 256
    # pytorch: 818 / (n_C^4 P^2) = 818 / 256 too (4 / n_C^2 = 1 at n_C = 2); pystiche 818 / (n_C^2 P^2)
    assert style_cost([A], [B], norm="pytorch")[0] == 818 / 256
    assert style_cost([A], [B], norm="pystiche")[0] == 818 / 64
    assert style_cost([A], [B], norm="notes")[0] == 818  # the notes: ||G_S - G_G||_F^2, no factor


@pytest.mark.parametrize("norm, expected", [
    ("course", Fraction(45, (2 * 1 * 3 * 3) ** 2)),  # 45/324 = 5/36
    ("pytorch", Fraction(45, 3 ** 4 * 3 ** 2)),  # mean of (G/(n_C P))^2: 45 / (9 * 81) = 5/81
    ("pystiche", Fraction(45, 3 ** 2 * 3 ** 2)),  # mean of (G/P)^2: 45/81 = 5/9
    ("notes", Fraction(45)),  # ||G_S - G_G||_F^2 itself
])
def test_style_cost_hand_value_1x3x3(norm, expected):
    total, per_layer = style_cost([C3], [np.zeros_like(C3)], norm=norm)
    assert abs(total - float(expected)) <= 1e-15
    assert per_layer == [total]


def test_acceptance_course_normalization_matches_hand_computation():
    """The issue's acceptance: on given activations the course's normalization matches a hand
    computation to 1e-12."""
    # S = C3 (G_S = G_C3), G = C3 with its last position zeroed: unrolled [[1,0,0],[0,1,0],[1,1,0]],
    # G_G = [[1,0,1],[0,1,1],[1,1,2]]; G_S - G_G = [[4,2,0],[2,1,0],[0,0,0]] -> 16+4+4+1 = 25.
    a_G = C3.copy()
    a_G[0, 2, :] = 0
    np.testing.assert_array_equal(gram(a_G), [[1, 0, 1], [0, 1, 1], [1, 1, 2]])
    hand = Fraction(25, (2 * 1 * 3 * 3) ** 2)  # 25/324
    total, per_layer = style_cost([C3], [a_G])
    assert abs(total - float(hand)) <= 1e-12
    assert abs(style_layer_cost(G_C3, gram(a_G), (1, 3, 3)) - float(hand)) <= 1e-12
    # Two layers, lambda = (0.3, 0.7): 0.3 * 25/324 + 0.7 * 45/324
    total2, per_layer2 = style_cost([C3, C3], [a_G, np.zeros_like(C3)], [0.3, 0.7])
    assert abs(total2 - float(Fraction(3, 10) * hand + Fraction(7, 10) * Fraction(45, 324))) <= 1e-12
    assert per_layer2 == pytest.approx([25 / 324, 45 / 324], abs=1e-15)


def test_content_cost_hand_values():
    # A - B: channel 0 [0, 2, 3, 3], channel 1 [-2, 0, -2, 0] -> 0+4+9+9+4+0+4+0 = 30
    assert content_cost(A, B) == 30 / (4 * 8)  # assignment: 1/(4 n_H n_W n_C)
    assert content_cost(A, B, "assignment") == 0.9375
    assert content_cost(A, B, "lecture") == 15.0
    assert content_cost(A, B, "mean") == 30 / 8
    assert content_cost(B, A, "lecture") == 15.0


def test_total_cost():
    assert total_cost(2.0, 0.5) == ALPHA * 2.0 + BETA * 0.5 == 40.0
    assert total_cost(2.0, 0.5, alpha=1, beta=1e3) == 502.0
    with pytest.raises(InputError):
        total_cost(float("nan"), 1.0)


# ---------------------------------------------------------------- against the loop reference


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 4, 5), (7, 2, 3), (1, 9, 8), (5, 5, 16)])
def test_gram_matches_loops(shape):
    rng = np.random.default_rng(sum(shape))
    a = rng.standard_normal(shape)
    np.testing.assert_allclose(gram(a), gram_loops(a), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_style_cost_matches_loops(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(1, 6, 3))
    a_S, a_G = rng.standard_normal(shape), rng.standard_normal(shape)
    assert style_cost([a_S], [a_G])[0] == pytest.approx(style_cost_loops(a_S, a_G), rel=1e-12)


def test_gram_accepts_integers_and_float32():
    np.testing.assert_array_equal(gram(A.astype(np.int32)), G_A)
    g = gram(A.astype(np.float32))
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g, G_A)


# ---------------------------------------------------------------- the normalizations' factors


def test_registries():
    assert list(STYLE_NORMS) == ["course", "pytorch", "pystiche", "notes"]
    assert list(CONTENT_NORMS) == ["assignment", "lecture", "mean"]
    assert "1/(2 n_H n_W n_C)^2" in STYLE_NORMS["course"]
    assert "n_C n_H n_W" in STYLE_NORMS["pytorch"] and "4/n_C^2 x course" in STYLE_NORMS["pytorch"]
    assert "(n_H n_W)" in STYLE_NORMS["pystiche"] and "4 x course" in STYLE_NORMS["pystiche"]
    assert "no factor" in STYLE_NORMS["notes"] and "(2 n_H n_W n_C)^2 x course" in STYLE_NORMS["notes"]
    for norm in STYLE_NORMS:
        style_factor(norm, (2, 3, 4))  # every registered name has a factor
    for norm in CONTENT_NORMS:
        content_cost(A, B, norm)


@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 3, 4), (5, 4, 7)])
def test_style_factors(shape):
    n_H, n_W, n_C = shape
    P = n_H * n_W
    assert style_factor("course", shape) == pytest.approx(1 / (4 * P ** 2 * n_C ** 2), rel=1e-15)
    assert style_factor("pytorch", shape) == pytest.approx(1 / (P ** 2 * n_C ** 4), rel=1e-15)
    assert style_factor("pystiche", shape) == pytest.approx(1 / (P ** 2 * n_C ** 2), rel=1e-15)
    assert style_factor("notes", shape) == 1.0


@pytest.mark.parametrize("shape", [(2, 3, 4), (5, 4, 7), (1, 6, 3)])
def test_ratios_between_normalizations(shape):
    rng = np.random.default_rng(1)
    a_S, a_G = rng.standard_normal(shape), rng.standard_normal(shape)
    n_C = shape[2]
    course = style_cost([a_S], [a_G], norm="course")[0]
    assert style_cost([a_S], [a_G], norm="pystiche")[0] == pytest.approx(4 * course, rel=1e-12)
    assert style_cost([a_S], [a_G], norm="pytorch")[0] == pytest.approx(4 / n_C ** 2 * course, rel=1e-12)
    P = shape[0] * shape[1]
    assert style_cost([a_S], [a_G], norm="notes")[0] == pytest.approx((2 * P * n_C) ** 2 * course, rel=1e-12)
    for norm in NORMS:  # J = factor * ||G_S - G_G||^2 with the plain Grams
        d = gram(a_S) - gram(a_G)
        assert style_cost([a_S], [a_G], norm=norm)[0] == pytest.approx(
            style_factor(norm, shape) * np.sum(d * d), rel=1e-12)


def test_gram_scaling_per_normalization():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 5, 4))
    np.testing.assert_allclose(gram(a, "pytorch"), gram(a) / (4 * 15), rtol=1e-15)
    np.testing.assert_allclose(gram(a, "pystiche"), gram(a) / 15, rtol=1e-15)


def test_pytorch_and_pystiche_are_means_over_the_entries():
    rng = np.random.default_rng(3)
    a_S, a_G = rng.standard_normal((4, 3, 5)), rng.standard_normal((4, 3, 5))
    for norm, divisor in (("pytorch", 5 * 12), ("pystiche", 12)):
        ref = np.mean((gram_loops(a_S) / divisor - gram_loops(a_G) / divisor) ** 2)
        assert style_cost([a_S], [a_G], norm=norm)[0] == pytest.approx(ref, rel=1e-12)


# ---------------------------------------------------------------- properties


@pytest.mark.parametrize("norm", NORMS)
def test_style_cost_of_an_image_with_itself_is_zero(norm):
    rng = np.random.default_rng(4)
    layers = [rng.standard_normal((4, 4, 3)), rng.standard_normal((2, 2, 8))]
    total, per_layer = style_cost(layers, [x.copy() for x in layers], [0.5, 0.5], norm)
    assert total == 0.0 and per_layer == [0.0, 0.0]


def test_gram_is_translation_invariant_for_a_periodic_pattern():
    # A pattern periodic over the whole map: circular shifts only permute the positions, so the Gram
    # (a sum over positions) does not change, while the content cost sees the move.
    i, j = np.meshgrid(np.arange(6), np.arange(8), indexing="ij")
    a = np.stack([np.sin(2 * np.pi * i / 6), np.cos(2 * np.pi * j / 4), (i + j) % 2], axis=-1)
    for shift, axis in (((2,), (0,)), ((3,), (1,)), ((1, 5), (0, 1))):
        moved = np.roll(a, shift, axis=axis)
        np.testing.assert_allclose(gram(moved), gram(a), rtol=0, atol=1e-12)
        assert style_cost([a], [moved])[0] < 1e-24
        assert content_cost(a, moved) > 0.01


@settings(max_examples=50, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=3, max_dims=3, max_side=4),
                  elements=st.floats(-1e3, 1e3)),
       st.sampled_from(NORMS))
def test_gram_symmetric_psd_and_cost_nonnegative(a, norm):
    g = gram(a, norm)
    np.testing.assert_array_equal(g, g.T)
    assert np.linalg.eigvalsh(g).min() >= -1e-9 * max(1.0, np.abs(g).max())
    assert style_cost([a], [np.zeros_like(a)], norm=norm)[0] >= 0


# ---------------------------------------------------------------- layer weights


def test_layer_weights_sum_the_layer_costs():
    rng = np.random.default_rng(5)
    shapes = [(6, 6, 2), (3, 3, 4), (2, 2, 8)]
    S = [rng.standard_normal(s) for s in shapes]
    G = [rng.standard_normal(s) for s in shapes]
    weights = [0.2, 0.5, 1.5]
    for norm in NORMS:
        total, per_layer = style_cost(S, G, weights, norm)
        expected = [style_layer_cost(gram(s, norm), gram(g, norm), g.shape, norm) for s, g in zip(S, G)]
        assert per_layer == expected
        assert total == pytest.approx(sum(w * j for w, j in zip(weights, expected)), rel=1e-14)
        # no weights: 1/L each (the assignment's 0.2 for each of its 5 layers)
        assert style_cost(S, G, None, norm)[0] == pytest.approx(sum(expected) / 3, rel=1e-14)
    assert style_cost(S, G, [0, 1, 0])[0] == style_cost(S[1:2], G[1:2])[0]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad, message", [
    (np.ones((2, 2)), "shape (n_H, n_W, n_C), got shape (2, 2)"),
    (np.ones((1, 2, 2, 3)), "drop the batch axis"),
    (np.ones((0, 2, 3)), "empty activations"),
    (np.array([[[1.0, np.nan]]]), "non-finite value nan at (i, j, k) = (0, 0, 1)"),
    (np.array([[[1.0]], [[np.inf]]]), "non-finite value inf"),
    (np.array([[["a"]]]), "expected numbers"),
    ([[[1, 2]], [[3]]], "not a rectangular array"),
])
def test_bad_activations(bad, message):
    with pytest.raises(InputError) as info:
        gram(bad)
    assert message in str(info.value)
    with pytest.raises(ValueError):  # InputError is a ValueError for library callers
        style_cost([bad], [bad])


def test_errors_name_the_layer():
    good = np.ones((2, 2, 3))
    with pytest.raises(InputError) as info:
        style_cost([good, good], [good, np.full((2, 2, 3), np.nan)])
    assert str(info.value).startswith("generated layer 1: non-finite")
    assert check_activations(good, "x.npz: conv1").shape == (2, 2, 3)


@pytest.mark.parametrize("call, message", [
    (lambda: style_cost([A], [A[:, :1]]), "same shape"),
    (lambda: style_cost([A, A], [A]), "2 style layers but 1 generated layers"),
    (lambda: style_cost([], []), "no layers"),
    (lambda: style_cost([A], [B], [1.0, 2.0]), "got 2 layer weights for 1 layers"),
    (lambda: style_cost([A], [B], [-1.0]), "non-negative"),
    (lambda: style_cost([A], [B], [float("inf")]), "finite"),
    (lambda: style_cost([A], [B], ["x"]), "must be numbers"),
    (lambda: style_cost([A], [B], norm="keras"), "unknown style normalization 'keras': expected one of "
                                                 "course, pytorch, pystiche, notes"),
    (lambda: gram(A, "Course"), "unknown style normalization"),
    (lambda: content_cost(A, B, "paper"), "expected one of assignment, lecture, mean"),
    (lambda: content_cost(A, np.ones((2, 2, 3))), "same shape"),
    (lambda: style_layer_cost(G_A, np.ones((3, 3)), (2, 2, 2)), "G_G: expected a Gram matrix"),
    (lambda: style_layer_cost(G_A, G_B, (2, 2, 3)), "G_S: expected a Gram matrix of numbers of shape "
                                                    "(n_C, n_C) = (3, 3), got shape (2, 2)"),
    (lambda: style_layer_cost(G_A, [[np.nan, 0], [0, 1]], (2, 2, 2)), "non-finite"),
    (lambda: style_layer_cost(G_A, G_B, (2, 2)), "three positive integers"),
    (lambda: style_layer_cost(G_A, G_B, (2, 0, 2)), "three positive integers"),
    (lambda: style_layer_cost(G_A, G_B, (2, 1.5, 2)), "three positive integers"),
    (lambda: style_layer_cost(G_A, G_B, None), "expected a shape"),
    (lambda: style_factor("mse", (1, 1, 1)), "unknown style normalization"),
])
def test_bad_usage(call, message):
    with pytest.raises(InputError) as info:
        call()
    assert message in str(info.value)
