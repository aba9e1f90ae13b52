"""``dltool.core.gradcheck``: relative differences, verdict bands, parameter vectors, the numba kernel
against the plain loop, built-in networks, directions, and the user's own functions.

The user functions live in ``tests/data/gradcheck/nets.py`` (a 4 -> 5 -> 5 -> 1 tanh network written
the course's way, and copies with one planted defect each).
"""

import importlib.util
import math
import pathlib

import numpy as np
import pytest

from dltool.core import gradcheck, mlp
from dltool.errors import InputError

HERE = pathlib.Path(__file__).resolve().parent
NETS_FILE = HERE / "data" / "gradcheck" / "nets.py"


def _load_nets():
    spec = importlib.util.spec_from_file_location("gradcheck_test_nets", NETS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nets = _load_nets()
ACTIVATIONS = ["relu", "leaky_relu", "tanh", "sigmoid"]


def block(report, name):
    (b,) = [b for b in report.blocks if b.name == name]
    return b


def worst_block(report):
    return max(report.blocks, key=lambda b: b.rel_diff)


def labelled_network(sizes, activation, m, seed, l2=0.0):
    """A random_network with labels made here: Y a 0/1 row for one output, one-hot (n[L], m) else."""
    rng = np.random.default_rng(seed + 1000)
    X = rng.standard_normal((sizes[0], m))
    n_out = sizes[-1]
    if n_out == 1:
        Y = (rng.random((1, m)) < 0.5).astype(float)
    else:
        Y = np.zeros((n_out, m))
        Y[rng.integers(0, n_out, m), np.arange(m)] = 1.0
    return gradcheck.random_network(sizes, activation, m, seed, l2, X=X, Y=Y)


# ------------------------------------------------------------------ relative difference, verdicts


def test_relative_difference_both_zero_is_zero():
    assert gradcheck.relative_difference(np.zeros(4), np.zeros(4)) == 0.0
    assert gradcheck.relative_difference(np.zeros((2, 3)), np.zeros(6)) == 0.0


def test_relative_difference_hand_values():
    # ‖a − b‖ / (‖a‖ + ‖b‖)
    assert gradcheck.relative_difference([3.0, 4.0], [0.0, 0.0]) == 1.0  # 5 / (5 + 0)
    assert gradcheck.relative_difference([1.0, 0.0], [0.0, 1.0]) == pytest.approx(math.sqrt(2) / 2, rel=1e-15)
    assert gradcheck.relative_difference([1.0, 2.0, 2.0], [2.0, 4.0, 4.0]) == pytest.approx(1 / 3, rel=1e-15)  # 3 / (3 + 6)
    assert gradcheck.relative_difference([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert gradcheck.relative_difference([1.0], [-1.0]) == 1.0  # 2 / (1 + 1)
    # A factor k on every value: |k − 1| / (1 + k), whatever the values.
    g = np.array([0.3, -1.2, 5.0])
    assert gradcheck.relative_difference(g, 0.5 * g) == pytest.approx(1 / 3, rel=1e-14)
    assert gradcheck.relative_difference(g, 4 * g) == pytest.approx(3 / 5, rel=1e-14)


def test_relative_difference_flattens_and_is_symmetric():
    a, b = np.arange(6.0).reshape(2, 3), np.arange(6.0)[::-1].copy()
    assert gradcheck.relative_difference(a, b) == gradcheck.relative_difference(b, a.ravel())
    assert isinstance(gradcheck.relative_difference(a, b), float)


@pytest.mark.parametrize("rel, band", [
    (0.0, "ok"), (1e-9, "ok"), (np.nextafter(1e-7, 0), "ok"),
    (1e-7, "check"), (5e-6, "check"), (np.nextafter(1e-5, 0), "check"),
    (1e-5, "suspicious"), (np.nextafter(1e-3, 0), "suspicious"),
    (1e-3, "bug"), (0.5, "bug"), (1.0, "bug"),
])
def test_verdict_bands_at_their_edges(rel, band):
    assert gradcheck.verdict(float(rel)) == band


def test_block_and_report_verdicts_and_worst():
    blocks = [gradcheck.Block("W1", (2, 2), 4, 3e-9, 1e-10, (0, 1), 1.0, 1.0),
              gradcheck.Block("b1", (2, 1), 2, 2e-4, 1e-4, (1, 0), 0.5, 0.5001)]
    report = gradcheck.Report(blocks, 5e-8, 1e-7, "all", 6)
    assert [b.verdict for b in blocks] == ["ok", "suspicious"]
    assert report.verdict == "ok"  # the overall band...
    assert report.worst == 2e-4  # ...while --fail-above judges the worst block too
    report = gradcheck.Report(blocks[:1], 5e-3, 1e-7, "all", 4)
    assert report.worst == 5e-3 and report.verdict == "bug"
    assert report.notes == []


# ------------------------------------------------------------------ parameter vectors


def test_flatten_order_and_layout():
    params = {"b1": np.array([[5.0], [6.0]]), "W1": np.array([[1.0, 2.0], [3.0, 4.0]]),
              "W2": np.array([[7.0, 8.0]]), "b2": np.array([[9.0]])}
    theta, layout = gradcheck.flatten(params, ["W1", "b1", "W2", "b2"])
    np.testing.assert_array_equal(theta, np.arange(1.0, 10.0))  # W row-major, in names order
    assert theta.dtype == np.float64
    assert layout == [("W1", (2, 2), 0), ("b1", (2, 1), 4), ("W2", (1, 2), 6), ("b2", (1, 1), 8)]
    theta2, layout2 = gradcheck.flatten(params, ["b2", "W1"])
    np.testing.assert_array_equal(theta2, [9.0, 1.0, 2.0, 3.0, 4.0])
    assert layout2 == [("b2", (1, 1), 0), ("W1", (2, 2), 1)]


def test_flatten_unflatten_round_trip():
    rng = np.random.default_rng(3)
    params = {"W1": rng.standard_normal((4, 3)), "b1": rng.standard_normal(4),
              "W2": rng.standard_normal((2, 4)).astype(np.float32), "b2": rng.standard_normal((2, 1)),
              "s": np.array(2.5)}
    names = ["W1", "b1", "W2", "b2", "s"]
    theta, layout = gradcheck.flatten(params, names)
    assert theta.shape == (12 + 4 + 8 + 2 + 1,)
    back = gradcheck.unflatten(theta, layout)
    assert list(back) == names
    for name in names:
        assert back[name].shape == np.shape(params[name])
        assert back[name].dtype == np.float64
        np.testing.assert_array_equal(back[name], np.asarray(params[name], dtype=np.float64))


def test_flatten_copies():
    W = np.ones((2, 2))
    theta, _ = gradcheck.flatten({"W1": W}, ["W1"])
    theta[0] = 5.0
    assert W[0, 0] == 1.0


def test_flatten_empty():
    theta, layout = gradcheck.flatten({}, [])
    assert theta.shape == (0,) and layout == []


def test_natural_names():
    params = {k: None for k in ["b10", "W2", "W10", "b1", "extra", "W1", "b2", "alpha", "W11", "b11"]}
    assert gradcheck.natural_names(params) == ["W1", "b1", "W2", "b2", "W10", "b10", "W11", "b11", "alpha", "extra"]


# ------------------------------------------------------------------ coordinates


LAYOUT = [("W1", (5, 4), 0), ("b1", (5, 1), 20), ("W2", (1, 5), 25), ("b2", (1, 1), 30)]


def test_choose_all_coordinates():
    coords = gradcheck.choose_coordinates(LAYOUT, None, np.random.default_rng(0))
    np.testing.assert_array_equal(coords, np.arange(31))


def test_choose_sampled_coordinates_per_block():
    coords = gradcheck.choose_coordinates(LAYOUT, 3, np.random.default_rng(0))
    per_block = {}
    for name, shape, offset in LAYOUT:
        size = int(np.prod(shape))
        inside = coords[(coords >= offset) & (coords < offset + size)]
        per_block[name] = len(inside)
        assert len(set(inside.tolist())) == len(inside)  # no repeats
        assert list(inside) == sorted(inside)
    assert per_block == {"W1": 3, "b1": 3, "W2": 3, "b2": 1}  # all of a block smaller than the sample
    assert len(coords) == 10
    assert coords.dtype.kind == "i"


def test_choose_sample_at_least_the_block_takes_it_all():
    coords = gradcheck.choose_coordinates(LAYOUT, 5, np.random.default_rng(1))
    for name in ("b1", "W2", "b2"):
        _, shape, offset = next(t for t in LAYOUT if t[0] == name)
        size = int(np.prod(shape))
        np.testing.assert_array_equal(coords[(coords >= offset) & (coords < offset + size)],
                                      np.arange(offset, offset + size))


def test_choose_coordinates_is_seeded():
    a = gradcheck.choose_coordinates(LAYOUT, 4, np.random.default_rng(7))
    b = gradcheck.choose_coordinates(LAYOUT, 4, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    others = [gradcheck.choose_coordinates(LAYOUT, 4, np.random.default_rng(s)) for s in range(8, 14)]
    assert any(not np.array_equal(a, o) for o in others)


# ------------------------------------------------------------------ numeric loop and compare


def test_numeric_by_loop_on_a_known_function():
    # J = Σ θ³: dJ/dθ_i = 3 θ_i², the two-sided difference adds ε² exactly.
    theta = np.array([1.0, -2.0, 0.5, 3.0])
    seen = []
    out = gradcheck.numeric_by_loop(lambda t: float(np.sum(t ** 3)), theta, np.array([0, 2, 3]), 1e-4,
                                    progress=lambda done, total: seen.append((done, total)))
    np.testing.assert_allclose(out, 3 * theta[[0, 2, 3]] ** 2 + 1e-8, rtol=1e-8)
    assert seen == [(1, 3), (2, 3), (3, 3)]
    np.testing.assert_array_equal(theta, [1.0, -2.0, 0.5, 3.0])  # not modified


def test_compare_per_block_and_worst_index():
    layout = [("W1", (2, 3), 0), ("b1", (2, 1), 6)]
    analytic = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.5, -0.5])
    numeric = analytic.copy()
    numeric[4] = 5.5  # W1[1, 1]
    numeric[7] = -0.4  # b1[1, 0]
    report = gradcheck.compare(layout, analytic, np.arange(8), numeric, 1e-7, "all")
    w1, b1 = report.blocks
    assert (w1.name, w1.shape, w1.checked, w1.worst_index) == ("W1", (2, 3), 6, (1, 1))
    assert (w1.worst_numeric, w1.worst_analytic, w1.max_abs_diff) == (5.5, 5.0, pytest.approx(0.5))
    assert w1.rel_diff == pytest.approx(0.5 / (np.linalg.norm(numeric[:6]) + np.linalg.norm(analytic[:6])))
    assert (b1.worst_index, b1.worst_numeric, b1.worst_analytic) == ((1, 0), -0.4, -0.5)
    assert report.rel_diff == pytest.approx(gradcheck.relative_difference(numeric, analytic))
    assert (report.mode, report.checked, report.epsilon) == ("all", 8, 1e-7)


def test_compare_skips_blocks_without_coordinates():
    layout = [("W1", (2, 3), 0), ("b1", (2, 1), 6)]
    analytic = np.arange(8.0)
    coords = np.array([1, 3])
    report = gradcheck.compare(layout, analytic, coords, analytic[coords] * 1.0, 1e-7, "sample")
    assert [b.name for b in report.blocks] == ["W1"]
    assert report.blocks[0].worst_index in ((0, 1), (1, 0))
    assert report.rel_diff == 0.0 and report.checked == 2


# ------------------------------------------------------------------ numba kernel against the loop


KERNEL_CASES = [
    # (sizes, m): a sigmoid and a softmax output, no hidden layer, one and several hidden layers.
    ([5, 1], 9), ([5, 3], 9), ([4, 2], 8), ([6, 5, 1], 11), ([6, 5, 3], 11), ([4, 7, 2], 10),
    ([5, 4, 4, 3, 1], 7), ([3, 6, 5, 4], 12),
]


def _numeric_of(monkeypatch, net, numba: bool, **kwargs):
    """The numerical gradient check_network computed, through the forced path."""
    captured, calls = {}, []
    real_compare, real_numba = gradcheck.compare, gradcheck._numeric_numba

    def spy_compare(layout, analytic, coords, numeric, epsilon, mode):
        captured.update(coords=coords.copy(), numeric=numeric.copy(), analytic=analytic.copy())
        return real_compare(layout, analytic, coords, numeric, epsilon, mode)

    def spy_numba(*args):
        calls.append(1)
        return real_numba(*args)

    monkeypatch.setattr(gradcheck, "compare", spy_compare)
    monkeypatch.setattr(gradcheck, "_numeric_numba", spy_numba)
    monkeypatch.setattr(gradcheck, "NUMBA_MIN_WORK", 0 if numba else 10 ** 18)
    report = gradcheck.check_network(net, **kwargs)
    assert bool(calls) == numba
    return captured, report


@pytest.mark.parametrize("sizes, m", KERNEL_CASES, ids=lambda v: ",".join(map(str, v)) if isinstance(v, list) else str(v))
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_kernel_equals_full_recomputation(monkeypatch, sizes, m, activation):
    net = labelled_network(sizes, activation, m, seed=len(sizes) * 10 + m, l2=0.7)
    fast, report_fast = _numeric_of(monkeypatch, net, numba=True)
    slow, report_slow = _numeric_of(monkeypatch, net, numba=False)
    np.testing.assert_array_equal(fast["coords"], slow["coords"])
    assert gradcheck.relative_difference(fast["numeric"], slow["numeric"]) < 1e-7
    np.testing.assert_allclose(fast["numeric"], slow["numeric"], rtol=1e-5, atol=1e-8)
    # ...and both agree with the analytic gradient of a smooth network.
    if activation in ("tanh", "sigmoid"):
        assert report_fast.rel_diff < 1e-7 and report_slow.rel_diff < 1e-7


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_kernel_equals_loop_on_sampled_coordinates(monkeypatch, activation):
    net = labelled_network([7, 6, 5, 3], activation, 13, seed=5, l2=0.2)
    fast, rf = _numeric_of(monkeypatch, net, numba=True, sample=4, seed=9)
    slow, rs = _numeric_of(monkeypatch, net, numba=False, sample=4, seed=9)
    np.testing.assert_array_equal(fast["coords"], slow["coords"])
    assert len(fast["coords"]) == 4 * 5 + 3  # b3 has 3 entries
    assert gradcheck.relative_difference(fast["numeric"], slow["numeric"]) < 1e-7
    assert rf.mode == rs.mode == "sample"


def test_kernel_equals_loop_at_a_larger_epsilon(monkeypatch):
    net = labelled_network([5, 4, 3, 2], "tanh", 9, seed=2, l2=1.5)
    fast, _ = _numeric_of(monkeypatch, net, numba=True, epsilon=1e-3)
    slow, _ = _numeric_of(monkeypatch, net, numba=False, epsilon=1e-3)
    np.testing.assert_allclose(fast["numeric"], slow["numeric"], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_kernel_with_vector_biases(monkeypatch, activation):
    net = labelled_network([5, 4, 3], activation, 9, seed=4, l2=0.4)
    net.params = {k: (v.ravel() if k.startswith("b") else v) for k, v in net.params.items()}
    fast, report = _numeric_of(monkeypatch, net, numba=True)
    slow, _ = _numeric_of(monkeypatch, net, numba=False)
    assert gradcheck.relative_difference(fast["numeric"], slow["numeric"]) < 1e-7
    assert report.rel_diff < 1e-6
    assert [b.shape for b in report.blocks] == [(4, 5), (4,), (3, 4), (3,)]


def test_large_network_goes_through_the_kernel(monkeypatch):
    calls = []
    real = gradcheck._numeric_numba
    monkeypatch.setattr(gradcheck, "_numeric_numba", lambda *a: calls.append(1) or real(*a))
    net = gradcheck.random_network([20, 10, 5, 1], "tanh", 64, 0)
    report = gradcheck.check_network(net)
    assert calls, "271 coordinates x 64 examples x 36 units is over NUMBA_MIN_WORK"
    assert report.rel_diff < 1e-7
    assert report.checked == 200 + 10 + 50 + 5 + 5 + 1


# ------------------------------------------------------------------ built-in networks


@pytest.mark.parametrize("sizes", [[4, 5, 3, 1], [20, 10, 5, 1]], ids=lambda s: ",".join(map(str, s)))
@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_smooth_default_networks_pass(sizes, activation):
    report = gradcheck.check_network(gradcheck.random_network(sizes, activation, 16, 0))
    assert report.rel_diff < 1e-7
    assert report.verdict == "ok"
    assert report.worst < 1e-5
    assert report.notes == []
    assert [b.name for b in report.blocks] == mlp.param_names(len(sizes) - 1)
    assert report.mode == "all" and report.checked == sum(b.checked for b in report.blocks)


@pytest.mark.parametrize("sizes", [[4, 5, 3, 1], [20, 10, 5, 1], [4, 6, 3]], ids=lambda s: ",".join(map(str, s)))
@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_relu_networks_away_from_kinks_pass(sizes, activation):
    net = gradcheck.random_network(sizes, activation, 16, 0)
    assert net.kinks(1e-7) == 0
    report = gradcheck.check_network(net)
    assert report.rel_diff < 1e-7
    assert report.notes == []


@pytest.mark.parametrize("sizes", [[4, 1], [4, 3], [6, 4], [4, 5, 3, 1]], ids=lambda s: ",".join(map(str, s)))
@pytest.mark.parametrize("l2", [0.0, 0.7])
def test_builtin_models_pass_with_and_without_l2(sizes, l2):
    report = gradcheck.check_network(gradcheck.random_network(sizes, "tanh", 16, 3, l2=l2))
    assert report.rel_diff < 1e-7


@pytest.mark.parametrize("sizes", [[4, 2], [4, 5, 2]], ids=lambda s: ",".join(map(str, s)))
def test_two_unit_softmax_output_passes(sizes):
    # A softmax over two units (--model softmax --layers 4,2) is a valid built-in network: its
    # random batch needs one-hot labels (2, m), not the (1, m) row of a sigmoid output.
    net = gradcheck.random_network(sizes, "tanh", 16, 0)
    assert net.Y.shape == (2, 16)
    report = gradcheck.check_network(net)
    assert report.rel_diff < 1e-7


def test_random_network_shapes_and_seed():
    net = gradcheck.random_network([6, 4, 3], "tanh", 10, 4, l2=0.5)
    assert {k: v.shape for k, v in net.params.items()} == {"W1": (4, 6), "b1": (4, 1), "W2": (3, 4), "b2": (3, 1)}
    assert net.X.shape == (6, 10) and net.Y.shape == (3, 10)
    np.testing.assert_array_equal(net.Y.sum(axis=0), 1.0)
    assert all(np.any(net.params[b] != 0) for b in ("b1", "b2"))  # biases checked too
    assert (net.activation, net.l2, net.names) == ("tanh", 0.5, ["W1", "b1", "W2", "b2"])
    again = gradcheck.random_network([6, 4, 3], "tanh", 10, 4, l2=0.5)
    for k in net.params:
        np.testing.assert_array_equal(net.params[k], again.params[k])
    np.testing.assert_array_equal(net.X, again.X)
    other = gradcheck.random_network([6, 4, 3], "tanh", 10, 5)
    assert not np.array_equal(net.X, other.X)
    logistic = gradcheck.random_network([3, 1], "relu", 8, 0)
    assert logistic.Y.shape == (1, 8) and set(np.unique(logistic.Y)) <= {0.0, 1.0}


def test_check_network_is_seeded():
    a = gradcheck.check_network(gradcheck.random_network([4, 5, 3, 1], "relu", 16, 2), sample=3, seed=2)
    b = gradcheck.check_network(gradcheck.random_network([4, 5, 3, 1], "relu", 16, 2), sample=3, seed=2)
    assert a == b


def test_check_network_sample():
    net = gradcheck.random_network([4, 5, 3, 1], "tanh", 16, 0)
    report = gradcheck.check_network(net, sample=3)
    assert report.mode == "sample"
    assert [(b.name, b.checked) for b in report.blocks] == [("W1", 3), ("b1", 3), ("W2", 3), ("b2", 3), ("W3", 3),
                                                            ("b3", 1)]
    assert report.checked == 16
    assert report.rel_diff < 1e-7


def test_check_network_fast_directions():
    net = gradcheck.random_network([4, 5, 3, 1], "tanh", 16, 0)
    report = gradcheck.check_network(net, fast=4)
    assert report.mode == "directions"
    assert report.checked == 4 * 6
    assert all(b.checked == 4 and b.worst_index is None for b in report.blocks)
    assert report.rel_diff < 1e-7


def test_check_network_kink_note():
    # A hidden ReLU unit with a zero row of W1 and a zero bias sits exactly at its kink for every
    # example: the numerical gradient straddles it, and a note says so.
    net = gradcheck.random_network([4, 5, 3, 1], "relu", 16, 0)
    net.params["W1"][0] = 0.0
    net.params["b1"][0] = 0.0
    assert net.kinks(1e-7) == 16
    report = gradcheck.check_network(net)
    assert len(report.notes) == 1 and "16 hidden ReLU input(s)" in report.notes[0] and "kink" in report.notes[0]
    same = gradcheck.random_network([4, 5, 3, 1], "tanh", 16, 0)
    same.params["W1"][0] = 0.0
    same.params["b1"][0] = 0.0
    assert same.kinks(1e-7) == 0 and gradcheck.check_network(same).notes == []


def test_kinks_reach_scales_with_the_inputs():
    # Z within ε · max(1, max|A_prev|) of 0 counts: a unit at 5e-8 counts, one at 1e-6 does not.
    net = gradcheck.Network({"W1": np.array([[1.0], [1.0]]), "b1": np.array([[5e-8], [1e-6]]),
                             "W2": np.array([[1.0, 1.0]]), "b2": np.zeros((1, 1))},
                            np.zeros((1, 1)), np.ones((1, 1)), "relu")
    assert net.kinks(1e-7) == 1
    net.X = np.array([[0.0, 20.0]])
    net.Y = np.ones((1, 2))
    # Now the reach is 20ε = 2e-6: both units of the first example are within it.
    assert net.kinks(1e-7) == 2
    net.activation = "sigmoid"
    assert net.kinks(1e-7) == 0


@pytest.mark.parametrize("epsilon", [0.0, -1e-7, float("nan"), float("inf")])
def test_check_network_bad_epsilon(epsilon):
    with pytest.raises(InputError, match="epsilon"):
        gradcheck.check_network(gradcheck.random_network([3, 1], "relu", 4, 0), epsilon=epsilon)


def test_check_network_unknown_activation():
    with pytest.raises(InputError, match="unknown activation"):
        gradcheck.check_network(gradcheck.random_network([3, 2, 1], "swish", 4, 0))


def test_check_network_non_finite_cost():
    net = gradcheck.random_network([3, 2, 1], "tanh", 4, 0)
    net.params["W2"][0, 0] = np.inf
    with np.errstate(invalid="ignore"), pytest.raises(InputError, match="not finite"):
        gradcheck.check_network(net)


# ------------------------------------------------------------------ directions


def _quadratic(A):
    return lambda theta: 0.5 * float(theta @ A @ theta)


def test_check_directions_on_a_quadratic():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((7, 7))
    A = M @ M.T
    theta = rng.standard_normal(7)
    layout = [("W1", (2, 2), 0), ("b1", (3,), 4)]
    analytic = A @ theta
    report = gradcheck.check_directions(_quadratic(A), theta, analytic, layout, 1e-5, 5, np.random.default_rng(1))
    assert report.mode == "directions" and report.checked == 10
    assert [(b.name, b.shape, b.checked, b.worst_index) for b in report.blocks] == [("W1", (2, 2), 5, None),
                                                                                    ("b1", (3,), 5, None)]
    assert report.rel_diff < 1e-8


def test_check_directions_blames_the_wrong_block_only():
    # Directions stay inside their block: a wrong b1 does not leak into W1's result.
    rng = np.random.default_rng(0)
    M = rng.standard_normal((7, 7))
    A = M @ M.T
    theta = rng.standard_normal(7)
    layout = [("W1", (2, 2), 0), ("b1", (3,), 4)]
    analytic = A @ theta
    analytic[4:] *= 2.0
    report = gradcheck.check_directions(_quadratic(A), theta, analytic, layout, 1e-5, 6, np.random.default_rng(1))
    assert block(report, "W1").rel_diff < 1e-8
    assert block(report, "b1").rel_diff == pytest.approx(1 / 3, rel=1e-6)
    assert block(report, "b1").verdict == "bug"


def test_check_directions_reports_the_worst_direction():
    # J = θ·c: every directional derivative is v·c exactly.
    c = np.array([1.0, -2.0, 3.0])
    analytic = c.copy()
    analytic[2] = 3.5
    report = gradcheck.check_directions(lambda t: float(t @ c), np.zeros(3), analytic, [("w", (3,), 0)], 1e-3, 8,
                                        np.random.default_rng(3))
    (b,) = report.blocks
    assert b.max_abs_diff == pytest.approx(abs(b.worst_numeric - b.worst_analytic))
    assert b.max_abs_diff <= 0.5 + 1e-9  # |v₂| · 0.5 for a unit v


# ------------------------------------------------------------------ user functions


@pytest.fixture
def example():
    return nets.example(0)


def test_check_function_good(example):
    params, data = example
    report = gradcheck.check_function(nets.good, params, data)
    assert report.rel_diff < 1e-7
    assert report.worst < 1e-5
    assert [b.name for b in report.blocks] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert [b.shape for b in report.blocks] == [(5, 4), (5, 1), (5, 5), (5, 1), (1, 5), (1, 1)]
    assert report.checked == 20 + 5 + 25 + 5 + 5 + 1
    assert report.mode == "all" and report.notes == []


def test_check_function_good_with_l2(example):
    params, data = example
    assert gradcheck.check_function(nets.good_l2, params, data).rel_diff < 1e-7


def test_check_function_agrees_with_the_builtin_mlp(example):
    # The same network through mlp.cost_and_grads: the same analytic values and a passing check.
    params, data = example
    fn = lambda p, d: mlp.cost_and_grads(p, d["X"], d["Y"], "tanh", 0.3)  # noqa: E731
    report = gradcheck.check_function(fn, params, data)
    assert report.rel_diff < 1e-7


def test_missing_factor_is_caught(example):
    params, data = example
    report = gradcheck.check_function(nets.missing_factor, params, data)
    w1 = block(report, "W1")
    assert worst_block(report) is w1
    assert w1.rel_diff == pytest.approx(1 / 3, rel=1e-5)  # |1 − 1/2| / (1 + 1/2)
    assert w1.verdict == "bug" and report.verdict == "bug"
    assert all(b.rel_diff < 1e-5 for b in report.blocks if b.name != "W1")
    _, grads = nets.good(params, data)
    expected = np.unravel_index(int(np.argmax(np.abs(grads["dW1"]))), (5, 4))
    assert w1.worst_index == tuple(int(i) for i in expected)  # the largest entry loses the most
    assert w1.worst_numeric == pytest.approx(grads["dW1"][expected], rel=1e-6)
    assert w1.worst_analytic == pytest.approx(0.5 * grads["dW1"][expected], rel=1e-12)


def test_transposed_matrix_is_caught(example):
    params, data = example
    report = gradcheck.check_function(nets.transposed, params, data)
    assert worst_block(report).name == "W2"
    assert block(report, "W2").rel_diff > 1e-3
    assert all(b.rel_diff < 1e-5 for b in report.blocks if b.name != "W2")
    i, j = block(report, "W2").worst_index
    assert i != j  # the diagonal of a transpose is right


def test_dropped_l2_term_is_caught(example):
    params, data = example
    report = gradcheck.check_function(nets.dropped_l2, params, data)
    assert report.rel_diff > 1e-3 and report.verdict == "bug"
    assert worst_block(report).name in ("W1", "W2", "W3")
    for name in ("W1", "W2", "W3"):
        assert block(report, name).rel_diff > 1e-3
    for name in ("b1", "b2", "b3"):
        assert block(report, name).rel_diff < 1e-5  # L2 leaves the biases alone


def test_dropped_l2_term_in_one_layer_is_named(example):
    params, data = example
    report = gradcheck.check_function(nets.dropped_l2_w3, params, data)
    assert worst_block(report).name == "W3"
    assert block(report, "W3").rel_diff > 1e-3
    assert all(b.rel_diff < 1e-5 for b in report.blocks if b.name != "W3")


def test_worst_block_counts_even_when_the_overall_difference_is_small(example):
    # db3 off by a factor 1 + 6e-5: the b3 block is 3e-5 off (over the default 1e-5), but it is
    # one number among 61, so the overall difference stays under 1e-5. --fail-above judges worst.
    params, data = example

    def slightly_off(p, d):
        cost, grads = nets.good(p, d)
        grads["db3"] = grads["db3"] * (1 + 6e-5)
        return cost, grads

    report = gradcheck.check_function(slightly_off, params, data)
    assert block(report, "b3").rel_diff == pytest.approx(3e-5, rel=0.05)
    assert report.rel_diff < 1e-5 < report.worst
    assert report.worst == block(report, "b3").rel_diff


def test_grads_keyed_by_parameter_names(example):
    params, data = example
    a = gradcheck.check_function(nets.good, params, data)
    b = gradcheck.check_function(nets.by_names, params, data)
    assert b.rel_diff < 1e-7
    assert a.rel_diff == b.rel_diff


def test_extra_gradient_keys_are_ignored(example):
    # The course's backward also returns dA0, dA1, ...: only dW/db of the parameters matter.
    params, data = example

    def fn(p, d):
        cost, grads = nets.good(p, d)
        return cost, {**grads, "dA0": np.zeros((4, 12)), "dZ1": "not an array"}

    assert gradcheck.check_function(fn, params, data).rel_diff < 1e-7


def test_vector_bias_gradients_accepted(example):
    params, data = example
    report = gradcheck.check_function(nets.flat_biases, params, data)
    assert report.rel_diff < 1e-7
    assert block(report, "b1").shape == (5, 1)


def test_vector_biases_with_column_gradients():
    # The other way round: b stored as (n,), the gradient returned as (n, 1).
    params, data = nets.example(1)
    flat = {k: (v.ravel() if k.startswith("b") else v) for k, v in params.items()}

    def fn(p, d):
        cols = {k: (v.reshape(-1, 1) if k.startswith("b") else v) for k, v in p.items()}
        return nets.good(cols, d)

    report = gradcheck.check_function(fn, flat, data)
    assert report.rel_diff < 1e-7
    assert block(report, "b2").shape == (5,)


def test_function_without_data():
    params, _ = nets.example(2)
    report = gradcheck.check_function(nets.no_data, params)
    assert report.rel_diff < 1e-7


@pytest.mark.parametrize("fn, message", [
    (nets.missing_key, r"no 'db2' \(nor 'b2'\)"),
    (nets.wrong_shape, r"dW1 has shape \(5, 3\), but W1 has shape \(5, 4\)"),
    (nets.nan_cost, "cost is not finite"),
    (nets.nan_grad, "db1 has non-finite values"),
    (nets.not_tuple, "must return \\(cost, grads\\)"),
    (nets.three_items, "of 3 items"),
    (nets.grads_list, "grads a dict"),
], ids=lambda v: getattr(v, "__name__", "message"))
def test_malformed_user_results(example, fn, message):
    params, data = example
    with pytest.raises(InputError, match=message):
        gradcheck.check_function(fn, params, data)


def test_cost_must_be_one_number(example):
    params, data = example
    with pytest.raises(InputError, match="one number"):
        gradcheck.check_function(lambda p, d: (np.ones(3), nets.good(p, d)[1]), params, data)
    with pytest.raises(InputError, match="one number"):
        gradcheck.check_function(lambda p, d: ("1.0", nets.good(p, d)[1]), params, data)


def test_cost_of_shape_1_1_is_one_number(example):
    params, data = example
    report = gradcheck.check_function(lambda p, d: (np.array([[nets.good(p, d)[0]]]), nets.good(p, d)[1]),
                                      params, data)
    assert report.rel_diff < 1e-7


def test_non_finite_cost_away_from_the_point(example):
    # Finite at θ, NaN once a coordinate moves: caught during the numerical pass.
    params, data = example
    base = params["b3"][0, 0]

    def fn(p, d):
        cost, grads = nets.good(p, d)
        return (cost if p["b3"][0, 0] == base else float("inf")), grads

    with pytest.raises(InputError, match="not finite"):
        gradcheck.check_function(fn, params, data)


def test_float32_results_get_a_note(example):
    params, data = example
    report = gradcheck.check_function(nets.float32, params, data)
    assert report.notes, "a float32 cost and float32 gradients must be pointed out"
    assert any("float32" in n and "cost" in n for n in report.notes)
    assert any("float32" in n and "dW1" in n for n in report.notes)
    assert len(report.notes) == len(set(report.notes))


def test_float64_results_get_no_note(example):
    params, data = example
    assert gradcheck.check_function(nets.good, params, data).notes == []


def test_float32_parameters_are_checked_in_float64():
    # Parameters saved as float32 are promoted: the function sees float64 arrays.
    params, data = nets.example(0)
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    seen = []

    def fn(p, d):
        seen.append({v.dtype for v in p.values()})
        return nets.good(p, d)

    report = gradcheck.check_function(fn, p32, data)
    assert all(s == {np.dtype(np.float64)} for s in seen)
    assert report.rel_diff < 1e-7


def test_mutating_user_function_does_not_corrupt_the_check(example):
    params, data = example
    before = {k: v.copy() for k, v in params.items()}
    report = gradcheck.check_function(nets.mutating, params, data)
    assert report.rel_diff < 1e-7
    assert report.rel_diff == gradcheck.check_function(nets.good, params, data).rel_diff
    assert set(params) == set(before)
    for k in before:
        np.testing.assert_array_equal(params[k], before[k])


def test_user_function_sees_the_data_it_was_given(example):
    params, data = example
    seen = []

    def fn(p, d):
        seen.append(d)
        return nets.good(p, d)

    gradcheck.check_function(fn, params, data, sample=1)
    assert all(d is data for d in seen)
    assert len(seen) == 2 + 2 * 6  # the analytic call and the determinism check, two per checked coordinate


def test_check_function_sample_and_fast(example):
    params, data = example
    report = gradcheck.check_function(nets.good, params, data, sample=2, seed=3)
    assert report.mode == "sample"
    assert [b.checked for b in report.blocks] == [2, 2, 2, 2, 2, 1]
    assert report.rel_diff < 1e-7
    fast = gradcheck.check_function(nets.good, params, data, fast=3)
    assert fast.mode == "directions" and fast.checked == 18
    assert all(b.worst_index is None for b in fast.blocks)
    assert fast.rel_diff < 1e-7
    broken = gradcheck.check_function(nets.missing_factor, params, data, fast=3)
    assert worst_block(broken).name == "W1" and block(broken, "W1").rel_diff > 1e-3


def test_check_function_call_hook(example):
    params, data = example
    calls = []

    def call(fn, p, d):
        calls.append(fn)
        return fn(p, d)

    gradcheck.check_function(nets.good, params, data, sample=1, call=call)
    assert calls and all(c is nets.good for c in calls)


def test_user_exception_propagates_without_a_call_hook(example):
    params, data = example
    with pytest.raises(ValueError, match="planted failure"):
        gradcheck.check_function(nets.raises, params, data)


@pytest.mark.parametrize("epsilon", [0.0, -1.0, float("nan")])
def test_check_function_bad_epsilon(example, epsilon):
    params, data = example
    with pytest.raises(InputError, match="epsilon"):
        gradcheck.check_function(nets.good, params, data, epsilon=epsilon)


def test_broken_sample_blocks():
    # samples/gradcheck/broken_net.py: dW2 twice too large (1/3) and db1 with 4/m (3/5).
    spec = importlib.util.spec_from_file_location("broken_sample", HERE.parent / "samples" / "gradcheck" / "broken_net.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with np.load(HERE.parent / "samples" / "gradcheck" / "params.npz") as f:
        params = {k: f[k] for k in f.files}
    with np.load(HERE.parent / "samples" / "gradcheck" / "data.npz") as f:
        data = {k: f[k] for k in f.files}
    report = gradcheck.check_function(module.forward_backward, params, data)
    assert block(report, "W2").rel_diff == pytest.approx(1 / 3, rel=1e-5)
    assert block(report, "b1").rel_diff == pytest.approx(3 / 5, rel=1e-5)
    assert worst_block(report).name == "b1"
    assert block(report, "W1").rel_diff < 1e-5 and block(report, "b2").rel_diff < 1e-5


# ---------------------------------------------------------------- a cost that is not deterministic


def test_non_deterministic_cost_is_refused_before_checking():
    """Dropout inside the cost (a new mask each call): the first two evaluations differ, and the
    check stops there with an InputError naming the cause, after exactly two calls."""
    from dltool.core.gradcheck import check_function
    from dltool.errors import InputError

    rng = np.random.default_rng(0)
    calls = []

    def noisy(params):
        calls.append(1)
        mask = rng.random(params["W1"].shape) < 0.8
        W = params["W1"] * mask / 0.8
        return 0.5 * float(np.sum(W ** 2)), {"dW1": W * mask / 0.8}

    with pytest.raises(InputError, match=r"the cost is not deterministic: two evaluations at the same parameters "
                                         r"gave .* turn dropout off \(keep_prob = 1"):
        check_function(noisy, {"W1": np.ones((3, 4))})
    assert len(calls) == 2


def test_last_bit_differences_are_not_non_determinism():
    """A cost whose second evaluation differs in its last bits (as a multi-threaded sum may) is
    still checked, and passes."""
    from dltool.core.gradcheck import NONDETERMINISM_RTOL, check_function

    calls = []

    def fn(params):
        w = params["w"]
        calls.append(1)
        wobble = 1.0 + 4e-16 if len(calls) == 2 else 1.0
        return 0.5 * float(w @ w) * wobble, {"dw": w.copy()}

    assert 4e-16 < NONDETERMINISM_RTOL
    report = check_function(fn, {"w": np.arange(1.0, 4.0)})
    assert report.rel_diff < 1e-7 and len(calls) == 2 + 2 * 3
