"""Gradient checking (C2W1): the analytic gradient dθ against the two-sided difference
dθ_approx[i] = (J(θ + ε e_i) − J(θ − ε e_i)) / 2ε, compared by the relative difference
‖dθ_approx − dθ‖₂ / (‖dθ_approx‖₂ + ‖dθ‖₂): about 1e-7 is right, 1e-5 worth a look, 1e-3 a bug.

Parameters are named blocks (W1, b1, ...); every result is reported per block and overall.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from dltool.core import mlp
from dltool.core.names import ACTIVATIONS
from dltool.errors import InputError

#: verdict -> the relative difference it starts at (the course's bands).
VERDICTS = {"ok": 0.0, "check": 1e-7, "suspicious": 1e-5, "bug": 1e-3}
# Below this many (coordinates x examples x units) the numpy cost loop beats loading numba.
NUMBA_MIN_WORK = 200_000
# Two evaluations of a user's cost at the same θ may differ by this much (relative) before the cost
# counts as non-deterministic: far below what an epsilon step changes (ε |dJ| ~ 1e-7 |dJ|), far
# above the last-bit differences of a multi-threaded sum.
NONDETERMINISM_RTOL = 1e-12


def verdict(rel: float) -> str:
    if not math.isfinite(rel):
        return "bug"
    band = "ok"
    for name, start in VERDICTS.items():
        if rel >= start:
            band = name
    return band


def relative_difference(numeric, analytic) -> float:
    """‖a − b‖ / (‖a‖ + ‖b‖); 0 when both are zero (nothing to disagree about)."""
    numeric, analytic = np.ravel(numeric), np.ravel(analytic)
    denominator = np.linalg.norm(numeric) + np.linalg.norm(analytic)
    return 0.0 if denominator == 0 else float(np.linalg.norm(numeric - analytic) / denominator)


@dataclass
class Block:
    name: str
    shape: tuple
    checked: int
    rel_diff: float
    max_abs_diff: float
    worst_index: tuple | None  # index into the block (None in --fast mode: directions)
    worst_numeric: float
    worst_analytic: float

    @property
    def verdict(self) -> str:
        return verdict(self.rel_diff)


@dataclass
class Report:
    blocks: list
    rel_diff: float
    epsilon: float
    mode: str  # "all", "sample", "directions"
    checked: int
    notes: list = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """The course's band for the overall relative difference."""
        return verdict(self.rel_diff)

    @property
    def worst(self) -> float:
        """The largest of the overall and the per-block differences, which --fail-above judges: a
        broken small block (a bias) must not hide behind a large healthy one."""
        return max([self.rel_diff] + [b.rel_diff for b in self.blocks])


# ---------------------------------------------------------------- parameter vectors


def flatten(params: dict, names: list) -> tuple:
    """θ as one float64 vector in ``names`` order, and [(name, shape, offset), ...]."""
    layout, parts, offset = [], [], 0
    for name in names:
        a = np.asarray(params[name], dtype=np.float64)
        layout.append((name, a.shape, offset))
        parts.append(a.ravel())
        offset += a.size
    return (np.concatenate(parts) if parts else np.empty(0)), layout


def unflatten(theta, layout) -> dict:
    return {name: theta[offset:offset + int(np.prod(shape, dtype=np.int64))].reshape(shape)
            for name, shape, offset in layout}


def choose_coordinates(layout, sample: int | None, rng) -> np.ndarray:
    """Flat indices to check: all of them, or ``sample`` random ones per block (all if fewer)."""
    chosen = []
    for _, shape, offset in layout:
        size = int(np.prod(shape, dtype=np.int64))
        if sample is None or sample >= size:
            chosen.append(np.arange(offset, offset + size))
        else:
            chosen.append(offset + np.sort(rng.choice(size, sample, replace=False)))
    return np.concatenate(chosen) if chosen else np.empty(0, dtype=np.int64)


def numeric_by_loop(cost, theta, coords, epsilon, progress=None) -> np.ndarray:
    """The course's loop: two cost evaluations per coordinate (for any cost function)."""
    out = np.empty(len(coords))
    work = theta.copy()
    for t, p in enumerate(coords):
        original = work[p]
        work[p] = original + epsilon
        plus = cost(work)
        work[p] = original - epsilon
        minus = cost(work)
        work[p] = original
        out[t] = (plus - minus) / (2 * epsilon)
        if progress is not None:
            progress(t + 1, len(coords))
    return out


