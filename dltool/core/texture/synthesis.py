"""Texture synthesis: gradient descent on the pixels of a noise image until its feature Grams
match the style image(s) (Ustyuzhaninov, Brendel, Gatys & Bethge, "Texture synthesis using shallow
convolutional networks with random filters", 2016), by L-BFGS or Adam; and colour matching."""

import contextlib
from typing import NamedTuple

import numpy as np

from dltool.core.lbfgs import lbfgs
from dltool.core.names import SYNTHESIS_INITS as INITS, SYNTHESIS_OPTIMIZERS as OPTIMIZERS
from dltool.core.texture import engine
from dltool.core.texture.bank import FilterBank, random_bank
from dltool.core.texture.objective import (ALPHA, BETA, Objective, _check_image, _check_padding, blend_targets,
                                           style_targets)
from dltool.errors import InputError

DEFAULT_ITERATIONS = 1000


class Synthesis(NamedTuple):
    """The result of :func:`synthesize`: ``image, history = synthesize(...)``.

    image : ndarray of shape (H, W, 3) float64 in [0, 1]
    history : list of float, the cost J before the first step and after each step
    """

    image: np.ndarray
    history: list


def _fit_to(img: np.ndarray, H: int, W: int) -> np.ndarray:
    """``img`` cropped (centre) or tiled (periodically) to H x W."""
    reps = (-(-H // img.shape[0]), -(-W // img.shape[1]), 1)
    big = np.tile(img, reps)
    r0 = (big.shape[0] - H) // 2
    c0 = (big.shape[1] - W) // 2
    return np.ascontiguousarray(big[r0:r0 + H, c0:c0 + W])


def match_colors(img, reference) -> np.ndarray:
    """``img`` with its pixel colours' mean and covariance moved to ``reference``'s (Gatys et al.,
    "Preserving color in neural artistic style transfer", colour histogram matching): the affine map
    x ↦ Σ_r^½ Σ_i^-½ (x − μ_i) + μ_r (symmetric square roots), then clipped to [0, 1]."""
    a = _check_image(img)
    r = _check_image(reference, "reference")
    pa, pr = a.reshape(-1, 3), r.reshape(-1, 3)
    mu_a, mu_r = pa.mean(0), pr.mean(0)
    eps = 1e-6 * np.eye(3)

    def sqrtm(c, inverse=False):
        vals, vecs = np.linalg.eigh(c)
        vals = np.maximum(vals, 1e-12)
        return (vecs * (vals ** (-0.5 if inverse else 0.5))) @ vecs.T

    M = sqrtm(np.cov(pr.T) + eps) @ sqrtm(np.cov(pa.T) + eps, inverse=True)
    out = (pa - mu_a) @ M.T + mu_r
    return np.clip(out, 0.0, 1.0).reshape(a.shape)


def synthesize(style, size=128, bank: FilterBank = None, iterations: int = DEFAULT_ITERATIONS,
               optimizer: str = "lbfgs", lr: float = 0.02, beta1: float = 0.9, beta2: float = 0.999,
               epsilon: float = 1e-8, seed: int = 0, init: str = "noise", content=None,
               alpha: float = ALPHA, beta: float = BETA, style_weights=None, layer_weights=None,
               preserve_colors: bool = False, style_padding: str = "auto", precision: str = "float32",
               progress=None, save_every: int = None, on_save=None, executor=None) -> Synthesis:
    """Synthesize an image whose feature Grams match the style image(s), from noise.

    Minimizes J(x) = β J_style(x) [+ α J_content(x) with ``content``] over the pixels x ∈ [0, 1]
    by L-BFGS (:func:`dltool.core.lbfgs.lbfgs`, projected on [0, 1]) or Adam (the course's update,
    m̂ / (√v̂ + ε) with bias correction, then clipped to [0, 1]). The output's features use circular
    padding: the result tiles seamlessly.

    Parameters
    ----------
    style : an image (H_s, W_s, 3) in [0, 1], or a list of them (blended: their per-position Grams
        are averaged with ``style_weights``)
    size : int or (H, W), the output size
    bank : FilterBank, default ``random_bank()`` (seed 0)
    iterations : optimizer steps (L-BFGS iterations: about one cost-and-gradient evaluation each)
    optimizer : "lbfgs" or "adam"; lr, beta1, beta2, epsilon are Adam's
    seed : seed of the noise image (``default_rng([seed, 1])``, independent of the filters' stream)
    init : "noise", "style" (the first style image, cropped or tiled) or "content"
    content : None or an image of the output size: adds α J_content
    alpha, beta : weights of J_content and J_style
    layer_weights : λ per layer (default 1/L each)
    preserve_colors : move the style images' colour mean and covariance to the content image's
        (the first style image's when there is no content) before taking their Grams
    style_padding : padding of the style images' features: "auto" (default: circular for an image
        that :func:`wraps_around`, valid otherwise), "circular" or "valid". A tileable style image
        matched with circular padding gives much cleaner textures: the statistics of a periodic
        output can then equal the targets exactly
    precision : "float32" (default) or "float64"
    progress : callable(step, total, cost), after each step
    save_every, on_save : call ``on_save(step, image)`` every ``save_every`` steps
    executor : the threads to run on (see :mod:`.engine`); by default a pool made for this call
        (one thread per core, BLAS on one thread) and closed when it returns

    Returns
    -------
    Synthesis(image (H, W, 3) in [0, 1], history of J: before the first step, then after each;
    L-BFGS may stop before ``iterations`` when J no longer decreases, and the history is then shorter)

    The same arguments give the same image on the same machine; the order of a few float sums
    depends on the number of threads, so another core count may differ in the last bits and, after
    many steps, visibly.
    """
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    if not styles:
        raise InputError("no style image")
    styles = [_check_image(s, f"style image {i + 1}") for i, s in enumerate(styles)]
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        H = W = int(size)
    else:
        try:
            H, W = (int(v) for v in size)
        except (TypeError, ValueError):
            raise InputError(f"size must be an int or (H, W), got {size!r}") from None
    if H < 1 or W < 1:
        raise InputError(f"size must be positive, got {size!r}")
    if optimizer not in OPTIMIZERS:
        raise InputError(f"unknown optimizer {optimizer!r}: expected one of {', '.join(OPTIMIZERS)}")
    if init not in INITS:
        raise InputError(f"unknown init {init!r}: expected one of {', '.join(INITS)}")
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 0:
        raise InputError(f"iterations must be an integer >= 0, got {iterations!r}")
    if save_every is not None and (save_every < 1 or on_save is None):
        raise InputError("save_every needs a positive step count and an on_save callable")
    if content is not None:
        content = _check_image(content, "content")
        if content.shape[:2] != (H, W):
            raise InputError(f"the content image is {content.shape[0]}x{content.shape[1]} px, the output "
                             f"{H}x{W}: resize it first")
    elif init == "content":
        raise InputError("init 'content' needs a content image")
    bank = random_bank() if bank is None else bank
    # the threads are this call's unless the caller lends its own; closed when it returns
    with contextlib.nullcontext(executor) if executor is not None else engine.workers() as executor:
        if preserve_colors:
            reference = content if content is not None else styles[0]
            styles = [match_colors(s, reference) for s in styles]
        _check_padding(style_padding)
        targets = blend_targets([style_targets(s, bank, style_padding, precision, executor) for s in styles],
                                style_weights)
        objective = Objective((H, W), targets, bank, layer_weights, content, alpha, beta, "circular", precision,
                              executor)

        if init == "noise":
            x0 = np.random.default_rng([seed, 1]).uniform(0.0, 1.0, (H, W, 3))
        elif init == "style":
            x0 = _fit_to(styles[0], H, W)
        else:
            x0 = content.copy()
        x0 = np.clip(x0, 0.0, 1.0)

        def report(step, x, cost):
            if progress is not None:
                progress(step, iterations, cost)
            if save_every and step % save_every == 0:
                on_save(step, np.clip(x.reshape(H, W, 3), 0.0, 1.0))

        if optimizer == "lbfgs":
            def fun(v):
                J, g = objective(v.reshape(H, W, 3))
                return J, g.reshape(-1)

            result = lbfgs(fun, x0.reshape(-1), bounds=(0.0, 1.0), max_iter=iterations,
                           callback=lambda it, v, f: report(it, v, f))
            image, history = result.x.reshape(H, W, 3), result.history
        else:
            x = x0.copy()
            m = np.zeros_like(x)
            v = np.zeros_like(x)
            J, g = objective(x)
            history = [J]
            for t in range(1, iterations + 1):
                m = beta1 * m + (1 - beta1) * g
                v = beta2 * v + (1 - beta2) * g * g
                m_hat = m / (1 - beta1 ** t)
                v_hat = v / (1 - beta2 ** t)
                x = np.clip(x - lr * m_hat / (np.sqrt(v_hat) + epsilon), 0.0, 1.0)
                J, g = objective(x)
                history.append(J)
                report(t, x, J)
            image = x
        return Synthesis(np.clip(image, 0.0, 1.0), [float(h) for h in history])
