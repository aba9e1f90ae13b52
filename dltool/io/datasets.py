"""Data sets for ``train-logreg`` and ``predict``: a CSV/TSV table, an ``.npz`` with ``X`` and ``y``,
or a folder of images with one subfolder per class.

:func:`read_dataset` returns a :class:`Dataset`: ``X`` as (m, n) float64 features and ``y`` as the
labels, text (``"0"``/``"1"`` stay text), or None when there is no label column.

==========  ===========================================================================
``csv``     ``.csv``/``.txt`` (comma; a ``;``- or tab-separated first line is recognised), ``.tsv``/
            ``.tab`` (tab), or ``-`` for standard input, read by :mod:`dltool.io.csvfile` (streamed:
            about the memory of ``X``). A header row is required. The label column is
            ``label_column`` (matched case-insensitively), by default the last column; every
            other column is a numeric feature. Missing values (empty cells, ``NA``, ``nan``) and
            infinities are refused with their line: fill or drop them first.
``npz``     ``np.savez(path, X=X, y=y)``: ``X`` of shape (m, n), numeric; ``y`` of shape (m,),
            integers, whole floats or strings (kept as text). Never unpickled.
``images``  a folder with one subfolder per class (the class is the folder's name; classes
            sorted), images searched recursively inside each (.jpg .jpeg .png .bmp .gif .tif
            .tiff .webp, any case; hidden files skipped, other files ignored). Each image is
            turned upright by its EXIF orientation, converted to RGB (grayscale, palette, RGBA -
            alpha dropped, as torchvision's loader does - CMYK...), resized to ``image_size`` x
            ``image_size`` with pillow's BILINEAR filter (torchvision's ``Resize`` default;
            pillow widens it when shrinking, so it does not alias; the aspect ratio is not kept,
            like the course's 64x64 pictures), scaled to [0, 1] (8-bit: v / 255; 16-bit
            grayscale: v / 65535) and flattened in (H, W, C) order: 64x64 -> 12288 features.
==========  ===========================================================================

For ``predict`` (``require_labels=False``) the label column is optional: a CSV has it iff its header
names ``label_column``; an ``.npz`` may leave out ``y``; an image folder may hold the images
directly (no labels; each row's file is in ``paths``). With ``expected_features`` (the training
columns), CSV feature columns are matched by name, in any order, and any other shape of data is
refused with the count the model expects.

Images are read by :func:`dltool.io.images.load_image` (``fit="stretch"``), which imports pillow
only when it is called.
"""

import math
import os
import re
from dataclasses import dataclass, field

import numpy as np

from dltool.core.arrays import unique_sorted
from dltool.core.names import DATA_FORMATS
from dltool.errors import InputError
from dltool.io.csvfile import CsvFile, RowBuffer, field_count_message
from dltool.io.formats import EXTENSIONS
from dltool.io.images import IMAGE_EXTENSIONS, UnreadableImage, image_signature, load_image
from dltool.io.streams import NPY_MAGIC, ZIP_MAGIC, input_name, open_npz, read_head, read_input, unlistable_folder
from dltool.io.tabular import is_number

# Spellings of a missing value, matched case-insensitively after stripping.
_MISSING = {"", "na", "n/a", "nan", "null", "none", "?", "-", "--", "missing", "#n/a"}
_MISSING_FIX = "missing values are not supported; fill or drop them"
_NPZ_FIX = "save the arrays with np.savez(path, X=X, y=y)"
_SKIPPED_DIRS = {"__MACOSX"}  # the resource forks a macOS zip carries along


