"""The Fourier-domain engine of texture synthesis: every filter of a bank applied at once, and the
adjoint for the gradient, split over threads that the caller owns.

All filters are applied at once in the Fourier domain: the filters' spectra are computed once per
image shape (rfft2 of each filter placed on an H x W grid, cached on the bank), the image's three
channels are transformed once per step, and the responses are Σ_c X_c · K_ck followed by one
batched irfft2; the backward pass is a batched rfft2 of the masked gradients, Σ_k D_k · conj(K_ck),
and three irfft2. The cost does not depend on the filter size (a 55 x 55 filter costs what a 3 x 3
one does).

Threads: the work is split over the filters (numpy's FFTs and elementwise products release the
GIL), in blocks of :data:`BLOCK` filters so that a block's spectra stay in cache between the product
and the FFT. The pool is the caller's: every function takes an ``executor`` (None: run in the
calling thread), and :func:`workers` makes one for a ``with`` block and closes it after. Inside
it, BLAS runs one thread (threadpoolctl): the workers already use every core, and OpenBLAS's own
threads busy-wait for ~0.1 s after every call, fighting the FFT threads for the CPU on two cores
(measured: a 128-px step took 200 ms instead of 52). No state outlives a call.

float32 by default (``precision="float64"`` for checks): numpy 2 runs single-precision FFTs
natively. numba is not used: two thirds of a step are the FFTs (measured at 128 px, 256 filters,
one thread: 34 ms of FFTs, 14 ms of spectral products, 6 ms of ReLU and mask passes), and the
rest are streaming elementwise passes that a fused kernel would shorten by a few milliseconds.
"""

import contextlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from dltool.core.texture.bank import FilterBank
from dltool.core.threads import thread_count
from dltool.errors import InputError

PRECISIONS = {"float32": (np.float32, np.complex64), "float64": (np.float64, np.complex128)}
# Filters processed together by one thread: a block's spectra (16 x 128 x 65 complex64 = 1 MB at
# 128 px) stay in cache between the spectral product and the FFT.
BLOCK = 16
# Image shapes whose spectra a bank keeps (style, content and output sizes).
PLANS_PER_BANK = 4


@contextlib.contextmanager
def workers(threads: int | None = None):
    """A thread pool for the engine, closed when the ``with`` block ends; BLAS on one thread
    meanwhile. One thread (or ``threads=1``): no pool, None (everything runs in the caller's thread).
    """
    threads = thread_count() if threads is None else max(1, int(threads))
    if threads == 1:
        yield None
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"), \
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dltool-texture") as pool:
        yield pool


def split(executor, fn, n: int) -> list:
    """fn(k0, k1) over ``n`` filters, one contiguous range per thread of ``executor``; the results."""
    if executor is None:
        return [fn(0, n)]
    count = min(getattr(executor, "_max_workers", thread_count()), max(1, n // BLOCK))
    cuts = [round(n * i / count) for i in range(count + 1)]
    return list(executor.map(lambda i: fn(cuts[i], cuts[i + 1]), range(count)))


def each(executor, fn, items) -> list:
    """fn(item) for each item, one task each on ``executor``'s threads; the results in item order."""
    if executor is None:
        return [fn(item) for item in items]
    return list(executor.map(fn, items))


def plan(bank, H: int, W: int, precision: str) -> "Plan":
    """The bank's :class:`Plan` for H x W images in ``precision`` (made once, kept on the bank)."""
    key = (H, W, precision)
    found = bank._cache.get(key)
    if found is None:
        if len(bank._cache) >= PLANS_PER_BANK:
            bank._cache.pop(next(iter(bank._cache)))
        found = bank._cache[key] = Plan(bank, H, W, precision)
    return found


class Plan:
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

    def forward(self, x: np.ndarray, executor=None) -> np.ndarray:
        """F = ReLU(z) for all filters, (n, H, W), in self.F (overwritten by the next call).

        ``x`` (H, W, 3) is only read: the centred channels are a new array even when ``x`` is a
        channel-first view whose transpose is already contiguous in this precision.
        """
        xc = np.empty((3, self.H, self.W), dtype=self.rdtype)
        xc[...] = x.transpose(2, 0, 1)  # cast, then centre in this precision
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

        split(executor, work, self.n)
        return F

    def backward(self, executor=None) -> np.ndarray:
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

        parts = split(executor, work, self.n)
        total = parts[0]
        for p in parts[1:]:
            total += p
        np.conj(total, out=total)
        dx = np.fft.irfft2(total, s=(H, W))
        return dx.transpose(1, 2, 0).astype(np.float64)


def layer_matrix(F: np.ndarray, sl: slice, crop) -> np.ndarray:
    """Layer maps as a (n_C, n_H·n_W) matrix (a view on the full grid, a copy when cropped)."""
    if crop is None:
        block = F[sl]
        return block.reshape(block.shape[0], -1)
    r0, r1, c0, c1 = crop
    block = F[sl, r0:r1, c0:c1]
    return np.ascontiguousarray(block).reshape(block.shape[0], -1)
