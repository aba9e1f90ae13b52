"""``dltool.core.mlp``: the course's L-layer network (C1W4, C2W1).

Shapes: X (n_x, m), W[l] (n[l], n[l-1]), b[l] (n[l], 1); a sigmoid output for one unit (Y a 0/1
row), a softmax output otherwise (Y one-hot columns); J = mean cross-entropy + λ/(2m) Σ‖W[l]‖².

The backward pass is checked against ``reference.numerical_gradient`` (plain two-sided differences,
one coordinate at a time) and, for two tiny networks, against values worked out by hand.
"""

import math

import numpy as np
import pytest

from dltool.core import mlp
from dltool.errors import InputError
from reference import numerical_gradient

ACTIVATIONS = ["relu", "leaky_relu", "tanh", "sigmoid"]
# (sizes, description): no hidden layer (logistic / softmax regression), one and two hidden layers.
SHAPES = [
    [3, 1],
    [3, 4],
    [3, 2],
    [3, 4, 1],
    [4, 6, 3],
    [3, 5, 4, 2],
    [5, 3, 4, 2, 1],
]


def make(sizes, m=7, seed=0):
    """Seeded params (non-zero biases), X ~ N(0, 1) and labels (Y one-hot, or a 0/1 row for one unit)."""
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = rng.standard_normal((sizes[l], sizes[l - 1])) / math.sqrt(sizes[l - 1])
        params[f"b{l}"] = 0.3 * rng.standard_normal((sizes[l], 1))
    X = rng.standard_normal((sizes[0], m))
    n_out = sizes[-1]
    if n_out == 1:
        Y = (np.arange(m) % 2).reshape(1, m).astype(float)
    else:
        Y = np.zeros((n_out, m))
        Y[np.arange(m) % n_out, np.arange(m)] = 1.0
    return params, X, Y


def with_block(params, name, value):
    out = dict(params)
    out[name] = value
    return out


# ------------------------------------------------------------------ backward against finite differences


@pytest.mark.parametrize("sizes", SHAPES, ids=lambda s: ",".join(map(str, s)))
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("l2", [0.0, 0.8])
def test_grads_match_finite_differences(sizes, activation, l2):
    params, X, Y = make(sizes, seed=len(sizes) + sizes[-1])
    cost, grads = mlp.cost_and_grads(params, X, Y, activation, l2)
    assert isinstance(cost, float) and math.isfinite(cost)
    assert set(grads) == {"d" + n for n in mlp.param_names(len(sizes) - 1)}
    for name, value in params.items():
        assert grads["d" + name].shape == value.shape, name
        f = lambda block, name=name: mlp.cost_and_grads(with_block(params, name, block), X, Y, activation, l2)[0]  # noqa: E731
        numeric = numerical_gradient(f, value, eps=1e-6)
        np.testing.assert_allclose(grads["d" + name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_bias_given_as_vector_gives_vector_gradient(activation):
    params, X, Y = make([3, 4, 2])
    flat = {k: (v.ravel() if k.startswith("b") else v) for k, v in params.items()}
    cost, grads = mlp.cost_and_grads(params, X, Y, activation, 0.3)
    cost_flat, grads_flat = mlp.cost_and_grads(flat, X, Y, activation, 0.3)
    assert cost_flat == pytest.approx(cost, rel=1e-14)
    for k in ("b1", "b2"):
        assert grads_flat["d" + k].shape == flat[k].shape
        np.testing.assert_allclose(grads_flat["d" + k], grads["d" + k].ravel(), rtol=1e-12)


def test_cost_is_cross_entropy_plus_l2_term():
    params, X, Y = make([3, 4, 1], m=5)
    caches, ZL = mlp.forward(params, X, "tanh")
    A = 1.0 / (1.0 + np.exp(-ZL))
    expected = -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))
    reg = 0.6 / (2 * 5) * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    assert mlp.cost_and_grads(params, X, Y, "tanh")[0] == pytest.approx(expected, rel=1e-12)
    assert mlp.cost_and_grads(params, X, Y, "tanh", 0.6)[0] == pytest.approx(expected + reg, rel=1e-12)


