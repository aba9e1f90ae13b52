"""numba kernels for 2-D convolution and pooling, channels last. Imported only by
``dltool.core.conv`` on inputs large enough to pay for numba's import.

Every kernel takes C-contiguous float64 arrays that the public wrappers have validated, and a
geometry tuple ``geo = (fh, fw, sh, sw, dh, dw, pt, pl, g)``: kernel size, stride, dilation, top
and left padding (bottom/right padding only shows in the output size), groups. Padding is never
materialised: a tap that falls outside the input is skipped (convolution) or counted as -inf / 0
(pooling).

Each ``*_serial`` / ``*_parallel`` pair runs one inline row function, the parallel one over rows
with ``prange``. A row writes only its own output, and every sum runs in a fixed order, so results
do not depend on the thread count. No ``fastmath``: the loops skip padding taps by branches.

``im2col`` has no parallel variant: it moves memory between numpy's matrix products, whose BLAS
threads are still spinning when it starts; on the 2-core machine this was measured on, a prange
version ran 2-4x slower than the serial loop, which is near memcpy speed already.

Patch-matrix layout (im2col), shared with the numpy path of ``dltool.core.conv``: one row per output
pixel, ordered (n, oh, ow) within a block of images ``[n0, n1)`` and output rows ``[oh0, oh1)``; one
column per (group, kh, kw, channel in group), so group ``gi``'s columns are the contiguous block
``[gi * K, (gi + 1) * K)``, ``K = fh * fw * C_in / g``, which multiplies ``W[:, :, :, group].reshape(K, -1)``.
"""

import numpy as np

from dltool.core.jit import njit, numba_module

prange = numba_module().prange

# ---------------------------------------------------------------- im2col (GEMM route)


@njit(inline="always")
def _gather_row(A, n, oh, W_out, geo, cols, r):
    """Patches of output row (n, oh) into ``cols[r:r + W_out]``; zeros for padding taps."""
    fh, fw, sh, sw, dh, dw, pt, pl, g = geo
    H = A.shape[1]
    Wd = A.shape[2]
    cg = A.shape[3] // g
    kg = fh * fw * cg
    for ow in range(W_out):
        for kh in range(fh):
            ih = oh * sh - pt + kh * dh
            for kw in range(fw):
                iw = ow * sw - pl + kw * dw
                base = (kh * fw + kw) * cg
                if 0 <= ih < H and 0 <= iw < Wd:
                    for gi in range(g):
                        for c in range(cg):
                            cols[r + ow, gi * kg + base + c] = A[n, ih, iw, gi * cg + c]
                else:
                    for gi in range(g):
                        for c in range(cg):
                            cols[r + ow, gi * kg + base + c] = 0.0


