"""Parameter files: an ``.npz`` of named arrays (``W1``, ``b1``, ... in the course's shapes, as
``dltool init`` writes them), also accepting a ``dltool train-logreg`` model (``W``, ``b``)."""

import numpy as np

from dltool.errors import InputError
from dltool.io.streams import atomic_output, open_npz, read_input

FIX = "save the parameters with np.savez(path, W1=W1, b1=b1, ...)"


def read_arrays(path: str) -> dict:
    """Every array of an .npz, as float64 where numeric (never unpickling)."""
    with open_npz(read_input(path), path, FIX) as npz:
        out = {}
        for key in npz.files:
            try:
                a = npz[key]
            except ValueError:
                raise InputError(f"array {key!r} holds Python objects, which are never unpickled - {FIX}",
                                 path) from None
            out[key] = a.astype(np.float64) if np.issubdtype(a.dtype, np.number) else a
    return out


def read_params(path: str) -> dict:
    """W1, b1, ... from a parameter file; a train-logreg model's W, b become W1, b1."""
    arrays = read_arrays(path)
    if "W1" not in arrays and "W" in arrays and "b" in arrays:
        W = arrays["W"]
        return {"W1": W, "b1": arrays["b"].reshape(-1, 1)}
    params = {k: v for k, v in arrays.items() if k[:1] in "Wb" and k[1:].isdigit()}
    if not params:
        raise InputError(f"no parameters named W1, b1, ... (it holds {', '.join(arrays) or 'nothing'}) - {FIX}",
                         path)
    for k, v in params.items():
        if not np.issubdtype(v.dtype, np.number):
            raise InputError(f"{k} is not numeric ({v.dtype})", path)
        if not np.isfinite(v).all():
            raise InputError(f"{k} has non-finite values", path)
    return params


def write_params(path: str, params: dict) -> None:
    """An .npz of the arrays, atomically."""
    with atomic_output(path, binary=True) as f:
        np.savez(f, **params)
