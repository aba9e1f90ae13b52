"""What texture synthesis minimizes: the features of an image, their per-position Gram matrices,
the style and content costs, and the hand-written gradient (:class:`Objective`).

Features. An image x (H, W, 3) in [0, 1] is centred, x − c (c = 0.5 for the random and fixed
banks, 0 for rgb), and correlated with every filter w_k (f, f, 3) of a :class:`FilterBank`:

    z_k[h, w] = Σ_{i, j, c} (x − c)[h + i − ⌊f/2⌋, w + j − ⌊f/2⌋, c] · w_k[i, j, c],   F_k = ReLU(z_k)

(each filter centred on the output pixel). Indices wrap around: the padding is *periodic*
(circular), which is what the FFT computes and what a texture wants - the synthesized image tiles
seamlessly, and the statistics of a periodic texture do not change when it is translated. With
``padding="valid"`` only the output pixels whose window does not wrap are kept (f − 1 rows and
columns fewer, as the course's "valid"): use it for photographs, whose opposite edges do not meet.
``padding="auto"`` (the default for style images) picks circular for an image that tiles
seamlessly (:func:`wraps_around`) and valid otherwise; the synthesized image is always periodic.

Layers. The filters of one size form one layer ``l`` (one Gram matrix each). With F^[l] of shape
(n_H·n_W, n_C) (one row per position) the Gram is G = Fᵀ F and the course's style cost is

    J^[l](S, X) = 1/(2 n_H n_W n_C)² ‖G(S) − G(X)‖²_F = 1/(4 n_C²) ‖G(S)/P − G(X)/P‖²_F,  P = n_H n_W.

Targets are kept as the per-position Grams G/P (the second form): they do not depend on the image
size, so a style image of any size, or a blend of several, can be matched. J_style = Σ_l λ^[l] J^[l]
with λ^[l] = 1/L by default, the content cost J_content = Σ_l λ^[l] 1/(4 n_H n_W n_C)
‖F^[l](C) − F^[l](X)‖² on the same features, and J = α J_content + β J_style (α = 10, β = 40).

Gradient (:func:`loss_and_grad`), written by hand: dJ/dG^[l] → dJ/dF = 2 F dJ/dG (BLAS) → times
the ReLU mask [z > 0] → through the correlation (its adjoint, a convolution, in the Fourier
domain: :mod:`.engine`) → dJ/dx. It is checked against finite differences in the tests. float32
costs agree with float64 to ~1e-7 relative and gradients to ~1e-6 of their largest entry.
"""

import numpy as np

from dltool.core.texture import engine
from dltool.core.texture.bank import FilterBank
from dltool.core.texture.engine import PRECISIONS, layer_matrix
from dltool.errors import InputError

#: padding name -> description
PADDINGS = {
    "circular": "periodic: indices wrap around (the FFT's; seamless textures)",
    "valid": "only the positions whose window does not wrap (f - 1 fewer rows and columns)",
    "auto": "circular for an image that tiles seamlessly (see wraps_around), else valid",
}
ALPHA = 10.0  # the course's α and β
BETA = 40.0


# ---------------------------------------------------------------- validation


def _check_image(img, name: str = "image") -> np.ndarray:
    try:
        a = np.asarray(img)
    except ValueError:
        raise InputError("not a rectangular array", name) from None
    if a.dtype.kind not in "biuf":
        raise InputError(f"expected numbers, got dtype {a.dtype}", name)
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise InputError(f"expected an RGB image of shape (H, W, 3), got shape {a.shape}", name)
    a = np.ascontiguousarray(a, dtype=np.float64)
    if not np.isfinite(a).all():
        raise InputError("the image has non-finite values", name)
    return a


def _check_padding(padding: str, auto: bool = True):
    names = [p for p in PADDINGS if auto or p != "auto"]
    if padding not in names:
        raise InputError(f"unknown padding {padding!r}: expected one of {', '.join(names)}")


