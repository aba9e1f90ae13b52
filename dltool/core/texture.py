"""Texture synthesis with Gram matrices of shallow random features (dltool gram-style --synthesize).

The model (Ustyuzhaninov, Brendel, Gatys & Bethge, "Texture synthesis using shallow convolutional
networks with random filters", 2016): one convolutional layer of random multi-scale filters and a
ReLU replaces the pretrained VGG of Gatys et al.; the style of an image is the Gram matrices of its
feature maps, and a texture is synthesized by gradient descent on the pixels of a noise image until
its Grams match.

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
A tileable style image matched with circular padding gives much cleaner textures: the statistics
of a periodic output can then equal the targets exactly (with valid targets from a 128-px image
the cost stalls ~100x higher and the result shows streaks and colour noise).

Layers. The filters of one size form one layer ``l`` (one Gram matrix each; sizes 3 ... 55 give 8
layers). With F^[l] of shape (n_H·n_W, n_C) (one row per position) the Gram is G = Fᵀ F and the
course's style cost of the layer is

    J^[l](S, X) = 1/(2 n_H n_W n_C)² ‖G(S) − G(X)‖²_F = 1/(4 n_C²) ‖G(S)/P − G(X)/P‖²_F,  P = n_H n_W.

Targets are kept as the per-position Grams G/P (the second form): they do not depend on the image
size, so a style image of any size, or a blend of several, can be matched (with equal sizes the
two forms are the same number). J_style = Σ_l λ^[l] J^[l] with λ^[l] = 1/L by default, the content
cost J_content = Σ_l λ^[l] 1/(4 n_H n_W n_C) ‖F^[l](C) − F^[l](X)‖² on the same features, and the
total J = α J_content + β J_style (α = 10, β = 40, the course's).

Gradient (:func:`loss_and_grad`), written by hand: dJ/dG^[l] → dJ/dF = 2 F dJ/dG (BLAS) → times
the ReLU mask [z > 0] → through the correlation (its adjoint, a convolution, in the Fourier
domain) → dJ/dx. It is checked against finite differences in the tests.

Kernels. All filters are applied at once in the Fourier domain: the filters' spectra are computed
once per image shape (rfft2 of each filter placed on an H × W grid, cached on the bank), the image's
three channels are transformed once per step, and the responses are Σ_c X_c · K_ck followed by one
batched irfft2; the backward pass is a batched rfft2 of the masked gradients, Σ_k D_k · conj(K_ck),
and three irfft2. The cost does not depend on the filter size (a 55 x 55 filter costs what a 3 x 3
one does). The work is split over the filters between threads (numpy's FFTs and elementwise
products release the GIL), in blocks of 16 filters so that a block's spectra stay in cache
between the product and the FFT; the layers' Gram products and dJ/dF go to BLAS, one layer per
task. float32 by default (``precision="float64"`` for checks): costs agree with float64 to ~1e-7
relative and gradients to ~1e-6 of their largest entry, ample for the optimizer; numpy 2 runs
single-precision FFTs natively. numba is not used: two thirds of a step are the FFTs (measured at
128 px, 256 filters, one thread: 34 ms of FFTs, 14 ms of spectral products, 6 ms of ReLU and mask
passes), and the rest are streaming elementwise passes that a fused kernel would shorten by a few
milliseconds at most.
"""

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from dltool.core.lbfgs import lbfgs
from dltool.errors import InputError

