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
            except ValueError as e:
                if "allow_pickle" not in str(e):
                    raise InputError(f"damaged array {key!r} ({e}) - {FIX}", path) from None
                raise InputError(f"array {key!r} holds Python objects, which are never unpickled - {FIX}",
                                 path) from None
            except Exception as e:  # BadZipFile, EOFError, zlib.error: a damaged member
                raise InputError(f"damaged array {key!r} ({type(e).__name__}) - {FIX}", path) from None
            # Real numbers become float64; anything else (complex, dates, text) stays as it is, for
            # read_params to refuse by name.
            out[key] = a.astype(np.float64) if a.dtype.kind in "biuf" else a
    return out


def read_params(path: str) -> dict:
    """W1, b1, ... from a parameter file; a train-logreg model's W, b become W1, b1."""
    arrays = read_arrays(path)
    if "W1" not in arrays and "W" in arrays and "b" in arrays:
        params = {"W1": arrays["W"], "b1": arrays["b"].reshape(-1, 1)}
    else:
        params = {k: v for k, v in arrays.items() if k[:1] in "Wb" and k[1:].isdigit()}
    if not params:
        raise InputError(f"no parameters named W1, b1, ... (it holds {', '.join(arrays) or 'nothing'}) - {FIX}",
                         path)
    for k, v in params.items():
        if v.dtype.kind != "f":
            raise InputError(f"{k} is not made of real numbers ({v.dtype}) - {FIX}", path)
        if not np.isfinite(v).all():
            raise InputError(f"{k} has non-finite values", path)
        if v.size == 0:
            raise InputError(f"{k} has shape {v.shape}: a layer with no units or no inputs - {FIX}", path)
    return params


def write_params(path: str, params: dict) -> None:
    """An .npz of the arrays, atomically."""
    with atomic_output(path, binary=True) as f:
        np.savez(f, **params)
