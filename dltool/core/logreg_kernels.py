"""numba kernels for logistic / softmax regression with the course's optimizers (gd, momentum, rmsprop,
adam; the full-batch solvers are numpy + BLAS only): the fused per-batch loss-and-gradient of the
output layer and the optimizer updates. The matrix products stay with numpy's BLAS.

Each kernel writes into buffers it is given: the training loop allocates nothing per batch.
"""

import math

from dltool.core.jit import njit


@njit
def sigmoid_xent_grad(Z, y, dZ):
    """Binary cross-entropy of logits Z (B, 1) against 0/1 labels y (B,); dZ = (sigmoid(Z) - y) / B.

    Returns the summed loss. log(1 + e^-|z|) + max(z, 0) - y z never overflows or takes log(0).
    """
    B = Z.shape[0]
    total = 0.0
    for i in range(B):
        z = Z[i, 0]
        t = y[i]
        e = math.exp(-abs(z))
        total += math.log1p(e) + max(z, 0.0) - t * z
        a = 1.0 / (1.0 + e) if z >= 0.0 else e / (1.0 + e)
        dZ[i, 0] = (a - t) / B
    return total


@njit
def softmax_xent_grad(Z, y, dZ):
    """Categorical cross-entropy of logits Z (B, K) against class indices y (B,); dZ = (softmax - onehot) / B.

    Returns the summed loss, computed by log-sum-exp (no overflow, no log(0)).
    """
    B, K = Z.shape
    total = 0.0
    for i in range(B):
        top = Z[i, 0]
        for k in range(1, K):
            top = max(top, Z[i, k])
        norm = 0.0
        for k in range(K):  # each exp once: dZ holds e^(z - top) until it is normalised
            e = math.exp(Z[i, k] - top)
            dZ[i, k] = e
            norm += e
        t = y[i]
        total += math.log(norm) + top - Z[i, t]
        scale = 1.0 / (norm * B)
        for k in range(K):
            dZ[i, k] *= scale
        dZ[i, t] -= 1.0 / B
    return total


@njit
def optimizer_step(P, G, V, S, kind, lr, beta1, beta2, eps, correct1, correct2, decay):
    """One optimizer step on parameters P with gradient G (+ decay * P, the L2 term), in place."""
    flat_p = P.ravel()
    flat_g = G.ravel()
    flat_v = V.ravel()
    flat_s = S.ravel()
    for i in range(flat_p.shape[0]):
        g = flat_g[i] + decay * flat_p[i]
        if kind == 0:  # gd
            flat_p[i] -= lr * g
        elif kind == 1:  # momentum
            flat_v[i] = beta1 * flat_v[i] + (1.0 - beta1) * g
            flat_p[i] -= lr * flat_v[i]
        elif kind == 2:  # rmsprop
            flat_s[i] = beta2 * flat_s[i] + (1.0 - beta2) * g * g
            flat_p[i] -= lr * g / (math.sqrt(flat_s[i]) + eps)
        else:  # adam
            flat_v[i] = beta1 * flat_v[i] + (1.0 - beta1) * g
            flat_s[i] = beta2 * flat_s[i] + (1.0 - beta2) * g * g
            flat_p[i] -= lr * (flat_v[i] / correct1) / (math.sqrt(flat_s[i] / correct2) + eps)


def warm() -> None:
    """Compile (or load) the kernels for the argument types ``dltool.core.logreg`` passes
    (``dltool cache warm``): float64 logits and gradients, float64 0/1 labels for the sigmoid,
    int64 class indices for the softmax, and optimizer steps on 2-D weights and 1-D biases."""
    import numpy as np

    Z = np.zeros((2, 1))
    sigmoid_xent_grad(Z, np.zeros(2), np.empty((2, 1)))
    Z3 = np.zeros((2, 3))
    softmax_xent_grad(Z3, np.zeros(2, dtype=np.int64), np.empty((2, 3)))
    for shape in ((2, 3), (3,)):
        P = np.zeros(shape)
        optimizer_step(P, np.ones(shape), np.zeros(shape), np.zeros(shape), 3, 0.1, 0.9, 0.999, 1e-8, 0.1,
                       0.001, 0.0)
