"""numba kernel for the two-sided numerical gradient of the built-in networks (dltool.core.mlp).

Perturbing W[l][i, j] by ±ε changes only row i of Z[l], by ±ε A[l-1][j, :]. So each coordinate
carries that change forward from one cached forward pass: a rank-1 change of Z[l+1], then
ΔA = g(Z + ΔZ) − g(Z) computed exactly by the activations' addition formulas (no full tanh or
exp per unit, and no cancellation), ΔZ[next] = W ΔA. Coordinates are shared among threads
(dltool.core.threads). The difference J⁺ − J⁻ is summed
example by example, Σ_k (ℓ⁺_k − ℓ⁻_k), rather than as two full costs: that keeps its rounding
noise at or below the course loop's. The L2 term's difference, l2/(2m) ((w+ε)² − (w−ε)²), is exact.

Layout: θ is one vector in the order W1, b1, W2, b2, ... (each W row-major); ``w_off[l]`` /
``b_off[l]`` locate W[l] / b[l] in it. The cached pass is one flat buffer: A[l] (l < L) at
``a_off[l]``, Z[l] at ``z_off[l]``, each (n[l], m) row-major, so inner loops run over examples.
"""

import math

import numpy as np
from dltool.core.jit import njit

LEAKY_SLOPE = 0.01  # as dltool.core.mlp

# The four small helpers below run once per example in the innermost loops: inlined, the check of
# a wide network takes half the time (measured), for about 0.2 s more compilation on a first run.


@njit(inline="always")
def _example_loss(ZL, nL, m, Y, k):
    """Cross-entropy of example k from the output pre-activations ZL (nL * m, row-major)."""
    if nL == 1:
        v = ZL[k]
        return math.log1p(math.exp(-abs(v))) + max(v, 0.0) - Y[0, k] * v
    top = ZL[k]
    for r in range(1, nL):
        top = max(top, ZL[r * m + k])
    norm = 0.0
    for r in range(nL):
        norm += math.exp(ZL[r * m + k] - top)
    log_norm = top + math.log(norm)
    total = 0.0
    for r in range(nL):
        total += Y[r, k] * (log_norm - ZL[r * m + k])
    return total


@njit(inline="always")
def _tanh_small(x):
    """tanh(x), by its series where |x| is tiny (the usual case here), else through expm1."""
    if abs(x) < 1e-4:
        x2 = x * x
        return x * (1.0 - x2 * (1.0 / 3.0 - x2 * (2.0 / 15.0)))
    e = math.expm1(-2.0 * abs(x))
    t = -e / (e + 2.0)
    return t if x >= 0.0 else -t


@njit(inline="always")
def _expm1_small(x):
    if abs(x) < 1e-4:
        return x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0))))
    return math.expm1(x)


@njit(inline="always")
def _delta_g(z, a, dz, act):
    """g(z + dz) − g(z), given the cached a = g(z), without cancellation.

    tanh and sigmoid use their addition formulas, exact algebra: with t = tanh z and u = tanh dz,
    tanh(z + dz) − t = u (1 − t²) / (1 + t u); with s = σ(z) and e = e^dz − 1,
    σ(z + dz) − s = s (1 − s) e / (1 + s e). Both need only the tiny dz's tanh / expm1.
    """
    if act == 0:
        return (z + dz if z + dz > 0.0 else 0.0) - a
    if act == 1:
        return (z + dz if z + dz > 0.0 else LEAKY_SLOPE * (z + dz)) - a
    if act == 2:
        u = _tanh_small(dz)
        return u * (1.0 - a * a) / (1.0 + a * u)
    e = _expm1_small(dz)
    return a * (1.0 - a) * e / (1.0 + a * e)


