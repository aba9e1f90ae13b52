"""Benchmark one loss-and-gradient step of dltool's texture synthesis against a plain numpy FFT
implementation of the same math, in one process.

Run from the repository root (the script puts the repository root on ``sys.path`` itself)::

    python benchmarks/bench_gram.py            # 128 and 256 px, about 1 minute on 2 cores
    python benchmarks/bench_gram.py --quick    # 128 px only, fewer repeats
    python benchmarks/bench_gram.py --synthesis   # also a full 128-px synthesis of samples/textures/bricks.png

What it measures
----------------
One evaluation of the synthesis objective J(x) = β Σ_l λ_l J_style^[l](x) and its gradient dJ/dx
on an H x W x 3 image, H = W = 128 and 256, with dltool's default bank: 256 random filters, 32 of
each size 3, 5, 7, 11, 15, 23, 37, 55 (``random_bank()``, seed 0), ReLU, one Gram matrix per size,
circular padding; targets from a second image. Both images are seeded smooth noise in [0, 1]
(``default_rng(0)``): the work does not depend on the pixels.

- dltool: ``texture.Objective`` (float32, the synthesis path, and float64): the filters' spectra
  precomputed once (rfft2 at the image size); per step one rfft2 of the 3 channels, for blocks of
  16 filters at a time the spectral products and a batched irfft2, ReLU, the Grams and dJ/dF on
  BLAS, a batched rfft2 of the masked gradients, the products with the conjugate spectra summed over
  the filters, and three irfft2; the filter blocks split over the threads printed in the header.
- the numpy reference written below: the straightforward version, float64, complex FFTs, a Python
  loop over the filters: for each filter np.fft.ifft2 of Σ_c X_c · conj(K_ck) (the filters' fft2
  precomputed too), ReLU; the same Grams and dJ/dF (numpy's BLAS, as dltool); then for each
  filter np.fft.fft2 of its masked gradient times K_ck, accumulated; np.fft.ifft2 of the three sums.

Correctness check: J and dJ/dx of dltool (float64 and float32) against the reference at each size:
float64 must agree to rtol 1e-9 (J) and max |Δg| ≤ 1e-8 max |g|; float32 to 1e-4 and 1e-3.

Reading the output
------------------
Times are the best of several steps after one warm-up step, in milliseconds; the reference runs
fewer steps (it takes longer). ratio = dltool float32 / reference. The acceptance target is a
ratio of at most 0.5 at both sizes, reported as PASS/MISS, not asserted (timings depend on the
machine and its load). The first call at a size, which computes the bank's spectra, is shown apart.
The reference's FFT loop runs on one thread; its Gram products use numpy's BLAS threads, which then
busy-wait for a while, so the script pauses briefly before timing dltool (whose worker threads run
their products on one BLAS thread each and never wake BLAS's pool).

Exit status: 0, or 1 if dltool and the reference disagree (correctness, not speed).
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from _common import best_time, print_table  # noqa: E402

import numpy as np  # noqa: E402

from dltool.core import texture  # noqa: E402

SIZES = (128, 256)
SEED = 0
TARGET = 0.5  # dltool float32 step time / reference step time
BETA = texture.BETA
RTOL_64, GTOL_64 = 1e-9, 1e-8
RTOL_32, GTOL_32 = 1e-4, 1e-3


# ---------------------------------------------------------------- inputs


def smooth_noise(rng, H, W):
    """Noise in [0, 1] with structure at several scales (a sum of blurred noises, by FFT)."""
    out = np.zeros((H, W, 3))
    fy = np.fft.fftfreq(H)[:, None]
    fx = np.fft.fftfreq(W)[None, :]
    for sigma in (1.0, 4.0, 16.0):
        g = np.exp(-2 * (np.pi * sigma) ** 2 * (fy ** 2 + fx ** 2))
        for c in range(3):
            out[:, :, c] += np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((H, W))) * g)) * sigma
    out -= out.min()
    return out / out.max()


# ---------------------------------------------------------------- the numpy reference


class NumpyReference:
    """The plain numpy FFT implementation: same math as dltool, one filter at a time, float64.

    Filter k's response: z_k = ifft2(Σ_c fft2(x_c − centre) · conj(K_ck)).real with K_ck the fft2 of
    channel c of the filter placed on the H x W grid with its centre at (0, 0) (circular
    correlation); F_k = max(z_k, 0).
    """

    def __init__(self, bank, H, W):
        self.center = bank.center
        self.slices = bank.slices()
        self.spectra = []
        for f, Wt in bank.groups:
            rows = (np.arange(f) - f // 2) % H
            cols = (np.arange(f) - f // 2) % W
            for k in range(Wt.shape[3]):
                grid = np.zeros((3, H, W))
                grid[:, rows[:, None], cols[None, :]] = Wt[:, :, :, k].transpose(2, 0, 1)
                self.spectra.append(np.fft.fft2(grid))

    def loss_and_grad(self, x, targets, beta=BETA):
        H, W, _ = x.shape
        N = H * W
        n = len(self.spectra)
        lam = 1.0 / len(self.slices)
        X = np.fft.fft2((x - self.center).transpose(2, 0, 1))
        F = np.empty((N, n))
        for k, K in enumerate(self.spectra):
            z = np.fft.ifft2(np.sum(X * np.conj(K), axis=0)).real
            F[:, k] = np.maximum(z, 0).ravel()
        J = 0.0
        dF = np.empty_like(F)
        for sl, T in zip(self.slices, targets):
            Fl = F[:, sl]
            n_C = Fl.shape[1]
            D = Fl.T @ Fl / N - T
            J += beta * lam / (4 * n_C ** 2) * np.sum(D * D)
            dF[:, sl] = Fl @ D * (beta * lam / (n_C ** 2 * N))
        dF *= F > 0
        dX = np.zeros((3, H, W), dtype=complex)
        for k, K in enumerate(self.spectra):
            dX += np.fft.fft2(dF[:, k].reshape(H, W)) * K
        return J, np.fft.ifft2(dX).real.transpose(1, 2, 0)


# ---------------------------------------------------------------- timing and report


def rel_grad_diff(g, ref):
    return float(np.max(np.abs(g - ref)) / np.max(np.abs(ref)))


def synthesis_run():
    """A full default synthesis of samples/textures/bricks.png at 128 px (centre crop, resized)."""
    from PIL import Image

    path = REPO_ROOT / "samples" / "textures" / "bricks.png"
    if not path.exists():
        print(f"synthesis: {path} not found, skipped")
        return
    im = Image.open(path).convert("RGB")
    s = min(im.size)
    im = im.crop(((im.size[0] - s) // 2, (im.size[1] - s) // 2, (im.size[0] + s) // 2, (im.size[1] + s) // 2))
    style = np.asarray(im.resize((128, 128), Image.LANCZOS), dtype=np.float64) / 255
    t0 = time.perf_counter()
    image, history = texture.synthesize(style, 128)
    seconds = time.perf_counter() - t0
    print(f"synthesis: samples/textures/bricks.png at 128 px, defaults ({texture.DEFAULT_ITERATIONS} L-BFGS "
          f"iterations, {texture.random_bank().n_channels} filters): {seconds:.1f} s, "
          f"J {history[0]:.4g} -> {history[-1]:.4g} ({history[0] / history[-1]:.3g}x lower)")
    out = Path(os.environ.get("TMPDIR", "/tmp")) / "bench_gram_bricks.png"
    Image.fromarray((image * 255 + 0.5).astype(np.uint8)).save(out)
    print(f"  written to {out}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="128 px only, fewer repeats")
    parser.add_argument("--synthesis", action="store_true",
                        help="also time a full default synthesis at 128 px (about a minute)")
    args = parser.parse_args(argv)
    sizes = SIZES[:1] if args.quick else SIZES
    repeats = 3 if args.quick else 7
    ref_repeats = 1 if args.quick else 3

    bank = texture.random_bank()
    print("dltool texture synthesis: one loss-and-gradient step" + (" (--quick)" if args.quick else ""))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"python {platform.python_version()}, numpy {np.__version__}, CPUs: {os.cpu_count()} "
          f"(usable by this process: {cpus})")
    print(f"bank: random_bank() seed 0, {bank.n_channels} filters ({bank.describe()}), ReLU, "
          f"{len(bank.groups)} Gram layers, circular padding, beta {BETA:g}, lambda 1/{len(bank.groups)}")
    print(f"threads: dltool {texture.thread_count()} (filter blocks; BLAS on one thread meanwhile, "
          "by threadpoolctl), "
          "numpy reference 1 (its FFT loop) + numpy's BLAS for the Grams")
    print(f"timing: dltool best of {repeats} steps after one warm-up; reference best of {ref_repeats} "
          "after one warm-up; time.perf_counter")
    print()

    rows, checks = [], []
    failed = False
    for H in sizes:
        rng = np.random.default_rng(SEED)
        style, x = smooth_noise(rng, H, H), smooth_noise(rng, H, H)
        with texture.workers() as pool:
            targets = texture.style_targets(style, bank, "circular", executor=pool)

        t0 = time.perf_counter()
        ref = NumpyReference(bank, H, H)
        t_ref_setup = time.perf_counter() - t0
        t_ref, (J_ref, g_ref) = best_time(lambda: ref.loss_and_grad(x, targets), ref_repeats)
        ref = None  # frees 0.8 GB of spectra at 256 px
        time.sleep(0.3)  # let BLAS's threads, woken by the reference's products, go back to sleep

        results = {}
        for precision in ("float32", "float64"):
            t0 = time.perf_counter()
            with texture.workers() as pool:  # the caller's threads, closed after
                objective = texture.Objective((H, H), targets, bank, precision=precision, executor=pool)
                t_setup = time.perf_counter() - t0
                t, (J, g) = best_time(lambda: objective(x), repeats)
            results[precision] = (t, t_setup, J, g)
        t32, setup32, J32, g32 = results["float32"]
        t64, setup64, J64, g64 = results["float64"]
        ratio = t32 / t_ref
        rows.append([f"{H}x{H}", f"{t32 * 1e3:.1f}", f"{t64 * 1e3:.1f}", f"{t_ref * 1e3:.1f}",
                     f"{ratio:.3f}x", f"{t64 / t_ref:.3f}x",
                     f"<= {TARGET:g}x: {'PASS' if ratio <= TARGET else 'MISS'}",
                     f"{setup32 * 1e3:.0f} / {t_ref_setup * 1e3:.0f}"])
        for precision, J, g, rtol, gtol in (("float64", J64, g64, RTOL_64, GTOL_64),
                                            ("float32", J32, g32, RTOL_32, GTOL_32)):
            dj = abs(J - J_ref) / abs(J_ref)
            dg = rel_grad_diff(g, g_ref)
            ok = dj <= rtol and dg <= gtol
            failed |= not ok
            checks.append([f"{H}x{H} {precision}", "yes" if ok else "NO",
                           f"J {J:.10g} vs {J_ref:.10g} (rel. diff {dj:.1e}, rtol {rtol:g}); "
                           f"max |dg| / max |g| {dg:.1e} (tol {gtol:g})"])

    print(f"one loss-and-gradient step, {bank.n_channels} filters, milliseconds (ratio = dltool / reference)")
    print_table(["image", "dltool f32", "dltool f64", "numpy ref", "ratio f32", "ratio f64", "target",
                 "setup ms dltool / ref"], rows)
    print("(setup: the filters' spectra at that size, computed once per size and cached on the bank; "
          "not in the step times)")
    print()
    print("dltool vs the numpy reference:")
    print_table(["check", "agree", "detail"], checks, left=(0, 2))
    print()
    if args.synthesis:
        synthesis_run()
        print()
    if failed:
        print("RESULT: FAILED: dltool and the numpy reference disagree (see above).")
        return 1
    print("RESULT: dltool and the numpy reference agree (the target is informational).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
