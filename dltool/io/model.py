"""The model file of ``train-logreg``: an ``.npz`` that numpy can read without dltool.

Keys: ``W`` (n_y, n_x) and ``b`` (n_y,) in the course's shapes (n_y = 1 for logistic regression),
``classes`` (the label of each class, as text), ``mean`` / ``std`` (the training statistics the
features are standardized with; empty when training did not standardize), ``image_size`` (the side
images were resized to; 0 for tabular data), ``feature_names``, ``label_name``, ``options`` (the
training settings as JSON) and ``format_version``.
"""

import json
from dataclasses import dataclass

import numpy as np

from dltool.errors import InputError
from dltool.io.streams import atomic_output, open_npz, read_input

FORMAT_VERSION = 1
_REQUIRED = ("W", "b", "classes", "mean", "std", "image_size", "feature_names", "label_name", "options")


@dataclass
class SavedModel:
    W: np.ndarray
    b: np.ndarray
    classes: list
    mean: np.ndarray | None
    std: np.ndarray | None
    image_size: int
    feature_names: list
    label_name: str
    options: dict

    @property
    def n_features(self) -> int:
        return self.W.shape[1]

    def standardize(self, X: np.ndarray) -> np.ndarray:
        return X if self.mean is None else (X - self.mean) / self.std


def save_model(path: str, model: SavedModel) -> None:
    """Write the model atomically (a failed or interrupted run leaves no partial file)."""
    arrays = {
        "W": model.W, "b": model.b, "classes": np.array(model.classes, dtype=str),
        "mean": np.empty(0) if model.mean is None else model.mean,
        "std": np.empty(0) if model.std is None else model.std,
        "image_size": np.array(model.image_size), "feature_names": np.array(model.feature_names, dtype=str),
        "label_name": np.array(model.label_name), "options": np.array(json.dumps(model.options, sort_keys=True)),
        "format_version": np.array(FORMAT_VERSION),
    }
    with atomic_output(path, binary=True) as f:
        np.savez(f, **arrays)


def load_model(path: str) -> SavedModel:
    fix = "give a file written by `dltool train-logreg -o`"
    with open_npz(read_input(path), path, fix) as npz:
        try:
            arrays = {k: npz[k] for k in npz.files}
        except Exception as e:  # a member that is pickled or damaged
            raise InputError(f"not a dltool model ({type(e).__name__} reading it) - {fix}", path) from None
    missing = [k for k in _REQUIRED if k not in arrays]
    if missing:
        raise InputError(f"not a dltool model: missing {', '.join(missing)} - give a file written by "
                         "`dltool train-logreg -o`", path)
    for key in ("W", "b", "mean", "std"):
        if arrays[key].dtype.kind not in "biuf":
            raise InputError(f"damaged model: {key} must hold real numbers, got {arrays[key].dtype} - {fix}", path)
        if not np.isfinite(arrays[key]).all():
            raise InputError(f"damaged model: {key} holds NaN or infinite values, so every prediction would "
                             f"be NaN - retrain it (a smaller --lr keeps the weights finite)", path)
    if (arrays["std"] <= 0).any():
        raise InputError(f"damaged model: a standard deviation is <= 0, which would divide by zero - {fix}", path)
    W, b = arrays["W"].astype(np.float64), arrays["b"].astype(np.float64)
    classes = [str(c) for c in arrays["classes"]]
    if W.ndim != 2 or b.shape != (W.shape[0],) or len(classes) != max(2, W.shape[0]):
        raise InputError(f"inconsistent model: W {W.shape}, b {b.shape}, {len(classes)} classes", path)
    mean, std = arrays["mean"].astype(np.float64), arrays["std"].astype(np.float64)
    standardized = mean.size > 0
    if standardized and (mean.shape != (W.shape[1],) or std.shape != (W.shape[1],)):
        raise InputError(f"inconsistent model: mean/std of {mean.shape} for {W.shape[1]} features", path)
    try:
        image_size = int(arrays["image_size"])
        options = json.loads(str(arrays["options"]))
    except (TypeError, ValueError, OverflowError) as e:  # json.JSONDecodeError is a ValueError
        raise InputError(f"damaged model: 'image_size' must be a whole number and 'options' JSON "
                         f"({type(e).__name__}) - {fix}", path) from None
    if not isinstance(options, dict):
        raise InputError(f"damaged model: 'options' must be a JSON object - {fix}", path)
    return SavedModel(W, b, classes, mean if standardized else None, std if standardized else None,
                      image_size, [str(f) for f in arrays["feature_names"]],
                      str(arrays["label_name"]), options)
