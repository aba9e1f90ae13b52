"""2-D convolution, pooling and dense layers in the course's layout (C4W1).

Layout, channels last as the course's ``conv_forward``: activations ``A`` of shape
(m, n_H, n_W, n_C), or one example (n_H, n_W, n_C); weights ``W`` of shape
(f_h, f_w, n_C_prev / groups, n_C); biases ``b`` of shape (n_C,) or the course's (1, 1, 1, n_C).

``Z[i, h, w, c] = b[c] + Σ_{kh, kw, k} A_pad[i, h·s + kh·d, w·s + kw·d, G(c)·n_C_prev/g + k] · W[kh, kw, k, c]``

with ``G(c) = c // (n_C / g)`` the group of output channel c (depthwise when g = n_C_prev: output
channel c reads input channel c // multiplier, as TensorFlow's DepthwiseConv2D and torch do), and
output size ``⌊(n + p_before + p_after − d·(f − 1) − 1) / s⌋ + 1``.

Padding is an int, (p_h, p_w), (top, bottom, left, right), or "valid" / "same" (TensorFlow's
rule, :func:`dltool.core.padding.same_padding`: the odd pixel goes after).

Routes, chosen by size (the ``NUMBA_MIN_*`` constants): small inputs run on numpy alone, and numba
is not even imported; large ones use the kernels of ``dltool.core.conv_kernels``. Either way a
dense or grouped convolution is a patch matrix (im2col, built ``BLOCK_ELEMENTS`` entries at a time
so memory stays bounded) times the reshaped weights on numpy's BLAS; a depthwise one (one input
channel per group), for which a matrix product would be too thin, runs direct multiply-add loops
(numpy: one broadcast multiply-add per kernel tap).
"""

import numpy as np

from dltool.core.padding import effective_size, same_padding, window_count
from dltool.errors import InputError

# Importing numba and loading the cached kernels costs ~0.45 s once per process. Each route waits
# until one numpy call would take ~0.1 s (measured on a 2-core machine), as the big layers of a
# network or the many steps of a synthesis do: then the import is paid once for all calls.
# Below these sizes numpy alone does the job and numba is not even imported.
# - dense / grouped convolutions, in multiply-adds (numba builds the patch matrix 1.2-2x faster
#   than numpy's slicing; the products are BLAS either way):
NUMBA_MIN_WORK = 1_000_000_000
# - depthwise convolutions, in multiply-adds (the direct loops are 3-5x faster than numpy's):
NUMBA_MIN_DIRECT_WORK = 100_000_000
# - pooling, in window taps, output entries x f_h x f_w (the loops are ~3x faster than numpy's):
NUMBA_MIN_POOL_WORK = 100_000_000
# Above this many multiply-adds (taps for pooling) the direct and pooling kernels run their
# parallel variant, over output rows. On the 2-core machine measured, shared with other jobs,
# threads never paid up to 58M (each parallel call had a ~8 ms floor): only long calls use them.
PARALLEL_MIN_WORK = 100_000_000
# Largest patch matrix built at once, in float64 entries (4M = 32 MB); larger inputs go by blocks
# of images or of output rows.
BLOCK_ELEMENTS = 1 << 22
# A group with at most this many input channels runs the direct loops instead of a matrix product.
DIRECT_MAX_GROUP_CHANNELS = 1

POOL_MODES = ("max", "avg")


# ---------------------------------------------------------------- geometry


def _pair(value, name: str, minimum: int) -> tuple:
    """An int or a pair of ints, each >= minimum, as (for height, for width)."""
    items = value if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                  for v in items):
        raise InputError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(items) < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value!r}")
    return int(items[0]), int(items[1])


def resolve_padding(pad, input_hw, kernel_hw, stride=1, dilation=1) -> tuple:
    """Padding as (top, bottom, left, right) from an int, (p_h, p_w), a 4-tuple, "valid" or "same"."""
    (H, Wd), (fh, fw) = input_hw, kernel_hw
    sh, sw = _pair(stride, "stride", 1)
    dh, dw = _pair(dilation, "dilation", 1)
    if isinstance(pad, str):
        if pad == "valid":
            return 0, 0, 0, 0
        if pad == "same":
            return same_padding(H, fh, sh, dh) + same_padding(Wd, fw, sw, dw)
        raise InputError(f"padding {pad!r}: expected an int, (p_h, p_w), (top, bottom, left, right), "
                         "'valid' or 'same'")
    if isinstance(pad, (tuple, list)) and len(pad) == 4:
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pad) or min(pad) < 0:
            raise InputError(f"padding must be ints >= 0, got {pad!r}")
        return tuple(int(v) for v in pad)
    ph, pw = _pair(pad, "padding", 0)
    return ph, ph, pw, pw


