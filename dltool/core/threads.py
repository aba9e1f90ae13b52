"""Row-parallel work for ``nogil`` numba kernels, without numba's ``parallel=True``.

A ``parallel=True`` kernel costs seconds of compilation on a first run and starts numba's thread
pool; a serial ``nogil`` kernel compiles in a fraction of that and runs on plain Python threads
just as well. Each call here makes its own pool and closes it: no state outlives the call. Every
chunk writes only its own rows, so results do not depend on the number of threads.
"""

import contextvars
import os
from concurrent.futures import ThreadPoolExecutor


def thread_count() -> int:
    """Threads to use: ``NUMBA_NUM_THREADS`` if set (numba's own knob), else the usable cores."""
    try:
        wanted = int(os.environ.get("NUMBA_NUM_THREADS", "0"))
    except ValueError:
        wanted = 0
    if wanted > 0:
        return wanted
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_rows(kernel, n: int, *args, min_rows: int = 1, threads: int | None = None) -> list:
    """Call ``kernel(*args, lo, hi)`` over rows 0..n in contiguous chunks, on threads when it pays.

    ``min_rows`` is the smallest chunk worth a thread of its own; below two such chunks the work
    runs in the calling thread. Returns the kernel's results, one per chunk, in row order.
    """
    threads = max(1, min(threads or thread_count(), n // max(min_rows, 1)))
    if threads == 1:
        return [kernel(*args, 0, n)]
    # More chunks than threads evens out rows of uneven cost.
    chunks = min(n, 4 * threads)
    bounds = [n * k // chunks for k in range(chunks + 1)]
    with ThreadPoolExecutor(threads) as pool:
        # Each chunk runs in a copy of the caller's context: numba may compile the kernel on a
        # worker, and its note must reach the caller's sink (dltool.notes).
        futures = [pool.submit(contextvars.copy_context().run, kernel, *args, lo, hi)
                   for lo, hi in zip(bounds[:-1], bounds[1:])]
        return [future.result() for future in futures]