def compare(layout, analytic: np.ndarray, coords: np.ndarray, numeric: np.ndarray, epsilon: float,
            mode: str) -> Report:
    """Per-block and overall relative differences of numeric and analytic values at ``coords``."""
    blocks = []
    for name, shape, offset in layout:
        size = int(np.prod(shape, dtype=np.int64))
        mask = (coords >= offset) & (coords < offset + size)
        num, ana = numeric[mask], analytic[coords[mask]]
        if len(num) == 0:
            continue
        diff = np.abs(num - ana)
        k = int(np.argmax(diff))
        index = tuple(int(v) for v in np.unravel_index(int(coords[mask][k] - offset), shape)) if shape else ()
        blocks.append(Block(name, tuple(shape), len(num), relative_difference(num, ana), float(diff[k]),
                            index, float(num[k]), float(ana[k])))
    return Report(blocks, relative_difference(numeric, analytic[coords]), epsilon, mode, len(coords))


def check_directions(cost, theta, analytic, layout, epsilon, k: int, rng) -> Report:
    """--fast: per block, k random unit directions v; compare (J(θ+εv) − J(θ−εv)) / 2ε with vᵀdθ."""
    blocks, all_num, all_ana = [], [], []
    for name, shape, offset in layout:
        size = int(np.prod(shape, dtype=np.int64))
        num, ana = np.empty(k), np.empty(k)
        for t in range(k):
            v = np.zeros_like(theta)
            d = rng.standard_normal(size)
            v[offset:offset + size] = d / np.linalg.norm(d)
            num[t] = (cost(theta + epsilon * v) - cost(theta - epsilon * v)) / (2 * epsilon)
            ana[t] = float(v @ analytic)
        diff = np.abs(num - ana)
        w = int(np.argmax(diff))
        blocks.append(Block(name, tuple(shape), k, relative_difference(num, ana), float(diff[w]), None,
                            float(num[w]), float(ana[w])))
        all_num.append(num)
        all_ana.append(ana)
    numeric, analytic_dirs = np.concatenate(all_num), np.concatenate(all_ana)
    return Report(blocks, relative_difference(numeric, analytic_dirs), epsilon, "directions", len(numeric))


# ---------------------------------------------------------------- the built-in networks


@dataclass
class Network:
    """A built-in model to check: the course's MLP (logistic / softmax regression: no hidden layer)."""

    params: dict
    X: np.ndarray  # (n_x, m)
    Y: np.ndarray  # (n_y, m)
    activation: str = "relu"
    l2: float = 0.0

    @property
    def names(self) -> list:
        return mlp.param_names(len(mlp.layer_sizes(self.params)) - 1)

    def cost_of(self, layout):
        return lambda theta: mlp.cost_and_grads(unflatten(theta, layout), self.X, self.Y, self.activation,
                                                self.l2)[0]

    def kinks(self, epsilon: float) -> int:
        """Hidden ReLU units whose input lies within reach of an ε step of 0 (a kink, not a bug)."""
        if self.activation not in ("relu", "leaky_relu"):
            return 0
        caches, _ = mlp.forward(self.params, self.X, self.activation)
        count = 0
        for A_prev, Z in caches[:-1]:
            reach = epsilon * max(1.0, float(np.abs(A_prev).max(initial=0.0)))
            count += int(np.sum(np.abs(Z) < reach))
        return count