def test_l2_adds_lambda_over_m_times_w_and_leaves_biases():
    params, X, Y = make([3, 5, 4, 3], m=9)
    _, plain = mlp.cost_and_grads(params, X, Y, "relu")
    _, reg = mlp.cost_and_grads(params, X, Y, "relu", 1.8)
    for l in (1, 2, 3):
        np.testing.assert_allclose(reg[f"dW{l}"], plain[f"dW{l}"] + 1.8 / 9 * params[f"W{l}"], rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(reg[f"db{l}"], plain[f"db{l}"])


def test_forward_caches():
    params, X, _ = make([3, 4, 2], m=6)
    caches, ZL = mlp.forward(params, X, "tanh")
    assert len(caches) == 2
    A0, Z1 = caches[0]
    np.testing.assert_array_equal(A0, X)
    np.testing.assert_allclose(Z1, params["W1"] @ X + params["b1"], rtol=1e-14)
    A1, Z2 = caches[1]
    np.testing.assert_allclose(A1, np.tanh(Z1), rtol=1e-14)
    np.testing.assert_allclose(Z2, params["W2"] @ A1 + params["b2"], rtol=1e-14)
    assert ZL is Z2 or np.array_equal(ZL, Z2)
    assert ZL.shape == (2, 6)


# ------------------------------------------------------------------ hand values


def test_tiny_sigmoid_network_by_hand():
    # X = [1, 2]ᵀ (one example), Y = 1.
    # Z1 = W1 X + b1 = 0.5·1 − 0.25·2 + 0.5 = 0.5;  A1 = relu(0.5) = 0.5
    # Z2 = W2 A1 + b2 = 2·0.5 − 1 = 0;  A2 = σ(0) = 0.5;  J = −log 0.5 = ln 2
    # dZ2 = A2 − Y = −0.5;  dW2 = dZ2 A1ᵀ = −0.25;  db2 = −0.5
    # dA1 = W2ᵀ dZ2 = −1;  dZ1 = dA1 · relu'(0.5) = −1;  dW1 = dZ1 Xᵀ = [−1, −2];  db1 = −1
    # With λ = 0.1 (m = 1): J += 0.1/2 · (0.25 + 0.0625 + 4) = 0.215625;
    # dW1 += 0.1·W1 → [−0.95, −2.025];  dW2 += 0.1·W2 → −0.05;  biases unchanged.
    params = {"W1": np.array([[0.5, -0.25]]), "b1": np.array([[0.5]]),
              "W2": np.array([[2.0]]), "b2": np.array([[-1.0]])}
    X, Y = np.array([[1.0], [2.0]]), np.array([[1.0]])
    cost, g = mlp.cost_and_grads(params, X, Y, "relu")
    assert cost == pytest.approx(math.log(2), rel=1e-14)
    np.testing.assert_allclose(g["dW2"], [[-0.25]], rtol=1e-14)
    np.testing.assert_allclose(g["db2"], [[-0.5]], rtol=1e-14)
    np.testing.assert_allclose(g["dW1"], [[-1.0, -2.0]], rtol=1e-14)
    np.testing.assert_allclose(g["db1"], [[-1.0]], rtol=1e-14)
    cost, g = mlp.cost_and_grads(params, X, Y, "relu", l2=0.1)
    assert cost == pytest.approx(math.log(2) + 0.215625, rel=1e-14)
    np.testing.assert_allclose(g["dW1"], [[-0.95, -2.025]], rtol=1e-14)
    np.testing.assert_allclose(g["dW2"], [[-0.05]], rtol=1e-12)
    np.testing.assert_allclose(g["db1"], [[-1.0]], rtol=1e-14)
    np.testing.assert_allclose(g["db2"], [[-0.5]], rtol=1e-14)


def test_tiny_network_with_relu_off_by_hand():
    # As above but b1 = −0.5: Z1 = −0.5, A1 = 0, Z2 = b2 = −1, A2 = σ(−1), J = log(1 + e) (Y = 1).
    # relu'(−0.5) = 0 stops the gradient: dW1 = 0, db1 = 0; dW2 = dZ2 · 0 = 0; db2 = σ(−1) − 1.
    params = {"W1": np.array([[0.5, -0.25]]), "b1": np.array([[-0.5]]),
              "W2": np.array([[2.0]]), "b2": np.array([[-1.0]])}
    X, Y = np.array([[1.0], [2.0]]), np.array([[1.0]])
    cost, g = mlp.cost_and_grads(params, X, Y, "relu")
    assert cost == pytest.approx(math.log1p(math.e), rel=1e-14)
    np.testing.assert_array_equal(g["dW1"], [[0.0, 0.0]])
    np.testing.assert_array_equal(g["db1"], [[0.0]])
    np.testing.assert_array_equal(g["dW2"], [[0.0]])
    np.testing.assert_allclose(g["db2"], [[1 / (1 + math.e) - 1]], rtol=1e-14)


def test_tiny_softmax_by_hand():
    # No hidden layer, X = [[1]], logits Z = W1 X + b1 = [0, ln 3]: softmax = [1/4, 3/4].
    # Y = class 0: J = −ln(1/4) = ln 4; dZ = A − Y = [−3/4, 3/4]; dW1 = dZ Xᵀ; db1 = dZ.
    params = {"W1": np.array([[0.0], [math.log(3)]]), "b1": np.zeros((2, 1))}
    X, Y = np.array([[1.0]]), np.array([[1.0], [0.0]])
    cost, g = mlp.cost_and_grads(params, X, Y, "relu")
    assert cost == pytest.approx(math.log(4), rel=1e-14)
    np.testing.assert_allclose(g["dW1"], [[-0.75], [0.75]], rtol=1e-14)
    np.testing.assert_allclose(g["db1"], [[-0.75], [0.75]], rtol=1e-14)
    np.testing.assert_allclose(mlp.output_activation(np.array([[0.0], [math.log(3)]])), [[0.25], [0.75]], rtol=1e-14)


def test_cost_averages_over_examples():
    # Two copies of the same example: the same cost and gradients as one (mean over m).
    params = {"W1": np.array([[0.5, -0.25]]), "b1": np.array([[0.5]]),
              "W2": np.array([[2.0]]), "b2": np.array([[-1.0]])}
    X1, Y1 = np.array([[1.0], [2.0]]), np.array([[1.0]])
    c1, g1 = mlp.cost_and_grads(params, X1, Y1, "relu")
    c2, g2 = mlp.cost_and_grads(params, np.hstack([X1, X1]), np.hstack([Y1, Y1]), "relu")
    assert c2 == pytest.approx(c1, rel=1e-14)
    for k in g1:
        np.testing.assert_allclose(g2[k], g1[k], rtol=1e-14)


# ------------------------------------------------------------------ one_hot, names, layer_sizes


def test_one_hot_columns():
    Y = mlp.one_hot([2, 0, 1, 2], 3)
    np.testing.assert_array_equal(Y, [[0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1]])
    assert Y.shape == (3, 4) and Y.dtype == np.float64
    np.testing.assert_array_equal(mlp.one_hot(np.array([3]), 5), [[0], [0], [0], [1], [0]])


def test_one_hot_two_classes_is_the_course_row():
    Y = mlp.one_hot([1, 0, 1], 2)
    assert Y.shape == (1, 3) and Y.dtype == np.float64
    np.testing.assert_array_equal(Y, [[1, 0, 1]])


def test_param_names():
    assert mlp.param_names(1) == ["W1", "b1"]
    assert mlp.param_names(3) == ["W1", "b1", "W2", "b2", "W3", "b3"]


def test_layer_sizes():
    params, _, _ = make([5, 3, 4, 2, 1])
    assert mlp.layer_sizes(params) == [5, 3, 4, 2, 1]
    assert mlp.layer_sizes({"W1": np.zeros((3, 7)), "b1": np.zeros(3)}) == [7, 3]  # (n,) bias accepted


@pytest.mark.parametrize("drop, message", [("b2", "missing b2"), ("W1", "missing W1")])
def test_layer_sizes_missing_block(drop, message):
    params, _, _ = make([3, 4, 2])
    del params[drop]
    with pytest.raises(InputError, match=message):
        mlp.layer_sizes(params)


def test_layer_sizes_missing_middle_layer():
    params, _, _ = make([3, 4, 2, 1])
    del params["W2"], params["b2"]
    with pytest.raises(InputError, match="missing W2"):
        mlp.layer_sizes(params)


def test_layer_sizes_shapes_that_do_not_chain():
    params, _, _ = make([3, 4, 2])
    params["W2"] = np.zeros((2, 5))  # layer 1 has 4 units
    with pytest.raises(InputError, match=r"W2 has shape \(2, 5\).*4 units.*\(2, 4\)"):
        mlp.layer_sizes(params)


@pytest.mark.parametrize("bias", [np.zeros((4, 2)), np.zeros((3, 1)), np.zeros((1, 4))])
def test_layer_sizes_bad_bias(bias):
    params, _, _ = make([3, 4, 2])
    params["b1"] = bias
    with pytest.raises(InputError, match="b1 must have shape"):
        mlp.layer_sizes(params)


def test_layer_sizes_weight_not_a_matrix():
    with pytest.raises(InputError, match="W1 must be a matrix"):
        mlp.layer_sizes({"W1": np.zeros(3), "b1": np.zeros((3, 1))})


def test_layer_sizes_empty():
    with pytest.raises(InputError, match="no parameters"):
        mlp.layer_sizes({})


def test_input_errors_are_value_errors():
    with pytest.raises(ValueError):
        mlp.layer_sizes({})


# ------------------------------------------------------------------ numerical stability


@pytest.mark.parametrize("z", [1000.0, -1000.0, 745.0, -745.0, 40.0, -40.0, 0.0])
@pytest.mark.parametrize("y", [0.0, 1.0])
def test_sigmoid_loss_at_extreme_logits(z, y):
    # −[y log σ(z) + (1 − y) log(1 − σ(z))] = log(1 + e^z) − y z, computed without overflow.
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss = mlp.output_loss(np.array([[z]]), np.array([[y]]))
    expected = (z if z > 0 else 0.0) + math.log1p(math.exp(-abs(z))) - y * z
    assert loss == pytest.approx(expected, rel=1e-12, abs=1e-300)
    assert math.isfinite(loss)


def test_sigmoid_loss_values():
    # ln 2 at z = 0; a confident right answer costs ~e^-1000 (0 in floats), a confident wrong one 1000.
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        assert mlp.output_loss(np.array([[0.0]]), np.array([[1.0]])) == pytest.approx(math.log(2), rel=1e-15)
        assert mlp.output_loss(np.array([[1000.0, -1000.0]]), np.array([[1.0, 0.0]])) == 0.0
        assert mlp.output_loss(np.array([[1000.0, -1000.0]]), np.array([[0.0, 1.0]])) == pytest.approx(1000.0)


def test_softmax_loss_at_extreme_logits():
    ZL = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0], [0.0, 0.0, 0.0]])
    Y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss = mlp.output_loss(ZL, Y)
    # Example 1: log-sum-exp ≈ 1000, Y picks −1000: 2000. Example 2: the same. Example 3: ln 3.
    assert loss == pytest.approx((2000.0 + 2000.0 + math.log(3)) / 3, rel=1e-14)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        A = mlp.output_activation(ZL)
    np.testing.assert_allclose(A.sum(axis=0), 1.0, rtol=1e-15)
    assert A[0, 0] == 1.0 and A[1, 0] == 0.0


