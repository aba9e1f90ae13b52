"""Gram matrices and the style and content costs of neural style transfer (C4W4 4.6–4.10).

Activations of one layer are arrays of shape (n_H, n_W, n_C), the course's layout. Unrolled to
F of shape (n_H·n_W, n_C) (one row per position), the style matrix is

    G_kk' = Σ_i Σ_j a_ijk a_ijk'        i.e.  G = Fᵀ F,  shape (n_C, n_C),

which forgets where things are and keeps which channels fire together. The style cost of a layer
compares the Grams of the style image S and the generated image G:

    course    J^[l] = 1/(2 n_H n_W n_C)² · Σ_kk' (G(S) − G(G))²_kk'          (lecture and assignment)
    pytorch   G = Fᵀ F / (n_C n_H n_W),  J^[l] = mean over the n_C² entries of (G(S) − G(G))²
    pystiche  G = Fᵀ F / (n_H n_W),      J^[l] = mean over the n_C² entries of (G(S) − G(G))²
    notes     J^[l] = Σ_kk' (G(S) − G(G))²_kk' = ‖G(S) − G(G)‖²_F            (the course notes)

In terms of the unnormalized Gram the four are c · ‖G(S) − G(G)‖²_F with c = 1/(4 P² n_C²),
1/(P² n_C⁴), 1/(P² n_C²) and 1 (P = n_H n_W): pystiche = 4 × course, pytorch = 4/n_C² × course,
notes = (2 P n_C)² × course.

A Gram passed to a function here is always in the convention of the ``norm`` passed beside it,
as :func:`gram` returns it for that ``norm``; the course's Gram is the plain sum.

The style cost over layers is J_style = Σ_l λ^[l] J^[l]; the content cost is
1/(4 n_H n_W n_C) ‖a(C) − a(G)‖² (the assignment) or ½ ‖a(C) − a(G)‖² (the lecture); and
J(G) = α J_content + β J_style. (Synthesis differentiates its own costs: dltool.core.texture.)

numpy only: the work is a few matrix products, which belong to BLAS.
"""

import math

import numpy as np

from dltool.core.names import CONTENT_NORMS, STYLE_NORMS  # noqa: F401 (re-exported)
from dltool.errors import InputError

# The assignment's defaults for J(G) = α J_content + β J_style.
ALPHA = 10.0
BETA = 40.0


def _style_scales(norm: str, shape) -> tuple:
    """(gram_scale, loss_scale): G = gram_scale · Fᵀ F and J = loss_scale · Σ_kk' (G_S − G_G)²."""
    n_H, n_W, n_C = shape
    positions = n_H * n_W
    if norm == "course":
        return 1.0, 1.0 / (2.0 * positions * n_C) ** 2
    if norm == "pytorch":
        return 1.0 / (n_C * positions), 1.0 / n_C ** 2
    if norm == "pystiche":
        return 1.0 / positions, 1.0 / n_C ** 2
    if norm == "notes":
        return 1.0, 1.0
    raise InputError(f"unknown style normalization {norm!r}: expected one of {', '.join(STYLE_NORMS)}")


def _content_scale(norm: str, shape) -> float:
    """k in J_content = k ‖a_C − a_G‖²."""
    size = math.prod(shape)
    if norm == "assignment":
        return 1.0 / (4.0 * size)
    if norm == "lecture":
        return 0.5
    if norm == "mean":
        return 1.0 / size
    raise InputError(f"unknown content normalization {norm!r}: expected one of {', '.join(CONTENT_NORMS)}")


def style_factor(norm: str, shape) -> float:
    """c in J^[l] = c · ‖G(S) − G(G)‖²_F for the unnormalized Grams G = Fᵀ F.

    course 1/(4 P² n_C²), pytorch 1/(P² n_C⁴), pystiche 1/(P² n_C²), notes 1, with P = n_H n_W.
    """
    gram_scale, loss_scale = _style_scales(norm, _check_shape(shape))
    return loss_scale * gram_scale ** 2


def _check_shape(shape) -> tuple:
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise InputError(f"expected a shape (n_H, n_W, n_C), got {shape!r}") from None
    if len(dims) != 3 or min(dims) < 1 or dims != tuple(shape):
        raise InputError(f"expected a shape (n_H, n_W, n_C) of three positive integers, got {shape!r}")
    return dims


def check_activations(a, name: str = "activations") -> np.ndarray:
    """Validate one layer's activations: shape (n_H, n_W, n_C), none empty, all finite; float64.

    Raises InputError led by ``name``.
    """
    try:
        arr = np.asarray(a)
    except ValueError as exc:  # ragged nested lists
        raise InputError(f"not a rectangular array: {exc}", name) from None
    if arr.dtype.kind not in "biuf":
        raise InputError(f"expected numbers, got an array of dtype {arr.dtype}", name)
    if arr.ndim != 3:
        raise InputError(f"expected activations of shape (n_H, n_W, n_C), got shape {arr.shape}"
                         + (" - add the missing axes, e.g. (n_H, n_W, 1) for one channel" if arr.ndim < 3 else
                            " - pass one image's activations (drop the batch axis)" if arr.ndim == 4 else ""),
                         name)
    if arr.size == 0:
        raise InputError(f"empty activations of shape {arr.shape}: n_H, n_W and n_C must be at least 1", name)
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        i, j, k = np.argwhere(~np.isfinite(arr))[0]
        raise InputError(f"non-finite value {arr[i, j, k]} at (i, j, k) = ({i}, {j}, {k})", name)
    return arr


