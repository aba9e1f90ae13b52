"""Logistic (2 classes) and softmax (more) regression: the course's model, trained to its optimum.

Model: Z = X Wᵀ + b, A = sigmoid(Z) (one output) or softmax(Z) (one per class), with the course's
shapes W (n_y, n_x) and b (n_y,). Cost: J = mean cross-entropy + λ/(2m)‖W‖² (biases not
penalised), m the number of training examples; so λ = 1 is scikit-learn's C = 1, and J is the
objective scikit-learn's lbfgs minimizes.

Two families of optimizers (names.OPTIMIZERS):

- the full-batch solvers ``lbfgs`` and ``newton`` minimize J to its optimum: they stop when every
  entry of ∇J is at most ``tol`` in absolute value (scikit-learn's lbfgs stops on the same
  quantity at 1e-4; dltool's default 1e-6 lands within ~1e-7 relative of the optimum). ``auto``
  picks Newton where its exact Hessian is cheap (few parameters, see :func:`choose_solver`), else
  L-BFGS;
- the course's ``gd``, ``momentum``, ``rmsprop``, ``adam`` (C2W2), exactly as the course writes
  them, full batch or mini-batches reshuffled every epoch, with a learning-rate schedule
  (names.LR_SCHEDULES, epoch_num counted from 1) and early stopping that keeps the best weights.

Internally samples are rows and W is kept transposed, (n_x, n_y), so that both products of a batch
are single BLAS calls. The solvers work on θ = [[Wᵀ], [b]] of shape (n_x + 1, n_y), flattened.
"""

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from dltool.core.lbfgs import dot
from dltool.core.names import LR_SCHEDULES, OPTIMIZERS
from dltool.errors import InputError

COURSE_OPTIMIZERS = ("gd", "momentum", "rmsprop", "adam")  # the others of names.OPTIMIZERS are solvers
OPTIMIZER_CODES = {name: code for code, name in enumerate(COURSE_OPTIMIZERS)}  # gd 0, momentum 1, ...
# Below this many feature values per epoch, numpy's element-wise ops beat importing numba
# (the course's optimizers only; the solvers are numpy + BLAS throughout).
NUMBA_MIN_VALUES = 2_000_000
FULL_BATCH_MAX = 4096  # Hyper.resolve: the course's optimizers train full-batch up to this many examples
# auto picks Newton when one Newton iteration (the Hessian, m P², and its solve, P³, for P = (n+1) K
# parameters) is at most this much work: there Newton's ~8 iterations beat L-BFGS's 15-100. On the
# bundled sets: iris 3e4, wine 2e5, breast cancer 4e5 -> newton; digits 6e8 -> lbfgs. At 2M x 50
# the Hessian alone costs ~25 L-BFGS evaluations (BLAS is slow on tall-skinny products, measured).
NEWTON_MAX_WORK = 5e7
NEWTON_MAX_PARAMS = 2000  # and never a Hessian above 2000² (32 MB)
SOLVER_TOL = 1e-6  # max |∇J| at which the solvers stop
COURSE_TOL = 1e-4  # the course's optimizers: an epoch improves if the cost drops by > tol x cost
RISE_MIN = 1e-4  # a run of rising epoch costs warns only if it rose by more than this x cost (not noise)
# Up to this many values X gets a column of ones (a copy) for the solvers; beyond, it is used as it
# is, in row blocks of about CHUNK_VALUES values that stay in cache between their two products.
AUGMENT_MAX = 1 << 22
CHUNK_VALUES = 1 << 18