@pytest.mark.parametrize("n_out", [1, 3])
def test_cost_and_grads_at_extreme_logits(n_out):
    # Huge weights saturate everything; cost and gradients stay finite, no warnings.
    params, X, Y = make([3, 4, n_out], m=6, seed=2)
    params = {k: 1e4 * v for k, v in params.items()}
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        for activation in ACTIVATIONS:
            cost, grads = mlp.cost_and_grads(params, X, Y, activation, 0.1)
            assert math.isfinite(cost)
            assert all(np.isfinite(g).all() for g in grads.values())


def test_sigmoid_output_activation_extremes():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        A = mlp.output_activation(np.array([[-1000.0, -40.0, 0.0, 40.0, 1000.0]]))
    assert A[0, 0] == 0.0 and A[0, 2] == 0.5 and A[0, 4] == 1.0
    assert A[0, 1] == pytest.approx(math.exp(-40) / (1 + math.exp(-40)), rel=1e-14)


# ------------------------------------------------------------------ activations


def test_activation_values():
    Z = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    np.testing.assert_array_equal(mlp.activate(Z, "relu"), [[0, 0, 0, 0.5, 2.0]])
    np.testing.assert_allclose(mlp.activate(Z, "leaky_relu"), [[-0.02, -0.005, 0, 0.5, 2.0]], rtol=1e-15)
    np.testing.assert_allclose(mlp.activate(Z, "tanh"), np.tanh(Z), rtol=1e-15)
    np.testing.assert_allclose(mlp.activate(Z, "sigmoid"), 1 / (1 + np.exp(-Z)), rtol=1e-15)


