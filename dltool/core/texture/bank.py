"""Filter banks for texture synthesis: random multi-scale filters (the default), fixed Gaussian
derivatives, or the raw colour channels. Each size of filter is one layer, with one Gram matrix."""

import math
from dataclasses import dataclass, field

import numpy as np

from dltool.core.names import TEXTURE_FEATURES as FEATURES
from dltool.errors import InputError

# Defaults of the random bank (see random_bank): 8 sizes x 32 = 256 filters.
DEFAULT_SIZES = (3, 5, 7, 11, 15, 23, 37, 55)
DEFAULT_PER_SIZE = 32


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
    _cache: dict = field(default_factory=dict, repr=False)  # (H, W, precision) -> engine plan

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
