"""Weight initialization (C1W3 3.11, C2W1 1.10–1.11) and a probe of what it does deep in a network.

Weights W[l] (n[l], n[l-1]) for dense layers, (f, f, n_C_prev / g, n_C) for conv layers (the
course's layout); biases zero, (n[l], 1). std = gain · sqrt(1 / fan_in) for he (gain √2 by default),
xavier (the course's, = LeCun) and lecun; gain · sqrt(2 / (fan_in + fan_out)) for glorot (torch's
xavier_*); --scale for random (the course's × 0.01). fan_in = n[l-1] or f·f·n_C_prev/g.

Borrowed names keep their library's meaning (names.INIT_ALIASES): Keras's he_normal, glorot_normal
and lecun_normal draw a truncated normal (std / 0.8796..., redrawn beyond 2 of those standard
deviations, so no weight exceeds 2.27 std); torch's kaiming_normal and xavier_normal a plain one.
"""

import math

import numpy as np

from dltool.core import mlp
from dltool.core.names import DISTRIBUTIONS, GAINS, INIT_ALIASES, INIT_METHODS
from dltool.errors import InputError

TRUNCATED_STD = 0.87962566103423978  # std of N(0, 1) truncated at ±2: Keras divides by it


def resolve_method(method: str, distribution: str | None):
    """(method, distribution) from a method name or an alias like he_uniform / xavier_normal."""
    if method in INIT_ALIASES:
        base, dist, library = INIT_ALIASES[method]
        if distribution not in (None, dist):
            raise InputError(f"{method} is {base} with a {dist} distribution (as {library} draws it); drop "
                             f"--distribution or use --method {base} --distribution {distribution}")
        return base, dist
    if method not in INIT_METHODS:
        raise InputError(f"unknown method {method!r}: expected one of "
                         f"{', '.join(list(INIT_METHODS) + list(INIT_ALIASES))}")
    if distribution is not None and distribution not in DISTRIBUTIONS:
        raise InputError(f"unknown distribution {distribution!r}: expected one of {', '.join(DISTRIBUTIONS)}")
    return method, distribution or "normal"


def resolve_gain(gain) -> float | None:
    """A gain from a number or torch's calculate_gain names; None keeps the method's default."""
    if gain is None:
        return None
    if isinstance(gain, str) and gain in GAINS:
        return GAINS[gain]
    try:
        value = float(gain)
    except (TypeError, ValueError):
        raise InputError(f"--gain must be a number or one of {', '.join(GAINS)}, got {gain!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"--gain must be a positive number, got {gain!r}")
    return value


def target_std(method: str, fan_in: int, fan_out: int, scale: float = 0.01, gain: float | None = None) -> float:
    default_gain = INIT_METHODS[method][0]
    g = default_gain if gain is None else gain
    if method == "zeros":
        return 0.0
    if method == "random":
        return scale * (1.0 if gain is None else gain)
    if method == "glorot":
        return g * math.sqrt(2.0 / (fan_in + fan_out))
    return g * math.sqrt(1.0 / fan_in)


def sample(shape, std: float, distribution: str, rng) -> np.ndarray:
    """Weights of standard deviation ``std`` from the distribution."""
    if std == 0:
        return np.zeros(shape)
    if distribution == "uniform":
        limit = math.sqrt(3.0) * std
        return rng.uniform(-limit, limit, shape)
    if distribution == "truncated":
        # Keras TruncatedNormal: stddev / 0.8796 and redraw beyond 2 (of those) standard deviations.
        values = rng.standard_normal(shape)
        bad = np.abs(values) > 2.0
        while bad.any():
            values[bad] = rng.standard_normal(int(bad.sum()))
            bad = np.abs(values) > 2.0
        return values * (std / TRUNCATED_STD)
    return rng.standard_normal(shape) * std


def initialize(shapes: list, method: str = "he", distribution: str | None = None, scale: float = 0.01,
               gain=None, seed: int = 0):
    """Parameters for layers given as [(W shape, fan_in, fan_out), ...].

    Returns
    -------
    params : {"W1": ..., "b1": zeros (n, 1), ...}
    rows : [(name, shape, target std, actual std), ...] for the report
    """
    method, distribution = resolve_method(method, distribution)
    g = resolve_gain(gain)
    if not (math.isfinite(scale) and scale >= 0):
        raise InputError(f"--scale must be a number >= 0, got {scale}")
    rng = np.random.default_rng(seed)
    params, rows = {}, []
    for l, (shape, fan_in, fan_out) in enumerate(shapes, start=1):
        std = target_std(method, fan_in, fan_out, scale, g)
        W = sample(shape, std, distribution, rng)
        params[f"W{l}"] = W
        params[f"b{l}"] = np.zeros((shape[-1] if len(shape) == 4 else shape[0], 1))
        rows.append((f"W{l}", tuple(shape), std, float(W.std()) if W.size else 0.0))
    return params, rows


def dense_shapes(sizes: list) -> list:
    """[(W shape, fan_in, fan_out)] for dense layers n[0], n[1], ..."""
    if len(sizes) < 2 or min(sizes) < 1:
        raise InputError(f"--layers needs at least two positive sizes like 12288,20,7,5,1, got {sizes}")
    return [((sizes[l], sizes[l - 1]), sizes[l - 1], sizes[l]) for l in range(1, len(sizes))]


def probe(params: dict, activation: str = "relu", samples: int = 1000, seed: int = 0):
    """Push a standard-normal batch through the network (every layer with ``activation``) and a
    standard-normal gradient back: per layer the mean and std of the activations A[l] and the std
    of the gradient dA[l-1] that reaches the layer's input. Shows vanishing and exploding.

    Returns
    -------
    list of dicts {layer, units, act_mean, act_std, grad_std}
    """
    sizes = mlp.layer_sizes(params)
    L = len(sizes) - 1
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((sizes[0], samples))
    cache = []
    rows = []
    with np.errstate(over="ignore", invalid="ignore"):
        for l in range(1, L + 1):
            Z = params[f"W{l}"] @ A + params[f"b{l}"].reshape(-1, 1)
            cache.append(Z)
            A = mlp.activate(Z, activation)
            rows.append({"layer": l, "units": sizes[l], "act_mean": float(A.mean()), "act_std": float(A.std())})
        dA = rng.standard_normal(A.shape)
        for l in range(L, 0, -1):
            dZ = dA * mlp.activation_grad(cache[l - 1], activation)
            dA = params[f"W{l}"].T @ dZ
            rows[l - 1]["grad_std"] = float(dA.std())
    return rows