@dataclass
class Dataset:
    """Features and labels read from one input.

    Attributes
    ----------
    X : ndarray of shape (m, n)
        float64 features, C-contiguous. Images: RGB in [0, 1], each flattened from
        (image_size, image_size, 3) in row-major (H, W, C) order.
    y : ndarray of shape (m,) or None
        The labels as an object array of ``str`` (whitespace stripped; numbers stay text:
        ``"1"``), or None when the input has no label column (``predict``).
    feature_names : list of str
        CSV: the header names of the feature columns (in the order of ``expected_features``
        when given); npz: ``x0 .. x{n-1}``; images: ``pixel_0 .. pixel_{n-1}``.
    name : str
        The input as named in messages (``<stdin>`` for ``-``).
    kind : str
        ``csv``, ``npz`` or ``images``.
    label_name : str or None
        The label column's header name (csv), ``y`` (npz), ``class`` (images); None without labels.
    paths : list of str or None
        Images: each row's file, relative to the folder, ``/``-separated. None otherwise.
    image_size : int
        Images: the side they were resized to. 0 otherwise.
    lines : list of int or None
        CSV: the line each row came from. None otherwise.
    notes : list of str
        Remarks for stderr, e.g. files in an image folder that were not read.
    """

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list
    name: str
    kind: str
    label_name: str | None
    paths: list | None = None
    image_size: int = 0
    lines: list | None = None
    notes: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.X)

    def where(self, row: int) -> str:
        """Where row ``row`` came from: ``file:line``, ``folder/class/file.png`` or ``file: row k``."""
        if self.lines is not None:
            return f"{self.name}:{self.lines[row]}"
        if self.paths is not None:
            return f"{self.name.rstrip('/')}/{self.paths[row]}"
        return f"{self.name}: row {row}"


def _texts(values) -> np.ndarray:
    """A 1-D object array of str (``np.array`` of strings would make a fixed-width ``<U`` array)."""
    values = list(values)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def classes_of(y) -> list:
    """The distinct labels of ``y``, sorted: by value when every label is a whole number
    (``"2"`` before ``"10"``), else as text. This order numbers the classes."""
    labels = sorted({str(v) for v in y})
    try:
        return sorted(labels, key=int)
    except ValueError:
        return labels


def read_dataset(path: str, label_column: str | None = None, require_labels: bool = True,
                 image_size: int = 64, input_format: str = "auto",
                 expected_features: list | None = None) -> Dataset:
    """Features and labels from a CSV/TSV, an ``.npz`` or an image folder (see the module docstring).

    Parameters
    ----------
    path : str
        A ``.csv``/``.tsv`` file, an ``.npz`` file, a folder of images, or ``-`` for a CSV (or,
        sniffed, an ``.npz``) on standard input.
    label_column : str or None
        CSV: the name of the label column, matched case-insensitively. None: the last column
        when labels are required, no label column otherwise.
    require_labels : bool
        True (training): the labels must be there. False (prediction): they may be absent;
        ``y`` is then None.
    image_size : int
        Images are resized to ``image_size`` x ``image_size`` pixels.
    input_format : str
        One of :data:`DATA_FORMATS`; ``auto`` decides from the path: ``-`` is a CSV, a folder is an
        image folder, ``.npz`` an npz, ``.csv``/``.tsv`` a CSV; other files are sniffed.
    expected_features : list of str or None
        The feature names a model was trained on. CSV columns are matched to them by name (any
        order; a missing or an extra column is an error); an npz or image folder must give as
        many features.

    Raises
    ------
    InputError
        Bad input, located as ``file:line``, ``file: X[row]`` or the image's path, naming the fix.
    """
    _check_options(image_size, input_format)
    name = input_name(path)
    kind, data = _detect(path, input_format)
    if kind == "csv":
        dataset = _read_csv(data, name, path, label_column, require_labels, expected_features)
    elif kind == "npz":
        dataset = _read_npz(path if data is None else data, name, require_labels)
    else:
        dataset = _read_images(path, name, require_labels, image_size)
    if expected_features is not None and kind != "csv":
        _check_feature_count(dataset, len(expected_features))
    return dataset


# -------------------------------------------------------------------- options and format


def _check_options(image_size, input_format) -> None:
    if input_format not in DATA_FORMATS:
        raise InputError(f"unknown data format {input_format!r}: expected one of {', '.join(DATA_FORMATS)}")
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 1:
        raise InputError(f"--image-size must be a whole number of pixels >= 1, got {image_size!r}")