def test_activation_grad_conventions():
    Z = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    # The course's convention: relu'(0) = 0; leaky relu's slope at 0 is the left one, 0.01.
    np.testing.assert_array_equal(mlp.activation_grad(Z, "relu"), [[0, 0, 0, 1, 1]])
    np.testing.assert_array_equal(mlp.activation_grad(Z, "leaky_relu"), [[0.01, 0.01, 0.01, 1, 1]])
    np.testing.assert_allclose(mlp.activation_grad(Z, "tanh"), 1 - np.tanh(Z) ** 2, rtol=1e-15)
    s = 1 / (1 + np.exp(-Z))
    np.testing.assert_allclose(mlp.activation_grad(Z, "sigmoid"), s * (1 - s), rtol=1e-14)
    assert mlp.activation_grad(np.array([0.0]), "tanh")[0] == 1.0
    assert mlp.activation_grad(np.array([0.0]), "sigmoid")[0] == 0.25


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "leaky_relu", "relu"])
def test_activation_grad_is_the_derivative_away_from_zero(activation):
    Z = np.linspace(-3, 3, 13) + 0.05  # never 0
    numeric = (mlp.activate(Z + 1e-6, activation) - mlp.activate(Z - 1e-6, activation)) / 2e-6
    np.testing.assert_allclose(mlp.activation_grad(Z, activation), numeric, rtol=1e-7, atol=1e-9)


def test_unknown_activation():
    with pytest.raises(InputError, match="unknown activation 'swish'"):
        mlp.activate(np.zeros((1, 1)), "swish")
    params, X, Y = make([3, 4, 1])
    with pytest.raises(InputError, match="unknown activation"):
        mlp.cost_and_grads(params, X, Y, "swish")
