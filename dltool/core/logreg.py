"""Logistic (2 classes) and softmax (more) regression trained by gradient descent, the course's way.

Model: Z = X Wᵀ + b, A = sigmoid(Z) (one output) or softmax(Z) (one per class), with the course's
shapes W (n_y, n_x) and b (n_y,). Cost: mean cross-entropy + λ/(2m)‖W‖² (biases not penalised),
m the number of training examples; so λ = 1 is scikit-learn's C = 1. Optimizers (names.OPTIMIZERS):
gd, momentum, RMSprop, Adam with bias correction; learning rate α = α₀ / (1 + decay · epoch).

Internally samples are rows (a mini-batch is a contiguous block) and W is kept transposed, (n_x, n_y),
so that both products of a batch are single BLAS calls.
"""

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from dltool.core.names import OPTIMIZERS
from dltool.errors import InputError

OPTIMIZER_CODES = {name: code for code, name in enumerate(OPTIMIZERS)}  # gd 0, momentum 1, ...
# Below this many feature values per epoch, numpy's element-wise ops beat importing numba.
NUMBA_MIN_VALUES = 2_000_000
FULL_BATCH_MAX = 4096  # Hyper.resolve: full-batch training up to this many examples


@dataclass
class Hyper:
    """Training settings; the defaults converge on standardized real data without tuning."""

    epochs: int = 1000
    batch_size: int | None = None  # None: auto_batch_size(m); 0: the whole training set is one batch
    optimizer: str = "adam"
    lr: float | None = None  # None: auto_lr(n_features)
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    lr_decay: float | None = None  # None: 0 for full batch, 1 for mini-batches (see resolve)
    l2: float = 1.0
    tol: float = 1e-4  # stop when the epoch cost improves by less than tol x cost ...
    patience: int = 3  # ... this many epochs in a row
    seed: int = 0

    def resolve(self, m: int, n: int = 1) -> "Hyper":
        """The settings with the automatic choices made for m training examples of n features.

        Learning rate: 0.01, times sqrt(100 / n) above 100 features. One step moves every weight
        by about lr (Adam) and the logit by about lr times the number of features, so 12,288 pixels
        need a smaller step than 30 measurements to avoid overshooting.

        Up to FULL_BATCH_MAX examples, one batch and no decay: exact gradients converge without a
        schedule, and an epoch costs next to nothing. Beyond, mini-batches of 512 with
        α₀ / (1 + epoch): a constant rate leaves SGD hovering around the optimum, a 1/t schedule
        lets it settle (on 150,000 examples, within ~12 epochs).
        """
        full = m <= FULL_BATCH_MAX
        batch = (0 if full else 512) if self.batch_size is None else self.batch_size
        decay = (0.0 if batch == 0 or batch >= m else 1.0) if self.lr_decay is None else self.lr_decay
        lr = 0.01 * min(1.0, math.sqrt(100 / max(n, 1))) if self.lr is None else self.lr
        return replace(self, batch_size=batch, lr_decay=decay, lr=lr)

    def check_values(self) -> None:
        """Check the settings that do not depend on the data (before reading it)."""
        self.resolve(1).check()

    def check(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise InputError(f"unknown optimizer {self.optimizer!r}: expected one of {', '.join(OPTIMIZERS)}")
        for name in ("lr", "epsilon"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise InputError(f"--{name.replace('_', '-')} must be a positive number, got {getattr(self, name)}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise InputError(f"--{name} must be in [0, 1), got {getattr(self, name)}")
        for name in ("lr_decay", "l2", "tol"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise InputError(f"--{name.replace('_', '-')} must be a number >= 0, got {getattr(self, name)}")
        if self.epochs < 1 or self.batch_size < 0 or self.patience < 1:
            raise InputError("--epochs must be >= 1 and --batch-size >= 0")


@dataclass
class History:
    cost: list = field(default_factory=list)  # training cost (with the L2 term) per epoch
    val_cost: list = field(default_factory=list)  # validation cost (no L2 term) per epoch, if any
    epochs: int = 0
    stopped_early: bool = False
    seconds: float = 0.0


# ---------------------------------------------------------------- the model's equations


def sigmoid(z):
    """1 / (1 + e^-z) without overflow warnings for large |z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log_softmax(Z):
    """Row-wise log softmax by log-sum-exp."""
    top = Z.max(axis=1, keepdims=True)
    return Z - (top + np.log(np.exp(Z - top).sum(axis=1, keepdims=True)))


def predict_proba(W, b, X) -> np.ndarray:
    """Class probabilities (m, n_classes); a binary model gives [1 - p, p]."""
    Z = X @ np.asarray(W).T + b
    if Z.shape[1] == 1:
        p = sigmoid(Z[:, 0])
        return np.column_stack([1.0 - p, p])
    return np.exp(log_softmax(Z))


def cross_entropy(P, y) -> float:
    """Mean log-loss of probabilities P (m, C) for class indices y, clipped away from log(0)."""
    p = P[np.arange(len(y)), y]
    return float(-np.mean(np.log(np.clip(p, 1e-15, 1.0))))


def cost_and_grads(W, b, X, y, l2: float = 0.0):
    """The course's cost and gradients for a batch: the one-layer case of ``dltool.core.mlp``
    (used by tests and by ``dltool gradcheck --model logreg|softmax``).

    Parameters
    ----------
    W : ndarray (n_y, n_x); b : ndarray (n_y,); X : ndarray (m, n_x); y : int ndarray (m,)
        n_y = 1 is logistic regression (y in {0, 1}), n_y > 1 softmax (y a class index).

    Returns
    -------
    cost : float, mean cross-entropy + l2/(2m) ‖W‖²
    dW : ndarray (n_y, n_x), db : ndarray (n_y,)
    """
    from dltool.core import mlp

    params = {"W1": np.asarray(W, dtype=np.float64), "b1": np.asarray(b, dtype=np.float64).reshape(-1, 1)}
    cost, grads = mlp.cost_and_grads(params, np.asarray(X).T, mlp.targets(y, W.shape[0]), l2=l2)
    return cost, grads["dW1"], grads["db1"].ravel()


# ---------------------------------------------------------------- numpy versions of the kernels


def _np_sigmoid_xent_grad(Z, y, dZ):
    z = Z[:, 0]
    B = len(z)
    dZ[:, 0] = (sigmoid(z) - y) / B
    return float(np.sum(np.logaddexp(0.0, -np.abs(z)) + np.maximum(z, 0.0) - y * z))


def _np_softmax_xent_grad(Z, y, dZ):
    B = len(Z)
    logp = log_softmax(Z)
    np.exp(logp, out=dZ)
    rows = np.arange(B)
    dZ[rows, y] -= 1.0
    dZ /= B
    return float(-logp[rows, y].sum())


def _np_optimizer_step(P, G, V, S, kind, lr, beta1, beta2, eps, correct1, correct2, decay):
    g = G + decay * P
    if kind == 0:
        P -= lr * g
    elif kind == 1:
        V *= beta1
        V += (1.0 - beta1) * g
        P -= lr * V
    elif kind == 2:
        S *= beta2
        S += (1.0 - beta2) * g * g
        P -= lr * g / (np.sqrt(S) + eps)
    else:
        V *= beta1
        V += (1.0 - beta1) * g
        S *= beta2
        S += (1.0 - beta2) * g * g
        P -= lr * (V / correct1) / (np.sqrt(S / correct2) + eps)


def _kernels(use_numba: bool):
    if use_numba:
        from dltool.core import logreg_kernels as k

        return k.sigmoid_xent_grad, k.softmax_xent_grad, k.optimizer_step
    return _np_sigmoid_xent_grad, _np_softmax_xent_grad, _np_optimizer_step


# ---------------------------------------------------------------- training


def train(X, y, n_classes: int, hyper: Hyper, X_val=None, y_val=None, progress=None):
    """Fit W, b on standardized features X (m, n) and class indices y (m,) in [0, n_classes).

    Parameters
    ----------
    progress : optional callable(epoch, epochs, cost) called after every epoch

    Returns
    -------
    W : ndarray (n_y, n_x), b : ndarray (n_y,), history : History
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.int64)
    m, n = X.shape
    hyper = hyper.resolve(m, n)
    hyper.check()
    if n_classes < 2:
        raise InputError("training needs at least 2 classes")
    K = 1 if n_classes == 2 else n_classes
    B = m if hyper.batch_size == 0 else min(hyper.batch_size, m)
    sig, soft, step = _kernels(m * n * hyper.epochs >= NUMBA_MIN_VALUES)
    xent = sig if K == 1 else soft
    y_fit = y.astype(np.float64) if K == 1 else y

    Wt = np.zeros((n, K))  # zeros are fine for a convex model (no symmetry to break)
    b = np.zeros(K)
    state = [np.zeros_like(Wt), np.zeros_like(Wt), np.zeros_like(b), np.zeros_like(b)]
    rng = np.random.default_rng(hyper.seed)
    if B < m:
        # Shuffle the examples once (one copy); each epoch then visits the fixed mini-batches in
        # a new random order. A batch is a contiguous block: no gather, no allocation per batch.
        order = rng.permutation(m)
        X, y_fit = X[order], y_fit[order]
    starts = np.arange(0, m, B)
    # Buffers for one batch, reused.
    Z = np.empty((B, K))
    dZ = np.empty((B, K))
    G = np.empty((n, K))
    gb = np.empty(K)
    kind = OPTIMIZER_CODES[hyper.optimizer]
    history = History()
    start = time.perf_counter()
    t = 0
    best, stale = math.inf, 0
    # A diverging run overflows: the non-finite cost is reported below, not as numpy warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(hyper.epochs):
            lr = hyper.lr / (1.0 + hyper.lr_decay * epoch)
            loss_sum = 0.0
            penalty = 0.0  # sum over batches of nb ||W||², W as it was when the batch's loss was taken
            for lo in (rng.permutation(starts) if B < m else starts):
                hi = min(lo + B, m)
                nb = hi - lo
                xb, ybatch = X[lo:hi], y_fit[lo:hi]
                zb, dzb = Z[:nb], dZ[:nb]
                np.dot(xb, Wt, out=zb)
                zb += b
                loss_sum += xent(zb, ybatch, dzb)
                penalty += nb * float(np.vdot(Wt, Wt))
                np.dot(xb.T, dzb, out=G)
                np.sum(dzb, axis=0, out=gb)
                t += 1
                c1, c2 = 1.0 - hyper.beta1 ** t, 1.0 - hyper.beta2 ** t
                step(Wt, G, state[0], state[1], kind, lr, hyper.beta1, hyper.beta2, hyper.epsilon, c1, c2,
                     hyper.l2 / m)
                step(b, gb, state[2], state[3], kind, lr, hyper.beta1, hyper.beta2, hyper.epsilon, c1, c2, 0.0)
            # The epoch's cost: the mean over its batches of each batch's cost (loss + L2 term) with
            # the weights that batch saw; for full-batch training, exactly the cost before the step.
            cost = (loss_sum + hyper.l2 / (2 * m) * penalty) / m
            if not math.isfinite(cost):
                raise InputError(f"training diverged at epoch {epoch + 1} (cost {cost}): lower --lr")
            history.cost.append(cost)
            if X_val is not None:
                history.val_cost.append(cross_entropy(predict_proba(Wt.T, b, X_val), y_val))
            history.epochs = epoch + 1
            if progress is not None:
                progress(epoch + 1, hyper.epochs, cost)
            # Relative, like lbfgs's ftol: strict on small costs, loose on large noisy ones.
            stale = stale + 1 if best - cost < hyper.tol * abs(min(best, cost)) else 0
            best = min(best, cost)
            if hyper.tol > 0 and stale >= hyper.patience:  # tol 0: run every epoch
                history.stopped_early = True
                break
    history.seconds = time.perf_counter() - start
    return np.ascontiguousarray(Wt.T), b, history


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """counts[i, j]: examples of class i predicted as class j."""
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def encode_labels(labels):
    """Class list and class index per example. Labels that all read as numbers sort numerically
    ("2" before "10"), others as text."""
    labels = np.asarray(labels).astype(str)
    classes = np.unique(labels).tolist()
    try:
        classes.sort(key=float)
    except ValueError:
        pass
    index = {c: i for i, c in enumerate(classes)}
    return classes, np.array([index[v] for v in labels.tolist()], dtype=np.int64)


def standardization(X):
    """Per-feature mean and std of the training set; a constant feature gets std 1 (left as is)."""
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    std[std == 0] = 1.0
    return mean, std


def stratified_split(y, fraction: float, seed: int):
    """Indices (train, validation) holding out ``fraction`` of each class (at least one example of
    every class with two or more)."""
    rng = np.random.default_rng(seed)
    train_rows, val_rows = [], []
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        k = int(round(fraction * len(rows)))
        if len(rows) >= 2:
            k = min(max(k, 1), len(rows) - 1)
        else:
            k = 0
        val_rows.append(rows[:k])
        train_rows.append(rows[k:])
    return np.sort(np.concatenate(train_rows)), np.sort(np.concatenate(val_rows))
