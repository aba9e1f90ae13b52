"""Charts drawn with pillow and written as PNG: scatter points, lines, bars and labelled markers.

One small chart type serves all of dltool's pictures: anchor-box scatter plots (box widths
against heights, coloured by cluster, anchors marked), cost curves (train and validation cost
by epoch), per-layer statistics. Usage::

    chart = Chart(title="Cost", x_label="epoch", y_label="cost", y_log=True)
    chart.line(epochs, train_cost, label="train")
    chart.line(epochs, val_cost, label="validation", dashed=True)
    chart.save("cost.png")

Pillow is imported inside the functions that draw, never at module level: importing this
module must stay cheap, because the CLI imports its modules to print ``--help``.

The picture is drawn at twice its size and halved at the end, which smooths lines, dots and
text without a vector back end (matplotlib is not a dependency).
"""

import math
import os
import unicodedata

import numpy as np

from dltool.errors import InputError
from dltool.io.streams import atomic_output

#: Series colours: the Okabe-Ito hues (distinct for colour-blind readers; its black is kept for
#: markers and its yellow moved last, as it is faint on white), then tab10-like extras.
PALETTE = [(0, 114, 178), (213, 94, 0), (0, 158, 115), (230, 159, 0), (204, 121, 167),
           (86, 180, 233), (140, 86, 75), (148, 103, 189), (240, 228, 66), (127, 127, 127),
           (188, 189, 34), (23, 190, 207), (214, 39, 40), (44, 160, 44), (227, 119, 194)]

MARKER_SHAPES = ("x", "+", "o", "s")

BACKGROUND = (255, 255, 255)
TEXT = (34, 34, 34)
AXIS = (68, 68, 68)
GRID = (226, 226, 226)
MINOR_GRID = (243, 243, 243)

PAD = 0.04  # share of the data span added on each side, so no point sits on the frame
SUPERSAMPLE = 2  # drawing scale; 1 when only pillow's fixed-size bitmap font is available
COORD_LIMIT = 1e6  # pixel coordinates beyond this are clipped before pillow sees them


def colour(i: int) -> tuple:
    """The ``i``-th palette colour, cycling when ``i`` passes the end.

    Parameters
    ----------
    i : int
        Any integer (a class or cluster index).

    Returns
    -------
    tuple of int
        ``(r, g, b)``.
    """
    return PALETTE[int(i) % len(PALETTE)]


# --- ticks -------------------------------------------------------------------------------------


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


def _data_range(chunks, log: bool, sticky: bool):
    """The padded axis range covering the finite values in ``chunks`` (linear space values).

    ``sticky``: a bar chart's zero line; padding does not cross it, so bars stand on the frame.
    """
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
    padded_lo, padded_hi = lo - PAD * span, hi + PAD * span
    if sticky:
        if lo >= 0 > padded_lo:
            padded_lo = 0.0
        if hi <= 0 < padded_hi:
            padded_hi = 0.0
    return padded_lo, padded_hi


