"""The chart: series of points, lines and markers on linear or log axes, written as a PNG;
with the placement of marker texts (beside each marker, where they cover nothing) and of the
legend (in the corner that hides the least data).

The picture is drawn at twice its size and halved at the end, which smooths lines, dots and text
without a vector back end (matplotlib is not a dependency). Pillow is imported when a chart is
drawn, never at module level.
"""

import math
import os

import numpy as np

from dltool.errors import InputError
from dltool.io.plot import raster, text
from dltool.io.plot.colours import AXIS, BACKGROUND, GRID, MINOR_GRID, PALETTE, TEXT, colour
from dltool.io.plot.raster import MARKER_SHAPES
from dltool.io.plot.ticks import Axis, auto_ticks, data_range
from dltool.io.streams import atomic_output


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


def require_png(path: str) -> None:
    """Refuse an output name that is not ``.png`` (callers check before doing the work)."""
    if os.path.splitext(path)[1].lower() != ".png":
        raise InputError("a chart is a PNG picture: use a .png output name", path)


class Chart:
    """A chart of scatter points, lines and markers, written as a PNG by :meth:`save`.

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

    def markers(self, x, y, colour=(0, 0, 0), shape: str = "x", size: float = 9, labels=None, label=None):
        """Add markers (e.g. anchor boxes), each optionally with a text beside it.

        Parameters
        ----------
        x, y : array_like of float
            Marker positions.
        colour : tuple of int
            Marker and text colour; a white outline keeps both readable over dense points.
        shape : {"x", "s"}
            Cross or square.
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

        fonts, s = text.fonts(self.font_size)
        width, height = self.width * s, self.height * s
        x_lo, x_hi = self._range("x")
        y_lo, y_hi = self._range("y")
        measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))

        # Margins hold what goes beside the plot (tick labels, axis labels, title) plus some air.
        tick_len, gap, edge = 5 * s, 6 * s, 12 * s
        tick_h = text.text_height(measure, fonts["tick"])
        label_h = text.text_height(measure, fonts["label"])
        # Edges on multiples of the scale keep the frame and grid crisp after downscaling.
        top = raster.round_up(edge + (text.text_height(measure, fonts["title"]) + 2 * gap if self.title else gap), s)
        bottom = s + tick_len + gap + tick_h + (2 * gap + label_h if self.x_label else 0) + edge
        plot_h = (height - top - bottom) // s * s
        y_ticks = auto_ticks(y_lo, y_hi, self.y_log, max(2, plot_h // (50 * s)))
        y_text_w = max((text.text_width(measure, t, fonts["tick"]) for _, t, _ in y_ticks if t), default=0)
        left = raster.round_up(edge + (label_h + 2 * gap if self.y_label else 0) + y_text_w + gap + tick_len + s, s)
        right = 2 * edge
        x_ticks = _fitting_ticks(x_lo, x_hi, self.x_log, width - left - right, fonts["tick"], measure, s)
        # The last x tick label is centred on its tick and may stick out past the plot's edge.
        x_text_w = max((text.text_width(measure, t, fonts["tick"]) for _, t, _ in x_ticks if t), default=0)
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
                    px = raster.snap(x_axis.to_pixel(value), s)
                    pen.rectangle([px, 0, px + s - 1, plot_h - 1], fill=GRID if major else MINOR_GRID)
            for value, _, is_major in y_ticks:
                if is_major == major:
                    py = raster.snap(y_axis.to_pixel(value), s)
                    pen.rectangle([0, py, plot_w - 1, py + s - 1], fill=GRID if major else MINOR_GRID)
        grid_only = np.asarray(plot).copy()

        taken = []  # boxes covered by markers and their texts, which later texts avoid
        for series in self._series:
            if series["kind"] == "scatter":
                raster.draw_scatter(plot, series, x_axis, y_axis, s)
            elif series["kind"] == "line":
                raster.draw_line(pen, series, x_axis, y_axis, s)
            else:
                taken += raster.draw_markers(pen, plot.size, series, x_axis, y_axis, s)
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
        for value, label, major in x_ticks:
            px = left + raster.snap(x_axis.to_pixel(value), s)
            length = tick_len if major else tick_len // 2
            draw.rectangle([px, bottom_edge + s, px + s - 1, bottom_edge + s + length - 1], fill=AXIS)
            if label:
                text.put_text(draw, (px + s / 2, bottom_edge + s + tick_len + gap), label, fonts["tick"], TEXT,
                              "m", "t")
        for value, label, major in y_ticks:
            py = top + raster.snap(y_axis.to_pixel(value), s)
            length = tick_len if major else tick_len // 2
            draw.rectangle([left - s - length, py, left - s - 1, py + s - 1], fill=AXIS)
            if label:
                text.put_text(draw, (left - s - tick_len - gap, py + s / 2), label, fonts["tick"], TEXT, "r", "m")
        if self.x_label:
            shown = text.fit(draw, self.x_label, fonts["label"], plot_w)
            text.put_text(draw, (left + plot_w / 2, height - edge), shown, fonts["label"], TEXT, "m", "b")
        if self.y_label:
            text.put_upright(canvas, (edge, top + plot_h / 2), text.fit(draw, self.y_label, fonts["label"], plot_h),
                             fonts["label"], TEXT)
        if self.title:
            # Centred on the plot, unless that would push a long title off the picture.
            shown = text.fit(draw, self.title, fonts["title"], width - 2 * edge)
            half = text.text_width(draw, shown, fonts["title"]) / 2
            centre = min(max(left + plot_w / 2, edge + half), width - edge - half)
            text.put_text(draw, (centre, edge), shown, fonts["title"], TEXT, "m", "t")

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
        chunks = []
        for series in self._series:
            tx, ty = x_axis.transform(series["x"]), y_axis.transform(series["y"])
            keep = np.isfinite(tx) & np.isfinite(ty)
            chunks.append((tx if which == "x" else ty)[keep])
        return data_range(chunks, log)



def _fitting_ticks(lo, hi, log, length, font, measure, s):
    """As many x ticks as fit ``length`` pixels with room between their labels."""
    for count in range(max(2, length // (60 * s)), 2, -1):
        ticks = auto_ticks(lo, hi, log, count)
        widths = [text.text_width(measure, t, font) for _, t, _ in ticks if t]
        if sum(widths) + 20 * s * len(widths) <= length:
            return ticks
    return auto_ticks(lo, hi, log, 2)


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _draw_marker_texts(pen, size, series, x_axis, y_axis, s, font, taken):
    """Each marker's text in the first spot beside it that is inside the plot and free."""
    w, h = size
    px, py = x_axis.to_pixel(series["x"]), y_axis.to_pixel(series["y"])
    d = series["size"] * s / 2 + 3 * s
    for cx, cy, label in zip(px.tolist(), py.tolist(), series["labels"]):
        if not label or not (math.isfinite(cx) and math.isfinite(cy)) or not (0 <= cx < w and 0 <= cy < h):
            continue
        spots = [((cx + d, cy - d), "l", "b"), ((cx + d, cy + d), "l", "t"), ((cx - d, cy - d), "r", "b"),
                 ((cx - d, cy + d), "r", "t"), ((cx, cy - d - s), "m", "b"), ((cx, cy + d + s), "m", "t"),
                 ((cx + d + s, cy), "l", "m"), ((cx - d - s, cy), "r", "m")]
        best = None
        for xy, hor, ver in spots:
            _, box = text.text_box(pen, xy, label, font, hor, ver)
            box = (box[0] - s, box[1] - s, box[2] + s, box[3] + s)  # the halo's width
            inside = box[0] >= 0 and box[1] >= 0 and box[2] <= w and box[3] <= h
            clashes = sum(_overlap(box, other) for other in taken)
            score = (not inside, clashes)
            if best is None or score < best[0]:
                best = (score, xy, hor, ver, box)
            if score == (False, 0):
                break
        _, xy, hor, ver, box = best
        text.put_text(pen, xy, label, font, series["colour"], hor, ver, halo=2 * s)
        taken.append(box)


def _draw_legend(pen, size, entries, font, ink, s):
    """A legend box in the plot corner that hides the least drawn data."""
    if not entries:
        return
    w, h = size
    pad, swatch, gap, inset = 8 * s, 26 * s, 8 * s, 10 * s
    row = max(text.text_height(pen, font), 12 * s) + 6 * s
    texts = [text.fit(pen, str(t["label"]), font, w - 2 * inset - 2 * pad - swatch - gap) for t in entries]
    box_w = pad + swatch + gap + max(text.text_width(pen, t, font) for t in texts) + pad
    box_h = 2 * pad + row * len(entries) - 6 * s
    corners = [(w - inset - box_w, inset), (inset, inset), (w - inset - box_w, h - inset - box_h),
               (inset, h - inset - box_h)]
    covered = [ink[max(0, y):max(0, y + box_h), max(0, x):max(0, x + box_w)].sum() for x, y in corners]
    x0, y0 = corners[int(np.argmin(covered))]  # argmin: the first corner wins a tie
    pen.rectangle([x0, y0, x0 + box_w, y0 + box_h], fill=BACKGROUND + (235,), outline=(200, 200, 200), width=s)
    for i, (entry, shown) in enumerate(zip(entries, texts)):
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
        else:
            raster.marker(pen, sx + swatch / 2, cy, entry["shape"], min(entry["size"], 12) * s / 2, fill, 2 * s, 0)
        text.put_text(pen, (sx + swatch + gap, cy), shown, font, TEXT, "l", "m")
