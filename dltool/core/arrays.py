"""Array helpers shared by the numpy code of several tools.

Each stands in for a numpy function whose first call imports ``numpy.ma`` (about 15 ms, a tenth
of a whole ``dltool iou`` run): ``np.median`` and ``np.unique`` check their input for masks.
"""

import numpy as np


def median(values: np.ndarray) -> float:
    """``np.median`` of a 1-D float array without NaN, the same value bit for bit (for an even
    count, the mean of the two middle values, as numpy computes it).

    """
    n = len(values)
    if n == 0:
        raise ValueError("median of an empty array")
    k = n // 2
    if n % 2:
        return float(np.partition(values, k)[k])
    part = np.partition(values, (k - 1, k))
    return float((part[k - 1] + part[k]) / 2)


def unique_sorted(keys: np.ndarray) -> np.ndarray:
    """``np.unique`` of an already sorted 1-D array, without sorting it again."""
    if len(keys) == 0:
        return keys
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