def _as_array(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim > 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array.reshape(-1)


def _pair(x, y):
    x, y = _as_array(x, "x"), _as_array(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length: {x.size} and {y.size}")
    return x, y


# --- the chart ---------------------------------------------------------------------------------



def require_png(path: str) -> None:
    """Refuse an output name that is not ``.png`` (callers check before doing the work)."""
    if os.path.splitext(path)[1].lower() != ".png":
        raise InputError("a chart is a PNG picture: use a .png output name", path)

class Chart:
    """A chart of scatter points, lines, bars and markers, written as a PNG by :meth:`save`.

    Series are drawn in the order they are added (later ones on top). Axis ranges cover all
    series unless ``x_range`` / ``y_range`` are set. NaN values, and values that are not
    positive on a log axis, are skipped.

    Parameters
    ----------
    title, x_label, y_label : str
        Texts above the plot, below it, and (turned upright) left of it.
    width, height : int
        The picture size in pixels.
    x_log, y_log : bool
        Log scales.
    x_range, y_range : tuple of float, optional
        Fixed axis ranges ``(lo, hi)``; by default the data range plus a small margin.

    Attributes
    ----------
    x_ticks, y_ticks : list of (float, str), optional
        Fixed tick positions and labels (e.g. layer names at 0, 1, 2, ...) in place of the
        automatic ones.
    font_size : int
        Pixel size of tick, legend and marker texts; axis labels and the title are larger.
    plot_box : tuple of float or None
        Set by :meth:`render` and :meth:`save`: ``(left, top, right, bottom)`` of the plot
        area in picture pixels. Data at an axis's ``lo`` lies on its left (bottom) edge.
    """

    def __init__(self, title: str = "", x_label: str = "", y_label: str = "", width: int = 900,
                 height: int = 600, x_log: bool = False, y_log: bool = False, x_range=None, y_range=None):
        if width < 200 or height < 150:
            raise ValueError(f"a chart needs at least 200 x 150 pixels, got {width} x {height}")
        self.title, self.x_label, self.y_label = str(title), str(x_label), str(y_label)
        self.width, self.height = int(width), int(height)
        self.x_log, self.y_log = bool(x_log), bool(y_log)
        self.x_range, self.y_range = x_range, y_range
        self.x_ticks = None
        self.y_ticks = None
        self.font_size = 14
        self.plot_box = None
        self._series = []
        self._colours_used = 0

    def _pick_colour(self, given):
        """The given colour, or the next palette colour (so series differ without being told)."""
        if given is not None:
            return tuple(int(c) for c in given)
        self._colours_used += 1
        return colour(self._colours_used - 1)

    def scatter(self, x, y, colours=None, colour=None, size: float = 2, alpha: int = 160, label=None):
        """Add points drawn as filled dots; hundreds of thousands of them draw in well under a second.

        Parameters
        ----------
        x, y : array_like of float
            The point positions.
        colours : array_like, optional
            Per-point colours: palette indices, shape ``(N,)`` (e.g. cluster ids), or RGB
            values, shape ``(N, 3)``.
        colour : tuple of int, optional
            One colour for all points; the next palette colour by default. With ``colours``,
            the colour of the legend swatch only (by default the first point's).
        size : float
            Dot radius in pixels.
        alpha : int
            Opacity of one dot, 0-255. Where dots overlap their opacity adds up, so dense
            regions look darker; where dots of different colours overlap, the later point's
            colour shows.
        label : str, optional
            Legend text.
        """
        x, y = _pair(x, y)
        per_point = None
        if colours is not None:
            per_point = np.asarray(colours)
            if per_point.shape == (x.size,):
                per_point = np.array(PALETTE, dtype=np.uint8)[per_point.astype(np.int64) % len(PALETTE)]
            elif per_point.shape != (x.size, 3):
                raise ValueError(f"colours must have shape ({x.size},) or ({x.size}, 3), got {per_point.shape}")
            per_point = np.clip(per_point, 0, 255).astype(np.uint8)
        if per_point is not None and colour is None:
            swatch = tuple(int(c) for c in per_point[0]) if len(per_point) else PALETTE[0]
        else:
            swatch = self._pick_colour(colour)
        self._series.append({"kind": "scatter", "x": x, "y": y, "colours": per_point, "colour": swatch,
                             "size": float(size), "alpha": int(np.clip(alpha, 0, 255)), "label": label})

    def line(self, x, y, colour=None, width: float = 2, label=None, dashed: bool = False):
        """Add a line through the points in order; a NaN (or, on a log axis, a value <= 0) breaks it.

        Parameters
        ----------
        x, y : array_like of float
            The vertices.
        colour : tuple of int, optional
            The next palette colour by default.
        width : float
            Line width in pixels.
        label : str, optional
            Legend text.
        dashed : bool
            Dashes instead of a solid line.
        """
        x, y = _pair(x, y)
        self._series.append({"kind": "line", "x": x, "y": y, "colour": self._pick_colour(colour),
                             "width": float(width), "label": label, "dashed": bool(dashed)})

    def bars(self, x, heights, colour=None, width: float = 0.8, label=None):
        """Add vertical bars from zero (from the bottom edge on a log y axis) to ``heights``.

        Parameters
        ----------
        x : array_like of float
            Bar centres.
        heights : array_like of float
            Bar ends; negative bars hang down from zero.
        colour : tuple of int, optional
            The next palette colour by default.
        width : float
            Bar width in x units (in decades on a log x axis). Shift ``x`` by a share of it to
            set groups of bars side by side.
        label : str, optional
            Legend text.
        """
        x, heights = _pair(x, heights)
        self._series.append({"kind": "bars", "x": x, "y": heights, "colour": self._pick_colour(colour),
                             "width": float(width), "label": label})

    def markers(self, x, y, colour=(0, 0, 0), shape: str = "x", size: float = 9, labels=None, label=None):
        """Add markers (e.g. anchor boxes), each optionally with a text beside it.

        Parameters
        ----------
        x, y : array_like of float
            Marker positions.
        colour : tuple of int
            Marker and text colour; a white outline keeps both readable over dense points.
        shape : {"x", "+", "o", "s"}
            Cross, plus, circle or square.
        size : float
            Marker width in pixels.
        labels : list of str, optional
            One text per marker, set beside it where it covers no other text or marker.
        label : str, optional
            Legend text.
        """
        x, y = _pair(x, y)
        if shape not in MARKER_SHAPES:
            raise ValueError(f"unknown marker shape {shape!r}: use one of {', '.join(MARKER_SHAPES)}")
        if labels is not None:
            labels = [str(t) for t in labels]
            if len(labels) != x.size:
                raise ValueError(f"{len(labels)} labels for {x.size} markers")
        self._series.append({"kind": "markers", "x": x, "y": y, "colour": tuple(int(c) for c in colour),
                             "shape": shape, "size": float(size), "labels": labels, "label": label})

    # --- output --------------------------------------------------------------------------------

    def save(self, path: str) -> None:
        """Draw the chart and write it as a PNG, atomically: the file appears whole or not at all.

        Parameters
        ----------
        path : str
            Output file name, ending in ``.png``.

        Raises
        ------
        InputError
            The name does not end in ``.png``, or the file cannot be written there.
        """
        require_png(path)
        image = self.render()
        with atomic_output(path, binary=True) as f:
            image.save(f, format="PNG")

    def render(self):
        """Draw the chart.

        Returns
        -------
        PIL.Image.Image
            An RGB picture of ``width`` x ``height`` pixels.
        """
        from PIL import Image, ImageDraw

        fonts, s = _fonts(self.font_size)
        width, height = self.width * s, self.height * s
        x_lo, x_hi = self._range("x")
        y_lo, y_hi = self._range("y")
        measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))

        # Margins hold what goes beside the plot (tick labels, axis labels, title) plus some air.
        tick_len, gap, edge = 5 * s, 6 * s, 12 * s
        tick_h = _text_height(measure, fonts["tick"])
        label_h = _text_height(measure, fonts["label"])
        # Edges on multiples of the scale keep the frame and grid crisp after downscaling.
        top = _round_up(edge + (_text_height(measure, fonts["title"]) + 2 * gap if self.title else gap), s)
        bottom = s + tick_len + gap + tick_h + (2 * gap + label_h if self.x_label else 0) + edge
        plot_h = (height - top - bottom) // s * s
        if self.y_ticks is not None:
            y_ticks = _fixed_ticks(self.y_ticks, y_lo, y_hi)
        else:
            y_ticks = _auto_ticks(y_lo, y_hi, self.y_log, max(2, plot_h // (50 * s)))
        y_text_w = max((_text_width(measure, t, fonts["tick"]) for _, t, _ in y_ticks if t), default=0)
        left = _round_up(edge + (label_h + 2 * gap if self.y_label else 0) + y_text_w + gap + tick_len + s, s)
        right = 2 * edge
        if self.x_ticks is not None:
            x_ticks = _fixed_ticks(self.x_ticks, x_lo, x_hi)
        else:
            x_ticks = _fitting_ticks(x_lo, x_hi, self.x_log, width - left - right, fonts["tick"], measure, s)
        # The last x tick label is centred on its tick and may stick out past the plot's edge.
        x_text_w = max((_text_width(measure, t, fonts["tick"]) for _, t, _ in x_ticks if t), default=0)
        right = max(right, edge + x_text_w // 2)
        plot_w = (width - left - right) // s * s
        if plot_w < 20 * s or plot_h < 20 * s:
            raise ValueError("the chart is too small for its texts: make it larger or the texts shorter")

        # The plot area is its own picture, so that nothing drawn in it spills over the frame.
        # Pixel centres 0 .. plot_w - 1 span the axis range.
        x_axis = Axis(x_lo, x_hi, self.x_log, 0, plot_w - 1)
        y_axis = Axis(y_lo, y_hi, self.y_log, plot_h - 1, 0)
        plot = Image.new("RGB", (plot_w, plot_h), BACKGROUND)
        pen = ImageDraw.Draw(plot, "RGBA")  # "RGBA": translucent fills blend instead of replacing
        for major in (False, True):  # major grid lines over minor ones
            for value, _, is_major in x_ticks:
                if is_major == major:
                    px = _snap(x_axis.to_pixel(value), s)
                    pen.rectangle([px, 0, px + s - 1, plot_h - 1], fill=GRID if major else MINOR_GRID)
            for value, _, is_major in y_ticks:
                if is_major == major:
                    py = _snap(y_axis.to_pixel(value), s)
                    pen.rectangle([0, py, plot_w - 1, py + s - 1], fill=GRID if major else MINOR_GRID)
        grid_only = np.asarray(plot).copy()

        taken = []  # boxes covered by markers and their texts, which later texts avoid
        for series in self._series:
            if series["kind"] == "scatter":
                _draw_scatter(plot, series, x_axis, y_axis, s)
            elif series["kind"] == "line":
                _draw_line(pen, series, x_axis, y_axis, s)
            elif series["kind"] == "bars":
                _draw_bars(pen, plot.size, series, x_axis, y_axis, s)
            else:
                taken += _draw_markers(pen, plot.size, series, x_axis, y_axis, s)
        for series in self._series:  # texts last, so no later series covers them
            if series["kind"] == "markers" and series["labels"]:
                _draw_marker_texts(pen, plot.size, series, x_axis, y_axis, s, fonts["tick"], taken)
        ink = np.any(np.asarray(plot) != grid_only, axis=2)
        _draw_legend(pen, plot.size, [t for t in self._series if t["label"]], fonts["tick"], ink, s)

        canvas = Image.new("RGB", (width, height), BACKGROUND)
        canvas.paste(plot, (left, top))
        draw = ImageDraw.Draw(canvas)
        right_edge, bottom_edge = left + plot_w, top + plot_h
        draw.rectangle([left - s, top - s, right_edge + s - 1, bottom_edge + s - 1], outline=AXIS, width=s)
        for value, text, major in x_ticks:
            px = left + _snap(x_axis.to_pixel(value), s)
            length = tick_len if major else tick_len // 2
            draw.rectangle([px, bottom_edge + s, px + s - 1, bottom_edge + s + length - 1], fill=AXIS)
            if text:
                _put_text(draw, (px + s / 2, bottom_edge + s + tick_len + gap), text, fonts["tick"], TEXT, "m", "t")
        for value, text, major in y_ticks:
            py = top + _snap(y_axis.to_pixel(value), s)
            length = tick_len if major else tick_len // 2
            draw.rectangle([left - s - length, py, left - s - 1, py + s - 1], fill=AXIS)
            if text:
                _put_text(draw, (left - s - tick_len - gap, py + s / 2), text, fonts["tick"], TEXT, "r", "m")
        if self.x_label:
            text = _fit(draw, self.x_label, fonts["label"], plot_w)
            _put_text(draw, (left + plot_w / 2, height - edge), text, fonts["label"], TEXT, "m", "b")
        if self.y_label:
            _put_upright(canvas, (edge, top + plot_h / 2), _fit(draw, self.y_label, fonts["label"], plot_h),
                         fonts["label"], TEXT)
        if self.title:
            # Centred on the plot, unless that would push a long title off the picture.
            text = _fit(draw, self.title, fonts["title"], width - 2 * edge)
            half = _text_width(draw, text, fonts["title"]) / 2
            centre = min(max(left + plot_w / 2, edge + half), width - edge - half)
            _put_text(draw, (centre, edge), text, fonts["title"], TEXT, "m", "t")

        self.plot_box = (left / s, top / s, right_edge / s, bottom_edge / s)
        # Halving averages 2 x 2 blocks: the anti-aliasing that pillow's drawing lacks.
        return canvas.reduce(s) if s > 1 else canvas

    def _range(self, which: str):
        """``(lo, hi)`` of one axis: the user's, or the data's with a margin."""
        log = self.x_log if which == "x" else self.y_log
        fixed = self.x_range if which == "x" else self.y_range
        if fixed is not None:
            lo, hi = (float(v) for v in fixed)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi) or (log and lo <= 0):
                raise ValueError(f"{which}_range must be two finite, increasing values"
                                 f"{' above 0 on a log axis' if log else ''}, got {fixed}")
            return lo, hi
        x_axis, y_axis = Axis(1, 10, self.x_log), Axis(1, 10, self.y_log)  # for their transforms
        chunks, sticky = [], False
        for series in self._series:
            tx, ty = x_axis.transform(series["x"]), y_axis.transform(series["y"])
            keep = np.isfinite(tx) & np.isfinite(ty)
            if series["kind"] == "bars" and which == "x":
                chunks += [tx[keep] - series["width"] / 2, tx[keep] + series["width"] / 2]
            elif series["kind"] == "bars" and not log and keep.any():
                chunks += [ty[keep], np.zeros(1)]  # bars stand on zero: show it
                sticky = True
            else:
                chunks.append((tx if which == "x" else ty)[keep])
        return _data_range(chunks, log, sticky)


# --- ticks of a chart --------------------------------------------------------------------------


def _fixed_ticks(ticks, lo, hi):
    return [(float(v), str(t), True) for v, t in ticks if lo <= float(v) <= hi]


def _auto_ticks(lo, hi, log, max_ticks):
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


def _fitting_ticks(lo, hi, log, length, font, measure, s):
    """As many x ticks as fit ``length`` pixels with room between their labels."""
    for count in range(max(2, length // (60 * s)), 2, -1):
        ticks = _auto_ticks(lo, hi, log, count)
        widths = [_text_width(measure, t, font) for _, t, _ in ticks if t]
        if sum(widths) + 20 * s * len(widths) <= length:
            return ticks
    return _auto_ticks(lo, hi, log, 2)


# --- drawing helpers (PIL objects are passed in: this module imports no PIL at load time) ----


def _fonts(size: int):
    """Fonts for ticks, axis labels and the title, and the drawing scale they allow.

    Pillow >= 10.1 with FreeType has a scalable built-in font; without it only a small bitmap
    font exists, which cannot be drawn larger, so the chart is then drawn at its own size.
    """
    from PIL import ImageFont

    s = SUPERSAMPLE
    try:
        tick = ImageFont.load_default(size=size * s)
    except (TypeError, OSError, ImportError):  # pillow < 10.1 takes no size
        tick = None
    if not isinstance(tick, ImageFont.FreeTypeFont):
        bitmap = ImageFont.load_default()
        return {"tick": bitmap, "label": bitmap, "title": bitmap}, 1
    return {"tick": tick, "label": ImageFont.load_default(size=round(size * 1.1) * s),
            "title": ImageFont.load_default(size=round(size * 1.3) * s)}, s


# Stand-ins for characters that pillow's small built-in font lacks (it has no "×", no "é"):
# readable ASCII beats the empty box the font would draw instead.
STAND_INS = {"×": "x", "−": "-", "–": "-", "—": "-", "µ": "u", "μ": "u", "²": "^2", "³": "^3",
             "≤": "<=", "≥": ">=", "→": "->", "←": "<-", "≈": "~", "σ": "sigma", "α": "alpha"}


def _drawable(text: str, font) -> str:
    """``text`` with each character the font cannot draw replaced by a stand-in.

    A missing character is one the font renders exactly like a code point that no font has,
    or, in pillow's Latin-1 bitmap font, one it cannot even encode.
    """
    if text.isascii():
        return text

    def looks(char):
        try:
            mask = font.getmask(char)
        except UnicodeEncodeError:
            return None
        return mask.size, bytes(mask)

    nowhere = looks("\U0010FFFF")
    out = []
    for char in text:
        if char.isascii() or looks(char) not in (None, nowhere):
            out.append(char)
            continue
        base = unicodedata.normalize("NFKD", char)[:1]  # "é" -> "e"
        out.append(STAND_INS.get(char, base if base.isascii() and base.isprintable() else "?"))
    return "".join(out)


def _round_up(n: int, s: int) -> int:
    return -(-n // s) * s


def _snap(position, s: int) -> int:
    """The first canvas pixel of the ``s``-wide band that becomes the picture pixel at ``position``.

    A grid line or tick drawn on that band covers exactly one picture pixel after downscaling:
    crisp, and on the pixel where a data point at the same value lands.
    """
    return int(round(float(position))) // s * s


def _text_width(draw, text, font) -> int:
    text = _drawable(text, font)
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    return right - left


def _fit(draw, text, font, width) -> str:
    """``text``, cut short with "..." where it is wider than ``width`` pixels."""
    text = _drawable(text, font)
    if _text_width(draw, text, font) <= width:
        return text
    lo, hi = 0, len(text)  # the longest prefix that fits with its "..."
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _text_width(draw, text[:mid].rstrip() + "...", font) <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "..."


def _text_height(draw, font) -> int:
    _, top, _, bottom = draw.textbbox((0, 0), "Hg0", font=font)
    return bottom - top


def _text_box(draw, xy, text, font, h="l", v="t"):
    """Where to draw ``text`` so that it is placed at ``xy`` by ``h`` (l/m/r) and ``v`` (t/m/b).

    Returns the drawing origin and the box the text covers. Vertical placement uses the digits'
    top and baseline rather than the text's own box, so that labels in a row line up whatever
    letters they hold.
    """
    text = _drawable(text, font)
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    _, top, _, base = draw.textbbox((0, 0), "0", font=font)
    x = xy[0] - left - (right - left) * {"l": 0.0, "m": 0.5, "r": 1.0}[h]
    y = xy[1] - top - (base - top) * {"t": 0.0, "m": 0.5, "b": 1.0}[v]
    box = draw.textbbox((x, y), text, font=font)
    return (x, y), box


def _put_text(draw, xy, text, font, fill, h="l", v="t", halo=0):
    origin, box = _text_box(draw, xy, text, font, h, v)
    text = _drawable(text, font)
    if halo:
        draw.text(origin, text, font=font, fill=fill, stroke_width=halo, stroke_fill=BACKGROUND)
    else:
        draw.text(origin, text, font=font, fill=fill)
    return box


def _put_upright(canvas, xy, text, font, fill):
    """Text turned to read upwards, its left side at ``xy[0]``, centred on ``xy[1]``."""
    from PIL import Image, ImageDraw

    text = _drawable(text, font)
    probe = ImageDraw.Draw(canvas)
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font)
    stamp = Image.new("L", (right - left + 2, bottom - top + 2), 0)
    ImageDraw.Draw(stamp).text((1 - left, 1 - top), text, font=font, fill=255)
    stamp = stamp.transpose(Image.Transpose.ROTATE_90)
    x, y = int(xy[0]), int(round(xy[1] - stamp.height / 2))
    canvas.paste(fill, (x, y, x + stamp.width, y + stamp.height), stamp)


def _draw_scatter(plot, series, x_axis, y_axis, s):
    """Dots rasterized with numpy and blended in one step, not one pillow call per point.

    Points are rounded to pixel centres. For each centre only the last point there (drawn on
    top) and the number of points matter; then each offset of the dot's disc stamps every
    centre at once, and since a shift maps distinct centres to distinct pixels, plain indexed
    assignment is exact (no repeated indices).
    """
    from PIL import Image

    w, h = plot.size
    radius = max(0.5, series["size"] * s)
    reach = int(math.ceil(radius))
    px, py = x_axis.to_pixel(series["x"]), y_axis.to_pixel(series["y"])
    with np.errstate(invalid="ignore"):
        keep = (np.isfinite(px) & np.isfinite(py) & (px > -reach - 1) & (px < w + reach)
                & (py > -reach - 1) & (py < h + reach))
    index = np.flatnonzero(keep)
    if index.size == 0:
        return
    cx, cy = np.rint(px[index]).astype(np.int64), np.rint(py[index]).astype(np.int64)
    key = (cy + reach + 1) * (w + 2 * reach + 3) + (cx + reach + 1)
    # np.unique's index is of the first occurrence: search the reversed order for the last point.
    _, first_reversed, counts = np.unique(key[::-1], return_index=True, return_counts=True)
    at = index.size - 1 - first_reversed
    cx, cy, top_point = cx[at], cy[at], index[at]

    winner = np.full(w * h, -1, dtype=np.int64)  # the index of the point on top at each pixel
    hits = np.zeros(w * h, dtype=np.int64)  # how many points cover each pixel
    span = np.arange(-reach, reach + 1)
    for dy in span:
        for dx in span:
            if dx * dx + dy * dy > radius * radius + radius:  # a disc, rounded generously
                continue
            x, y = cx + dx, cy + dy
            inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
            flat = y[inside] * w + x[inside]
            winner[flat] = np.maximum(winner[flat], top_point[inside])
            hits[flat] += counts[inside]
    painted = np.flatnonzero(winner >= 0)
    rgb = np.zeros((w * h, 3), dtype=np.uint8)
    if series["colours"] is not None:
        rgb[painted] = series["colours"][winner[painted]]
    else:
        rgb[painted] = series["colour"]
    # n dots of opacity a, laid one over another, are as opaque as one of 1 - (1 - a)^n.
    mask = np.zeros(w * h, dtype=np.uint8)
    mask[painted] = np.rint(255.0 * (1.0 - (1.0 - series["alpha"] / 255.0) ** hits[painted]))
    plot.paste(Image.fromarray(rgb.reshape(h, w, 3), "RGB"), (0, 0), Image.fromarray(mask.reshape(h, w), "L"))


def _runs(keep):
    """``(start, stop)`` of each stretch of True values."""
    edges = np.diff(np.concatenate([[0], keep.astype(np.int8), [0]]))
    return zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist())


def _clip_segments(points, limit):
    """The segments of a polyline clipped to the square ``[-limit, limit]^2`` (Liang-Barsky).

    Pillow cannot draw coordinates of 1e300 (a value far outside a user's fixed range); moving
    such vertices to the border one coordinate at a time would bend the line, clipping does not.
    """
    start, delta = points[:-1], np.diff(points, axis=0)
    t0, t1 = np.zeros(len(start)), np.ones(len(start))
    dropped = np.zeros(len(start), dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for axis in (0, 1):
            for sign in (-1.0, 1.0):
                p, q = sign * delta[:, axis], limit - sign * start[:, axis]
                t = q / p
                t1 = np.where(p > 0, np.minimum(t1, t), t1)
                t0 = np.where(p < 0, np.maximum(t0, t), t0)
                dropped |= (p == 0) & (q < 0)
    keep = ~dropped & (t0 <= t1)
    a = start[keep] + t0[keep, None] * delta[keep]
    b = start[keep] + t1[keep, None] * delta[keep]
    return [np.array([p, q]) for p, q in zip(a, b)]


def _dashes(points, on, off):
    """The pieces of a polyline that a dash pattern of ``on`` and ``off`` pixels leaves drawn."""
    lengths = np.hypot(*np.diff(points, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(lengths)])
    pieces, start = [], 0.0
    while start < along[-1]:
        end = min(start + on, along[-1])
        inner = points[np.searchsorted(along, start, "right"):np.searchsorted(along, end, "left")]
        head = [np.interp(start, along, points[:, 0]), np.interp(start, along, points[:, 1])]
        tail = [np.interp(end, along, points[:, 0]), np.interp(end, along, points[:, 1])]
        pieces.append(np.vstack([head, inner, tail]))
        start += on + off
    return pieces


def _draw_line(pen, series, x_axis, y_axis, s):
    px, py = x_axis.to_pixel(series["x"]), y_axis.to_pixel(series["y"])
    width = max(1, round(series["width"] * s))
    fill = series["colour"]
    for start, stop in _runs(np.isfinite(px) & np.isfinite(py)):
        points = np.column_stack([px[start:stop], py[start:stop]])
        if len(points) == 1:  # a lone point would vanish as a line: draw a dot
            r = max(width, 2 * s)
            pen.ellipse([points[0, 0] - r, points[0, 1] - r, points[0, 0] + r, points[0, 1] + r], fill=fill)
            continue
        pieces = [points] if np.abs(points).max() < COORD_LIMIT else _clip_segments(points, COORD_LIMIT)
        if series["dashed"]:
            pieces = [d for piece in pieces for d in _dashes(piece, 4.0 * width + 4 * s, 2.5 * width + 2 * s)]
        for piece in pieces:
            pen.line(piece.ravel().tolist(), fill=fill, width=width, joint="curve")


def _draw_bars(pen, size, series, x_axis, y_axis, s):
    w, h = size
    tx, heights = x_axis.transform(series["x"]), series["y"]
    py = y_axis.to_pixel(heights)
    base = h + s if y_axis.log else float(y_axis.to_pixel(0.0))
    keep = np.isfinite(tx) & np.isfinite(py)
    left = x_axis.from_transformed(tx[keep] - series["width"] / 2)
    right = x_axis.from_transformed(tx[keep] + series["width"] / 2)
    for x0, x1, y in zip(left.tolist(), right.tolist(), py[keep].tolist()):
        x0, x1 = np.clip([x0, x1], -4 * s, w + 4 * s)
        y0, y1 = np.clip(sorted([y, base]), -4 * s, h + 4 * s)
        pen.rectangle([x0, y0, max(x0, x1 - 1), max(y0, y1)], fill=series["colour"])


def _marker(pen, cx, cy, shape, half, fill, width, halo):
    """One marker; with ``halo``, a wider white copy goes under it to lift it off busy backgrounds."""
    layers = [(BACKGROUND + (220,), width + 2 * halo, half + halo), (fill, width, half)] if halo else \
        [(fill, width, half)]
    for ink, line_width, reach in layers:
        if shape == "x":
            pen.line([cx - reach, cy - reach, cx + reach, cy + reach], fill=ink, width=line_width)
            pen.line([cx - reach, cy + reach, cx + reach, cy - reach], fill=ink, width=line_width)
        elif shape == "+":
            pen.line([cx - reach, cy, cx + reach, cy], fill=ink, width=line_width)
            pen.line([cx, cy - reach, cx, cy + reach], fill=ink, width=line_width)
        elif shape == "o":
            pen.ellipse([cx - reach, cy - reach, cx + reach, cy + reach], outline=ink, width=line_width)
        else:
            pen.rectangle([cx - reach, cy - reach, cx + reach, cy + reach], outline=ink, width=line_width)


def _draw_markers(pen, size, series, x_axis, y_axis, s):
    """Markers; returns the boxes they cover."""
    w, h = size
    px, py = x_axis.to_pixel(series["x"]), y_axis.to_pixel(series["y"])
    half = series["size"] * s / 2
    boxes = []
    for cx, cy in zip(px.tolist(), py.tolist()):
        if not (math.isfinite(cx) and math.isfinite(cy)) or not (-half <= cx <= w + half and -half <= cy <= h + half):
            continue
        _marker(pen, cx, cy, series["shape"], half, series["colour"], 2 * s, s)
        boxes.append((cx - half, cy - half, cx + half, cy + half))
    return boxes


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _draw_marker_texts(pen, size, series, x_axis, y_axis, s, font, taken):
    """Each marker's text in the first spot beside it that is inside the plot and free."""
    w, h = size
    px, py = x_axis.to_pixel(series["x"]), y_axis.to_pixel(series["y"])
    d = series["size"] * s / 2 + 3 * s
    for cx, cy, text in zip(px.tolist(), py.tolist(), series["labels"]):
        if not text or not (math.isfinite(cx) and math.isfinite(cy)) or not (0 <= cx < w and 0 <= cy < h):
            continue
        spots = [((cx + d, cy - d), "l", "b"), ((cx + d, cy + d), "l", "t"), ((cx - d, cy - d), "r", "b"),
                 ((cx - d, cy + d), "r", "t"), ((cx, cy - d - s), "m", "b"), ((cx, cy + d + s), "m", "t"),
                 ((cx + d + s, cy), "l", "m"), ((cx - d - s, cy), "r", "m")]
        best = None
        for xy, hor, ver in spots:
            _, box = _text_box(pen, xy, text, font, hor, ver)
            box = (box[0] - s, box[1] - s, box[2] + s, box[3] + s)  # the halo's width
            inside = box[0] >= 0 and box[1] >= 0 and box[2] <= w and box[3] <= h
            clashes = sum(_overlap(box, other) for other in taken)
            score = (not inside, clashes)
            if best is None or score < best[0]:
                best = (score, xy, hor, ver, box)
            if score == (False, 0):
                break
        _, xy, hor, ver, box = best
        _put_text(pen, xy, text, font, series["colour"], hor, ver, halo=2 * s)
        taken.append(box)


def _draw_legend(pen, size, entries, font, ink, s):
    """A legend box in the plot corner that hides the least drawn data."""
    if not entries:
        return
    w, h = size
    pad, swatch, gap, inset = 8 * s, 26 * s, 8 * s, 10 * s
    row = max(_text_height(pen, font), 12 * s) + 6 * s
    texts = [_fit(pen, str(t["label"]), font, w - 2 * inset - 2 * pad - swatch - gap) for t in entries]
    box_w = pad + swatch + gap + max(_text_width(pen, t, font) for t in texts) + pad
    box_h = 2 * pad + row * len(entries) - 6 * s
    corners = [(w - inset - box_w, inset), (inset, inset), (w - inset - box_w, h - inset - box_h),
               (inset, h - inset - box_h)]
    covered = [ink[max(0, y):max(0, y + box_h), max(0, x):max(0, x + box_w)].sum() for x, y in corners]
    x0, y0 = corners[int(np.argmin(covered))]  # argmin: the first corner wins a tie
    pen.rectangle([x0, y0, x0 + box_w, y0 + box_h], fill=BACKGROUND + (235,), outline=(200, 200, 200), width=s)
    for i, (entry, text) in enumerate(zip(entries, texts)):
        cy = y0 + pad + i * row + (row - 6 * s) / 2
        sx = x0 + pad
        fill = entry["colour"]
        if entry["kind"] == "line":
            width = max(1, round(entry["width"] * s))
            if entry["dashed"]:
                pen.line([sx, cy, sx + swatch * 0.4, cy], fill=fill, width=width)
                pen.line([sx + swatch * 0.6, cy, sx + swatch, cy], fill=fill, width=width)
            else:
                pen.line([sx, cy, sx + swatch, cy], fill=fill, width=width)
        elif entry["kind"] == "scatter":
            r = max(entry["size"], 3) * s
            pen.ellipse([sx + swatch / 2 - r, cy - r, sx + swatch / 2 + r, cy + r], fill=fill)
        elif entry["kind"] == "bars":
            pen.rectangle([sx + 4 * s, cy - 5 * s, sx + swatch - 4 * s, cy + 5 * s], fill=fill)
        else:
            _marker(pen, sx + swatch / 2, cy, entry["shape"], min(entry["size"], 12) * s / 2, fill, 2 * s, 0)
        _put_text(pen, (sx + swatch + gap, cy), text, font, TEXT, "l", "m")