def _check_gram(g, n_C: int, name: str) -> np.ndarray:
    try:
        arr = np.asarray(g)
    except ValueError:
        arr = np.empty(0)
    if arr.dtype.kind not in "biuf" or arr.shape != (n_C, n_C):
        raise InputError(f"expected a Gram matrix of numbers of shape (n_C, n_C) = ({n_C}, {n_C}), "
                         f"got shape {arr.shape}", name)
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise InputError("the Gram matrix has non-finite entries", name)
    return arr


def _same_shape(a_S: np.ndarray, a_G: np.ndarray, what: str):
    if a_S.shape != a_G.shape:
        raise InputError(f"{what}: the two activations must have the same shape (n_H, n_W, n_C), "
                         f"got {a_S.shape} and {a_G.shape}")


def gram(a, norm: str = "course") -> np.ndarray:
    """The style (Gram) matrix of one layer's activations.

    Parameters
    ----------
    a : array_like of shape (n_H, n_W, n_C)
    norm : a key of STYLE_NORMS; scales the Gram as that convention defines it

    Returns
    -------
    G : ndarray of shape (n_C, n_C), symmetric positive semi-definite:
        G_kk' = s · Σ_i Σ_j a_ijk a_ijk' with s = 1 (course), 1/(n_C n_H n_W) (pytorch),
        1/(n_H n_W) (pystiche).
    """
    a = check_activations(a)
    gram_scale, _ = _style_scales(norm, a.shape)
    f = a.reshape(-1, a.shape[2])  # (n_H n_W, n_C): one row per position
    return gram_scale * (f.T @ f)


def style_layer_cost(G_S, G_G, shape, norm: str = "course") -> float:
    """The style cost of one layer from the two Gram matrices.

    Parameters
    ----------
    G_S, G_G : array_like of shape (n_C, n_C), the style and generated images' Grams, both as
        :func:`gram` returns them for the same ``norm``
    shape : (n_H, n_W, n_C) of the layer's activations
    norm : a key of STYLE_NORMS

    Returns
    -------
    J^[l] = 1/(2 n_H n_W n_C)² ‖G_S − G_G‖²_F (course), or 1/n_C² ‖G_S − G_G‖²_F, the mean over the
    entries, with the normalized Grams (pytorch, pystiche).
    """
    shape = _check_shape(shape)
    _, loss_scale = _style_scales(norm, shape)
    G_S = _check_gram(G_S, shape[2], "G_S")
    G_G = _check_gram(G_G, shape[2], "G_G")
    d = G_S - G_G
    return float(loss_scale * np.sum(d * d))


def _check_weights(weights, n_layers: int) -> np.ndarray:
    if weights is None:
        return np.full(n_layers, 1.0 / n_layers)  # the assignment's 0.2 for each of 5 layers
    try:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(f"layer weights must be numbers, got {weights!r}") from None
    if len(w) != n_layers:
        raise InputError(f"got {len(w)} layer weights for {n_layers} layers: give one weight per layer")
    if not (np.isfinite(w).all() and (w >= 0).all()):
        raise InputError(f"layer weights must be finite and non-negative, got {w.tolist()}")
    return w


def style_cost(layers_S, layers_G, weights=None, norm: str = "course") -> tuple:
    """The style cost over several layers, J_style = Σ_l λ^[l] J^[l].

    Parameters
    ----------
    layers_S, layers_G : sequences of L arrays of shape (n_H, n_W, n_C), the style and generated
        images' activations; a layer's two arrays have the same shape, layers may differ
    weights : L non-negative numbers λ^[l], or None for 1/L each (the assignment's 0.2 for 5 layers)
    norm : a key of STYLE_NORMS

    Returns
    -------
    (total, per_layer) : J_style and the list of the L unweighted costs J^[l]
    """
    layers_S, layers_G = list(layers_S), list(layers_G)
    if not layers_S:
        raise InputError("no layers: give at least one layer's activations")
    if len(layers_S) != len(layers_G):
        raise InputError(f"{len(layers_S)} style layers but {len(layers_G)} generated layers")
    w = _check_weights(weights, len(layers_S))
    per_layer = []
    for l, (a_S, a_G) in enumerate(zip(layers_S, layers_G)):
        a_S = check_activations(a_S, f"style layer {l}")
        a_G = check_activations(a_G, f"generated layer {l}")
        _same_shape(a_S, a_G, f"layer {l}")
        per_layer.append(style_layer_cost(gram(a_S, norm), gram(a_G, norm), a_G.shape, norm))
    return float(np.dot(w, per_layer)), per_layer


def content_cost(a_C, a_G, norm: str = "assignment") -> float:
    """The content cost of one layer.

    Parameters
    ----------
    a_C, a_G : array_like of shape (n_H, n_W, n_C), the content and generated images' activations
    norm : a key of CONTENT_NORMS

    Returns
    -------
    J_content = 1/(4 n_H n_W n_C) ‖a_C − a_G‖² (assignment), ½ ‖a_C − a_G‖² (lecture) or
    1/(n_H n_W n_C) ‖a_C − a_G‖² (mean).
    """
    a_C = check_activations(a_C, "a_C")
    a_G = check_activations(a_G, "a_G")
    _same_shape(a_C, a_G, "content cost")
    k = _content_scale(norm, a_G.shape)
    d = a_C - a_G
    return float(k * np.sum(d * d))


def total_cost(j_content: float, j_style: float, alpha: float = ALPHA, beta: float = BETA) -> float:
    """J(G) = α J_content + β J_style (the assignment's α = 10, β = 40 by default)."""
    values = (j_content, j_style, alpha, beta)
    if not all(math.isfinite(float(v)) for v in values):
        raise InputError(f"J_content, J_style, alpha and beta must be finite, got {values}")
    return float(alpha * j_content + beta * j_style)