@njit
def im2col(A, n0, n1, oh0, oh1, W_out, geo, cols):
    rows = oh1 - oh0
    for q in range((n1 - n0) * rows):
        _gather_row(A, n0 + q // rows, oh0 + q % rows, W_out, geo, cols, q * W_out)


# ---------------------------------------------------------------- direct loops (depthwise and thin groups)
# A group with few input channels makes a thin matrix product that BLAS runs far below its peak;
# these loops run the multiply-adds in place, innermost over contiguous output channels.


@njit(inline="always")
def _direct_row(A, W, n, oh, geo, Z):
    fh, fw, sh, sw, dh, dw, pt, pl, g = geo
    H = A.shape[1]
    Wd = A.shape[2]
    C = A.shape[3]
    cg = C // g
    n_C = Z.shape[3]
    cog = n_C // g
    for ow in range(Z.shape[2]):
        z = Z[n, oh, ow]
        for co in range(n_C):
            z[co] = 0.0
        for kh in range(fh):
            ih = oh * sh - pt + kh * dh
            if ih < 0 or ih >= H:
                continue
            for kw in range(fw):
                iw = ow * sw - pl + kw * dw
                if iw < 0 or iw >= Wd:
                    continue
                a = A[n, ih, iw]
                w = W[kh, kw]
                if cg == 1 and cog == 1:  # depthwise, multiplier 1: one contiguous run
                    for c in range(C):
                        z[c] += a[c] * w[0, c]
                else:
                    for gi in range(g):
                        for cl in range(cg):
                            v = a[gi * cg + cl]
                            for j in range(gi * cog, (gi + 1) * cog):
                                z[j] += v * w[cl, j]


@njit
def direct_serial(A, W, geo, Z):
    rows = Z.shape[1]
    for q in range(Z.shape[0] * rows):
        _direct_row(A, W, q // rows, q % rows, geo, Z)


@njit(parallel=True)
def direct_parallel(A, W, geo, Z):
    rows = Z.shape[1]
    for q in prange(Z.shape[0] * rows):
        _direct_row(A, W, q // rows, q % rows, geo, Z)


# ---------------------------------------------------------------- pooling


@njit(inline="always")
def _pool_row(A, n, oh, geo, pb, pr, is_max, count_pad, out):
    """One output row of max or average pooling.

    Average: divide by the taps inside the input, or with ``count_pad`` by the taps inside the
    padded input [-pt, H + pb) x [-pl, W + pr) (torch's count_include_pad; ceil-mode overhang past
    the padding is never counted).
    """
    fh, fw, sh, sw, dh, dw, pt, pl, g = geo
    H = A.shape[1]
    Wd = A.shape[2]
    C = A.shape[3]
    h0 = oh * sh - pt
    h_lo = max(h0, 0)
    h_hi = min(h0 + fh, H)
    for ow in range(out.shape[2]):
        w0 = ow * sw - pl
        w_lo = max(w0, 0)
        w_hi = min(w0 + fw, Wd)
        o = out[n, oh, ow]
        if is_max:
            for c in range(C):
                o[c] = -np.inf
            for ih in range(h_lo, h_hi):
                for iw in range(w_lo, w_hi):
                    a = A[n, ih, iw]
                    for c in range(C):
                        o[c] = max(o[c], a[c])
        else:
            for c in range(C):
                o[c] = 0.0
            for ih in range(h_lo, h_hi):
                for iw in range(w_lo, w_hi):
                    a = A[n, ih, iw]
                    for c in range(C):
                        o[c] += a[c]
            if count_pad:
                count = (min(h0 + fh, H + pb) - h0) * (min(w0 + fw, Wd + pr) - w0)
            else:
                count = (h_hi - h_lo) * (w_hi - w_lo)
            for c in range(C):
                o[c] /= count


@njit
def pool_serial(A, geo, pb, pr, is_max, count_pad, out):
    rows = out.shape[1]
    for q in range(out.shape[0] * rows):
        _pool_row(A, q // rows, q % rows, geo, pb, pr, is_max, count_pad, out)


@njit(parallel=True)
def pool_parallel(A, geo, pb, pr, is_max, count_pad, out):
    rows = out.shape[1]
    for q in prange(out.shape[0] * rows):
        _pool_row(A, q // rows, q % rows, geo, pb, pr, is_max, count_pad, out)


def warm() -> None:
    """Compile (or load) every kernel here for the argument types ``dltool.core.conv`` passes
    (``dltool cache warm``): float64 C-contiguous arrays, the geometry as a tuple of nine ints."""
    A = np.ones((1, 3, 3, 2))
    geo = (2, 2, 1, 1, 1, 1, 0, 0, 1)
    im2col(A, 0, 1, 0, 2, 2, geo, np.empty((4, 8)))
    depthwise = (2, 2, 1, 1, 1, 1, 0, 0, 2)
    for kernel in (direct_serial, direct_parallel):
        kernel(A, np.ones((2, 2, 1, 2)), depthwise, np.empty((1, 2, 2, 2)))
    for kernel in (pool_serial, pool_parallel):
        kernel(A, geo, 0, 0, True, False, np.empty((1, 2, 2, 2)))