def _detect(path: str, input_format: str):
    """(kind, bytes or None): the data format; standard input's bytes (a file is read later, and a
    CSV file streamed)."""
    if path == "-":
        if input_format == "images":
            raise InputError("an image folder cannot come from standard input - give the folder's path",
                             "<stdin>")
        data = read_input(path)
        if input_format == "auto":
            return ("npz" if data.startswith(ZIP_MAGIC) else "csv"), data
        return input_format, data
    if os.path.isdir(path):
        if input_format in ("csv", "npz"):
            raise InputError(f"is a folder, expected a .{input_format} file (or drop --input-format "
                             "to read it as an image folder)", path)
        return "images", None
    if not os.path.exists(path):
        raise InputError("no such file or folder - check the path", path)
    if input_format == "images":
        raise InputError("is a file, expected a folder of images with one subfolder per class", path)
    if input_format != "auto":
        return input_format, None
    lower = path.lower()
    if lower.endswith(EXTENSIONS["npz"]):
        return "npz", None
    if lower.endswith(EXTENSIONS["csv"] + EXTENSIONS["tsv"] + EXTENSIONS["txt"]):
        return "csv", None
    head = read_head(path, 16)
    if lower.endswith(EXTENSIONS["npy"]) or head.startswith(NPY_MAGIC):
        raise InputError(f"an .npy file holds one array; features and labels go together in an .npz - "
                         f"{_NPZ_FIX}", path)
    if lower.endswith(IMAGE_EXTENSIONS) or image_signature(head):
        raise InputError("is a single image: give the folder that holds the images (one subfolder "
                         "per class for training)", path)
    return ("npz" if head.startswith(ZIP_MAGIC) else "csv"), None


def _names(names, limit: int = 8) -> str:
    """``a, b, c`` - at most ``limit`` names, then how many in all."""
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown}, ... ({len(names)} in all)"


