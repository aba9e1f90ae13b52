"""Axes and their ticks: where values land in pixels, and round numbers to mark them with."""

import math

import numpy as np

PAD = 0.04  # share of the data span added on each side, so no point sits on the frame


def _power_of_ten(m: int, e: int) -> float:
    """``m * 10**e`` correctly rounded (``3 * 0.1`` would give 0.30000000000000004)."""
    return float(m * 10**e) if e >= 0 else m / 10**-e


def nice_ticks(lo: float, hi: float, max_ticks: int = 8) -> np.ndarray:
    """Round tick values inside ``[lo, hi]``: multiples of 1, 2 or 5 times a power of ten.

    Parameters
    ----------
    lo, hi : float
        The axis range (finite; swapped if reversed).
    max_ticks : int
        At most this many ticks (at least 2 are allowed), except where the widest step that
        keeps to it would leave a single tick: then the next finer step is taken, for two or
        more (a single tick tells nothing about the scale).

    Returns
    -------
    ndarray of float
        The ticks, ascending; ``[lo]`` when ``lo == hi``.
    """
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"tick range must be finite, got {lo}, {hi}")
    lo, hi = min(lo, hi), max(lo, hi)
    if hi == lo:
        return np.array([lo])
    return _step_ticks(lo, hi, max(2, int(max_ticks)))[0]


def _step_ticks(lo: float, hi: float, max_ticks: int):
    """The ticks of :func:`nice_ticks` and the exponent of their step (for formatting)."""
    e = math.floor(math.log10((hi - lo) / max_ticks)) - 1  # a step finer than any answer
    finer = None
    while True:
        for m in (1, 2, 5):
            step = _power_of_ten(m, e)
            # A margin of a millionth of a step keeps a tick that lies on an end but was rounded
            # off it (0.3 as 0.30000000000000004).
            first = math.ceil(lo / step - 1e-6)
            last = math.floor(hi / step + 1e-6)
            if last - first + 1 <= max_ticks:
                if last - first + 1 < 2:  # one tick tells no scale: take the finer step after all
                    first, last, m, e = finer
                ticks = np.array([_power_of_ten(k * m, e) for k in range(first, last + 1)])
                return ticks + 0.0, e  # + 0.0 turns -0.0 into 0.0
            finer = (first, last, m, e)
        e += 1


def log_ticks(lo: float, hi: float, max_ticks: int = 10):
    """Ticks for a log axis: powers of ten, with 2 and 5 times them as minor ticks.

    Parameters
    ----------
    lo, hi : float
        The axis range, both positive.
    max_ticks : int
        At most this many major ticks; over it, only every n-th power of ten is major and the
        skipped powers become minor ticks (2 and 5 are then dropped: too dense to help).

    Returns
    -------
    major, minor : ndarray of float
        Ascending tick values inside ``[lo, hi]``.
    """
    lo, hi = float(lo), float(hi)
    if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"log tick range must be positive and finite, got {lo}, {hi}")
    lo, hi = min(lo, hi), max(lo, hi)
    first = math.floor(math.log10(lo)) - 1
    last = math.ceil(math.log10(hi)) + 1
    lo, hi = lo * (1 - 1e-9), hi * (1 + 1e-9)  # keep ticks that land on an end up to rounding
    inside = [k for k in range(first, last + 1) if lo <= float(f"1e{k}") <= hi]
    every = max(1, math.ceil(len(inside) / max(1, max_ticks)))
    major = [float(f"1e{k}") for k in inside if k % every == 0]
    if every > 1:
        minor = [float(f"1e{k}") for k in inside if k % every != 0]
    else:
        minor = [float(f"{m}e{k}") for k in range(first, last + 1) for m in (2, 5)]
        minor = [v for v in minor if lo <= v <= hi]
    return np.array(major), np.array(minor)


