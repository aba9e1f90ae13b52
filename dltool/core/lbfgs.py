"""A small L-BFGS with optional box constraints (projection), for texture synthesis on pixels.

Minimizes f(x) over a flat float64 vector x, given ``fun(x) -> (f, ∇f)``:

- direction: the two-loop recursion (Nocedal & Wright, Algorithm 7.4) over the last ``m`` pairs
  s_k = x_{k+1} − x_k, y_k = ∇f_{k+1} − ∇f_k, with the initial Hessian H_0 = γ I,
  γ = sᵀy / yᵀy of the newest pair; a pair with sᵀy ≤ 1e-10 · yᵀy (not positive curvature) is not
  stored, so the implicit Hessian stays positive definite;
- step: backtracking (Armijo) line search: start at t = 1 (the first iteration, with no curvature
  yet, at t = 1 / ‖∇f‖₂, a unit-length step), accept when
  f(x_t) ≤ f(x) + c1 · ∇f(x)ᵀ(x_t − x), else shrink t by the minimizer of the quadratic through
  f(x), the slope and f(x_t), kept within [0.1 t, 0.5 t];
- bounds ``lo ≤ x ≤ hi`` (scalars or arrays; pixels use [0, 1]): a projected variant. Coordinates
  sitting on a bound with the gradient pushing outwards are *active*: they are held fixed (their
  gradient and direction entries are zeroed) and the trial points are projected, x_t = P(x + t d).
  This is the simple "projected L-BFGS" heuristic, not L-BFGS-B's Cauchy point and subspace
  minimization: it has no convergence proof with bounds but works well on images, where few pixels
  are clipped, and every iterate is feasible (an image in [0, 1] at each step, which --save-every
  writes as is). Projection was chosen over optimizing an unconstrained variable and clipping at the
  end because the cost is then measured on the image that is actually returned.

Stops after ``max_iter`` iterations, when the relative decrease of f in one iteration falls below
``ftol``, when the projected gradient ‖x − P(x − ∇f)‖_∞ falls below ``gtol``, when the line search
fails twice in a row (the second time right after forgetting the curvature pairs), or when the
callback returns True.
"""

from dataclasses import dataclass, field

import numpy as np

from dltool.errors import InputError

STATUSES = {
    "max_iter": "reached the maximum number of iterations",
    "ftol": "relative decrease of f below ftol",
    "gtol": "projected gradient below gtol",
    "line_search": "the line search found no decrease (at the limit of precision)",
    "callback": "stopped by the callback",
}


@dataclass
class LbfgsResult:
    """The outcome of :func:`lbfgs`.

    x : ndarray, the best point found (feasible when bounds were given)
    f : float, f(x)
    iterations : int, completed iterations (accepted steps)
    evaluations : int, calls of ``fun``
    status : a key of STATUSES
    history : list of float, f at the start and after each iteration (length iterations + 1)
    """

    x: np.ndarray
    f: float
    iterations: int
    evaluations: int
    status: str
    history: list = field(default_factory=list)

    @property
    def message(self) -> str:
        return STATUSES[self.status]


def _bounds(bounds, n):
    if bounds is None:
        return None, None
    try:
        lo, hi = bounds
    except (TypeError, ValueError):
        raise InputError(f"bounds must be a pair (lo, hi), got {bounds!r}") from None
    lo = np.broadcast_to(np.asarray(lo, dtype=np.float64), (n,))
    hi = np.broadcast_to(np.asarray(hi, dtype=np.float64), (n,))
    if np.any(lo > hi):
        raise InputError("bounds: lo must be <= hi everywhere")
    return lo, hi


# OpenBLAS spreads a dot product of more than 10,000 entries over its threads: microseconds of work
# that then wait for a thread another process holds (up to milliseconds per call on a busy 2-core
# machine, measured). Long vectors go through einsum, which stays in the calling thread; short ones
# through BLAS, which is faster there.
BLAS_DOT_MAX = 8192


def dot(a, b) -> float:
    """aᵀb of two 1-D float64 vectors, without a thread pool (see BLAS_DOT_MAX)."""
    return float(a @ b) if a.shape[0] <= BLAS_DOT_MAX else float(np.einsum("i,i->", a, b))


def _two_loop(g, pairs):
    """−H g for the L-BFGS inverse-Hessian approximation H built from ``pairs`` (s, y, 1/sᵀy)."""
    q = g.copy()
    alphas = []
    for s, y, rho in reversed(pairs):
        a = rho * dot(s, q)
        q -= a * y
        alphas.append(a)
    s, y, _ = pairs[-1]
    q *= dot(s, y) / dot(y, y)
    for (s, y, rho), a in zip(pairs, reversed(alphas)):
        b = rho * dot(y, q)
        q += (a - b) * s
    return -q