def _check_feature_count(dataset: Dataset, expected: int) -> None:
    n = dataset.X.shape[1]
    if n == expected:
        return
    if dataset.kind == "images":
        s = dataset.image_size
        side = math.isqrt(expected // 3) if expected % 3 == 0 else 0
        hint = (f" - the model was trained on {side}x{side} images: pass --image-size {side}"
                if side and 3 * side * side == expected else " - the model was not trained on images")
        raise InputError(f"images resized to {s}x{s} give {n} features ({s}*{s}*3), the model expects "
                         f"{expected}{hint}", dataset.name)
    raise InputError(f"X has {n} feature columns, the model expects {expected} - give data with the "
                     "features the model was trained on", dataset.name)


# -------------------------------------------------------------------- CSV


def _is_fraction(text: str) -> bool:
    """A finite number that is not whole, like 5.1: data, not a column name."""
    try:
        v = float(text)
    except ValueError:
        return False
    return math.isfinite(v) and not v.is_integer()


def _read_csv(data, name, path, label_column, require_labels, expected_features) -> Dataset:
    table = CsvFile(path, data=data, name=name)
    try:
        header = table.header
        if header is None:
            raise InputError("empty: expected a header row naming the columns (features, then the label), "
                             "then one sample per line", name)
        columns, header_line = header.columns, header.line
        label, in_file, order = _csv_columns(columns, label_column, require_labels, expected_features,
                                             f"{name}:{header_line}")
        X, y, lines = _csv_rows(table, columns, label, in_file)
    finally:
        table.close()
    if not len(X):
        raise InputError(f"no data rows after the header (line {header_line}) - one sample per line", name)
    if order != in_file:  # predict: columns in the model's order
        position = {k: j for j, k in enumerate(in_file)}
        X = np.ascontiguousarray(X[:, [position[k] for k in order]])
    if y is not None:
        empty = np.flatnonzero(y == "")
        if len(empty):
            raise InputError(f"label column {columns[label]!r} is empty - every row needs a class "
                             "(drop unlabelled rows)", f"{name}:{lines[empty[0]]}")
    return Dataset(X, y, [columns[k] for k in order], name, "csv",
                   None if label is None else columns[label], lines=lines)


def _csv_columns(columns, label_column, require_labels, expected_features, where):
    """(label column or None, feature columns in file order, the same in the model's order),
    after checking the header's names."""
    # Column names may be whole numbers (pandas writes 0,1,2,... for unnamed columns), never 5.1.
    if all(is_number(c) for c in columns) or any(_is_fraction(c) for c in columns):
        raise InputError(f"expected a header row naming the columns, got data ({_names(columns, 5)}) - "
                         "add a first line with the column names, e.g. x1,x2,...,label", where)
    for k, c in enumerate(columns):
        if not c:
            raise InputError(f"column {k + 1} has no name in the header - name every column", where)
    lowered = [c.lower() for c in columns]
    seen = {}
    for c, low in zip(columns, lowered):
        if low in seen:
            same = (f"{c!r} appears twice" if seen[low] == c
                    else f"{seen[low]!r} and {c!r} differ only in case")
            raise InputError(f"column {same} in the header - column names must be unique "
                             "(matched case-insensitively)", where)
        seen[low] = c
    label = _label_index(columns, lowered, label_column, require_labels, where)
    in_file = [k for k in range(len(columns)) if k != label]  # feature columns, file order
    if expected_features is not None:
        in_file, order = _match_features(columns, lowered, label, expected_features, where)
    else:
        order = in_file
    if not order:
        raise InputError(f"no feature columns: the header has only the label column {columns[label]!r} - "
                         "features are the other columns", where)
    return label, in_file, order


def _csv_rows(table: CsvFile, columns, label, in_file, force_slow: bool = False):
    """(X, y, lines) of the rows: the features ``in_file`` as float64, the labels stripped (an object
    array of str, or None), the line of each row. The first bad row or cell, in file order, is an
    InputError at its line."""
    header = table.header
    X = RowBuffer(len(in_file), table.size_hint())
    labels, lines = [], []
    for chunk in table.chunks(in_file, [] if label is None else [label], force_slow=force_slow, rows=X):
        good = len(chunk) if chunk.bad_width is None else chunk.bad_width
        rows = X.add(chunk.values[:good], chunk)
        # one summing pass over the contiguous copy: NaN or inf anywhere makes the sum non-finite
        if chunk.unreadable is not None or not np.isfinite(np.add.reduce(rows, axis=None)):
            bad = ~np.isfinite(rows)
            if chunk.unreadable is not None:
                bad |= chunk.unreadable[:good]
            if bad.any():
                row, j = divmod(int(np.argmax(bad.reshape(-1))), bad.shape[1])
                k = in_file[j]
                _number(chunk.record(row)[k], columns[k], f"{table.name}:{chunk.lines[row]}", header.delimiter)
                raise AssertionError("a cell refused in bulk was accepted one by one")
        if chunk.bad_width is not None:
            raise InputError(field_count_message(columns, chunk.bad_count, header.delimiter, header.line),
                             f"{table.name}:{chunk.lines[chunk.bad_width]}")
        lines += chunk.lines[:good].tolist()
        if label is not None:
            labels += [v.strip() for v in chunk.texts[0][:good]]
    y = None if label is None else _texts(labels)
    return X.array(), y, lines


def _label_index(columns, lowered, label_column, require_labels, where):
    if label_column is None:
        return len(columns) - 1 if require_labels else None
    wanted = str(label_column).strip().lower()
    if wanted in lowered:
        return lowered.index(wanted)
    if not require_labels:
        return None  # predict: data without the label column
    hint = (" (--label-column takes the column's name, not its position)"
            if re.fullmatch(r"-?\d+", wanted) else "")
    raise InputError(f"no label column {label_column!r}{hint}: the header has {_names(columns)} - "
                     "pass --label-column NAME with one of them", where)


def _match_features(columns, lowered, label, expected, where):
    """(feature columns in file order, the same in the model's order), matched by name."""
    expected = [str(e) for e in expected]
    index = {low: k for k, low in enumerate(lowered) if k != label}
    missing = [e for e in expected if e.lower() not in index]
    if missing:
        raise InputError(f"missing feature column(s) {_names(missing)}: the model was trained on "
                         f"{_names(expected)} - give a CSV with these columns (any order)", where)
    wanted = {e.lower() for e in expected}
    extra = [columns[k] for k in range(len(columns)) if k != label and lowered[k] not in wanted]
    if extra:
        raise InputError(f"column(s) {_names(extra)} are not features of the model (trained on "
                         f"{_names(expected)}) - drop them", where)
    order = [index[e.lower()] for e in expected]
    return sorted(order), order


def _number(cell: str, column: str, where: str, delimiter: str) -> float:
    """One feature cell as a finite float, or the InputError that says what is wrong with it."""
    text = cell.strip()
    try:
        v = float(text)
    except ValueError:
        v = None
    if v is None or math.isnan(v):
        if text.lower() in _MISSING:
            raise InputError(f"column {column!r} must be a number, got {cell!r} - {_MISSING_FIX}", where)
        hint = (" - use '.' as the decimal point" if delimiter != "," and re.fullmatch(r"[-+]?\d*,\d+", text)
                else "")
        raise InputError(f"column {column!r} must be a number, got {cell!r}{hint}", where)
    if math.isinf(v):
        raise InputError(f"column {column!r} must be a finite number, got {cell!r}", where)
    return v


# -------------------------------------------------------------------- NPZ


def _read_npz(source, name, require_labels) -> Dataset:
    """``source``: the bytes of standard input, or a file's path (read array by array)."""
    head = source[:len(NPY_MAGIC)] if isinstance(source, bytes) else read_head(source, len(NPY_MAGIC))
    if head == NPY_MAGIC:
        raise InputError(f"an .npy file holds one array; features and labels go together in an .npz - "
                         f"{_NPZ_FIX}", name)
    with open_npz(source, name, _NPZ_FIX) as npz:
        keys = list(npz.files)
        if "X" not in keys:
            raise InputError(f"no array named X: the file holds {_names(keys) or 'no arrays'} - expected "
                             "X (m samples, n features) and y (m labels); names are case-sensitive - "
                             f"{_NPZ_FIX}", name)
        X = _npz_array(npz, "X", name)
        y = _npz_array(npz, "y", name) if "y" in keys else None
    if y is None and require_labels:
        raise InputError(f"no array named y (the labels): the file holds {_names(keys)} - {_NPZ_FIX}", name)
    if X.ndim != 2:
        hint = {0: "", 1: " - for one feature save X.reshape(-1, 1)"}.get(
            X.ndim, " - flatten each sample: X.reshape(len(X), -1)")
        raise InputError(f"X has shape {X.shape}, expected a 2-D array (m samples, n features){hint}",
                         f"{name}: X")
    if X.dtype.kind not in "biuf":
        raise InputError(f"X has dtype {X.dtype}, expected numbers", f"{name}: X")
    m, n = X.shape
    if m == 0 or n == 0:
        raise InputError(f"X has shape {X.shape}: no {'samples' if m == 0 else 'features'}", f"{name}: X")
    X = np.ascontiguousarray(X, dtype=np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise InputError(f"X[{row}, {col}] is {X[row, col]}: {_MISSING_FIX}", f"{name}: X[{row}]")
    labels = None
    if y is not None:
        if y.shape != (m,):
            if y.ndim == 2 and m in y.shape and 1 in y.shape:
                hint = " - save y.ravel()"
            elif X.shape[1] == y.size and y.ndim <= 2:
                hint = " - X looks transposed (features x samples, the course's layout): save X.T"
            else:
                hint = ""
            raise InputError(f"y has shape {y.shape}, expected ({m},): one label per row of X{hint}",
                             f"{name}: y")
        labels = _npz_labels(y, name)
    return Dataset(X, labels, [f"x{j}" for j in range(n)], name, "npz",
                   None if labels is None else "y")


def _npz_array(npz, key, name) -> np.ndarray:
    try:
        return npz[key]
    except ValueError as e:
        if "allow_pickle" in str(e):
            fix = "save it as a fixed-width string array (y.astype(str))" if key == "y" else \
                "save it as a numeric array (X.astype(float))"
            raise InputError(f"{key} is an array of Python objects, which is never unpickled - {fix}",
                             f"{name}: {key}") from None
        raise InputError(f"cannot read array {key}: {e}", f"{name}: {key}") from None
    except Exception as e:
        raise InputError(f"cannot read array {key} ({str(e) or type(e).__name__}) - {_NPZ_FIX}",
                         f"{name}: {key}") from None


def _npz_labels(y: np.ndarray, name: str) -> np.ndarray:
    """Labels as text: integers and whole floats as ``"3"``, strings stripped."""
    where = f"{name}: y"
    kind = y.dtype.kind
    if kind in "iub":
        return _number_labels(y)
    if kind == "f":
        bad = ~np.isfinite(y)
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(f"y[{i}] is {y[i]}: every row needs a class", where)
        frac = y != np.round(y)
        if frac.any():
            i = int(np.argmax(frac))
            raise InputError(f"y[{i}] is {y[i]}: labels must be class names or whole numbers", where)
        return _number_labels(y)
    if kind in "US":
        text = []
        for i, v in enumerate(y.tolist()):
            if isinstance(v, bytes):
                try:
                    v = v.decode("utf-8")
                except UnicodeDecodeError:
                    raise InputError(f"y[{i}] is not UTF-8 text", where) from None
            text.append(v.strip())
        empty = [i for i, v in enumerate(text) if not v]
        if empty:
            raise InputError(f"y[{empty[0]}] is empty: every row needs a class", where)
    else:
        raise InputError(f"y has dtype {y.dtype}, expected class labels (integers or strings)", where)
    return _texts(text)


def _number_labels(y: np.ndarray) -> np.ndarray:
    """Integer, boolean or whole-float labels as text (``"3"``, ``"True"``): each distinct value
    is written once and the rows take their class's string (2M labels: 0.05 s instead of 0.6 s
    for one str() a row)."""
    values = unique_sorted(np.sort(y))
    text = [str(bool(v)) if y.dtype.kind == "b" else str(int(v)) for v in values.tolist()]
    return _texts(text)[np.searchsorted(values, y)]


# -------------------------------------------------------------------- image folders


def _is_image(filename: str) -> bool:
    return os.path.splitext(filename)[1].lower() in IMAGE_EXTENSIONS


def _listdir(folder: str, name: str):
    """(subfolders, files) of ``folder``, sorted, hidden entries left out."""
    try:
        entries = sorted(e for e in os.listdir(folder) if not e.startswith("."))
    except OSError as e:
        raise InputError(f"cannot list this folder: {e.strerror}", name) from None
    dirs = [e for e in entries if os.path.isdir(os.path.join(folder, e)) and e not in _SKIPPED_DIRS]
    files = [e for e in entries if os.path.isfile(os.path.join(folder, e))]
    return dirs, files


def _walk(root: str) -> list:
    """Every file under ``root`` as a ``/``-separated path relative to it (hidden ones left out), sorted.

    Linked folders are followed, as torchvision's ImageFolder does, each real folder once: a link
    back up the tree is not a loop."""
    found, seen = [], set()
    for folder, dirs, files in os.walk(root, followlinks=True, onerror=unlistable_folder):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        rel = os.path.relpath(folder, root)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        found += [prefix + f for f in files if not f.startswith(".")]
    return sorted(found)


def _read_images(path, name, require_labels, image_size) -> Dataset:
    exts = " ".join(e.lstrip(".") for e in IMAGE_EXTENSIONS)
    dirs, files = _listdir(path, name)
    loose = [f for f in files if _is_image(f)]
    notes, other = [], 0
    if dirs:
        paths, labels = [], []
        for cls in dirs:
            inside = _walk(os.path.join(path, cls))
            images = [f for f in inside if _is_image(f)]
            other += len(inside) - len(images)
            if not images:
                raise InputError(f"empty folder: no images ({exts}) in class folder {cls!r} - add images "
                                 "or remove the folder", os.path.join(path, cls))
            paths += [f"{cls}/{f}" for f in images]
            labels += [cls] * len(images)
        if loose:
            notes.append(f"ignored {_count(len(loose), 'image')} directly in {name} "
                         "(not in a class subfolder)")
        y = _texts(labels)
    elif require_labels:
        if loose:
            raise InputError(f"found {_count(len(loose), 'image')} but no class subfolders - training needs "
                             "one subfolder per class, named by the class (e.g. shapes/circle/*.png, "
                             "shapes/square/*.png): move the images into them", name)
        raise InputError(f"empty folder: expected one subfolder per class, each holding its images ({exts})",
                         name)
    else:
        if not loose:
            raise InputError(f"empty folder: no images ({exts}) in it or in subfolders", name)
        paths, y = loose, None
    other += len(files) - len(loose)
    if other:
        notes.append(f"ignored {_count(other, 'file')} that {'is' if other == 1 else 'are'} not "
                     f"{'an image' if other == 1 else 'images'} ({exts})")
    n = image_size * image_size * 3
    try:
        X = np.empty((len(paths), n), dtype=np.float64)
    except MemoryError:
        gb = len(paths) * n * 8 / 1e9
        raise InputError(f"{len(paths)} images at {image_size}x{image_size} need {gb:.1f} GB of memory - "
                         "lower --image-size", name) from None
    for i, rel in enumerate(paths):
        X[i] = _load_image(os.path.join(path, *rel.split("/")), image_size)
    return Dataset(X, y, [f"pixel_{j}" for j in range(n)], name, "images",
                   None if y is None else "class", paths=paths, image_size=image_size, notes=notes)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _load_image(file: str, size: int) -> np.ndarray:
    """One image as ``size * size * 3`` float64 values in [0, 1], (H, W, C) order."""
    try:
        return load_image(file, size, fit="stretch").pixels.reshape(-1)
    except UnreadableImage as e:
        raise InputError(f"cannot read this image: {e.reason}", file) from None