#: --features name -> description
FEATURES = {
    "random": "a seeded bank of random multi-scale filters + ReLU (Ustyuzhaninov et al. 2016)",
    "bank": "fixed Gaussian-derivative filters (1st and 2nd order, 4 / 3 orientations, sigma 1, 2, 4) "
            "and Gaussian blurs, per colour channel, + ReLU",
    "rgb": "the raw colour channels (one layer of 3 maps: the Gram of the pixel colours)",
}
#: padding name -> description
PADDINGS = {
    "circular": "periodic: indices wrap around (the FFT's; seamless textures)",
    "valid": "only the positions whose window does not wrap (f - 1 fewer rows and columns)",
    "auto": "circular for an image that tiles seamlessly (see wraps_around), else valid",
}
#: optimizer name -> description
OPTIMIZERS = {
    "lbfgs": "L-BFGS (two-loop recursion, m = 10, Armijo backtracking, pixels projected on [0, 1])",
    "adam": "Adam on the pixels (lr, beta1, beta2, epsilon), clipped to [0, 1] after each step",
}
#: --init name -> description
INITS = {
    "noise": "seeded uniform noise in [0, 1]",
    "style": "the (first) style image, resized by cropping / tiling to the output size",
    "content": "the content image",
}
PRECISIONS = {"float32": (np.float32, np.complex64), "float64": (np.float64, np.complex128)}

# Defaults of the random bank (see random_bank): 8 sizes x 32 = 256 filters.
DEFAULT_SIZES = (3, 5, 7, 11, 15, 23, 37, 55)
DEFAULT_PER_SIZE = 32
DEFAULT_ITERATIONS = 1000
ALPHA = 10.0  # the course's α and β
BETA = 40.0
# Filters processed together by one thread: a block's spectra (16 x 128 x 65 complex64 = 1 MB at
# 128 px) stay in cache between the spectral product and the FFT.
BLOCK = 16


def _threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


_POOL = None
_LOCK = threading.Lock()
_BLAS_LOCAL_THREADS = False  # not looked up yet; then None or the C function


def _blas_local_threads():
    """OpenBLAS's ``openblas_set_num_threads_local`` (OpenBLAS >= 0.3.27) from the library numpy
    loaded, or None (another BLAS, another platform): found by its path in /proc/self/maps."""
    global _BLAS_LOCAL_THREADS
    if _BLAS_LOCAL_THREADS is False:
        found = None
        try:
            import ctypes

            with open("/proc/self/maps") as maps:
                paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
            for path in sorted(paths):
                if ".so" in path:
                    fn = getattr(ctypes.CDLL(path), "openblas_set_num_threads_local", None)
                    if fn is not None:
                        fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
                        found = fn
                        break
        except (OSError, AttributeError, ValueError):  # no /proc, no such library: no control
            found = None
        _BLAS_LOCAL_THREADS = found
    return _BLAS_LOCAL_THREADS


def _worker_init():
    """Each worker thread runs its matrix products on one BLAS thread.

    OpenBLAS's own threads busy-wait for ~0.1 s after every call; on two cores they then fight
    the FFT threads for the CPU (measured: a 128-px step took 200 ms instead of 52). The workers
    already use every core, so their products run single-threaded (a no-op with other BLAS).
    """
    fn = _blas_local_threads()
    if fn is not None:
        fn(1)


def _pool():
    global _POOL
    with _LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=_threads(), thread_name_prefix="dltool-texture",
                                       initializer=_worker_init)
        return _POOL


