"""Layer activations for ``dltool gram-style``: one array (n_H, n_W, n_C) in an .npy, or several
layers in an .npz (in the file's order)."""

import io

import numpy as np

from dltool.errors import InputError
from dltool.io.params import read_arrays
from dltool.io.streams import read_input


def read_layers(path: str):
    """(names, arrays): an .npz's arrays by name, or an .npy's one array as ``layer1``."""
    if path.lower().endswith(".npz"):
        arrays = read_arrays(path)
        return list(arrays), list(arrays.values())
    data = read_input(path)
    try:
        a = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception:
        raise InputError("not a readable .npy array - save it with np.save(path, a)", path) from None
    return ["layer1"], [a]
