"""Benchmark dltool's gradient check of an MLP against the course's loop over coordinates, in one process.

Run from the repository root (after ``pip install -e .``, or without installing: the script puts
the repository root on ``sys.path`` itself)::

    python benchmarks/bench_gradcheck.py           # ~10,000-parameter networks, about 30-40 s on 2 cores
    python benchmarks/bench_gradcheck.py --quick   # ~2,000-parameter networks, fewer repeats (~10 s)

What it measures
----------------
Two network shapes with about 10,000 parameters each, each with tanh and with ReLU hidden units,
a sigmoid output and m = 64 examples (``dltool.core.gradcheck.random_network(sizes, activation,
64, seed=0)``: X ~ N(0, 1), random 0/1 labels, W[l] ~ N(0, 1/n[l-1]), b[l] ~ N(0, 0.1), no L2):

- wide, 100,80,20,1: 9,721 parameters, 3 layers (``--quick``: 40,40,10,1, 2,061 parameters);
- deep, 50,64,64,40,1: 10,065 parameters, 4 layers (``--quick``: 20,30,30,20,1, 2,201).

The same parameter count in a deeper network costs dltool more: its numba kernel perturbs one
coordinate of W[l], recomputes one row of Z[l] and a rank-1 update of Z[l+1] from the cached
unperturbed pass, then runs the layers after l+1 in full. A first-layer weight of the wide net
leaves only the 20x1 last layer to recompute; in the deep net it leaves 64x40 and 40x1. The
course's loop runs the whole forward pass for every coordinate whatever the depth.

Per network, the whole check is timed on both sides, analytic gradient included:

- the course's ``gradient_check_n`` (C2W1), written out below as the course writes it:
  ``dictionary_to_vector``; for i in range(num_parameters): ``theta_plus = np.copy(...)``,
  ``theta_plus[i] += epsilon``, ``J_plus[i] = forward_propagation_n(X, Y,
  vector_to_dictionary(theta_plus))``, the same for minus, ``gradapprox[i] = (J_plus[i] -
  J_minus[i]) / (2 epsilon)``; then ``difference = ||grad - gradapprox|| / (||grad|| +
  ||gradapprox||)``. ``forward_propagation_n`` is the numpy forward pass of the L-layer network
  (same hidden activation, sigmoid output, mean cross-entropy computed stably from Z[L] as
  ``dltool.core.mlp`` does); the analytic gradient ``grad`` comes from
  ``dltool.core.mlp.cost_and_grads`` (the course's ``backward_propagation_n``), epsilon = 1e-7;
- dltool ``check_network(net)``: every coordinate (the numba path; ``coordinates x examples x
  units`` is far above ``gradcheck.NUMBA_MIN_WORK``), epsilon = 1e-7;
- informative extra rows: dltool's numba kernel alone (``gradcheck._numeric_numba`` on every
  coordinate: the numerical part without the analytic gradient and the report), and
  ``check_network(net, sample=20)`` (20 random coordinates per block) and ``check_network(net,
  fast=8)`` (8 random directions per block), which check far fewer numbers and so are not the
  acceptance figure.

Correctness check, per network: dltool's numerical gradient (the kernel's vector, every
coordinate, in the same W1, b1, W2, ... row-major order as the course's vector) must equal the
course's ``gradapprox`` up to rounding: relative difference ||a - b|| / (||a|| + ||b||) at most
1e-6 and largest element difference at most 1e-6 (rounding gives about 1e-7 and 5e-9; a wrong
coordinate or layer gives order 1); and the overall relative differences against the analytic
gradient (dltool's ``Report.rel_diff`` and the course's ``difference``) must both be below 1e-6,
what a correct gradient gives. Both differences are rounding noise of the two-sided difference
(about ulp(J) / epsilon per coordinate; the epsilon^2 truncation term is near 1e-14), so they are
not expected to be equal: their gap and each side's verdict band (``gradcheck.verdict``: ok below
1e-7, check from 1e-7) are shown, and a note is printed when dltool lands in a worse band than the
course's loop on the same network, but neither fails the run.

Reading the output
------------------
Times are in seconds: dltool's are the best of several runs after one warm-up run, the course's
loop (seconds per run) the best of fewer runs (see the header line). ``vs course`` is ``time / the
course's whole-check time`` on the same network: 0.05x is 20 times faster. The acceptance figure
is dltool's ``check_network`` on every coordinate against the course's loop: target at most 0.05x
(at least 20x faster), reported as PASS/MISS, not asserted (timings depend on the machine).
Note that dltool's kernel runs on numba's threads (all usable CPUs, printed in the header), while
the course's loop is Python with small numpy matrix products (numpy's BLAS may use its threads
for them; the pools are printed).

dltool's very first call imports numba and loads its cached kernel (compiling it on the very first
run after install, or with an empty ``NUMBA_CACHE_DIR``); that cost is shown separately and is not
in the table.

Exit status: 0, or 1 if dltool's and the course's numerical gradients disagree (or either overall
relative difference is not below 1e-6), which is correctness, not speed. The machine's load
average is printed at the start and the end: on a small, shared machine the timings vary by tens
of per cent from run to run.
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from _common import best_time, load_average, print_table  # noqa: E402

import numpy as np  # noqa: E402

from dltool.core import gradcheck, mlp  # noqa: E402
from dltool.core.gradcheck import check_network, flatten, random_network  # noqa: E402

SHAPES = {"wide": [100, 80, 20, 1], "deep": [50, 64, 64, 40, 1]}
SHAPES_QUICK = {"wide": [40, 40, 10, 1], "deep": [20, 30, 30, 20, 1]}
ACTIVATIONS = ("tanh", "relu")
EXAMPLES = 64
SEED = 0
EPSILON = 1e-7
SAMPLE = 20
FAST = 8
TARGET = 0.05  # dltool check_network time / the course's loop time
AGREE_TOL = 1e-6  # dltool's vs the course's numerical gradient: relative and element-wise
REL_MAX = 1e-6  # each overall relative difference against the analytic gradient


# ---------------------------------------------------------------- the course's gradient_check_n


def dictionary_to_vector(parameters, keys):
    """The course's: every parameter reshaped to a column, concatenated (W1, b1, W2, ...)."""
    count = 0
    for key in keys:
        new_vector = np.reshape(parameters[key], (-1, 1))
        if count == 0:
            theta = new_vector
        else:
            theta = np.concatenate((theta, new_vector), axis=0)
        count = count + 1
    return theta, keys


