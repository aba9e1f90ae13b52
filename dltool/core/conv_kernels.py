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

``im2col`` / ``col2im`` have no parallel variant: they move memory between numpy's matrix products,
whose BLAS threads are still spinning when they start; on the 2-core machine this was measured on,
a prange version of them ran 2-4x slower than the serial loop, which is near memcpy speed already.

Patch-matrix layout (im2col), shared with the numpy path of ``dltool.core.conv``: one row per output
pixel, ordered (n, oh, ow) within a block of images ``[n0, n1)`` and output rows ``[oh0, oh1)``; one
column per (group, kh, kw, channel in group), so group ``gi``'s columns are the contiguous block
``[gi * K, (gi + 1) * K)``, ``K = fh * fw * C_in / g``, which multiplies ``W[:, :, :, group].reshape(K, -1)``.
"""

import numpy as np
from numba import prange

from dltool.core.jit import njit

# ---------------------------------------------------------------- im2col / col2im (GEMM route)


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


@njit(inline="always")
def _scatter_row(dcols, n, ih, n0, oh0, oh1, W_out, geo, dA):
    """Add to input row (n, ih) of ``dA`` every patch entry of the block that came from it.

    The transpose of ``_gather_row``, written as a gather over input rows: each input row is
    written by one iteration only, so the loop could run rows in parallel.
    """
    fh, fw, sh, sw, dh, dw, pt, pl, g = geo
    Wd = dA.shape[2]
    cg = dA.shape[3] // g
    kg = fh * fw * cg
    rows = oh1 - oh0
    for kh in range(fh):
        t = ih + pt - kh * dh
        if t < 0 or t % sh != 0:
            continue
        oh = t // sh
        if oh < oh0 or oh >= oh1:
            continue
        r = ((n - n0) * rows + oh - oh0) * W_out
        for ow in range(W_out):
            for kw in range(fw):
                iw = ow * sw - pl + kw * dw
                if 0 <= iw < Wd:
                    base = (kh * fw + kw) * cg
                    for gi in range(g):
                        for c in range(cg):
                            dA[n, ih, iw, gi * cg + c] += dcols[r + ow, gi * kg + base + c]


@njit(inline="always")
def _touched_rows(H, oh0, oh1, geo):
    """Input rows [lo, hi) that output rows [oh0, oh1) read."""
    fh, fw, sh, sw, dh, dw, pt, pl, g = geo
    return max(0, oh0 * sh - pt), min(H, (oh1 - 1) * sh - pt + (fh - 1) * dh + 1)


@njit
def col2im(dcols, n0, n1, oh0, oh1, W_out, geo, dA):
    lo, hi = _touched_rows(dA.shape[1], oh0, oh1, geo)
    span = max(hi - lo, 0)
    for q in range((n1 - n0) * span):
        _scatter_row(dcols, n0 + q // span, lo + q % span, n0, oh0, oh1, W_out, geo, dA)


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


@njit(inline="always")
def _direct_dA_row(dZ, W, n, ih, geo, dA):
    """dA[n, ih] = sum over the taps (kh, kw) and output pixels that read input row ih."""
    fh, fw, sh, sw, dh, dw, pt, pl, g = geo
    Wd = dA.shape[2]
    C = dA.shape[3]
    cg = C // g
    n_C = dZ.shape[3]
    cog = n_C // g
    H_out = dZ.shape[1]
    for kh in range(fh):
        t = ih + pt - kh * dh
        if t < 0 or t % sh != 0:
            continue
        oh = t // sh
        if oh >= H_out:
            continue
        for ow in range(dZ.shape[2]):
            dz = dZ[n, oh, ow]
            for kw in range(fw):
                iw = ow * sw - pl + kw * dw
                if iw < 0 or iw >= Wd:
                    continue
                da = dA[n, ih, iw]
                w = W[kh, kw]
                if cg == 1 and cog == 1:
                    for c in range(C):
                        da[c] += dz[c] * w[0, c]
                else:
                    for gi in range(g):
                        for cl in range(cg):
                            s = 0.0
                            for j in range(gi * cog, (gi + 1) * cog):
                                s += dz[j] * w[cl, j]
                            da[gi * cg + cl] += s


@njit
def direct_dA_serial(dZ, W, geo, dA):
    rows = dA.shape[1]
    for q in range(dA.shape[0] * rows):
        _direct_dA_row(dZ, W, q // rows, q % rows, geo, dA)


@njit(parallel=True)
def direct_dA_parallel(dZ, W, geo, dA):
    rows = dA.shape[1]
    for q in prange(dA.shape[0] * rows):
        _direct_dA_row(dZ, W, q // rows, q % rows, geo, dA)


@njit(inline="always")
def _direct_dW_part(A, dZ, p, parts, geo, out):
    """out += dW over output rows q in [p * per, (p + 1) * per) (q = n * H_out + oh)."""
    fh, fw, sh, sw, dh, dw, pt, pl, g = geo
    H = A.shape[1]
    Wd = A.shape[2]
    C = A.shape[3]
    cg = C // g
    H_out = dZ.shape[1]
    n_C = dZ.shape[3]
    cog = n_C // g
    total = dZ.shape[0] * H_out
    per = (total + parts - 1) // parts
    for q in range(p * per, min((p + 1) * per, total)):
        n = q // H_out
        oh = q % H_out
        for ow in range(dZ.shape[2]):
            dz = dZ[n, oh, ow]
            for kh in range(fh):
                ih = oh * sh - pt + kh * dh
                if ih < 0 or ih >= H:
                    continue
                for kw in range(fw):
                    iw = ow * sw - pl + kw * dw
                    if iw < 0 or iw >= Wd:
                        continue
                    a = A[n, ih, iw]
                    o = out[kh, kw]
                    if cg == 1 and cog == 1:
                        for c in range(C):
                            o[0, c] += a[c] * dz[c]
                    else:
                        for gi in range(g):
                            for cl in range(cg):
                                v = a[gi * cg + cl]
                                for j in range(gi * cog, (gi + 1) * cog):
                                    o[cl, j] += v * dz[j]


@njit
def direct_dW_serial(A, dZ, geo, out):
    """out[p] = the dW of the p-th of ``out.shape[0]`` equal runs of output rows; the caller sums
    over p (a fixed split, so the sum does not depend on the thread count)."""
    for p in range(out.shape[0]):
        _direct_dW_part(A, dZ, p, out.shape[0], geo, out[p])


@njit(parallel=True)
def direct_dW_parallel(A, dZ, geo, out):
    for p in prange(out.shape[0]):
        _direct_dW_part(A, dZ, p, out.shape[0], geo, out[p])


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
