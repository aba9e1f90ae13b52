"""An L-layer network in the course's notation and equations (C1W4, C2W1).

Shapes: X (n_x, m) one example per column; W[l] (n[l], n[l-1]); b[l] (n[l], 1);
Z[l] = W[l] A[l-1] + b[l]; A[l] = g(Z[l]) with a hidden activation g, and a sigmoid output for
n[L] = 1 (Y of 0/1) or a softmax output for n[L] > 1 (Y one-hot, (n[L], m)).
Cost: J = mean cross-entropy + λ/(2m) Σ_l ‖W[l]‖²_F. Backward: dZ[L] = A[L] − Y;
dW[l] = dZ[l] A[l-1]ᵀ / m + λ/m W[l]; db[l] = Σ dZ[l] / m; dA[l-1] = W[l]ᵀ dZ[l];
dZ[l-1] = dA[l-1] ∗ g'(Z[l-1]).

Logistic regression is the network with no hidden layer and one output, softmax regression the
one with n[L] = classes: ``dltool.core.logreg`` takes its cost and gradients from here.
"""

import numpy as np

from dltool.core.names import ACTIVATIONS
from dltool.errors import InputError

LEAKY_SLOPE = 0.01


def param_names(n_layers: int) -> list:
    """["W1", "b1", "W2", "b2", ...] in the order every parameter vector uses."""
    return [f"{p}{l}" for l in range(1, n_layers + 1) for p in ("W", "b")]


def layer_sizes(params: dict) -> list:
    """[n_x, n1, ..., nL] from W1, W2, ...; checks that the shapes chain."""
    L = len([k for k in params if k.startswith("W")])
    sizes = []
    for l in range(1, L + 1):
        W, b = params.get(f"W{l}"), params.get(f"b{l}")
        if W is None or b is None:
            raise InputError(f"parameters need W1, b1, ..., W{L}, b{L}: missing {'W' if W is None else 'b'}{l}")
        if W.ndim != 2:
            raise InputError(f"W{l} must be a matrix (n[{l}], n[{l - 1}]), got shape {W.shape}")
        if sizes and W.shape[1] != sizes[-1]:
            raise InputError(f"W{l} has shape {W.shape}, but layer {l - 1} has {sizes[-1]} units: expected "
                             f"({W.shape[0]}, {sizes[-1]})")
        if b.shape not in ((W.shape[0], 1), (W.shape[0],)):
            raise InputError(f"b{l} must have shape ({W.shape[0]}, 1), got {b.shape}")
        if not sizes:
            sizes.append(W.shape[1])
        sizes.append(W.shape[0])
    if not sizes:
        raise InputError("no parameters: expected W1, b1, ...")
    return sizes


def activate(Z, activation: str):
    if activation == "relu":
        return np.maximum(Z, 0.0)
    if activation == "leaky_relu":
        return np.where(Z > 0, Z, LEAKY_SLOPE * Z)
    if activation == "tanh":
        return np.tanh(Z)
    if activation == "sigmoid":
        return _sigmoid(Z)
    raise InputError(f"unknown activation {activation!r}: expected one of {', '.join(ACTIVATIONS)}")


def activation_grad(Z, activation: str):
    """g'(Z); for ReLU the course's convention g'(0) = 0."""
    if activation == "relu":
        return (Z > 0).astype(Z.dtype)
    if activation == "leaky_relu":
        return np.where(Z > 0, 1.0, LEAKY_SLOPE)
    if activation == "tanh":
        return 1.0 - np.tanh(Z) ** 2
    s = _sigmoid(Z)
    return s * (1.0 - s)


def _sigmoid(Z):
    e = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def output_loss(ZL, Y) -> float:
    """Mean cross-entropy from the output pre-activations (stable: no log(0), no overflow)."""
    m = ZL.shape[1]
    if ZL.shape[0] == 1:
        z = ZL[0]
        return float(np.sum(np.logaddexp(0.0, -np.abs(z)) + np.maximum(z, 0.0) - Y[0] * z) / m)
    top = ZL.max(axis=0, keepdims=True)
    log_norm = top + np.log(np.exp(ZL - top).sum(axis=0, keepdims=True))
    return float(np.sum(Y * (log_norm - ZL)) / m)


def forward(params: dict, X, activation: str = "relu"):
    """Caches [(A_prev, Z), ...] per layer and the output pre-activation Z[L]."""
    L = len(layer_sizes(params)) - 1
    A = X
    caches = []
    for l in range(1, L + 1):
        Z = params[f"W{l}"] @ A + params[f"b{l}"].reshape(-1, 1)
        caches.append((A, Z))
        if l < L:
            A = activate(Z, activation)
    return caches, caches[-1][1]


def output_activation(ZL):
    if ZL.shape[0] == 1:
        return _sigmoid(ZL)
    e = np.exp(ZL - ZL.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def cost_and_grads(params: dict, X, Y, activation: str = "relu", l2: float = 0.0):
    """J and its gradients {"dW1": ..., "db1": ..., ...} (db with the shape b has).

    Parameters
    ----------
    params : {"W1": (n1, n_x), "b1": (n1, 1), ...}
    X : (n_x, m); Y : (n[L], m), 0/1 for one output, one-hot for softmax
    """
    L = len(layer_sizes(params)) - 1
    m = X.shape[1]
    caches, ZL = forward(params, X, activation)
    cost = output_loss(ZL, Y) + l2 / (2 * m) * sum(float(np.sum(params[f"W{l}"] ** 2)) for l in range(1, L + 1))
    grads = {}
    dZ = output_activation(ZL) - Y
    for l in range(L, 0, -1):
        A_prev, Z = caches[l - 1]
        W = params[f"W{l}"]
        grads[f"dW{l}"] = dZ @ A_prev.T / m + (l2 / m) * W
        grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True).reshape(params[f"b{l}"].shape) / m
        if l > 1:
            dZ = (W.T @ dZ) * activation_grad(caches[l - 2][1], activation)
    return cost, grads


def targets(y, n_out: int):
    """Y for an output layer of n_out units: the (1, m) row of 0/1 for one sigmoid unit, a one-hot
    (n_out, m) for softmax (two softmax units included)."""
    y = np.asarray(y, dtype=np.int64)
    if n_out == 1:
        return y[None, :].astype(np.float64)
    Y = np.zeros((n_out, len(y)))
    Y[y, np.arange(len(y))] = 1.0
    return Y


def one_hot(y, n_classes: int):
    """Y for n_classes classes as the course writes it: the (1, m) row of 0/1 for two classes
    (one sigmoid unit), else one-hot (n_classes, m)."""
    return targets(y, 1 if n_classes == 2 else n_classes)