def wraps_around(img, tolerance: float = 8.0) -> bool:
    """Whether an image tiles seamlessly, so that circular padding sees no seam.

    True when, along each axis, the mean squared difference across the seam (last row against
    first row; last column against first column) is at most ``tolerance`` times the mean squared
    difference between neighbouring rows (columns) inside the image. Opposite edges of a photograph
    are unrelated: its seam differs like two distant rows, 10-100x a neighbour difference (55x for
    samples/street.png); the seam of a tileable texture is one more pair of neighbours, at most a few
    times the average even when it falls on an edge of the pattern (5x for the basket weave sample,
    whose tile starts at a ribbon's edge). A crop of a fine-grained texture may pass without tiling:
    its seam then costs little, as the texture looks alike on both sides.
    """
    x = _check_image(img)
    for axis in (0, 1):
        if x.shape[axis] < 3:
            continue
        inner = float(np.mean(np.diff(x, axis=axis) ** 2))
        first, last = np.take(x, 0, axis=axis), np.take(x, -1, axis=axis)
        seam = float(np.mean((first - last) ** 2))
        if seam > tolerance * inner + 1e-12:
            return False
    return True


def resolve_padding(padding: str, *images) -> str:
    """"circular" or "valid": ``padding`` itself, or for "auto" circular when every image
    :func:`wraps_around`, else valid."""
    _check_padding(padding)
    if padding != "auto":
        return padding
    return "circular" if all(wraps_around(im) for im in images) else "valid"


def _check_precision(precision: str):
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}: expected one of {', '.join(PRECISIONS)}")


def _layer_weights(weights, n_layers: int) -> np.ndarray:
    if weights is None:
        return np.full(n_layers, 1.0 / n_layers)
    try:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(f"layer weights must be numbers, got {weights!r}") from None
    if len(w) != n_layers or not np.isfinite(w).all() or np.any(w < 0):
        raise InputError(f"expected {n_layers} layer weights >= 0 (one per filter size), got {weights!r}")
    return w


# ---------------------------------------------------------------- features and targets


def features(img, bank: FilterBank, padding: str = "circular", precision: str = "float64",
             executor=None) -> list:
    """The feature maps of an image, one array per layer (filter size).

    Parameters
    ----------
    img : array_like of shape (H, W, 3), an RGB image in [0, 1]
    bank : FilterBank
    padding : "circular" (n_H = H, n_W = W), "valid" (n_H = H − f + 1, n_W = W − f + 1) or "auto"
        (circular if the image :func:`wraps_around`, else valid)
    precision : "float64" or "float32" (the arithmetic; the result is float64 either way)
    executor : threads to split the filters over (see :mod:`.engine`); None: this thread

    Returns
    -------
    list of ndarray of shape (n_H, n_W, n_C), F = ReLU(correlation of x − centre with the filters)
    """
    x = _check_image(img)
    padding = resolve_padding(padding, x)
    _check_precision(precision)
    plan = engine.plan(bank, x.shape[0], x.shape[1], precision)
    views = plan.layer_views(padding)
    F = plan.forward(x, executor)
    out = []
    for sl, crop in views:
        block = F[sl] if crop is None else F[sl, crop[0]:crop[1], crop[2]:crop[3]]
        out.append(block.transpose(1, 2, 0).astype(np.float64))
    return out


def _grams(plan: engine.Plan, views) -> list:
    """Per-position Grams G/P of the maps in plan.F, float64, and the layers' matrices."""
    mats = [layer_matrix(plan.F, sl, crop) for sl, crop in views]
    return [(m @ m.T).astype(np.float64) / m.shape[1] for m in mats], mats


def style_targets(img, bank: FilterBank, padding: str = "auto", precision: str = "float64",
                  executor=None) -> list:
    """The style of an image: one per-position Gram matrix per layer.

    Parameters
    ----------
    img : array_like of shape (H, W, 3) in [0, 1]
    bank : FilterBank
    padding : "circular" (a tileable texture), "valid" (a photograph, whose edges do not meet) or
        "auto" (default: circular if the image :func:`wraps_around`, else valid)
    executor : threads to split the filters over; None: this thread

    Returns
    -------
    list of ndarray of shape (n_C, n_C): G^[l] / (n_H n_W) with G = Fᵀ F, F (n_H·n_W, n_C) the
    layer's maps (the course's Gram divided by the number of positions, so that images of
    different sizes compare: see the module docstring)
    """
    x = _check_image(img)
    padding = resolve_padding(padding, x)
    _check_precision(precision)
    plan = engine.plan(bank, x.shape[0], x.shape[1], precision)
    views = plan.layer_views(padding)
    plan.forward(x, executor)
    grams, _ = _grams(plan, views)
    return grams


