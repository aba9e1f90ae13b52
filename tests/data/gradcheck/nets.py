"""User functions for the gradcheck tests, written the course's way (C1W4/C2W1).

A three-layer network 4 -> 5 -> 5 -> 1 (tanh, tanh, sigmoid output) on data["X"] (4, m),
data["Y"] (1, m); W2 is square (5, 5) so that a transposed gradient keeps its shape. ``good`` is
right; each other function plants one defect. ``example(seed)`` makes parameters and data.

The line ``raise ValueError("planted failure ...")`` is found by its text in the tests: keep it on
one line.
"""

import numpy as np

SIZES = (4, 5, 5, 1)
L2 = 0.7


def example(seed=0, m=12):
    """(params, data): weights ~ N(0, 1/n[l-1]), non-zero biases, X ~ N(0, 1), Y of 0/1 (both present)."""
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(SIZES)):
        params[f"W{l}"] = rng.standard_normal((SIZES[l], SIZES[l - 1])) / np.sqrt(SIZES[l - 1])
        params[f"b{l}"] = 0.1 * rng.standard_normal((SIZES[l], 1))
    X = rng.standard_normal((SIZES[0], m))
    Y = (np.arange(m) % 2).reshape(1, m).astype(float)
    return params, {"X": X, "Y": Y}


def _net(params, data, l2=0.0, dtype=np.float64):
    X, Y = data["X"].astype(dtype), data["Y"].astype(dtype)
    W1, b1, W2, b2, W3, b3 = (np.asarray(params[k]).astype(dtype) for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    m = X.shape[1]
    Z1 = W1 @ X + b1
    A1 = np.tanh(Z1)
    Z2 = W2 @ A1 + b2
    A2 = np.tanh(Z2)
    Z3 = W3 @ A2 + b3
    A3 = 1 / (1 + np.exp(-Z3))
    cost = -np.mean(Y * np.log(A3) + (1 - Y) * np.log(1 - A3))
    cost = cost + dtype(l2) / (2 * m) * (np.sum(W1 ** 2) + np.sum(W2 ** 2) + np.sum(W3 ** 2))
    dZ3 = A3 - Y
    dW3 = dZ3 @ A2.T / m + dtype(l2) / m * W3
    db3 = dZ3.sum(axis=1, keepdims=True) / m
    dZ2 = (W3.T @ dZ3) * (1 - A2 ** 2)
    dW2 = dZ2 @ A1.T / m + dtype(l2) / m * W2
    db2 = dZ2.sum(axis=1, keepdims=True) / m
    dZ1 = (W2.T @ dZ2) * (1 - A1 ** 2)
    dW1 = dZ1 @ X.T / m + dtype(l2) / m * W1
    db1 = dZ1.sum(axis=1, keepdims=True) / m
    return cost, {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dW3": dW3, "db3": db3}


def good(params, data):
    return _net(params, data)


def good_l2(params, data):
    return _net(params, data, l2=L2)


def missing_factor(params, data):
    """dW1 half of what it should be (a lost factor 2, the course's kind of slip)."""
    cost, grads = _net(params, data)
    grads["dW1"] = grads["dW1"] * 0.5
    return cost, grads


def transposed(params, data):
    """dW2 transposed: A1 @ dZ2.T instead of dZ2 @ A1.T (the same shape: W2 is square)."""
    cost, grads = _net(params, data)
    grads["dW2"] = grads["dW2"].T
    return cost, grads


def dropped_l2(params, data):
    """The cost has the L2 term, no gradient has its lambda/m W."""
    cost, _ = _net(params, data, l2=L2)
    _, grads = _net(params, data)
    return cost, grads


def dropped_l2_w3(params, data):
    """The cost has the L2 term, dW3 forgot it (dW1, dW2 have it)."""
    cost, grads = _net(params, data, l2=L2)
    grads["dW3"] = _net(params, data)[1]["dW3"]
    return cost, grads


def by_names(params, data):
    """Gradients keyed by the parameter names (W1, b1, ...) instead of dW1, db1, ..."""
    cost, grads = _net(params, data)
    return cost, {k[1:]: v for k, v in grads.items()}


def flat_biases(params, data):
    """db1, db2, db3 as (n,) vectors instead of (n, 1) columns."""
    cost, grads = _net(params, data)
    return cost, {k: (v.ravel() if k.startswith("db") else v) for k, v in grads.items()}


def missing_key(params, data):
    cost, grads = _net(params, data)
    del grads["db2"]
    return cost, grads


def wrong_shape(params, data):
    cost, grads = _net(params, data)
    grads["dW1"] = grads["dW1"][:, :3]
    return cost, grads


def nan_cost(params, data):
    _, grads = _net(params, data)
    return float("nan"), grads


def nan_grad(params, data):
    cost, grads = _net(params, data)
    grads["db1"] = grads["db1"] * np.nan
    return cost, grads


def not_tuple(params, data):
    return _net(params, data)[0]


def three_items(params, data):
    cost, grads = _net(params, data)
    return cost, grads, None


def grads_list(params, data):
    cost, grads = _net(params, data)
    return cost, list(grads.values())


def float32(params, data):
    """Everything in float32: the rounding swamps an epsilon step."""
    return _net(params, data, dtype=np.float32)


def mutating(params, data):
    """Right, but updates its parameters in place afterwards (a gradient-descent step) and adds a key."""
    cost, grads = _net(params, data)
    for k in ("W1", "b1", "W2", "b2", "W3", "b3"):
        params[k] -= 0.5 * grads["d" + k]
    params["b1"][:] = 123.0
    params["cache"] = "junk"
    return cost, grads


def _helper(W):
    raise ValueError("planted failure in the user's helper")


def raises(params, data):
    return _helper(params["W1"])


def no_data(params):
    """Without --data: J = sum over blocks of 0.5 ||P||^2 + sum(P ** 3) / 3, dJ = P + P ** 2."""
    cost = sum(0.5 * np.sum(v ** 2) + np.sum(v ** 3) / 3 for v in params.values())
    return cost, {"d" + k: v + v ** 2 for k, v in params.items()}