def check_network(net: Network, epsilon: float = 1e-7, sample: int | None = None, fast: int | None = None,
                  seed: int = 0, progress=None) -> Report:
    """Gradient check of a built-in network: numba kernel over coordinates, or directions."""
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise InputError(f"epsilon must be a positive number, got {epsilon}")
    if net.activation not in ACTIVATIONS:
        raise InputError(f"unknown activation {net.activation!r}: expected one of {', '.join(ACTIVATIONS)}")
    names = net.names
    sizes = mlp.layer_sizes(net.params)
    if net.X.shape[0] != sizes[0] or net.Y.shape != (sizes[-1], net.X.shape[1]):
        raise InputError(f"the data do not fit the network {','.join(map(str, sizes))}: X {net.X.shape}, "
                         f"Y {net.Y.shape} (expected ({sizes[0]}, m) and ({sizes[-1]}, m))")
    theta, layout = flatten(net.params, names)
    cost, grads = mlp.cost_and_grads(net.params, net.X, net.Y, net.activation, net.l2)
    if not math.isfinite(cost):
        raise InputError(f"the cost is not finite ({cost}) at these parameters")
    analytic, _ = flatten({n: grads["d" + n] for n in names}, names)
    rng = np.random.default_rng(seed)
    if fast:
        report = check_directions(net.cost_of(layout), theta, analytic, layout, epsilon, fast, rng)
    else:
        coords = choose_coordinates(layout, sample, rng)
        if len(coords) * net.X.shape[1] * sum(sizes) >= NUMBA_MIN_WORK:
            numeric = _numeric_numba(net, theta, layout, sizes, coords, epsilon)
        else:
            numeric = numeric_by_loop(net.cost_of(layout), theta, coords, epsilon, progress)
        report = compare(layout, analytic, coords, numeric, epsilon, "all" if sample is None else "sample")
    kinks = net.kinks(epsilon)
    if kinks:
        report.notes.append(f"{kinks} hidden ReLU input(s) lie within an epsilon step of 0: a kink there "
                            "can make the numerical gradient differ without a bug")
    return report


def _numeric_numba(net, theta, layout, sizes, coords, epsilon):
    from dltool.core import gradcheck_kernels
    from dltool.core.threads import run_rows

    L = len(sizes) - 1
    offsets = {name: offset for name, _, offset in layout}
    w_off = np.array([0] + [offsets[f"W{l}"] for l in range(1, L + 1)], dtype=np.int64)
    b_off = np.array([0] + [offsets[f"b{l}"] for l in range(1, L + 1)], dtype=np.int64)
    caches, _ = mlp.forward(net.params, net.X, net.activation)
    m = net.X.shape[1]
    # One flat buffer: A[0..L-1] then Z[1..L], each (n, m) row-major.
    blocks, a_off, z_off, at = [], np.zeros(L + 1, dtype=np.int64), np.zeros(L + 1, dtype=np.int64), 0
    for l in range(L):
        a_off[l] = at
        blocks.append(np.ascontiguousarray(caches[l][0], dtype=np.float64).ravel())
        at += sizes[l] * m
    for l in range(1, L + 1):
        z_off[l] = at
        blocks.append(np.ascontiguousarray(caches[l - 1][1], dtype=np.float64).ravel())
        at += sizes[l] * m
    acts = np.concatenate(blocks)
    act = ACTIVATIONS[net.activation][0]
    out = np.empty(len(coords))
    run_rows(gradcheck_kernels.numerical_gradient, len(coords),
             theta, np.array(sizes, dtype=np.int64), w_off, b_off, acts, a_off, z_off,
             np.ascontiguousarray(net.Y, dtype=np.float64), act, float(net.l2),
             np.ascontiguousarray(coords, dtype=np.int64), float(epsilon), out, min_rows=16)
    return out


def random_network(sizes: list, activation: str, samples: int, seed: int, l2: float = 0.0,
                   params: dict | None = None, X=None, Y=None) -> Network:
    """A seeded network and batch: X ~ N(0, 1), random labels, weights ~ N(0, 1/n[l-1]), biases
    ~ N(0, 0.1) (non-zero, so that their gradients are checked too)."""
    rng = np.random.default_rng(seed)
    if params is None:
        params = {}
        for l in range(1, len(sizes)):
            params[f"W{l}"] = rng.standard_normal((sizes[l], sizes[l - 1])) / math.sqrt(sizes[l - 1])
            params[f"b{l}"] = 0.1 * rng.standard_normal((sizes[l], 1))
    if X is None:
        X = rng.standard_normal((sizes[0], samples))
        n_out = sizes[-1]
        Y = mlp.targets(rng.integers(0, 2 if n_out == 1 else n_out, samples), n_out)
    return Network(params, X, Y, activation, l2)


# ---------------------------------------------------------------- the user's own functions


def natural_names(params: dict) -> list:
    """Parameter names in the course's order (W1, b1, W2, ...; others sorted after)."""
    import re

    def key(name):
        match = re.fullmatch(r"([A-Za-z_]+?)(\d+)", name)
        return (0, int(match.group(2)), match.group(1)) if match else (1, 0, name)
    return sorted(params, key=key)