def blend_targets(targets: list, weights=None) -> list:
    """Σ_i w_i T_i layer by layer, weights normalized to sum 1 (equal by default)."""
    if not targets:
        raise InputError("no style targets to blend")
    if weights is None:
        w = np.full(len(targets), 1.0 / len(targets))
    else:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if len(w) != len(targets) or not np.isfinite(w).all() or np.any(w < 0) or w.sum() <= 0:
            raise InputError(f"expected {len(targets)} style weights >= 0, not all 0, got {weights!r}")
        w = w / w.sum()
    return [sum(wi * t[l] for wi, t in zip(w, targets)) for l in range(len(targets[0]))]


def gram_distance(targets_a: list, targets_b: list, layer_weights=None) -> float:
    """Σ_l λ^[l] 1/(4 n_C²) ‖A_l − B_l‖²_F between two lists of per-position Grams
    (:func:`style_targets` of two images, taken with the same bank and padding)."""
    if len(targets_a) != len(targets_b):
        raise InputError(f"{len(targets_a)} and {len(targets_b)} layers: the Grams come from different banks")
    lam = _layer_weights(layer_weights, len(targets_a))
    total = 0.0
    for a, b, w in zip(targets_a, targets_b, lam):
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            raise InputError(f"Grams of shapes {a.shape} and {b.shape}: the images were seen by different banks")
        d = a - b
        total += w * float(np.sum(d * d)) / (4.0 * a.shape[0] ** 2)
    return total


def style_distance(img_a, img_b, bank: FilterBank, padding: str = "auto", layer_weights=None,
                   precision: str = "float64", executor=None) -> float:
    """The course's style cost between two images' features: Σ_l λ^[l] 1/(4 n_C²) ‖G_a/P_a − G_b/P_b‖²_F.

    Symmetric, 0 for identical images, ≥ 0; the images may differ in size (per-position Grams).
    With equal sizes it equals Σ_l λ^[l] · 1/(2 n_H n_W n_C)² ‖G(a) − G(b)‖²_F, λ^[l] = 1/L by default.
    ``padding="auto"`` is circular when both images wrap around, else valid for both. To compare
    many images with one, take :func:`style_targets` once each (same padding) and :func:`gram_distance`.
    """
    a = _check_image(img_a, "image a")
    b = _check_image(img_b, "image b")
    padding = resolve_padding(padding, a, b)
    return gram_distance(style_targets(a, bank, padding, precision, executor),
                         style_targets(b, bank, padding, precision, executor), layer_weights)


# ---------------------------------------------------------------- the cost and its gradient