def output_size(n: int, f: int, s: int = 1, pad=(0, 0), d: int = 1, ceil_mode: bool = False) -> int:
    """Output positions along one axis (:func:`dltool.core.padding.window_count`), 0 when the
    window does not fit: ``⌊(n + p_before + p_after − d·(f − 1) − 1) / s⌋ + 1``.

    With ``ceil_mode`` (pooling) the division rounds up, but, as in torch, a last window that
    would start in the bottom / right padding is dropped.
    """
    return max(0, window_count(n, f, s, pad[0], pad[1], d, ceil_mode))


# ---------------------------------------------------------------- validation


def _real_array(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype == bool or not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise InputError(f"expected real numbers, got dtype {a.dtype}", name)
    a = np.ascontiguousarray(a, dtype=np.float64)
    if not np.isfinite(a).all():
        where = np.unravel_index(int(np.argmax(~np.isfinite(a))), a.shape)
        raise InputError(f"entry {tuple(int(i) for i in where)} is {a[where]}: values must be finite", name)
    return a


def _activations(A, name: str):
    """(A as (m, n_H, n_W, n_C) float64, whether it was one example (n_H, n_W, n_C))."""
    a = _real_array(A, name)
    if a.ndim == 3:
        return a[None], True
    if a.ndim != 4:
        raise InputError(f"expected activations of shape (m, n_H, n_W, n_C) or (n_H, n_W, n_C), "
                         f"got shape {a.shape}", name)
    return a, False


def _bias(b, n_C: int):
    if b is None:
        return None
    v = _real_array(b, "b")
    if v.ndim == 0 or v.shape[-1] != n_C or any(k != 1 for k in v.shape[:-1]):
        raise InputError(f"expected shape ({n_C},) or (1, 1, 1, {n_C}) for n_C = {n_C} filters, "
                         f"got shape {v.shape}", "b")
    return v.reshape(n_C)


def _conv_setup(A, W, stride, pad, dilation, groups, name="A"):
    """Validated arrays and geometry of a convolution."""
    A4, single = _activations(A, name)
    Wt = _real_array(W, "W")
    if Wt.ndim != 4:
        raise InputError(f"expected weights of shape (f, f, n_C_prev, n_C), got shape {Wt.shape}", "W")
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise InputError(f"groups must be an int >= 1, got {groups!r}")
    g = int(groups)
    m, H, Wd, C = A4.shape
    fh, fw, cg, n_C = Wt.shape
    if C % g or n_C % g:
        raise InputError(f"groups = {g} must divide both n_C_prev = {C} and n_C = {n_C}")
    if cg != C // g:
        raise InputError(f"expected shape ({fh}, {fw}, {C // g}, {n_C}): n_C_prev / groups = {C} / {g} "
                         f"input channels per filter, got shape {Wt.shape}", "W")
    if min(Wt.shape) == 0:
        raise InputError(f"weights must not be empty, got shape {Wt.shape}", "W")
    sh, sw = _pair(stride, "stride", 1)
    dh, dw = _pair(dilation, "dilation", 1)
    pt, pb, pl, pr = resolve_padding(pad, (H, Wd), (fh, fw), (sh, sw), (dh, dw))
    H_out = output_size(H, fh, sh, (pt, pb), dh)
    W_out = output_size(Wd, fw, sw, (pl, pr), dw)
    if H_out < 1 or W_out < 1:
        raise InputError(f"the {effective_size(fh, dh)}x{effective_size(fw, dw)} (dilated) kernel does not fit in the "
                         f"{H + pt + pb}x{Wd + pl + pr} padded input: pad more or use a smaller kernel")
    geo = (fh, fw, sh, sw, dh, dw, pt, pl, g)
    work = m * H_out * W_out * fh * fw * cg * n_C  # multiply-adds
    return A4, single, Wt, geo, (H_out, W_out), (pb, pr), work


def _route(Wt, geo, work: int) -> str:
    """Which code runs: ``numpy`` below the size thresholds; else ``direct`` (numba loops) for
    groups of so few input channels that a matrix product would be too thin, ``gemm`` (numba patch
    matrices, BLAS products) for the rest."""
    if geo[-1] > 1 and Wt.shape[2] <= DIRECT_MAX_GROUP_CHANNELS:
        return "direct" if work >= NUMBA_MIN_DIRECT_WORK else "numpy"
    return "gemm" if work >= NUMBA_MIN_WORK else "numpy"


def _depthwise(Wt, geo) -> bool:
    return geo[-1] > 1 and Wt.shape[2] == 1


def _kernel(kernels, name: str, work: int):
    return getattr(kernels, name + ("_parallel" if work >= PARALLEL_MIN_WORK else "_serial"))


# ---------------------------------------------------------------- patch matrices (GEMM route)


def _blocks(m: int, H_out: int, row_entries: int):
    """(n0, n1, oh0, oh1) blocks of whole images, or of rows of one image, whose patch matrix has
    at most BLOCK_ELEMENTS entries (at least one output row). Rows of a block are contiguous in
    the output, ordered (n, oh, ow)."""
    per_image = H_out * row_entries
    if per_image <= BLOCK_ELEMENTS:
        step = max(1, BLOCK_ELEMENTS // per_image)
        for n0 in range(0, m, step):
            yield n0, min(m, n0 + step), 0, H_out
    else:
        step = max(1, BLOCK_ELEMENTS // row_entries)
        for n in range(m):
            for oh0 in range(0, H_out, step):
                yield n, n + 1, oh0, min(H_out, oh0 + step)


def _tap_slices(geo, oh0, oh1, W_out, kh, kw):
    """Rows and columns of the padded input read by tap (kh, kw) for output rows [oh0, oh1)."""
    fh, fw, sh, sw, dh, dw, pt, pl, g = geo
    top = oh0 * sh + kh * dh
    left = kw * dw
    return slice(top, top + (oh1 - oh0 - 1) * sh + 1, sh), slice(left, left + (W_out - 1) * sw + 1, sw)


class _Patches:
    """im2col, on numpy (padded copy of the input) or on the numba kernel."""

    def __init__(self, A4, geo, pads_after, out_hw, kernels):
        self.geo, self.out_hw, self.kernels = geo, out_hw, kernels
        fh, fw, sh, sw, dh, dw, pt, pl, g = geo
        pb, pr = pads_after
        self.shape = A4.shape
        self.K = fh * fw * (A4.shape[3] // g)
        if kernels is None:
            self.A = np.pad(A4, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
        else:
            self.A = A4
            self.gather = kernels.im2col

    def im2col(self, n0, n1, oh0, oh1, cols):
        H_out, W_out = self.out_hw
        if self.kernels is not None:
            self.gather(self.A, n0, n1, oh0, oh1, W_out, self.geo, cols)
            return
        fh, fw, *_, g = self.geo
        C = self.shape[3]
        view = cols.reshape(n1 - n0, oh1 - oh0, W_out, g, fh, fw, C // g)
        for kh in range(fh):
            for kw in range(fw):
                rows, columns = _tap_slices(self.geo, oh0, oh1, W_out, kh, kw)
                view[:, :, :, :, kh, kw, :] = self.A[n0:n1, rows, columns, :].reshape(
                    n1 - n0, oh1 - oh0, W_out, g, C // g)

def _weight_blocks(Wt, g):
    """Per group, W[:, :, :, group] as a (f_h·f_w·n_C_prev/g, n_C/g) matrix."""
    fh, fw, cg, n_C = Wt.shape
    cog = n_C // g
    return [np.ascontiguousarray(Wt[..., gi * cog:(gi + 1) * cog]).reshape(fh * fw * cg, cog) for gi in range(g)]


def _gemm_forward(A4, Wt, geo, pads_after, out_hw, kernels):
    m = A4.shape[0]
    H_out, W_out = out_hw
    g = geo[-1]
    n_C = Wt.shape[3]
    cog = n_C // g
    patches = _Patches(A4, geo, pads_after, out_hw, kernels)
    K = patches.K
    mats = _weight_blocks(Wt, g)
    Z = np.empty((m, H_out, W_out, n_C))
    Z2 = Z.reshape(-1, n_C)
    buf = None
    for n0, n1, oh0, oh1 in _blocks(m, H_out, W_out * K * g):
        rows = (n1 - n0) * (oh1 - oh0) * W_out
        if buf is None:
            buf = np.empty(rows * K * g)
        cols = buf[:rows * K * g].reshape(rows, K * g)
        patches.im2col(n0, n1, oh0, oh1, cols)
        r0 = (n0 * H_out + oh0) * W_out
        if g == 1:
            np.matmul(cols, mats[0], out=Z2[r0:r0 + rows])
        else:
            for gi in range(g):
                Z2[r0:r0 + rows, gi * cog:(gi + 1) * cog] = cols[:, gi * K:(gi + 1) * K] @ mats[gi]
    return Z


# ---------------------------------------------------------------- depthwise (direct loops)


def _numpy_depthwise(A4, Wt, geo, pads_after, out_hw):
    """Depthwise forward on numpy: one broadcast multiply-add per tap."""
    fh, fw, sh, sw, dh, dw, pt, pl, g = geo
    pb, pr = pads_after
    H_out, W_out = out_hw
    mult = Wt.shape[3] // g
    A_pad = np.pad(A4, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    Z = np.zeros((A4.shape[0], H_out, W_out, Wt.shape[3]))
    for kh in range(fh):
        for kw in range(fw):
            rows, columns = _tap_slices(geo, 0, H_out, W_out, kh, kw)
            tap = A_pad[:, rows, columns, :]
            Z += (np.repeat(tap, mult, axis=3) if mult > 1 else tap) * Wt[kh, kw, 0]
    return Z


def _one_input_per_output(A4, Wt, geo):
    """A depthwise convolution with a channel multiplier is one with multiplier 1 on the input
    with each channel repeated: the direct loops then run over one contiguous channel axis."""
    n_C, g = Wt.shape[3], geo[-1]
    if Wt.shape[2] != 1 or n_C == g:
        return A4, geo
    return np.repeat(A4, n_C // g, axis=3), geo[:-1] + (n_C,)


# ---------------------------------------------------------------- public API


def conv2d(A, W, b=None, stride=1, pad=0, dilation=1, groups=1) -> np.ndarray:
    """Convolution (cross-correlation, as in the course and every framework) of ``A`` with ``W``.

    Parameters
    ----------
    A : array_like of shape (m, n_H_prev, n_W_prev, n_C_prev), or (n_H_prev, n_W_prev, n_C_prev)
    W : array_like of shape (f_h, f_w, n_C_prev / groups, n_C)
    b : array_like of shape (n_C,) or (1, 1, 1, n_C), optional
    stride, dilation : int or (for height, for width)
    pad : int, (p_h, p_w), (top, bottom, left, right), "valid" or "same"
    groups : int dividing n_C_prev and n_C; n_C_prev for a depthwise convolution

    Returns
    -------
    Z : ndarray of shape (m, n_H, n_W, n_C) (no m axis for one example), float64
    """
    A4, single, Wt, geo, out_hw, pads_after, work = _conv_setup(A, W, stride, pad, dilation, groups)
    m, n_C = A4.shape[0], Wt.shape[3]
    bias = _bias(b, n_C)
    route = _route(Wt, geo, work)
    if m == 0:
        Z = np.zeros((0, *out_hw, n_C))
    elif route == "numpy":
        if _depthwise(Wt, geo):
            Z = _numpy_depthwise(A4, Wt, geo, pads_after, out_hw)
        else:
            Z = _gemm_forward(A4, Wt, geo, pads_after, out_hw, None)
    else:
        from dltool.core import conv_kernels

        if route == "direct":
            A_in, geo_in = _one_input_per_output(A4, Wt, geo)
            Z = np.empty((m, *out_hw, n_C))
            _kernel(conv_kernels, "direct", work)(A_in, Wt, geo_in, Z)
        else:
            Z = _gemm_forward(A4, Wt, geo, pads_after, out_hw, conv_kernels)
    if bias is not None:
        Z += bias
    return Z[0] if single else Z


def pool2d(A, f, stride=None, pad=0, mode: str = "max", ceil_mode: bool = False,
           count_include_pad: bool = True) -> np.ndarray:
    """Max or average pooling over f_h x f_w windows, channel by channel.

    Parameters
    ----------
    A : array_like of shape (m, n_H_prev, n_W_prev, n_C), or (n_H_prev, n_W_prev, n_C)
    f : int or (f_h, f_w)
    stride : int or pair; default f (non-overlapping windows, as torch and Keras)
    pad : int, (p_h, p_w), (top, bottom, left, right), "valid" or "same"; each side < f
    mode : "max" (padding acts as -inf) or "avg"
    ceil_mode : round the output size up (torch), keeping only windows that start inside the
        input or its top / left padding
    count_include_pad : "avg" divides by the window's taps inside the padded input, as torch's
        default (True), or only by those inside the input (False; Keras / TensorFlow "same")

    Returns
    -------
    ndarray of shape (m, n_H, n_W, n_C) (no m axis for one example), float64
    """
    if mode not in POOL_MODES:
        raise InputError(f"unknown pooling mode {mode!r}: expected one of {', '.join(POOL_MODES)}")
    A4, single = _activations(A, "A")
    m, H, Wd, C = A4.shape
    fh, fw = _pair(f, "f", 1)
    sh, sw = _pair(f if stride is None else stride, "stride", 1)
    pt, pb, pl, pr = resolve_padding(pad, (H, Wd), (fh, fw), (sh, sw))
    if max(pt, pb) >= fh or max(pl, pr) >= fw:
        raise InputError(f"padding {(pt, pb, pl, pr)} must be smaller than the {fh}x{fw} window on each side: "
                         "a window of padding alone has nothing to pool")
    H_out = output_size(H, fh, sh, (pt, pb), ceil_mode=ceil_mode)
    W_out = output_size(Wd, fw, sw, (pl, pr), ceil_mode=ceil_mode)
    if H_out < 1 or W_out < 1:
        raise InputError(f"the {fh}x{fw} window does not fit in the {H + pt + pb}x{Wd + pl + pr} padded input")
    geo = (fh, fw, sh, sw, 1, 1, pt, pl, 1)
    work = m * H_out * W_out * fh * fw * C
    out = np.empty((m, H_out, W_out, C))
    if m == 0:
        pass
    elif work >= NUMBA_MIN_POOL_WORK:
        from dltool.core import conv_kernels

        _kernel(conv_kernels, "pool", work)(A4, geo, pb, pr, mode == "max", bool(count_include_pad), out)
    else:
        out = _numpy_pool(A4, geo, (pb, pr), (H_out, W_out), mode, count_include_pad)
    return out[0] if single else out


def _window_counts(n, n_out, f, s, before, after, count_pad):
    """Per output position along one axis, the taps inside the input (or the padded input)."""
    start = np.arange(n_out) * s - before
    lo, hi = (-before, n + after) if count_pad else (0, n)
    return np.minimum(start + f, hi) - np.maximum(start, lo)


def _numpy_pool(A4, geo, pads_after, out_hw, mode, count_pad):
    fh, fw, sh, sw, _, _, pt, pl, _ = geo
    pb, pr = pads_after
    H_out, W_out = out_hw
    m, H, Wd, C = A4.shape
    # Pad far enough for ceil-mode windows that overhang the padding; the overhang is never counted.
    extra_h = max(0, (H_out - 1) * sh + fh - (H + pt + pb))
    extra_w = max(0, (W_out - 1) * sw + fw - (Wd + pl + pr))
    fill = -np.inf if mode == "max" else 0.0
    A_pad = np.pad(A4, ((0, 0), (pt, pb + extra_h), (pl, pr + extra_w), (0, 0)), constant_values=fill)
    out = np.full((m, H_out, W_out, C), fill)
    for kh in range(fh):
        for kw in range(fw):
            rows, columns = _tap_slices(geo, 0, H_out, W_out, kh, kw)
            if mode == "max":
                np.maximum(out, A_pad[:, rows, columns, :], out=out)
            else:
                out += A_pad[:, rows, columns, :]
    if mode == "avg":
        counts = np.outer(_window_counts(H, H_out, fh, sh, pt, pb, count_pad),
                          _window_counts(Wd, W_out, fw, sw, pl, pr, count_pad))
        out /= counts[None, :, :, None]
    return out


def dense(A, W, b=None) -> np.ndarray:
    """Fully connected layer ``Z = A Wᵀ + b`` on numpy's BLAS.

    Parameters
    ----------
    A : array_like of shape (m, n), one example per row (flatten conv activations first)
    W : array_like of shape (n_out, n), as torch's Linear
    b : array_like of shape (n_out,), (n_out, 1) or (1, n_out), optional

    Returns
    -------
    ndarray of shape (m, n_out), float64
    """
    a = _real_array(A, "A")
    w = _real_array(W, "W")
    if a.ndim != 2:
        raise InputError(f"expected shape (m, n), one example per row, got shape {a.shape}", "A")
    if w.ndim != 2 or w.shape[1] != a.shape[1]:
        raise InputError(f"expected shape (n_out, {a.shape[1]}) for inputs of {a.shape[1]} features, "
                         f"got shape {w.shape}", "W")
    Z = a @ w.T
    if b is not None:
        v = _real_array(b, "b")
        if v.size != w.shape[0] or sum(k != 1 for k in v.shape) > 1:
            raise InputError(f"expected shape ({w.shape[0]},), got shape {v.shape}", "b")
        Z += v.reshape(-1)
    return Z