@dataclass
class Hyper:
    """Training settings; the defaults reach the optimum on data that fits in memory.

    epochs : maximum epochs (course optimizers) or iterations (solvers)
    optimizer : "auto", a solver ("lbfgs", "newton") or a course optimizer ("gd", ...)
    tol : None for the optimizer's default: SOLVER_TOL on max |∇J| for the solvers; COURSE_TOL,
        the relative improvement that counts for early stopping, for the course's optimizers;
        0 never stops early
    lr_schedule, decay_rate, decay_base, k, time_interval : the learning rate of epoch epoch_num,
        see :func:`learning_rate`
    patience : course optimizers: stop after this many epochs without improvement (and warn when
        the training cost rose this many epochs in a row)
    keep_best : course optimizers: keep the weights of the best epoch (else the last)

    The solvers ignore the course optimizers' settings (batch size, learning rate and schedule,
    betas, patience); the CLI refuses them there instead.
    """

    epochs: int = 1000
    batch_size: int | None = None  # None: auto (course optimizers); 0: the whole training set
    optimizer: str = "auto"
    lr: float | None = None  # None: 0.01, scaled down above 100 features (see resolve)
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    lr_schedule: str = "constant"
    decay_rate: float = 1.0
    decay_base: float = 0.95
    k: float = 1.0
    time_interval: int = 1000
    l2: float = 1.0
    tol: float | None = None
    patience: int = 3
    keep_best: bool = True
    seed: int = 0

    @property
    def course(self) -> bool:
        return self.optimizer in COURSE_OPTIMIZERS

    def resolve(self, m: int, n: int = 1, n_classes: int = 2) -> "Hyper":
        """The settings with the automatic choices made for m examples of n features.

        optimizer auto: :func:`choose_solver`. Course optimizers: learning rate 0.01, times
        sqrt(100 / n) above 100 features (one Adam step moves every weight by about lr and the
        logit by about lr times the number of features, so 12,288 pixels need a smaller step than
        30 measurements); batch size: the whole set up to FULL_BATCH_MAX examples, else 512.
        """
        optimizer = choose_solver(m, n, n_classes) if self.optimizer == "auto" else self.optimizer
        course = optimizer in COURSE_OPTIMIZERS
        tol = (COURSE_TOL if course else SOLVER_TOL) if self.tol is None else self.tol
        if not course:
            return replace(self, optimizer=optimizer, tol=tol)
        batch = (0 if m <= FULL_BATCH_MAX else 512) if self.batch_size is None else self.batch_size
        lr = 0.01 * min(1.0, math.sqrt(100 / max(n, 1))) if self.lr is None else self.lr
        return replace(self, optimizer=optimizer, tol=tol, batch_size=batch, lr=lr)

    def check_values(self) -> None:
        """Check the settings that do not depend on the data (before reading it)."""
        if self.optimizer != "auto" and self.optimizer not in OPTIMIZERS:
            raise InputError(f"unknown optimizer {self.optimizer!r}: expected auto or one of {', '.join(OPTIMIZERS)}")
        resolved = self.resolve(1) if self.optimizer != "auto" else replace(self, optimizer="adam").resolve(1)
        resolved.check()

    def check(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise InputError(f"unknown optimizer {self.optimizer!r}: expected auto or one of {', '.join(OPTIMIZERS)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise InputError(f"unknown learning-rate schedule {self.lr_schedule!r}: expected one of "
                             f"{', '.join(LR_SCHEDULES)}")
        for name in ("lr", "epsilon", "decay_base", "k"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise InputError(f"--{name.replace('_', '-')} must be a positive number, got {value}")
        if self.decay_base > 1:
            raise InputError(f"--decay-base must be in (0, 1] (0.95 in the course), got {self.decay_base}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise InputError(f"--{name} must be in [0, 1), got {getattr(self, name)}")
        for name in ("decay_rate", "l2", "tol"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise InputError(f"--{name.replace('_', '-')} must be a number >= 0, got {getattr(self, name)}")
        if self.epochs < 1 or (self.batch_size is not None and self.batch_size < 0):
            raise InputError("--epochs must be >= 1 and --batch-size >= 0")
        if self.patience < 1 or self.time_interval < 1:
            raise InputError("--patience and --time-interval must be >= 1")


def choose_solver(m: int, n: int, n_classes: int) -> str:
    """What ``--optimizer auto`` trains with: ``newton`` when one Newton iteration is cheap
    (m P² + P³ ≤ NEWTON_MAX_WORK for P = (n + 1) K parameters, K = 1 for two classes), else
    ``lbfgs``. Both reach the same optimum; this picks the faster."""
    P = (n + 1) * (1 if n_classes <= 2 else n_classes)
    return "newton" if P <= NEWTON_MAX_PARAMS and m * P * P + P ** 3 <= NEWTON_MAX_WORK else "lbfgs"


def learning_rate(hyper: Hyper, epoch_num: int) -> float:
    """α for epoch ``epoch_num`` = 1, 2, ... (C2W2 "Learning rate decay"; names.LR_SCHEDULES).

    inverse α₀ / (1 + decay_rate · epoch_num) (α₀ = 0.2, decay_rate = 1: 0.1, 0.0667, 0.05, ...);
    exponential decay_base^epoch_num · α₀; sqrt k / √epoch_num · α₀; staircase
    α₀ / (1 + decay_rate · ⌊epoch_num / time_interval⌋), the course's schedule_lr_decay.
    """
    schedule, lr0 = hyper.lr_schedule, hyper.lr
    if schedule == "inverse":
        return lr0 / (1.0 + hyper.decay_rate * epoch_num)
    if schedule == "exponential":
        return hyper.decay_base ** epoch_num * lr0
    if schedule == "sqrt":
        return hyper.k / math.sqrt(epoch_num) * lr0
    if schedule == "staircase":
        return lr0 / (1.0 + hyper.decay_rate * (epoch_num // hyper.time_interval))
    return lr0


@dataclass
class History:
    """What happened during training, one entry per epoch (course optimizers) or iteration (solvers).

    cost : the course's cost of the epoch, with the L2 term: full batch (and the solvers) J of the
        weights the epoch started from; mini-batches the mean of the batches' costs
    lr : course optimizers: the learning rate of the epoch
    gradient, step : solvers: max |∇J| where the iteration started, and ‖Δθ‖ of its step
    val_cost : validation log-loss after the epoch (solvers: where the iteration started), if
        there is a validation set
    final_cost : J of the weights returned; final_gradient: its max |∇J| (solvers)
    evaluations : solvers: evaluations of J and ∇J
    best_epoch : course optimizers with keep_best: the epoch whose weights were kept (0: the zeros)
    monitor : the cost early stopping watched ("validation" or "training")
    stop_reason : why training ended, in words
    rises : (first, last) epochs of each run of ``patience`` or more epochs in which the training
        cost rose (the learning rate is too large)
    """

    optimizer: str = ""
    cost: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    gradient: list = field(default_factory=list)
    step: list = field(default_factory=list)
    val_cost: list = field(default_factory=list)
    final_cost: float = math.nan
    final_gradient: float | None = None
    evaluations: int | None = None
    epochs: int = 0
    stopped_early: bool = False
    stop_reason: str = ""
    best_epoch: int | None = None
    monitor: str | None = None
    rises: list = field(default_factory=list)
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


# ---------------------------------------------------------------- the objective of the solvers


class Objective:
    """J(θ) and ∇J(θ) (and ∇²J for Newton) on the whole training set, θ = [[Wᵀ], [b]] flattened.

    Parameters
    ----------
    X : ndarray (m, n), float64, C-contiguous (not copied)
    y : int ndarray (m,), class indices
    K : 1 (logistic regression) or the number of classes (softmax)
    l2 : λ

    numpy + BLAS only, so that a solver run never pays for importing numba. Evaluations run over
    blocks of about CHUNK_VALUES values: each block of X is read from memory once, and the second
    product (Xᵀ times the residuals) finds it in cache. Up to AUGMENT_MAX values, X gets a column of
    ones (a copy): the bias rides along in both products. Beyond, X is used as it is (no copy of a
    large X).
    """

    def __init__(self, X, y, K: int, l2: float):
        self.X, self.K, self.l2 = X, K, float(l2)
        self.m, self.n = m, n = X.shape
        self.P = (n + 1) * K
        self.Xa = None
        if m * (n + 1) <= AUGMENT_MAX:
            self.Xa = np.empty((m, n + 1))
            self.Xa[:, :n] = X
            self.Xa[:, n] = 1.0
        self.blocks = _row_blocks(X)
        if K == 1:
            self.y = y.astype(np.float64)
            self.half_minus_y = 0.5 - self.y  # p - y = 0.5 tanh(z / 2) + (0.5 - y)
            self.R = np.empty((m, 1))  # residuals p - y of the last evaluation (the Hessian's weights)
        else:
            self.y = y
            self.flat_y = np.arange(m) * K + y  # Z.flat[flat_y] is each row's true-class logit
            self.R = np.empty((m, K))  # probabilities, then p - onehot(y), of the last evaluation
        self.ones = np.ones(max(K, max(hi - lo for lo, hi in self.blocks)))  # sums as BLAS products
        self.evaluations = 0

    def split(self, theta):
        """(Wᵀ (n, K), b (K,)) as views of θ."""
        A = theta.reshape(self.n + 1, self.K)
        return A[:-1], A[-1]

    def __call__(self, theta):
        """(J, ∇J) at θ; keeps the residuals for :meth:`hessian` at the same θ."""
        self.evaluations += 1
        A = theta.reshape(self.n + 1, self.K)
        Wt, b = A[:-1], A[-1]
        grad = np.zeros((self.n + 1, self.K))
        loss = 0.0
        for lo, hi in self.blocks:
            R = self.R[lo:hi]
            if self.Xa is not None:
                Xc = self.Xa[lo:hi]
                np.dot(Xc, A, out=R)
            else:
                Xc = self.X[lo:hi]
                np.dot(Xc, Wt, out=R)
                R += b
            loss += self._binary(R[:, 0], lo, hi) if self.K == 1 else self._softmax(R, lo, hi)
            if self.Xa is not None:
                grad += Xc.T @ R
            else:
                grad[:-1] += Xc.T @ R
                grad[-1] += self.ones[:hi - lo] @ R
        grad /= self.m
        grad[:-1] += (self.l2 / self.m) * Wt
        w = A[:-1].reshape(-1)
        cost = loss / self.m + self.l2 / (2 * self.m) * dot(w, w)
        return cost, grad.ravel()

    def _binary(self, z, lo, hi) -> float:
        """Σ softplus(z) − y z over the block; z becomes p − y in place."""
        t = np.abs(z)
        abs_sum = float(t.sum())
        np.negative(t, out=t)
        np.exp(t, out=t)
        np.log1p(t, out=t)  # log(1 + e^-|z|): softplus(z) = max(z, 0) + this, and max(z, 0) = (z + |z|) / 2
        loss = 0.5 * (float(z.sum()) + abs_sum) + float(t.sum()) - dot(self.y[lo:hi], z)
        z *= 0.5
        np.tanh(z, out=z)
        z *= 0.5
        z += self.half_minus_y[lo:hi]  # sigmoid(z) - y without overflow
        return loss

    def _softmax(self, Z, lo, hi) -> float:
        """Σ logsumexp(z) − z_y over the block; Z becomes softmax(Z) − onehot(y) in place."""
        flat = self.flat_y[lo:hi] - lo * self.K
        picked = float(Z.ravel()[flat].sum())
        shift = 0.0
        # Logits within ±300 exponentiate without overflow or a zero sum: skip the row maxima.
        if not (Z.max() < 300.0 and Z.min() > -300.0):
            top = Z.max(axis=1, keepdims=True)
            Z -= top
            shift = float(top.sum())
        np.exp(Z, out=Z)
        s = Z @ self.ones[:self.K]  # row sums (a BLAS product is faster than sum(axis=1) on short rows)
        loss = float(np.log(s).sum()) + shift - picked
        Z /= s[:, None]
        Z.ravel()[flat] -= 1.0
        return loss

    def hessian(self, theta) -> np.ndarray:
        """∇²J (P, P) at θ, the point of the last evaluation (its probabilities are reused).

        Logistic: [X 1]ᵀ diag(p(1 − p)) [X 1] / m + λ/m on the weights. Softmax: per pair of
        classes (k, l), [X 1]ᵀ diag(p_k (δ_kl − p_l)) [X 1] / m. The biases of softmax are not
        penalised and adding a constant to all of them changes nothing: that direction gets a
        positive curvature of its own (the gradient has no component along it, so the Newton step
        is unchanged and the biases stay centred). Only for problems small enough for Newton
        (choose_solver), where X has its column of ones.
        """
        m, n, K = self.m, self.n, self.K
        Xa = self.Xa
        if Xa is None:
            Xa = np.empty((m, n + 1))
            Xa[:, :n] = self.X
            Xa[:, n] = 1.0
        if K == 1:
            p = self.R[:, 0] + self.y  # the residual plus y is the probability
            d = np.sqrt(np.clip(p * (1.0 - p), 0.0, None) / m)
            Xd = Xa * d[:, None]
            H = Xd.T @ Xd
        else:
            Pr = self.R.copy()
            Pr.ravel()[self.flat_y] += 1.0  # back to probabilities
            Q = (Xa[:, :, None] * Pr[:, None, :]).reshape(m, self.P)  # rows p_i ⊗ [x_i 1], order (j, k)
            H = -(Q.T @ Q)
            H4 = H.reshape(n + 1, K, n + 1, K)
            for k in range(K):
                H4[:, k, :, k] += Xa.T @ (Xa * Pr[:, k:k + 1])
            H /= m
            bias = np.arange(n * K, (n + 1) * K)
            H[np.ix_(bias, bias)] += 1.0 / K  # curvature for the all-biases direction (see above)
        weights = np.arange(n * K)
        H[weights, weights] += self.l2 / m
        return H


def _newton(objective, theta, hyper, record, stop):
    """Newton's method with a backtracking (Armijo) line search from the full step."""
    f, g = objective(theta)
    for _ in range(hyper.epochs):
        if stop(g):
            return theta, f, g, "gtol"
        H = objective.hessian(theta)
        try:
            d = -np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            d = -g
        slope = dot(g, d)
        if not slope < 0:  # numerically not a descent direction: steepest descent instead
            d, slope = -g, -dot(g, g)
        t = 1.0
        for _ in range(40):
            f_t, g_t = objective(theta + t * d)
            if math.isfinite(f_t) and f_t <= f + 1e-4 * t * slope:
                break
            t *= 0.5
        else:
            return theta, f, g, "line_search"
        record(theta, f, g, t * math.sqrt(dot(d, d)))
        done = not f_t < f  # the step no longer lowers J: the limit of floating point
        theta, f, g = theta + t * d, f_t, g_t
        if done:
            return theta, f, g, "line_search"
    return theta, f, g, ("gtol" if stop(g) else "iterations")


def _lbfgs(objective, theta, hyper, record, stop):
    """L-BFGS (dltool.core.lbfgs) stopped by the gradient test ``stop`` through its callback."""
    from dltool.core.lbfgs import lbfgs

    current = {}  # the iterate the running iteration started from, with J and ∇J there
    trial = {}

    def fun(x):
        trial["f"], trial["g"] = objective(x)
        return trial["f"], trial["g"]

    def callback(iteration, x, f):
        # lbfgs accepted x, the last point it evaluated: trial["g"] is ∇J(x)
        step = x - current["x"]
        record(current["x"], current["f"], current["g"], math.sqrt(dot(step, step)))
        current.update(x=x.copy(), f=f, g=trial["g"])
        return stop(trial["g"])

    f, g = objective(theta)
    current.update(x=theta, f=f, g=g)
    if stop(g):
        return theta, f, g, "gtol"
    # lbfgs's own tests are switched off (ftol, gtol 0): the gradient test decides, in the callback.
    result = lbfgs(fun, theta, max_iter=hyper.epochs, ftol=0.0, gtol=0.0, callback=callback)
    status = {"callback": "gtol", "max_iter": "iterations"}.get(result.status, "line_search")
    return current["x"], current["f"], current["g"], status


def _solve(X, y, K, hyper, X_val, y_val, progress, history):
    """Train with a full-batch solver; returns Wᵀ (n, K), b (K,)."""
    objective = Objective(X, y, K, hyper.l2)
    tol = hyper.tol

    def stop(g):
        return tol > 0 and float(np.max(np.abs(g))) <= tol

    def record(theta, f, g, step):
        """History of the iteration that started at θ (J = f, ∇J = g) and moved by ``step``."""
        if not math.isfinite(f):
            raise InputError(f"training diverged at iteration {len(history.cost) + 1} (cost {f})")
        history.cost.append(float(f))
        history.gradient.append(float(np.max(np.abs(g))))
        history.step.append(step)
        if X_val is not None:
            Wt, b = objective.split(theta)
            history.val_cost.append(cross_entropy(predict_proba(Wt.T, b, X_val), y_val))
        history.epochs = len(history.cost)
        if progress is not None:
            progress(history.epochs, hyper.epochs, f)

    solver = _newton if hyper.optimizer == "newton" else _lbfgs
    theta, f, g, status = solver(objective, np.zeros(objective.P), hyper, record, stop)
    if not math.isfinite(f):
        raise InputError(f"training diverged (cost {f})")
    history.final_cost = float(f)
    history.final_gradient = grad_max = float(np.max(np.abs(g)))
    history.evaluations = objective.evaluations
    history.stopped_early = status != "iterations"
    history.stop_reason = {
        "gtol": f"max |dJ| = {grad_max:.3g} <= tol {tol:g}",
        "iterations": f"reached --epochs {hyper.epochs} iterations with max |dJ| = {grad_max:.3g} > tol {tol:g}",
        "line_search": f"J stopped decreasing at floating-point precision (max |dJ| = {grad_max:.3g})",
    }[status]
    Wt, b = objective.split(theta)
    return Wt.copy(), b.copy()


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


def _full_cost(Wt, b, X, y, l2, xent, Z, dZ) -> float:
    """J of the weights (Wt, b) on the whole set, block by block through the batch buffers."""
    m, B = len(X), len(Z)
    loss = 0.0
    for lo in range(0, m, B):
        hi = min(lo + B, m)
        zb = Z[:hi - lo]
        np.dot(X[lo:hi], Wt, out=zb)
        zb += b
        loss += xent(zb, y[lo:hi], dZ[:hi - lo])
    w = Wt.reshape(-1)
    return (loss + l2 / 2 * dot(w, w)) / m


def _course(X, y, K, hyper, X_val, y_val, progress, history):
    """The course's optimizers, batch or mini-batch; returns Wt (n, K), b (K,).

    Early stopping watches the validation log-loss after each epoch if there is a validation set,
    else the training cost: full batch, the exact J of the weights each epoch started from;
    mini-batches, the epoch's mean batch cost, for the weights at the epoch's end (Keras's
    ``loss``). It stops after ``patience`` epochs without an improvement of more than
    tol x cost on the best, and (keep_best) returns the best weights it watched.
    """
    m, n = X.shape
    B = m if hyper.batch_size == 0 else min(hyper.batch_size, m)
    full = B >= m
    sig, soft, step = _kernels(m * n * hyper.epochs >= NUMBA_MIN_VALUES)
    xent = sig if K == 1 else soft
    y_fit = y.astype(np.float64) if K == 1 else y

    Wt = np.zeros((n, K))  # zeros are fine for a convex model (no symmetry to break)
    b = np.zeros(K)
    state = [np.zeros_like(Wt), np.zeros_like(Wt), np.zeros_like(b), np.zeros_like(b)]
    rng = np.random.default_rng(hyper.seed)
    # Buffers for one batch, reused: the reshuffled examples, their logits and the gradients.
    Z, dZ = np.empty((B, K)), np.empty((B, K))
    G, gb = np.empty((n, K)), np.empty(K)
    xbuf = None if full else np.empty((B, n))
    ybuf = None if full else np.empty(B, dtype=y_fit.dtype)
    kind = OPTIMIZER_CODES[hyper.optimizer]
    watch_val = X_val is not None
    history.monitor = "validation" if watch_val else "training"
    best = {"value": math.inf, "epoch": None, "W": None, "b": None}
    stale = rising = 0
    best_watched = math.inf  # the best watched cost so far, for early stopping (kept or not)
    t = 0

    def consider(value, epoch, W_now, b_now):
        if hyper.keep_best and value < best["value"]:
            best.update(value=value, epoch=epoch, W=W_now.copy(), b=b_now.copy())

    for epoch_num in range(1, hyper.epochs + 1):
        lr = learning_rate(hyper, epoch_num)
        loss_sum = 0.0
        penalty = 0.0  # sum over batches of nb ||W||², W as it was when the batch's loss was taken
        # The course's random_mini_batches: a new permutation every epoch, then consecutive slices.
        order = None if full else rng.permutation(m)
        for lo in range(0, m, B):
            hi = min(lo + B, m)
            nb = hi - lo
            if full:
                xb, yb = X, y_fit
            else:
                rows = order[lo:hi]
                xb = np.take(X, rows, axis=0, out=xbuf[:nb])
                yb = np.take(y_fit, rows, out=ybuf[:nb])
            zb, dzb = Z[:nb], dZ[:nb]
            np.dot(xb, Wt, out=zb)
            zb += b
            loss_sum += xent(zb, yb, dzb)
            penalty += nb * dot(Wt.reshape(-1), Wt.reshape(-1))
            if full and not watch_val:  # J of the weights before this epoch's step: exact
                consider((loss_sum + hyper.l2 / 2 * penalty / m) / m, epoch_num - 1, Wt, b)
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
            raise InputError(f"training diverged at epoch {epoch_num} (cost {cost}): lower --lr")
        # A training cost rising `patience` epochs in a row (by more than noise): lr too large.
        if history.cost and cost > history.cost[-1]:
            rising += 1
        else:
            rising = 0
        if rising >= hyper.patience and cost - history.cost[-rising] > RISE_MIN * abs(history.cost[-rising]):
            if history.rises and history.rises[-1][1] == epoch_num - 1:
                history.rises[-1][1] = epoch_num
            else:
                history.rises.append([epoch_num - rising, epoch_num])
        history.cost.append(cost)
        history.lr.append(lr)
        history.epochs = epoch_num
        if watch_val:
            watched = cross_entropy(predict_proba(Wt.T, b, X_val), y_val)
            history.val_cost.append(watched)
            consider(watched, epoch_num, Wt, b)
        else:
            watched = cost
            if not full:
                consider(watched, epoch_num, Wt, b)
        if progress is not None:
            progress(epoch_num, hyper.epochs, cost)
        # Early stopping: no improvement on the best by more than tol x cost for `patience` epochs.
        if epoch_num == 1 or watched < best_watched - hyper.tol * abs(best_watched):
            stale = 0
        else:
            stale += 1
        best_watched = min(best_watched, watched)
        if hyper.tol > 0 and stale >= hyper.patience:
            history.stopped_early = True
            history.stop_reason = (f"the {history.monitor} cost improved by less than tol {hyper.tol:g} x cost "
                                   f"for {hyper.patience} epochs")
            break
    else:
        history.stop_reason = f"ran all --epochs {hyper.epochs}"
    last = _full_cost(Wt, b, X, y_fit, hyper.l2, xent, Z, dZ)
    if full and not watch_val:
        consider(last, history.epochs, Wt, b)  # J of the final weights, exact like the others
    if hyper.keep_best and best["W"] is not None and best["epoch"] != history.epochs:
        Wt, b = best["W"], best["b"]
        history.final_cost = _full_cost(Wt, b, X, y_fit, hyper.l2, xent, Z, dZ)
    else:
        history.final_cost = last
    if hyper.keep_best:
        history.best_epoch = best["epoch"] if best["W"] is not None else history.epochs
    return Wt, b


# ---------------------------------------------------------------- training


def train(X, y, n_classes: int, hyper: Hyper, X_val=None, y_val=None, progress=None):
    """Fit W, b on standardized features X (m, n) and class indices y (m,) in [0, n_classes).

    Parameters
    ----------
    X : ndarray (m, n); float64 C-contiguous input is used as it is (not copied)
    progress : optional callable(epoch, epochs, cost) called after every epoch / iteration

    Returns
    -------
    W : ndarray (n_y, n_x), b : ndarray (n_y,), history : History
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.int64)
    m, n = X.shape
    if n_classes < 2:
        raise InputError("training needs at least 2 classes")
    hyper = hyper.resolve(m, n, n_classes)
    hyper.check()
    K = 1 if n_classes == 2 else n_classes
    history = History(optimizer=hyper.optimizer)
    start = time.perf_counter()
    # A diverging run overflows: its non-finite cost is reported as an error, not numpy warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        if hyper.course:
            Wt, b = _course(X, y, K, hyper, X_val, y_val, progress, history)
        else:
            Wt, b = _solve(X, y, K, hyper, X_val, y_val, progress, history)
    history.seconds = time.perf_counter() - start
    return np.ascontiguousarray(Wt.T), b, history


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """counts[i, j]: examples of class i predicted as class j."""
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def encode_labels(labels):
    """Class list and class index per example. Labels that all read as numbers sort numerically
    ("2" before "10"), others as text.

    One pass of hashing (no sort of the m labels): 2,000,000 labels take ~0.1 s.
    """
    arr = np.asarray(labels)
    values = arr.tolist() if arr.dtype == object else arr.astype(str).tolist()
    distinct = set(values)
    if not all(isinstance(c, str) for c in distinct):
        values = [str(v) for v in values]
        distinct = set(values)
    classes = sorted(distinct)
    try:
        classes.sort(key=float)
    except ValueError:
        pass
    index = {c: i for i, c in enumerate(classes)}
    return classes, np.fromiter(map(index.__getitem__, values), dtype=np.int64, count=len(values))


def _row_blocks(X):
    """Row ranges of about CHUNK_VALUES values: each block stays in cache for its second pass."""
    m, n = X.shape
    rows = max(256, CHUNK_VALUES // max(n, 1))
    return [(lo, min(lo + rows, m)) for lo in range(0, m, rows)]


def standardization(X):
    """Per-feature mean and std (ddof 0) of the training set X (m, n); a constant feature gets
    std 1 (left as it is).

    Two passes over X and no copy of it (X.std would make two): the squared deviations are summed
    block by block. A std below 1e-12 of the mean's size is rounding of a constant column.
    """
    mean = X.mean(axis=0)
    squares = np.zeros(X.shape[1])
    for lo, hi in _row_blocks(X):
        d = X[lo:hi] - mean
        squares += np.einsum("ij,ij->j", d, d)
    std = np.sqrt(squares / max(len(X), 1))
    std[std <= 1e-12 * np.abs(mean)] = 1.0
    std[std == 0] = 1.0
    return mean, std


def standardize(X, mean, std):
    """X ← (X − mean) / std in place, block by block (one pass over memory); returns X."""
    for lo, hi in _row_blocks(X):
        block = X[lo:hi]
        block -= mean
        block /= std
    return X


def standardize_sets(X, *others):
    """Standardize the training set X and the ``others`` (validation sets; None skipped) in place,
    by X's statistics; returns (mean, std), which the model keeps to standardize new data."""
    mean, std = standardization(X)
    for A in (X, *others):
        if A is not None:
            standardize(A, mean, std)
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