def vector_to_dictionary(theta, shapes):
    """The course's: slice the column back into the named arrays."""
    parameters = {}
    start = 0
    for key, shape in shapes:
        size = int(np.prod(shape))
        parameters[key] = theta[start:start + size].reshape(shape)
        start += size
    return parameters


def gradients_to_vector(gradients, keys):
    """The course's: dW1, db1, ... reshaped to a column, concatenated."""
    count = 0
    for key in keys:
        new_vector = np.reshape(gradients["d" + key], (-1, 1))
        if count == 0:
            theta = new_vector
        else:
            theta = np.concatenate((theta, new_vector), axis=0)
        count = count + 1
    return theta


def forward_propagation_n(X, Y, parameters, activation):
    """The L-layer forward pass and cost: hidden ``activation``, sigmoid output, mean
    cross-entropy (computed from Z[L] as log(1 + e^-|z|) + max(z, 0) - y z, which is
    -y log(a) - (1 - y) log(1 - a) without log(0))."""
    L = len(parameters) // 2
    m = X.shape[1]
    A = X
    for l in range(1, L):
        Z = np.dot(parameters["W" + str(l)], A) + parameters["b" + str(l)]
        A = np.maximum(0, Z) if activation == "relu" else np.tanh(Z)
    ZL = np.dot(parameters["W" + str(L)], A) + parameters["b" + str(L)]
    logprobs = np.logaddexp(0.0, -np.abs(ZL)) + np.maximum(ZL, 0.0) - Y * ZL
    cost = 1. / m * np.sum(logprobs)
    return cost


