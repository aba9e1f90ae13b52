"""``conv-shape --run``: push a random input through random weights, layer by layer, with the
kernels of ``dltool.core.conv``; confirm every shape the arithmetic predicted and time each layer.

Weights are drawn N(0, 2/fan_in) (He) so that activations stay in range through deep stacks.
"""

import time

import numpy as np

from dltool.core.conv import conv2d, dense, pool2d
from dltool.core.convshape import ACTIVATION_KINDS

#: The run computes in numpy's default float64 (a ``conv-shape --dtype`` name).
RUN_DTYPE = "float64"


def _activation(kind, A):
    if kind == "relu":
        return np.maximum(A, 0.0)
    if kind == "leaky_relu":
        return np.where(A > 0, A, 0.01 * A)
    if kind == "elu":
        return np.where(A > 0, A, np.expm1(np.minimum(A, 0.0)))
    if kind == "gelu":
        return 0.5 * A * (1.0 + np.tanh(0.7978845608028654 * (A + 0.044715 * A ** 3)))
    if kind == "silu":
        return A / (1.0 + np.exp(-A))
    if kind == "tanh":
        return np.tanh(A)
    return 1.0 / (1.0 + np.exp(-A))  # sigmoid


def _softmax(Z):
    e = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def run_network(network, summary, seed: int = 0, batch: int = 1) -> list:
    """Run the network; return [{number, name, shape, seconds}] for every layer (blocks: the join).

    Raises AssertionError if a computed shape differs from the table's (a bug in the arithmetic).
    """
    rng = np.random.default_rng(seed)
    rows = {r.number: r for r in summary.rows}
    timings = []

    def layer(spec, A):
        row = rows[spec.number]
        kind = row.kind
        start = time.perf_counter()
        if kind in ("add", "concat"):
            outs = [run(branch, A) if branch else A for branch in spec.branches]
            start = time.perf_counter()  # the join only: the branches timed themselves
            A = sum(outs[1:], outs[0]) if kind == "add" else np.concatenate(outs, axis=-1)
        elif kind == "conv":
            f_h, f_w, c_in, c_out = row.weight_shape
            W = rng.standard_normal(row.weight_shape) * np.sqrt(2.0 / (f_h * f_w * c_in))
            b = np.zeros(c_out) if row.biases else None
            groups = A.shape[-1] // c_in
            start = time.perf_counter()
            A = conv2d(A, W, b, stride=spec.opts.get("s", 1), pad=tuple(row.padding),
                       dilation=spec.opts.get("d", 1), groups=groups)
        elif kind in ("maxpool", "avgpool", "pool"):
            mode = "avg" if kind == "avgpool" or spec.opts.get("mode") == "avg" else "max"
            f = spec.opts["f"]
            A = pool2d(A, f, spec.opts.get("s", f), pad=tuple(row.padding), mode=mode,
                       ceil_mode=bool(spec.opts.get("ceil", 0)))
        elif kind in ("fc", "softmax") and row.weights:
            A2 = A.reshape(A.shape[0], -1)
            W = rng.standard_normal((row.shape[0], A2.shape[1])) * np.sqrt(2.0 / A2.shape[1])
            start = time.perf_counter()
            A = dense(A2, W, np.zeros(row.shape[0]) if row.biases else None)
            if kind == "softmax":
                A = _softmax(A)
        elif kind == "softmax":
            A = _softmax(A)
        elif kind == "flatten":
            A = A.reshape(A.shape[0], -1)
        elif kind == "gap":
            A = A.mean(axis=(1, 2), keepdims=True)
        elif kind == "bn":
            axes = tuple(range(A.ndim - 1))
            A = (A - A.mean(axis=axes)) / np.sqrt(A.var(axis=axes) + 1e-5)
        elif kind in ACTIVATION_KINDS:
            A = _activation(kind, A)
        # dropout: the identity at inference
        seconds = time.perf_counter() - start
        if tuple(A.shape[1:]) != tuple(row.shape):
            raise AssertionError(f"{row.name}: --run computed {A.shape[1:]}, the table says {row.shape}")
        timings.append({"number": row.number, "name": row.name, "shape": list(A.shape[1:]), "seconds": seconds})
        return A

    def run(layers, A):
        for spec in layers:
            A = layer(spec, A)
        return A

    run(network.layers, rng.standard_normal((batch, *summary.input_shape)))
    return timings