def _parallel(fn, n: int):
    """fn(k0, k1) over ``n`` filters split into one contiguous range per thread; the results."""
    workers = min(_threads(), max(1, n // BLOCK))
    cuts = [round(n * i / workers) for i in range(workers + 1)]
    return list(_pool().map(lambda i: fn(cuts[i], cuts[i + 1]), range(workers)))


def _parallel_items(fn, items: list):
    """fn(item) for each item, one task each on the worker threads; the results in item order."""
    return list(_pool().map(fn, items))


# ---------------------------------------------------------------- filter banks


@dataclass(eq=False)
class FilterBank:
    """Filters grouped by size; each group is one layer (one Gram matrix).

    Attributes
    ----------
    groups : list of (f, W) with W an ndarray of shape (f, f, 3, n) (the course's conv layout:
        W[i, j, c, k] is filter k's weight at row i, column j, colour channel c)
    center : float, subtracted from the pixels before the filters (0.5: mid-grey)
    kind : str, a key of FEATURES (or "custom")
    names : list of str, one per group (layer names: "f3", "sigma2", "rgb", ...)
    """

    groups: list
    center: float = 0.5
    kind: str = "custom"
    names: list = None
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        groups = []
        for item in self.groups:
            try:
                f, W = item
            except (TypeError, ValueError):
                raise InputError(f"filter bank: expected (f, W) pairs, got {item!r}") from None
            W = np.asarray(W, dtype=np.float64)
            if W.ndim != 4 or W.shape[0] != W.shape[1] or W.shape[0] != f or W.shape[2] != 3 or W.shape[3] < 1:
                raise InputError(f"filter bank: a group of size f = {f} needs W of shape (f, f, 3, n) with "
                                 f"n >= 1, got {W.shape}")
            if not np.isfinite(W).all():
                raise InputError(f"filter bank: group f = {f} has non-finite weights")
            groups.append((int(f), np.ascontiguousarray(W)))
        if not groups:
            raise InputError("filter bank: no filters")
        self.groups = groups
        if self.names is None:
            self.names = [f"f{f}" for f, _ in groups]
        if len(self.names) != len(groups):
            raise InputError("filter bank: one name per group")

    @property
    def n_channels(self) -> int:
        """Total number of filters (feature maps), Σ n over the groups."""
        return sum(W.shape[3] for _, W in self.groups)

    @property
    def sizes(self) -> list:
        return [f for f, _ in self.groups]

    @property
    def max_size(self) -> int:
        return max(self.sizes)

    def slices(self) -> list:
        """The channel range of each group in the stacked feature maps."""
        out, k = [], 0
        for _, W in self.groups:
            out.append(slice(k, k + W.shape[3]))
            k += W.shape[3]
        return out

    def describe(self) -> str:
        return ", ".join(f"{name}: {W.shape[3]} x {f}x{f}" for name, (f, W) in zip(self.names, self.groups))

    def _plan(self, H: int, W: int, precision: str) -> "_Plan":
        key = (H, W, precision)
        plan = self._cache.get(key)
        if plan is None:
            if len(self._cache) >= 4:  # a few shapes at most (style, content, output sizes)
                self._cache.pop(next(iter(self._cache)))
            plan = self._cache[key] = _Plan(self, H, W, precision)
        return plan


def _check_sizes(sizes, per_size):
    try:
        sizes = tuple(int(s) for s in sizes)
    except (TypeError, ValueError):
        raise InputError(f"filter sizes must be integers, got {sizes!r}") from None
    if not sizes or min(sizes) < 1:
        raise InputError(f"filter sizes must be integers >= 1, got {sizes!r}")
    if len(set(sizes)) != len(sizes):
        raise InputError(f"filter sizes must be distinct, got {sizes!r}")
    if isinstance(per_size, bool) or not isinstance(per_size, (int, np.integer)) or per_size < 1:
        raise InputError(f"filters per size must be an integer >= 1, got {per_size!r}")
    return sizes, int(per_size)


def random_bank(sizes=DEFAULT_SIZES, per_size: int = DEFAULT_PER_SIZE, seed: int = 0,
                gain: float = 4.0) -> FilterBank:
    """Random multi-scale filters (Ustyuzhaninov et al.): ``per_size`` filters of each size.

    Weights are drawn i.i.d. uniform in [−1, 1] (the paper's choice: uniform random weights) from
    ``numpy.random.default_rng(seed)``, size by size in the order given, then each filter is scaled
    to the L2 norm ``gain``: a filter's response to an image whose centred pixels have root mean
    square r is about gain · r (a random filter is a random projection of the patch), so with
    pixels in [0, 1] (r ≈ 0.25) the activations are O(1) at every size. The weights are zero-mean
    in distribution but each filter's sum is left as drawn: the features then see the mean colour,
    which exactly zero-sum filters would not (the synthesis could drift in brightness).

    Parameters
    ----------
    sizes : filter sizes f (f x f), one layer each
    per_size : filters of each size (n_C of each layer)
    seed : seed of the weights
    gain : L2 norm of each filter

    Returns
    -------
    FilterBank with ``len(sizes) * per_size`` filters, centre 0.5
    """
    sizes, per_size = _check_sizes(sizes, per_size)
    rng = np.random.default_rng(seed)
    groups = []
    for f in sizes:
        W = rng.uniform(-1.0, 1.0, (f, f, 3, per_size))
        W *= gain / np.sqrt(np.sum(W * W, axis=(0, 1, 2), keepdims=True))
        groups.append((f, W))
    return FilterBank(groups, center=0.5, kind="random")


def _gaussian_derivatives(sigma: float):
    """Blur, 1st derivatives at 0/45/90/135° and 2nd derivatives at 0/60/120° of a Gaussian."""
    r = int(math.ceil(3 * sigma))
    t = np.arange(-r, r + 1, dtype=np.float64)
    y, x = np.meshgrid(t, t, indexing="ij")
    g = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    kernels = [g]
    for theta in np.deg2rad([0, 45, 90, 135]):
        u = x * np.cos(theta) + y * np.sin(theta)
        kernels.append(-u / sigma ** 2 * g)
    for theta in np.deg2rad([0, 60, 120]):
        u = x * np.cos(theta) + y * np.sin(theta)
        kernels.append((u * u / sigma ** 4 - 1 / sigma ** 2) * g)
    out = []
    for k in kernels[1:]:
        k = k - k.mean()  # derivatives see no constant
        out.append(k / np.sqrt(np.sum(k * k)))
    return 2 * r + 1, [kernels[0] / kernels[0].sum()] + out


def fixed_bank(sigmas=(1.0, 2.0, 4.0), gain: float = 4.0) -> FilterBank:
    """A deterministic filter bank: Gaussian derivatives and blurs at several scales, per channel.

    For each σ (one layer, filters of size 2⌈3σ⌉ + 1): the Gaussian blur, the first derivative at
    4 orientations (0°, 45°, 90°, 135°) and the second derivative at 3 orientations (0°, 60°, 120°),
    each applied to each colour channel separately, with both signs (the ReLU keeps one half of a
    response, its negative the other): 2 x 8 x 3 = 48 maps per σ, 144 for σ ∈ {1, 2, 4}. The
    derivatives are scaled to L2 norm ``gain``, the blur to unit sum (a local mean of x − 0.5).
    """
    layers, names = [], []
    for sigma in sigmas:
        f, kernels = _gaussian_derivatives(float(sigma))
        W = np.zeros((f, f, 3, 2 * 3 * len(kernels)))
        k = 0
        for j, ker in enumerate(kernels):
            scale = 1.0 if j == 0 else gain
            for c in range(3):
                for sign in (1.0, -1.0):
                    W[:, :, c, k] = sign * scale * ker
                    k += 1
        layers.append((f, W))
        names.append(f"sigma{sigma:g}")
    return FilterBank(layers, center=0.5, kind="bank", names=names)


def rgb_bank() -> FilterBank:
    """The raw channels: one 1 x 1 layer with the identity filters and no centring (F = x ≥ 0, so
    the ReLU changes nothing): the Gram is the matrix of second moments of the pixel colours."""
    return FilterBank([(1, np.eye(3).reshape(1, 1, 3, 3))], center=0.0, kind="rgb", names=["rgb"])


def make_bank(features: str = "random", sizes=None, per_size=None, seed: int = 0) -> FilterBank:
    """The bank a FEATURES name stands for (``sizes`` and ``per_size`` apply to "random" only)."""
    if features == "random":
        return random_bank(DEFAULT_SIZES if sizes is None else sizes,
                           DEFAULT_PER_SIZE if per_size is None else per_size, seed)
    if sizes is not None or per_size is not None:
        raise InputError(f"filter sizes and counts apply to --features random, not {features}")
    if features == "bank":
        return fixed_bank()
    if features == "rgb":
        return rgb_bank()
    raise InputError(f"unknown features {features!r}: expected one of {', '.join(FEATURES)}")


# ---------------------------------------------------------------- the Fourier-domain engine


class _Plan:
    """A bank's spectra on an H x W grid and the buffers of one loss-and-gradient evaluation.

    ``K[c, k]`` holds H·W · conj(rfft2(w_ck placed on the grid, centred at (0, 0))), so that with
    X = rfft2(x, norm="forward") the correlation is z_k = irfft2(Σ_c X_c K[c, k]), and its adjoint
    is dx_c = irfft2(Σ_k D_k conj(K[c, k])) with D = rfft2(dz, norm="forward"). (The forward
    transforms use norm="forward" because numpy 2 then runs them in single precision: with the
    default norm a float32 forward FFT goes through the float64 loop, 2x slower.)
    """

    def __init__(self, bank: FilterBank, H: int, W: int, precision: str):
        self.H, self.W = H, W
        self.Wf = W // 2 + 1
        self.rdtype, self.cdtype = PRECISIONS[precision]
        self.n = bank.n_channels
        self.center = bank.center
        self.slices = bank.slices()
        self.sizes = bank.sizes
        # the valid crop of each layer: rows/cols [c, H − f + c] for a filter of size f centred at c
        self.crops = [(f // 2, H - f + f // 2 + 1, f // 2, W - f + f // 2 + 1) for f in bank.sizes]
        K = np.empty((3, self.n, H, self.Wf), dtype=self.cdtype)
        for (f, Wt), sl in zip(bank.groups, self.slices):
            grid = np.zeros((3, Wt.shape[3], H, W))
            rows = (np.arange(f) - f // 2) % H
            cols = (np.arange(f) - f // 2) % W
            w = Wt.transpose(2, 3, 0, 1)  # (3, n, f, f)
            if f <= H and f <= W:
                grid[:, :, rows[:, None], cols[None, :]] = w
            else:  # a filter larger than the image wraps onto itself (periodic padding)
                for i in range(f):
                    for j in range(f):
                        grid[:, :, rows[i], cols[j]] += w[:, :, i, j]
            K[:, sl] = (H * W) * np.conj(np.fft.rfft2(grid))
        self.K = K
        self.F = np.empty((self.n, H, W), dtype=self.rdtype)
        self.dF = np.empty((self.n, H, W), dtype=self.rdtype)

    def layer_views(self, padding: str):
        """Per layer: (channel slice, crop (r0, r1, c0, c1) or None for the full grid)."""
        if padding == "circular":
            return [(sl, None) for sl in self.slices]
        out = []
        for sl, crop, f in zip(self.slices, self.crops, self.sizes):
            if crop[1] <= crop[0] or crop[3] <= crop[2]:
                raise InputError(f"padding 'valid': an image of {self.H}x{self.W} px is smaller than the "
                                 f"{f}x{f} filters - use padding 'circular' or a larger image")
            out.append((sl, crop))
        return out

    def forward(self, x: np.ndarray) -> np.ndarray:
        """F = ReLU(z) for all filters, (n, H, W), in self.F (overwritten by the next call)."""
        xc = np.ascontiguousarray(x.transpose(2, 0, 1), dtype=self.rdtype)
        xc -= self.rdtype(self.center)
        X = np.fft.rfft2(xc, norm="forward").astype(self.cdtype, copy=False)
        K, F, H, W = self.K, self.F, self.H, self.W

        def work(k0, k1):
            Z = np.empty((BLOCK, H, self.Wf), dtype=self.cdtype)
            T = np.empty_like(Z)
            for b0 in range(k0, k1, BLOCK):
                b1 = min(b0 + BLOCK, k1)
                z, t = Z[:b1 - b0], T[:b1 - b0]
                np.multiply(K[0, b0:b1], X[0], out=z)
                for c in (1, 2):
                    np.multiply(K[c, b0:b1], X[c], out=t)
                    z += t
                out = F[b0:b1]
                # irfft2 in two 1-D steps: np.fft.irfft2 ignores ``out``
                np.fft.ifft(z, axis=1, out=z)
                np.fft.irfft(z, n=W, axis=2, out=out)
                np.maximum(out, 0, out=out)

        _parallel(work, self.n)
        return F

    def backward(self) -> np.ndarray:
        """dJ/dx (H, W, 3) float64 from dJ/dF in self.dF (masked here by [F > 0])."""
        K, F, dF, H, W = self.K, self.F, self.dF, self.H, self.W

        def work(k0, k1):
            acc = np.zeros((3, H, self.Wf), dtype=self.cdtype)
            S = np.empty((BLOCK, H, self.Wf), dtype=self.cdtype)
            T = np.empty_like(S)
            for b0 in range(k0, k1, BLOCK):
                b1 = min(b0 + BLOCK, k1)
                d = dF[b0:b1]
                d *= F[b0:b1] > 0  # the ReLU's derivative
                D, t = S[:b1 - b0], T[:b1 - b0]
                np.fft.rfft(d, axis=2, norm="forward", out=D)
                np.fft.fft(D, axis=1, norm="forward", out=D)
                np.conj(D, out=D)
                for c in range(3):  # Σ_k conj(D_k) K_ck = conj(Σ_k D_k conj(K_ck))
                    np.multiply(D, K[c, b0:b1], out=t)
                    acc[c] += t.sum(axis=0)
            return acc

        parts = _parallel(work, self.n)
        total = parts[0]
        for p in parts[1:]:
            total += p
        np.conj(total, out=total)
        dx = np.fft.irfft2(total, s=(H, W))
        return dx.transpose(1, 2, 0).astype(np.float64)


def _layer_matrix(F: np.ndarray, sl: slice, crop) -> np.ndarray:
    """Layer maps as a (n_C, n_H·n_W) matrix (a view on the full grid, a copy when cropped)."""
    if crop is None:
        block = F[sl]
        return block.reshape(block.shape[0], -1)
    r0, r1, c0, c1 = crop
    block = F[sl, r0:r1, c0:c1]
    return np.ascontiguousarray(block).reshape(block.shape[0], -1)


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


def features(img, bank: FilterBank, padding: str = "circular", precision: str = "float64") -> list:
    """The feature maps of an image, one array per layer (filter size).

    Parameters
    ----------
    img : array_like of shape (H, W, 3), an RGB image in [0, 1]
    bank : FilterBank
    padding : "circular" (n_H = H, n_W = W), "valid" (n_H = H − f + 1, n_W = W − f + 1) or "auto"
        (circular if the image :func:`wraps_around`, else valid)
    precision : "float64" or "float32" (the arithmetic; the result is float64 either way)

    Returns
    -------
    list of ndarray of shape (n_H, n_W, n_C), F = ReLU(correlation of x − centre with the filters)
    """
    x = _check_image(img)
    padding = resolve_padding(padding, x)
    _check_precision(precision)
    plan = bank._plan(x.shape[0], x.shape[1], precision)
    views = plan.layer_views(padding)
    F = plan.forward(x)
    out = []
    for sl, crop in views:
        block = F[sl] if crop is None else F[sl, crop[0]:crop[1], crop[2]:crop[3]]
        out.append(block.transpose(1, 2, 0).astype(np.float64))
    return out


def _grams(plan: _Plan, views) -> list:
    """Per-position Grams G/P of the maps in plan.F, float64, and the layers' matrices."""
    mats = [_layer_matrix(plan.F, sl, crop) for sl, crop in views]
    return [(m @ m.T).astype(np.float64) / m.shape[1] for m in mats], mats


def style_targets(img, bank: FilterBank, padding: str = "auto", precision: str = "float64") -> list:
    """The style of an image: one per-position Gram matrix per layer.

    Parameters
    ----------
    img : array_like of shape (H, W, 3) in [0, 1]
    bank : FilterBank
    padding : "circular" (a tileable texture), "valid" (a photograph, whose edges do not meet) or
        "auto" (default: circular if the image :func:`wraps_around`, else valid)

    Returns
    -------
    list of ndarray of shape (n_C, n_C): G^[l] / (n_H n_W) with G = Fᵀ F, F (n_H·n_W, n_C) the
    layer's maps (the course's Gram divided by the number of positions, so that images of
    different sizes compare: see the module docstring)
    """
    x = _check_image(img)
    padding = resolve_padding(padding, x)
    _check_precision(precision)
    plan = bank._plan(x.shape[0], x.shape[1], precision)
    views = plan.layer_views(padding)
    plan.forward(x)
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
                   precision: str = "float64") -> float:
    """The course's style cost between two images' features: Σ_l λ^[l] 1/(4 n_C²) ‖G_a/P_a − G_b/P_b‖²_F.

    Symmetric, 0 for identical images, ≥ 0; the images may differ in size (per-position Grams).
    With equal sizes it equals Σ_l λ^[l] · 1/(2 n_H n_W n_C)² ‖G(a) − G(b)‖²_F, λ^[l] = 1/L by default.
    ``padding="auto"`` is circular when both images wrap around, else valid for both. To compare
    many images with one, take :func:`style_targets` once each (same padding) and :func:`gram_distance`.
    """
    a = _check_image(img_a, "image a")
    b = _check_image(img_b, "image b")
    padding = resolve_padding(padding, a, b)
    return gram_distance(style_targets(a, bank, padding, precision), style_targets(b, bank, padding, precision),
                         layer_weights)


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
    """

    def __init__(self, shape, targets, bank: FilterBank, layer_weights=None, content=None,
                 alpha: float = ALPHA, beta: float = BETA, padding: str = "circular",
                 precision: str = "float32"):
        _check_padding(padding, auto=False)
        _check_precision(precision)
        H, W = int(shape[0]), int(shape[1])
        self.shape = (H, W)
        self.bank = bank
        self.plan = bank._plan(H, W, precision)
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
            self.plan.forward(c)
            self.content = [_layer_matrix(self.plan.F, sl, crop).copy() for sl, crop in self.views]

    def __call__(self, x, grad: bool = True):
        """(J, dJ/dx of shape (H, W, 3) float64, or None when ``grad`` is False)."""
        plan = self.plan
        if np.shape(x) != (plan.H, plan.W, 3):
            raise InputError(f"expected an image of shape ({plan.H}, {plan.W}, 3), got shape {np.shape(x)}", "x")
        plan.forward(x)
        if grad and any(crop is not None for _, crop in self.views):
            plan.dF.fill(0)
        # layers are independent: each thread takes whole layers (Gram, cost, dJ/dF)
        parts = _parallel_items(lambda i: self._layer(i, grad), range(len(self.views)))
        J = float(sum(parts))
        return J, (plan.backward() if grad else None)

    def _layer(self, i: int, grad: bool) -> float:
        """Layer i's share of J; with ``grad``, writes its dJ/dF into plan.dF."""
        plan = self.plan
        sl, crop = self.views[i]
        m = _layer_matrix(plan.F, sl, crop)  # (n_C, P)
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
                  beta: float = BETA, padding: str = "circular", precision: str = "float64"):
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

    Returns
    -------
    (J : float, dJ/dx : ndarray of shape (H, W, 3) float64)

    For many evaluations build an :class:`Objective` once and call it.
    """
    x = _check_image(x, "x")
    return Objective(x.shape[:2], targets, bank, layer_weights, content, alpha, beta, padding, precision)(x)


# ---------------------------------------------------------------- synthesis


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
               progress=None, save_every: int = None, on_save=None) -> Synthesis:
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
    if preserve_colors:
        reference = content if content is not None else styles[0]
        styles = [match_colors(s, reference) for s in styles]
    _check_padding(style_padding)
    targets = blend_targets([style_targets(s, bank, style_padding, precision) for s in styles], style_weights)
    objective = Objective((H, W), targets, bank, layer_weights, content, alpha, beta, "circular", precision)

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
