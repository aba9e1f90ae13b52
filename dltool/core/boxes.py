"""Box formats and validation, in torchvision's vocabulary.

Coordinates are continuous: a box ``(x1, y1, x2, y2)`` has area ``(x2 - x1) * (y2 - y1)``, with no
``+1`` pixel convention, so a box with zero width or height has area 0.
"""

import numpy as np

from dltool.core.names import BOX_FORMATS
from dltool.errors import InputError

#: Largest coordinate magnitude accepted: areas, unions and enclosing boxes up to (2e150)² stay
#: finite in float64, so no IoU silently overflows to 0 (a box 0,0,1e308,1e308 would).
MAX_COORDINATE = 1e150


def box_convert(boxes, in_fmt: str, out_fmt: str) -> np.ndarray:
    """Convert boxes between ``xyxy``, ``xywh`` (top-left corner, size) and ``cxcywh`` (centre, size).

    Parameters
    ----------
    boxes : array_like of shape (N, 4)
    in_fmt, out_fmt : {"xyxy", "xywh", "cxcywh"}

    Returns
    -------
    ndarray of shape (N, 4), float64
    """
    for fmt in (in_fmt, out_fmt):
        if fmt not in BOX_FORMATS:
            raise InputError(f"unknown box format {fmt!r}: expected one of {', '.join(BOX_FORMATS)}")
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if in_fmt == out_fmt:
        return b.copy()
    # Go through xyxy: two small conversions instead of six.
    if in_fmt == "xywh":
        xyxy = np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)
    elif in_fmt == "cxcywh":
        half = b[:, 2:] / 2
        xyxy = np.concatenate([b[:, :2] - half, b[:, :2] + half], axis=1)
    else:
        xyxy = b
    if out_fmt == "xywh":
        return np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
    if out_fmt == "cxcywh":
        return np.concatenate([(xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]], axis=1)
    return np.ascontiguousarray(xyxy)


def check_boxes(boxes, name: str = "boxes") -> np.ndarray:
    """Validate ``xyxy`` boxes and return them as a C-contiguous float64 array of shape (N, 4).

    Raises :class:`~dltool.errors.InputError` (a ValueError) for a wrong shape, a non-finite
    coordinate, or ``x2 < x1`` / ``y2 < y1``, naming the first offending row.
    """
    b = np.asarray(boxes)
    if b.ndim == 1 and b.size == 0:
        b = b.reshape(0, 4)
    if b.ndim != 2 or b.shape[1] != 4:
        raise InputError(f"expected an array of shape (N, 4), got shape {b.shape}", name)
    if b.dtype.kind not in "biuf":  # complex, timedelta and datetime are numbers to numpy
        raise InputError(f"expected real numbers, got dtype {b.dtype}", name)
    b = np.ascontiguousarray(b, dtype=np.float64)
    bad = ~(np.abs(b) <= MAX_COORDINATE).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"row {i}: coordinates must be finite numbers of magnitude at most "
                         f"{MAX_COORDINATE:g} (areas must not overflow), got {b[i].tolist()}", name)
    bad = (b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"row {i}: x2 < x1 or y2 < y1 in xyxy box {b[i].tolist()}", name)
    return b


def check_scores(scores, n: int, name: str = "scores") -> np.ndarray:
    """Validate a score vector of length ``n``; return it as contiguous float64."""
    s = np.asarray(scores)
    if s.shape != (n,):
        raise InputError(f"expected {n} scores (one per box), got shape {s.shape}", name)
    s = np.ascontiguousarray(s, dtype=np.float64)
    bad = ~np.isfinite(s)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"row {i}: score must be a finite number, got {s[i]}", name)
    return s


def box_area(boxes: np.ndarray) -> np.ndarray:
    """Area of ``xyxy`` boxes, ``(x2 - x1) * (y2 - y1)``."""
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
