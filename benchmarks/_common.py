"""Helpers shared by the benchmark scripts: timing, load, plain-text tables."""

import os
import time


def best_time(fn, repeats, warmup=True):
    """Best wall time of ``repeats`` calls (after one warm-up call if ``warmup``); and the last result."""
    result = fn() if warmup else None
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def load_average():
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except (AttributeError, OSError):
        return "n/a"


def fmt_ratio(a, b):
    return "n/a" if a is None or b is None else f"{a / b:.3f}x"


def print_table(header, rows, left=(0,)):
    """Plain-text table; the columns in ``left`` are left-aligned, the others right-aligned."""
    widths = [max(len(str(r[k])) for r in [header] + rows) for k in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" if k in left else f"{{:>{w}}}" for k, w in enumerate(widths))
    print(line.format(*header).rstrip())
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line.format(*r).rstrip())