def gradient_check_n(parameters, gradients, X, Y, activation, epsilon=1e-7):
    """The course's loop over coordinates. Returns (difference, gradapprox as a flat vector)."""
    keys = mlp.param_names(len(parameters) // 2)
    shapes = [(key, parameters[key].shape) for key in keys]
    parameters_values, _ = dictionary_to_vector(parameters, keys)
    grad = gradients_to_vector(gradients, keys)
    num_parameters = parameters_values.shape[0]
    J_plus = np.zeros((num_parameters, 1))
    J_minus = np.zeros((num_parameters, 1))
    gradapprox = np.zeros((num_parameters, 1))

    for i in range(num_parameters):
        theta_plus = np.copy(parameters_values)
        theta_plus[i] = theta_plus[i] + epsilon
        J_plus[i] = forward_propagation_n(X, Y, vector_to_dictionary(theta_plus, shapes), activation)

        theta_minus = np.copy(parameters_values)
        theta_minus[i] = theta_minus[i] - epsilon
        J_minus[i] = forward_propagation_n(X, Y, vector_to_dictionary(theta_minus, shapes), activation)

        gradapprox[i] = (J_plus[i] - J_minus[i]) / (2 * epsilon)

    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    difference = numerator / denominator
    return float(difference), gradapprox.ravel()


def course_check(net, epsilon=EPSILON):
    """The whole check as the course runs it: backward pass, then gradient_check_n."""
    _, gradients = mlp.cost_and_grads(net.params, net.X, net.Y, net.activation, net.l2)
    return gradient_check_n(net.params, gradients, net.X, net.Y, net.activation, epsilon)


def dltool_numeric(net, epsilon=EPSILON):
    """dltool's numerical gradient on every coordinate: the kernel check_network runs."""
    theta, layout = flatten(net.params, net.names)
    sizes = mlp.layer_sizes(net.params)
    coords = np.arange(len(theta), dtype=np.int64)
    return gradcheck._numeric_numba(net, theta, layout, sizes, coords, epsilon)


# ---------------------------------------------------------------- timing and report


def fmt_s(seconds):
    return f"{seconds:.4f}" if seconds < 1 else f"{seconds:.3f}"


def thread_info():
    """numpy's BLAS pools (threadpoolctl's view), else the environment."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        env = {v: os.environ.get(v, "unset") for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                      "MKL_NUM_THREADS")}
        return "threadpoolctl not installed; " + ", ".join(f"{k}={v}" for k, v in env.items())
    pools = [f"{p.get('internal_api', '?')} {p.get('num_threads', '?')}" for p in threadpool_info()
             if p.get("user_api") == "blas"]
    return ", ".join(dict.fromkeys(pools)) if pools else "no BLAS pool reported"


def n_params(sizes):
    return sum(sizes[l] * sizes[l - 1] + sizes[l] for l in range(1, len(sizes)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="~2,000-parameter networks and fewer repeats (noisier timings)")
    args = parser.parse_args(argv)
    shapes = SHAPES_QUICK if args.quick else SHAPES
    repeats = 3 if args.quick else 5  # dltool: best of these, after a warm-up run
    slow_repeats = 1  # the course's loop: seconds per run, no warm-up (it changes nothing here)

    print("dltool gradient check benchmark" + (" (--quick)" if args.quick else ""))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"python {platform.python_version()}, numpy {np.__version__}, CPUs: {os.cpu_count()} "
          f"(usable by this process: {cpus}), load average {load_average()}")
    print(f"timing: dltool best of {repeats} runs after one warm-up; the course's loop "
          f"{slow_repeats} run; time.perf_counter; epsilon {EPSILON:g}, m = {EXAMPLES} examples, "
          f"seed {SEED}")
    print()

    nets = {(shape, act): random_network(sizes, act, EXAMPLES, SEED)
            for shape, sizes in shapes.items() for act in ACTIVATIONS}

    # ---------------------------------------------------------------- first call
    # Imports numba and loads the kernel from numba's on-disk cache (or compiles it, on the first
    # run after install): a one-off cost per process, shown apart. One compiled kernel serves
    # every activation and depth (both are run-time arguments).
    first_net = nets[(next(iter(shapes)), ACTIVATIONS[0])]
    t0 = time.perf_counter()
    check_network(first_net)
    first = time.perf_counter() - t0
    t_again, _ = best_time(lambda: check_network(first_net), 1, warmup=False)
    import numba  # already imported by dltool's kernel at this point

    print("dltool first call (numba import + kernel load/compile, excluded from the table):")
    print(f"  check_network on the {next(iter(shapes))} {ACTIVATIONS[0]} network: {first * 1e3:.0f} ms, "
          f"of which the check itself about {t_again * 1e3:.0f} ms (the same call again)")
    print(f"threads: numba {numba.get_num_threads()} (dltool's kernel, one coordinate per thread at a "
          f"time); numpy BLAS (the course's matrix products; threadpoolctl): {thread_info()}")
    print()

    rows, checks, notes = [], [], []
    failed = False
    for (shape, act), net in nets.items():
        sizes = shapes[shape]
        label = f"{shape} {','.join(map(str, sizes))} {act}"
        n = n_params(sizes)

        t_course, (diff_course, gradapprox) = best_time(lambda: course_check(net), slow_repeats,
                                                        warmup=False)
        t_dl, report = best_time(lambda: check_network(net), repeats)
        t_kernel, numeric = best_time(lambda: dltool_numeric(net), repeats)
        t_sample, rep_sample = best_time(lambda: check_network(net, sample=SAMPLE), repeats)
        t_fast, rep_fast = best_time(lambda: check_network(net, fast=FAST), repeats)

        ratio = t_dl / t_course
        rows.append([label, "course gradient_check_n (loop)", f"{n:,}", fmt_s(t_course), "1.000x", "-"])
        rows.append(["", "dltool check_network", f"{report.checked:,}", fmt_s(t_dl), f"{ratio:.3f}x",
                     f"<= {TARGET:g}x ({t_course / t_dl:.0f}x faster): {'PASS' if ratio <= TARGET else 'MISS'}"])
        rows.append(["", "dltool numba kernel alone", f"{len(numeric):,}", fmt_s(t_kernel),
                     f"{t_kernel / t_course:.3f}x", "-"])
        rows.append(["", f"dltool check_network sample={SAMPLE}", f"{rep_sample.checked:,}", fmt_s(t_sample),
                     f"{t_sample / t_course:.4f}x", "-"])
        rows.append(["", f"dltool check_network fast={FAST}", f"{rep_fast.checked:,} dirs", fmt_s(t_fast),
                     f"{t_fast / t_course:.4f}x", "-"])

        # dltool's numerical gradient against the course's, then both overall differences.
        same_len = numeric.shape == gradapprox.shape
        agree = gradcheck.relative_difference(numeric, gradapprox) if same_len else float("inf")
        max_abs = float(np.max(np.abs(numeric - gradapprox))) if same_len else float("inf")
        ok = (agree <= AGREE_TOL and max_abs <= AGREE_TOL and report.rel_diff < REL_MAX
              and diff_course < REL_MAX and report.checked == n)
        failed |= not ok
        v_dl, v_course = report.verdict, gradcheck.verdict(diff_course)
        checks.append([label, f"{agree:.1e}", f"{max_abs:.1e}", f"{report.rel_diff:.2e} {v_dl}",
                       f"{diff_course:.2e} {v_course}", f"{abs(report.rel_diff - diff_course):.1e}",
                       "yes" if ok else "NO"])
        if list(gradcheck.VERDICTS).index(v_dl) > list(gradcheck.VERDICTS).index(v_course):
            notes.append(f"{label}: dltool's overall relative difference {report.rel_diff:.2e} is in the "
                         f"'{v_dl}' band, the course loop's {diff_course:.2e} in '{v_course}' (same network, "
                         "same epsilon: dltool's numerical gradient carries more rounding noise)")

    print(f"gradient check of every coordinate, m = {EXAMPLES} examples (vs course = time / the course "
          "loop's time on the same network; below 1x is faster)")
    print_table(["network", "method", "checked", "time s", "vs course", "target"], rows, left=(0, 1))
    print("(the course row and the dltool check_network row time the whole check, analytic gradient "
          "included; sample/fast rows check far fewer numbers and are informative only)")
    print()

    print(f"dltool's numerical gradient vs the course's gradapprox (agree: relative difference and largest "
          f"element difference <= {AGREE_TOL:g}, and the overall rel. diff. vs the analytic gradient < "
          f"{REL_MAX:g} on both sides)")
    print_table(["network", "num. rel diff", "max |diff|", "dltool rel_diff", "course difference", "|gap|",
                 "agree"], checks)
    for note in notes:
        print(f"note: {note}")
    print()
    print(f"load average at the end: {load_average()}")

    if failed:
        print("RESULT: FAILED: dltool's and the course's numerical gradients disagree (see above).")
        return 1
    print("RESULT: dltool's and the course's numerical gradients agree (the target is informational).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