class Objective:
    """J(x) = β Σ_l λ_l J_style^[l](x) + α Σ_l λ_l J_content^[l](x) and its gradient, for images of
    one size; holds the bank's plan and the targets (built once, evaluated at every step).

    Parameters
    ----------
    shape : (H, W) of the images x
    targets : list of (n_C, n_C) per-position Grams, one per layer (:func:`style_targets`)
    bank : FilterBank
    layer_weights : λ per layer (default 1/L each)
    content : None or an image (H, W, 3): adds the content cost on the same features
    alpha, beta : the weights of J_content and J_style
    padding : of the synthesized image's features ("circular": a seamless tile)
    precision : "float32" (fast) or "float64"
    executor : threads to split each evaluation over, owned by the caller (e.g. ``with
        engine.workers() as pool``); None: every evaluation runs in the calling thread
    """

    def __init__(self, shape, targets, bank: FilterBank, layer_weights=None, content=None,
                 alpha: float = ALPHA, beta: float = BETA, padding: str = "circular",
                 precision: str = "float32", executor=None):
        _check_padding(padding, auto=False)
        _check_precision(precision)
        H, W = int(shape[0]), int(shape[1])
        self.shape = (H, W)
        self.bank = bank
        self.executor = executor
        self.plan = engine.plan(bank, H, W, precision)
        self.views = self.plan.layer_views(padding)
        n_layers = len(self.views)
        if len(targets) != n_layers:
            raise InputError(f"{len(targets)} style targets for {n_layers} layers of the filter bank")
        self.targets = []
        for (sl, _), t in zip(self.views, targets):
            n_C = sl.stop - sl.start
            t = np.asarray(t, dtype=np.float64)
            if t.shape != (n_C, n_C):
                raise InputError(f"a style target of shape {t.shape} for a layer of {n_C} filters")
            self.targets.append(t)
        self.lam = _layer_weights(layer_weights, n_layers)
        self.alpha, self.beta = float(alpha), float(beta)
        self.content = None
        if content is not None:
            c = _check_image(content, "content")
            if c.shape[:2] != (H, W):
                raise InputError(f"the content image is {c.shape[0]}x{c.shape[1]} px, the output "
                                 f"{H}x{W}: resize it first")
            self.plan.forward(c, executor)
            self.content = [layer_matrix(self.plan.F, sl, crop).copy() for sl, crop in self.views]

    def __call__(self, x, grad: bool = True):
        """(J, dJ/dx of shape (H, W, 3) float64, or None when ``grad`` is False)."""
        plan = self.plan
        if np.shape(x) != (plan.H, plan.W, 3):
            raise InputError(f"expected an image of shape ({plan.H}, {plan.W}, 3), got shape {np.shape(x)}", "x")
        plan.forward(x, self.executor)
        if grad and any(crop is not None for _, crop in self.views):
            plan.dF.fill(0)
        # layers are independent: each thread takes whole layers (Gram, cost, dJ/dF)
        parts = engine.each(self.executor, lambda i: self._layer(i, grad), range(len(self.views)))
        J = float(sum(parts))
        return J, (plan.backward(self.executor) if grad else None)

    def _layer(self, i: int, grad: bool) -> float:
        """Layer i's share of J; with ``grad``, writes its dJ/dF into plan.dF."""
        plan = self.plan
        sl, crop = self.views[i]
        m = layer_matrix(plan.F, sl, crop)  # (n_C, P)
        n_C, P = m.shape
        w = self.lam[i]
        D = (m @ m.T).astype(np.float64) / P - self.targets[i]
        J = self.beta * w * float(np.sum(D * D)) / (4.0 * n_C * n_C)
        if self.content is not None:
            r = m - self.content[i]
            J += self.alpha * w * float(np.sum(r.astype(np.float64) ** 2)) / (4.0 * n_C * P)
        if not grad:
            return J
        # J_l = βλ/(4 n_C²) ‖A − T‖² with A = F Fᵀ / P  →  dJ/dF = βλ/(n_C² P) · (A − T) F
        out = (D * (self.beta * w / (n_C * n_C * P))).astype(plan.rdtype) @ m
        if self.content is not None:
            # α λ/(4 n_C P) ‖F − F_C‖²  →  α λ/(2 n_C P) · (F − F_C)
            r *= plan.rdtype(self.alpha * w / (2.0 * n_C * P))
            out += r
        if crop is None:
            plan.dF[sl] = out.reshape(-1, plan.H, plan.W)
        else:
            r0, r1, c0, c1 = crop
            plan.dF[sl, r0:r1, c0:c1] = out.reshape(-1, r1 - r0, c1 - c0)
        return J


def loss_and_grad(x, targets, bank: FilterBank, layer_weights=None, content=None, alpha: float = ALPHA,
                  beta: float = BETA, padding: str = "circular", precision: str = "float64", executor=None):
    """J(x) = α J_content + β J_style and dJ/dx, written by hand (see the module docstring).

    Parameters
    ----------
    x : array_like of shape (H, W, 3), the image being synthesized
    targets : list of (n_C, n_C) arrays, :func:`style_targets` of the style image(s)
    bank : FilterBank
    layer_weights : λ per layer, default 1/L
    content : None or an image of shape (H, W, 3)
    alpha, beta : weights of the content and style costs
    padding : "circular" or "valid", of x's features
    precision : "float64" (default here, for checks) or "float32" (what synthesis uses)
    executor : threads to split the work over; None: this thread

    Returns
    -------
    (J : float, dJ/dx : ndarray of shape (H, W, 3) float64)

    For many evaluations build an :class:`Objective` once and call it.
    """
    x = _check_image(x, "x")
    return Objective(x.shape[:2], targets, bank, layer_weights, content, alpha, beta, padding, precision,
                     executor)(x)
