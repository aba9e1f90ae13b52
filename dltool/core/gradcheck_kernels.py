"""numba kernel for the two-sided numerical gradient of the built-in networks (dltool.core.mlp).

Perturbing W[l][i, j] by ±ε changes only row i of Z[l], by ±ε A[l-1][j, :]; so each coordinate
recomputes row i of layer l, a rank-1 update of Z[l+1], and the layers after it, from the cached
unperturbed pass. Coordinates are independent: they run in parallel.

Layout: the parameters are one vector θ in the order W1, b1, W2, b2, ... (each W row-major);
``w_off[l]`` / ``b_off[l]`` locate W[l] / b[l] in it. Activations are one flat buffer: A[l] (l < L)
at ``a_off[l]``, Z[l] at ``z_off[l]``, each (n[l], m) row-major.
"""

import math

import numpy as np
from numba import njit, prange

LEAKY_SLOPE = 0.01  # as dltool.core.mlp


@njit(cache=True, inline="always")
def _g(z, act):
    if act == 0:
        return z if z > 0.0 else 0.0
    if act == 1:
        return z if z > 0.0 else LEAKY_SLOPE * z
    if act == 2:
        return math.tanh(z)
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@njit(cache=True)
def _loss(ZL, nL, m, Y):
    """Mean cross-entropy from the output pre-activations ZL (nL * m, row-major); as mlp.output_loss."""
    total = 0.0
    if nL == 1:
        for k in range(m):
            z = ZL[k]
            total += math.log1p(math.exp(-abs(z))) + max(z, 0.0) - Y[0, k] * z
        return total / m
    for k in range(m):
        top = ZL[k]
        for r in range(1, nL):
            top = max(top, ZL[r * m + k])
        norm = 0.0
        for r in range(nL):
            norm += math.exp(ZL[r * m + k] - top)
        log_norm = top + math.log(norm)
        for r in range(nL):
            total += Y[r, k] * (log_norm - ZL[r * m + k])
    return total / m


@njit(cache=True)
def _perturbed_cost(theta, sizes, w_off, b_off, acts, a_off, z_off, Y, act, l2, sum_w2,
                    layer, is_bias, i, j, step):
    L = sizes.shape[0] - 1
    m = Y.shape[1]
    n_l = sizes[layer]
    # Row i of Z[layer], shifted.
    z_row = np.empty(m)
    for k in range(m):
        shift = step if is_bias else step * acts[a_off[layer - 1] + j * m + k]
        z_row[k] = acts[z_off[layer] + i * m + k] + shift
    reg = sum_w2
    if not is_bias:
        w = theta[w_off[layer] + i * sizes[layer - 1] + j]
        reg += 2.0 * w * step + step * step
    if layer == L:
        ZL = acts[z_off[L]:z_off[L] + n_l * m].copy()
        ZL[i * m:(i + 1) * m] = z_row
        return _loss(ZL, n_l, m, Y) + l2 / (2.0 * m) * reg
    # Z[layer + 1] = cached + W[layer + 1][:, i] (g(z_row) - A[layer][i, :])
    n_next = sizes[layer + 1]
    Z = acts[z_off[layer + 1]:z_off[layer + 1] + n_next * m].copy()
    for k in range(m):
        d = _g(z_row[k], act) - acts[a_off[layer] + i * m + k]
        for r in range(n_next):
            Z[r * m + k] += theta[w_off[layer + 1] + r * n_l + i] * d
    for nxt in range(layer + 2, L + 1):  # the remaining layers, in full
        n_in = sizes[nxt - 1]
        n_out = sizes[nxt]
        A = np.empty(n_in * m)
        for t in range(n_in * m):
            A[t] = _g(Z[t], act)
        Z = np.empty(n_out * m)
        for r in range(n_out):
            bias = theta[b_off[nxt] + r]
            for k in range(m):
                Z[r * m + k] = bias
            for c in range(n_in):
                w = theta[w_off[nxt] + r * n_in + c]
                for k in range(m):
                    Z[r * m + k] += w * A[c * m + k]
    return _loss(Z, sizes[L], m, Y) + l2 / (2.0 * m) * reg


@njit(cache=True, parallel=True)
def numerical_gradient(theta, sizes, w_off, b_off, acts, a_off, z_off, Y, act, l2, sum_w2, coords, eps):
    """(J(θ + ε e_p) − J(θ − ε e_p)) / 2ε for every flat index p in ``coords``."""
    L = sizes.shape[0] - 1
    out = np.empty(coords.shape[0])
    for t in prange(coords.shape[0]):
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
        plus = _perturbed_cost(theta, sizes, w_off, b_off, acts, a_off, z_off, Y, act, l2, sum_w2,
                               layer, is_bias, i, j, eps)
        minus = _perturbed_cost(theta, sizes, w_off, b_off, acts, a_off, z_off, Y, act, l2, sum_w2,
                                layer, is_bias, i, j, -eps)
        out[t] = (plus - minus) / (2.0 * eps)
    return out
