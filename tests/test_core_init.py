"""Weight initialization (dltool.core.init): every method's std against its formula, the
distributions, aliases and gains, seeds, and the probe's vanishing / stable activations."""

import math

import numpy as np
import pytest

from dltool.core import init
from dltool.core.names import GAINS
from dltool.errors import InputError

SHAPES = init.dense_shapes([2000, 1000, 10])  # large enough for a tight sample std


@pytest.mark.parametrize("method, expected", [
    ("he", math.sqrt(2 / 2000)),
    ("xavier", math.sqrt(1 / 2000)),  # the course's "Xavier"
    ("lecun", math.sqrt(1 / 2000)),
    ("glorot", math.sqrt(2 / (2000 + 1000))),
    ("random", 0.01),
])
@pytest.mark.parametrize("distribution", ["normal", "uniform", "truncated"])
def test_sample_std_matches_the_formula(method, expected, distribution):
    params, rows = init.initialize(SHAPES, method, distribution, seed=0)
    W1 = params["W1"]
    assert rows[0][2] == pytest.approx(expected)
    assert W1.shape == (1000, 2000)
    assert W1.std() == pytest.approx(expected, rel=0.01)
    assert abs(W1.mean()) < 0.01 * expected
    assert params["b1"].shape == (1000, 1) and not params["b1"].any()


def test_distribution_shapes():
    std = 0.1
    rng = np.random.default_rng(0)
    uniform = init.sample((200_000,), std, "uniform", rng)
    assert uniform.max() <= math.sqrt(3) * std and uniform.min() >= -math.sqrt(3) * std
    truncated = init.sample((200_000,), std, "truncated", rng)
    # Keras: N(0, (std / 0.8796)^2) cut at two of its standard deviations; the std comes out as asked.
    assert np.abs(truncated).max() <= 2 * std / init.TRUNCATED_STD
    assert truncated.std() == pytest.approx(std, rel=0.01)


def test_zeros_never_break_symmetry():
    params, rows = init.initialize(init.dense_shapes([5, 4, 1]), "zeros")
    assert not params["W1"].any() and rows[0][2] == 0.0 and rows[0][3] == 0.0


def test_aliases_follow_torch_and_keras_names():
    assert init.resolve_method("he_uniform", None) == ("he", "uniform")
    assert init.resolve_method("xavier_normal", None) == ("glorot", "normal")  # torch's xavier is glorot
    assert init.resolve_method("lecun_normal", None) == ("lecun", "truncated")  # Keras draws it truncated
    # Keras's names mean Keras's semantics: HeNormal and GlorotNormal draw a truncated normal too ...
    assert init.resolve_method("he_normal", None) == ("he", "truncated")
    assert init.resolve_method("glorot_normal", None) == ("glorot", "truncated")
    # ... while torch's kaiming_normal_ and xavier_normal_ draw a plain one
    assert init.resolve_method("kaiming_normal", None) == ("he", "normal")
    assert init.resolve_method("xavier", None) == ("xavier", "normal")  # the course's
    with pytest.raises(InputError, match=r"he with a uniform distribution \(as Keras draws it\)"):
        init.resolve_method("he_uniform", "normal")
    with pytest.raises(InputError, match=r"he_normal is he with a truncated distribution \(as Keras draws it\); "
                                          "drop --distribution"):
        init.resolve_method("he_normal", "normal")
    with pytest.raises(InputError, match="unknown method"):
        init.resolve_method("orthogonal", None)


def test_gains_like_calculate_gain():
    assert init.resolve_gain("tanh") == pytest.approx(5 / 3)
    assert init.resolve_gain("relu") == pytest.approx(math.sqrt(2))
    assert GAINS["leaky_relu"] == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.target_std("he", 100, 10) == pytest.approx(math.sqrt(2 / 100))
    assert init.target_std("he", 100, 10, gain=5 / 3) == pytest.approx(5 / 3 / 10)
    assert init.target_std("glorot", 100, 50, gain=2.0) == pytest.approx(2 * math.sqrt(2 / 150))
    for bad in ["big", "-1", "0", "nan"]:
        with pytest.raises(InputError):
            init.resolve_gain(bad)


def test_conv_shapes_use_fan_in_f_f_c():
    # (f, f, n_C_prev, n_C) with fan_in = f·f·n_C_prev
    params, rows = init.initialize([((3, 3, 64, 128), 3 * 3 * 64, 3 * 3 * 128)], "he", seed=1)
    assert params["W1"].shape == (3, 3, 64, 128) and params["b1"].shape == (128, 1)
    assert params["W1"].std() == pytest.approx(math.sqrt(2 / 576), rel=0.01)


def test_same_seed_same_weights():
    a, _ = init.initialize(SHAPES, "he", seed=3)
    b, _ = init.initialize(SHAPES, "he", seed=3)
    c, _ = init.initialize(SHAPES, "he", seed=4)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["W1"], c["W1"])


def test_bad_layers():
    for bad in ([5], [5, 0], []):
        with pytest.raises(InputError):
            init.dense_shapes(bad)


def deep(method, width=400, depth=50):
    params, _ = init.initialize(init.dense_shapes([width] * (depth + 1)), method, seed=0)
    return init.probe(params, "relu", samples=500, seed=0)


def test_probe_small_random_weights_vanish():
    rows = deep("random")
    stds = [r["act_std"] for r in rows]
    assert stds[0] < 0.2  # one layer in, x 0.01 weights already shrink the signal
    assert stds[-1] < 1e-30 and all(b <= a for a, b in zip(stds, stds[1:]))  # and it keeps decaying
    assert rows[0]["grad_std"] < 1e-30  # the gradient vanishes on the way back too


def test_probe_he_stays_within_a_factor_two_over_50_relu_layers():
    rows = deep("he")
    stds = np.array([r["act_std"] for r in rows])
    assert len(rows) == 50
    assert stds.max() / stds.min() < 2.0
    grads = np.array([r["grad_std"] for r in rows])
    assert grads.max() / grads.min() < 2.0


def test_probe_rows_report_every_layer():
    params, _ = init.initialize(init.dense_shapes([10, 8, 6, 1]), "xavier", seed=0)
    rows = init.probe(params, "tanh", samples=64)
    assert [r["layer"] for r in rows] == [1, 2, 3] and [r["units"] for r in rows] == [8, 6, 1]
    assert all(set(r) == {"layer", "units", "act_mean", "act_std", "grad_std"} for r in rows)


def test_keras_he_normal_is_truncated_like_keras():
    """Keras's HeNormal: a normal of std sqrt(2 / fan_in) / 0.8796 truncated at 2 of those standard
    deviations, so the weights keep the std sqrt(2 / fan_in) and never exceed 2.27 of it."""
    params, rows = init.initialize(init.dense_shapes([1000, 1000]), "he_normal", seed=0)
    W = params["W1"]
    target = math.sqrt(2 / 1000)
    assert rows[0][2] == target
    assert abs(W.std() / target - 1) < 0.01
    assert np.abs(W).max() / W.std() <= 2.3
    assert np.abs(W).max() <= 2 * target / init.TRUNCATED_STD
    torch = init.initialize(init.dense_shapes([1000, 1000]), "kaiming_normal", seed=0)[0]["W1"]
    assert np.abs(torch).max() / torch.std() > 4  # a plain normal's tails