def _trim(text: str) -> str:
    """``2.50`` -> ``2.5``, ``2.0`` -> ``2``."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_ticks(values, step_exponent: int) -> list:
    """Labels for linear ticks that are multiples of ``m * 10**step_exponent``.

    Plain decimals with as many places as the step needs; scientific (``2.5e6``, ``3e-5``)
    for values of a million and more, or below a thousandth.
    """
    values = [float(v) for v in values]
    largest = max((abs(v) for v in values), default=0.0)
    if largest >= 1e6 or 0 < largest < 1e-3:
        labels = []
        for v in values:
            if v == 0:
                labels.append("0")
                continue
            exp = math.floor(math.log10(abs(v)) + 1e-9)
            mantissa = v / 10.0**exp
            labels.append(f"{_trim(f'{mantissa:.{max(0, exp - step_exponent)}f}')}e{exp}")
        return labels
    places = max(0, -step_exponent)
    return [f"{v:.{places}f}" for v in values]


def format_log_tick(value: float) -> str:
    """A log-axis label: ``0.01``, ``1``, ``1000``, or ``1e6`` / ``2e-5`` outside 0.01..10000."""
    exp = math.floor(math.log10(value) + 1e-9)
    if -2 <= exp <= 4:
        return f"{value:.{max(0, -exp)}f}"
    return f"{_trim(f'{value / 10.0**exp:.1f}')}e{exp}"


class Axis:
    """Maps data values on one axis to pixel positions.

    Parameters
    ----------
    lo, hi : float
        The data values at the two ends of the axis (positive on a log axis).
    log : bool
        Log scale: equal ratios take equal lengths.
    start, end : float
        The pixel positions of ``lo`` and ``hi`` (``start > end`` for a y axis, which grows
        upwards while pixel rows grow downwards).
    """

    def __init__(self, lo: float, hi: float, log: bool = False, start: float = 0.0, end: float = 1.0):
        self.lo, self.hi, self.log = float(lo), float(hi), bool(log)
        self.start, self.end = float(start), float(end)
        self._t0 = float(self.transform(self.lo))
        self._t1 = float(self.transform(self.hi))
        if not (math.isfinite(self._t0) and math.isfinite(self._t1)) or self._t0 == self._t1:
            raise ValueError(f"axis range {lo}..{hi} is empty or invalid" + (" on a log axis" if log else ""))

    def transform(self, values) -> np.ndarray:
        """Values in the axis's linear space: themselves, or their log10 (NaN where not positive)."""
        values = np.asarray(values, dtype=float)
        if not self.log:
            return values
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(values > 0, np.log10(np.where(values > 0, values, 1.0)), np.nan)

    def from_transformed(self, t) -> np.ndarray:
        """Pixel positions of values already in the axis's linear space."""
        scale = (self.end - self.start) / (self._t1 - self._t0)
        with np.errstate(over="ignore", invalid="ignore"):  # 1e308 far off the axis: inf, dropped later
            return self.start + (np.asarray(t, dtype=float) - self._t0) * scale

    def to_pixel(self, values) -> np.ndarray:
        """Pixel positions of data values; NaN for NaN, or for values that are not positive on a log axis."""
        return self.from_transformed(self.transform(values))


def data_range(chunks, log: bool):
    """The padded axis range covering the finite values in ``chunks`` (linear space values)."""
    finite = [c[np.isfinite(c)] for c in chunks]
    finite = [c for c in finite if c.size]
    if not finite:
        return (1.0, 10.0) if log else (0.0, 1.0)
    # Beyond these, padding or the pixel scale would overflow floats; such values are off the chart.
    bound = 300.0 if log else 1e300
    lo = min(max(min(float(c.min()) for c in finite), -bound), bound)
    hi = max(min(max(float(c.max()) for c in finite), bound), -bound)
    if log:  # chunks hold log10 values here
        if hi == lo:
            lo, hi = lo - math.log10(2), hi + math.log10(2)
        span = hi - lo
        return 10.0 ** max(lo - PAD * span, -307), 10.0 ** min(hi + PAD * span, 307)
    if hi == lo:
        half = abs(lo) * 0.1 if lo != 0 else 1.0
        lo, hi = lo - half, hi + half
    span = hi - lo
    return lo - PAD * span, hi + PAD * span


def auto_ticks(lo, hi, log, max_ticks):
    """``(value, label, major)`` ticks; minor ticks get grid lines and short marks, no label."""
    if log:
        major, minor = log_ticks(lo, hi, max_ticks)
        if len(major) >= 2:
            return [(v, format_log_tick(v), True) for v in major] + [(v, "", False) for v in minor]
        if len(major) + len(minor) >= 3:  # under two decades shown: label the 2s and 5s too
            return [(v, format_log_tick(v), True) for v in sorted(np.concatenate([major, minor]).tolist())]
        # under half a decade: round linear values, spaced logarithmically
    values, exponent = _step_ticks(lo, hi, max(2, int(max_ticks)))
    return [(v, t, True) for v, t in zip(values.tolist(), format_ticks(values, exponent))]
