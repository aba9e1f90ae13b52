"""Boxes compared only within their group: the same image (iou, nms) and the same class (nms).

Groups arrive as integer codes (``dltool.io.boxes.label_codes``: one code per distinct image id or
class name, shared across files).
"""

import numpy as np


def group_codes(image_codes, class_codes, n: int):
    """One code per (image, class): two boxes share it when both their image and class agree.

    Parameters
    ----------
    image_codes, class_codes : ndarray of shape (n,) of ints in [0, n], or None (one image, or
        class-agnostic)
    n : the number of boxes

    Returns
    -------
    ndarray of shape (n,), or None when neither is given (every box in one group)
    """
    if image_codes is None and class_codes is None:
        return None
    return (0 if image_codes is None else image_codes) * (n + 1) + (0 if class_codes is None else class_codes)


def mask_other_images(values, image_a, image_b, apart: float):
    """Set ``values`` of boxes on different images to ``apart`` (the metric's value for boxes that
    can never be compared), in place; returns ``values``.

    ``values`` is the (N, M) matrix of A's boxes against B's, or the (N,) values of row-paired
    boxes; ``image_a`` and ``image_b`` are the image codes of A's and B's boxes (None: one image).
    """
    if image_a is None or image_b is None:
        return values
    if values.ndim == 2:
        values[image_a[:, None] != image_b[None, :]] = apart
    else:
        values[image_a != image_b] = apart
    return values


def same_image_pairs(rows_a, rows_b, values, image_a, image_b):
    """The pairs (rows_a[i], rows_b[i], values[i]) whose two boxes lie on the same image."""
    if image_a is None or image_b is None:
        return rows_a, rows_b, values
    same = np.asarray(image_a)[rows_a] == np.asarray(image_b)[rows_b]
    return rows_a[same], rows_b[same], values[same]