@njit
def _perturbed_logits(theta, sizes, w_off, acts, a_off, z_off, act, m, layer, is_bias, i, j, step):
    """Z[L] (n[L] * m) after moving W[layer][i, j] (or b[layer][i]) by ``step``.

    Carries the change ΔZ forward from the cached pass: ΔA = g(Z + ΔZ) − g(Z) (exactly, _delta_g),
    ΔZ[next] = W[next] ΔA.
    """
    L = sizes.shape[0] - 1
    n_l = sizes[layer]
    if layer == L:
        Z = acts[z_off[L]:z_off[L] + n_l * m].copy()
        for k in range(m):
            Z[i * m + k] += step if is_bias else step * acts[a_off[layer - 1] + j * m + k]
        return Z
    # Row i of A[layer] moves by d; Z[layer + 1] by the rank-1 W[layer + 1][:, i] d.
    d = np.empty(m)
    for k in range(m):
        shift = step if is_bias else step * acts[a_off[layer - 1] + j * m + k]
        d[k] = _delta_g(acts[z_off[layer] + i * m + k], acts[a_off[layer] + i * m + k], shift, act)
    n_next = sizes[layer + 1]
    dZ = np.empty(n_next * m)
    for r in range(n_next):
        w = theta[w_off[layer + 1] + r * n_l + i]
        for k in range(m):
            dZ[r * m + k] = w * d[k]
    for nxt in range(layer + 2, L + 1):
        n_in = sizes[nxt - 1]
        n_out = sizes[nxt]
        dA = np.empty(n_in * m)
        for t in range(n_in * m):
            dA[t] = _delta_g(acts[z_off[nxt - 1] + t], acts[a_off[nxt - 1] + t], dZ[t], act)
        dZ = np.zeros(n_out * m)
        for r in range(n_out):
            for c in range(n_in):
                w = theta[w_off[nxt] + r * n_in + c]
                for k in range(m):  # contiguous over examples
                    dZ[r * m + k] += w * dA[c * m + k]
    Z = acts[z_off[L]:z_off[L] + sizes[L] * m].copy()
    for t in range(Z.shape[0]):
        Z[t] += dZ[t]
    return Z


@njit(nogil=True)
def numerical_gradient(theta, sizes, w_off, b_off, acts, a_off, z_off, Y, act, l2, coords, eps, out, lo, hi):
    """out[t] = (J(θ + ε e_p) − J(θ − ε e_p)) / 2ε for p = coords[t], lo <= t < hi (one thread's share)."""
    L = sizes.shape[0] - 1
    m = Y.shape[1]
    nL = sizes[L]
    for t in range(lo, hi):
        p = coords[t]
        layer = 1
        while layer < L and p >= w_off[layer + 1]:
            layer += 1
        is_bias = p >= b_off[layer]
        if is_bias:
            i = p - b_off[layer]
            j = 0
        else:
            i = (p - w_off[layer]) // sizes[layer - 1]
            j = (p - w_off[layer]) % sizes[layer - 1]
        plus = _perturbed_logits(theta, sizes, w_off, acts, a_off, z_off, act, m, layer, is_bias, i, j, eps)
        minus = _perturbed_logits(theta, sizes, w_off, acts, a_off, z_off, act, m, layer, is_bias, i, j, -eps)
        diff = 0.0
        for k in range(m):
            diff += _example_loss(plus, nL, m, Y, k) - _example_loss(minus, nL, m, Y, k)
        value = diff / (m * 2.0 * eps)
        if not is_bias:
            value += l2 * theta[p] / m  # l2/(2m) ((w+ε)² − (w−ε)²) / 2ε, exactly
        out[t] = value


def warm() -> None:
    """Compile (or load) the kernel for the argument types ``dltool.core.gradcheck`` passes
    (``dltool cache warm``): a 1-1 network, tanh, one example."""
    ints = np.array([1, 1], dtype=np.int64)
    offsets = np.array([0, 0], dtype=np.int64)
    numerical_gradient(np.zeros(2), ints, offsets, np.array([0, 1], dtype=np.int64), np.zeros(2),
                       offsets, np.array([0, 1], dtype=np.int64), np.ones((1, 1)), 2, 0.0,
                       np.array([0, 1], dtype=np.int64), 1e-7, np.empty(2), 0, 2)
