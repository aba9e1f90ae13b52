"""Drawing data on a chart's plot area: dots (rasterized with numpy, blended in one step), lines
(clipped, dashed), markers. Everything is drawn at SUPERSAMPLE times the picture's size.

PIL objects are passed in: this module imports no PIL at load time.
"""

import math

import numpy as np

from dltool.io.plot.colours import BACKGROUND

MARKER_SHAPES = ("x", "s")  # cross, square
COORD_LIMIT = 1e6  # pixel coordinates beyond this are clipped before pillow sees them


def round_up(n: int, s: int) -> int:
    return -(-n // s) * s


def snap(position, s: int) -> int:
    """The first canvas pixel of the ``s``-wide band that becomes the picture pixel at ``position``.

    A grid line or tick drawn on that band covers exactly one picture pixel after downscaling:
    crisp, and on the pixel where a data point at the same value lands.
    """
    return int(round(float(position))) // s * s


def draw_scatter(plot, series, x_axis, y_axis, s):
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


def runs(keep):
    """``(start, stop)`` of each stretch of True values."""
    edges = np.diff(np.concatenate([[0], keep.astype(np.int8), [0]]))
    return zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist())


def clip_segments(points, limit):
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


def dashes(points, on, off):
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


def draw_line(pen, series, x_axis, y_axis, s):
    px, py = x_axis.to_pixel(series["x"]), y_axis.to_pixel(series["y"])
    width = max(1, round(series["width"] * s))
    fill = series["colour"]
    for start, stop in runs(np.isfinite(px) & np.isfinite(py)):
        points = np.column_stack([px[start:stop], py[start:stop]])
        if len(points) == 1:  # a lone point would vanish as a line: draw a dot
            r = max(width, 2 * s)
            pen.ellipse([points[0, 0] - r, points[0, 1] - r, points[0, 0] + r, points[0, 1] + r], fill=fill)
            continue
        pieces = [points] if np.abs(points).max() < COORD_LIMIT else clip_segments(points, COORD_LIMIT)
        if series["dashed"]:
            pieces = [d for piece in pieces for d in dashes(piece, 4.0 * width + 4 * s, 2.5 * width + 2 * s)]
        for piece in pieces:
            pen.line(piece.ravel().tolist(), fill=fill, width=width, joint="curve")


def marker(pen, cx, cy, shape, half, fill, width, halo):
    """One marker; with ``halo``, a wider white copy goes under it to lift it off busy backgrounds."""
    layers = [(BACKGROUND + (220,), width + 2 * halo, half + halo), (fill, width, half)] if halo else \
        [(fill, width, half)]
    for ink, line_width, reach in layers:
        if shape == "x":
            pen.line([cx - reach, cy - reach, cx + reach, cy + reach], fill=ink, width=line_width)
            pen.line([cx - reach, cy + reach, cx + reach, cy - reach], fill=ink, width=line_width)
        else:
            pen.rectangle([cx - reach, cy - reach, cx + reach, cy + reach], outline=ink, width=line_width)


def draw_markers(pen, size, series, x_axis, y_axis, s):
    """Markers; returns the boxes they cover."""
    w, h = size
    px, py = x_axis.to_pixel(series["x"]), y_axis.to_pixel(series["y"])
    half = series["size"] * s / 2
    boxes = []
    for cx, cy in zip(px.tolist(), py.tolist()):
        if not (math.isfinite(cx) and math.isfinite(cy)) or not (-half <= cx <= w + half and -half <= cy <= h + half):
            continue
        marker(pen, cx, cy, series["shape"], half, series["colour"], 2 * s, s)
        boxes.append((cx - half, cy - half, cx + half, cy + half))
    return boxes