def check_function(fn, params: dict, data: dict | None = None, epsilon: float = 1e-7, sample: int | None = None,
                   fast: int | None = None, seed: int = 0, progress=None, call=None) -> Report:
    """Gradient check of a function ``fn(params[, data]) -> (cost, grads)`` of the course's form.

    ``grads`` is keyed ``dW1``, ``db1``, ... or by the parameter names. ``call(fn, params, data)``
    runs the user's code (the CLI passes one that turns their exceptions into UserCodeError).
    """
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise InputError(f"epsilon must be a positive number, got {epsilon}")
    call = call or (lambda f, p, d: f(p) if d is None else f(p, d))
    names = natural_names(params)
    theta, layout = flatten(params, names)
    singles = []  # what the function returns in float32

    def evaluate(theta_now, want_grads):
        fresh = {k: v.copy() for k, v in unflatten(theta_now, layout).items()}  # the user may mutate them
        out = call(fn, fresh, data)
        if not (isinstance(out, (tuple, list)) and len(out) == 2 and isinstance(out[1], dict)):
            raise InputError(f"the function must return (cost, grads) with grads a dict, got {type(out).__name__}"
                             + (f" of {len(out)} items" if isinstance(out, (tuple, list)) else ""))
        cost, grads = out
        cost_arr = np.asarray(cost)
        if cost_arr.size != 1 or not np.issubdtype(cost_arr.dtype, np.number):
            raise InputError(f"the cost must be one number, got {cost_arr.dtype} of shape {cost_arr.shape}")
        if not np.isfinite(cost_arr).all():
            raise InputError(f"the cost is not finite ({cost_arr.item()}) at these parameters")
        if want_grads and cost_arr.dtype == np.float32:
            singles.append("the cost")
        return float(cost_arr.item()), grads

    first, grads = evaluate(theta, True)
    # The course's warning (C2W1): gradient checking needs a cost that is a function of θ alone;
    # dropout (keep_prob < 1) or any sampling inside the function makes every evaluation differ,
    # and the two-sided differences then measure the noise, not the gradient.
    second = evaluate(theta, False)[0]
    if abs(first - second) > NONDETERMINISM_RTOL * max(abs(first), abs(second)):
        raise InputError(f"the cost is not deterministic: two evaluations at the same parameters gave "
                         f"{first!r} and {second!r} - gradient checking needs J(theta) to depend on theta "
                         f"alone: turn dropout off (keep_prob = 1, as the course does while checking) and "
                         f"any other randomness (sampling, shuffling), or fix its seed inside the function")
    analytic_blocks = {}
    for name in names:
        g = grads.get("d" + name, grads.get(name))
        if g is None:
            raise InputError(f"grads has no 'd{name}' (nor '{name}'): expected a gradient for every parameter "
                             f"({', '.join('d' + n for n in names)}); it has {', '.join(map(str, grads)) or 'nothing'}")
        g = np.asarray(g)
        want = np.shape(params[name])
        if g.shape != want:
            if g.size == int(np.prod(want, dtype=np.int64)) and np.squeeze(g).shape == np.squeeze(np.empty(want)).shape:
                g = g.reshape(want)  # (n,) against (n, 1): the same numbers
            else:
                raise InputError(f"d{name} has shape {g.shape}, but {name} has shape {want}")
        if g.dtype == np.float32:
            singles.append(f"d{name}")
        if not np.isfinite(g).all():
            raise InputError(f"d{name} has non-finite values")
        analytic_blocks[name] = g
    analytic, _ = flatten(analytic_blocks, names)
    cost = lambda th: evaluate(th, False)[0]  # noqa: E731
    rng = np.random.default_rng(seed)
    if fast:
        report = check_directions(cost, theta, analytic, layout, epsilon, fast, rng)
    else:
        coords = choose_coordinates(layout, sample, rng)
        numeric = numeric_by_loop(cost, theta, coords, epsilon, progress)
        report = compare(layout, analytic, coords, numeric, epsilon, "all" if sample is None else "sample")
    if singles:
        report.notes.append(f"{', '.join(singles)} {'is' if len(singles) == 1 else 'are'} float32: rounding then "
                            "swamps an epsilon step (the usual cause of false failures) - compute in float64")
    return report