def lbfgs(fun, x0, *, bounds=None, max_iter: int = 100, m: int = 10, ftol: float = 1e-10,
          gtol: float = 1e-10, c1: float = 1e-4, max_line_search: int = 20, callback=None) -> LbfgsResult:
    """Minimize ``fun`` by L-BFGS, projected onto ``bounds`` if given.

    Parameters
    ----------
    fun : callable(x) -> (float, ndarray of shape (n,)), the value and gradient at x
    x0 : array_like of shape (n,), the start (projected onto the bounds first)
    bounds : None or (lo, hi), scalars or arrays of shape (n,)
    max_iter : iterations (accepted steps); each costs one evaluation of ``fun`` when the first
        trial step is accepted, as it usually is once curvature pairs exist
    m : curvature pairs kept (the memory)
    ftol : stop when (f_old − f_new) ≤ ftol · max(|f_old|, |f_new|)
    gtol : stop when the projected gradient's largest entry is ≤ gtol
    c1 : the Armijo constant
    max_line_search : trial steps per iteration before the line search gives up
    callback : callable(iteration, x, f) -> bool or None, after each iteration (x must not be
        modified); returning True stops

    Returns
    -------
    LbfgsResult
    """
    x = np.array(x0, dtype=np.float64).reshape(-1)
    n = x.size
    if n == 0:
        raise InputError("lbfgs: x0 is empty")
    if max_iter < 0 or m < 1:
        raise InputError(f"lbfgs: max_iter must be >= 0 and m >= 1, got {max_iter} and {m}")
    lo, hi = _bounds(bounds, n)

    def project(v):
        return v if lo is None else np.clip(v, lo, hi, out=v)

    evaluations = 0

    def evaluate(v):
        nonlocal evaluations
        evaluations += 1
        value, grad = fun(v)
        value = float(value)
        grad = np.asarray(grad, dtype=np.float64).reshape(-1)
        if grad.shape != (n,):
            raise InputError(f"lbfgs: fun returned a gradient of {grad.size} entries for {n} variables")
        return value, grad

    x = project(x)
    f, g = evaluate(x)
    history = [f]
    pairs = []
    status = "max_iter"
    iteration = 0
    failed_once = False
    while iteration < max_iter:
        if lo is not None:
            active = ((x <= lo) & (g > 0)) | ((x >= hi) & (g < 0))
            g_free = np.where(active, 0.0, g)
        else:
            active, g_free = None, g
        if np.max(np.abs(g_free)) <= gtol:
            status = "gtol"
            break
        d = _two_loop(g_free, pairs) if pairs else -g_free
        if active is not None:
            d[active] = 0.0
        slope = dot(g, d)
        if not pairs or slope >= 0:  # no curvature yet, or not a descent direction: steepest descent
            pairs.clear()
            d = -g_free
            slope = dot(g, d)
            t = 1.0 / max(np.sqrt(dot(d, d)), 1e-300)
        else:
            t = 1.0
        # backtracking on x_t = P(x + t d); the Armijo test uses the actual step x_t − x
        accepted = False
        for _ in range(max_line_search):
            x_t = project(x + t * d)
            step = x_t - x
            predicted = dot(g, step)
            f_t, g_t = evaluate(x_t)
            if np.isfinite(f_t) and f_t <= f + c1 * predicted:
                accepted = True
                break
            if not np.isfinite(f_t):
                t *= 0.1
                continue
            # minimizer of the quadratic through f(0) = f, φ'(0) = slope, φ(t) = f_t
            curvature = f_t - f - slope * t
            t_new = -slope * t * t / (2.0 * curvature) if curvature > 0 else 0.5 * t
            t = min(max(t_new, 0.1 * t), 0.5 * t)
        if not accepted or not np.any(step):
            if failed_once or not pairs:
                status = "line_search"
                break
            failed_once = True
            pairs.clear()  # retry once from steepest descent with the memory forgotten
            continue
        failed_once = False
        y = g_t - g
        sy = dot(step, y)
        if sy > 1e-10 * dot(y, y):
            pairs.append((step, y, 1.0 / sy))
            if len(pairs) > m:
                pairs.pop(0)
        f_old = f
        x, f, g = x_t, f_t, g_t
        iteration += 1
        history.append(f)
        if callback is not None and callback(iteration, x, f):
            status = "callback"
            break
        if f_old - f <= ftol * max(abs(f_old), abs(f), 1e-300):
            status = "ftol"
            break
    else:
        status = "max_iter"
    return LbfgsResult(x=x, f=f, iterations=iteration, evaluations=evaluations, status=status,
                       history=history)
