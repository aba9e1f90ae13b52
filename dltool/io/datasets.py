"""Data sets for ``train-logreg`` and ``predict``: a CSV/TSV table, an ``.npz`` with ``X`` and ``y``,
or a folder of images with one subfolder per class.

:func:`read_dataset` returns a :class:`Dataset`: ``X`` as (m, n) float64 features and ``y`` as the
labels, text (``"0"``/``"1"`` stay text), or None when there is no label column.

==========  ===========================================================================
``csv``     ``.csv`` (comma; a ``;``- or tab-separated first line is recognised), ``.tsv``/``.tab``
            (tab), or ``-`` for standard input. A header row is required. The label column is
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

The io layer does not import pillow at module level: images are decoded inside :func:`_load_image`.
"""

import csv
import io
import math
import operator
import os
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from dltool.errors import InputError
from dltool.io.streams import decode_text, input_name, read_input, open_npz
from dltool.io.tabular import is_number

#: ``--input-format`` choices of ``train-logreg`` and ``predict``.
DATA_FORMATS = ("auto", "csv", "npz", "images")
#: Extensions of the files read from an image folder (matched case-insensitively).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
#: Images with more pixels are refused before they are decoded (pillow's own decompression-bomb
#: error threshold, 2 x its ``MAX_IMAGE_PIXELS`` default; about 179 megapixels).
MAX_IMAGE_PIXELS = 2 * 89_478_485
#: The filter images are resized with (a pillow ``Image.Resampling`` name).
RESAMPLE = "BILINEAR"

_CSV_EXTENSIONS = {".csv": None, ".txt": None, ".tsv": "\t", ".tab": "\t"}  # None: sniffed
_ZIP_MAGIC, _NPY_MAGIC = b"PK\x03\x04", b"\x93NUMPY"
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")
# Spellings of a missing value, matched case-insensitively after stripping.
_MISSING = {"", "na", "n/a", "nan", "null", "none", "?", "-", "--", "missing", "#n/a"}
_MISSING_FIX = "missing values are not supported; fill or drop them"
_NPZ_FIX = "save the arrays with np.savez(path, X=X, y=y)"
# Modes whose values pillow clips (not scales) when converting to 8-bit RGB.
_WIDE_GRAY = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_SKIPPED_DIRS = {"__MACOSX"}  # the resource forks a macOS zip carries along
_CHUNK = 4096  # rows per numpy conversion in the slow CSV path
_BLANK_LINE = re.compile(r"\n([ \t\r]*)(?=\n)")  # the line after the match's first \n is blank
_LONE_CR = re.compile(r"\r(?!\n)")


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
        dataset = _read_npz(data, name, require_labels)
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
    """(kind, bytes): the data format, and the file's bytes (None for an image folder)."""
    if path == "-":
        if input_format == "images":
            raise InputError("an image folder cannot come from standard input - give the folder's path",
                             "<stdin>")
        data = read_input(path)
        if input_format == "auto":
            return ("npz" if data.startswith(_ZIP_MAGIC) else "csv"), data
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
    data = read_input(path)
    if input_format != "auto":
        return input_format, data
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npz":
        return "npz", data
    if ext in _CSV_EXTENSIONS:
        return "csv", data
    if ext == ".npy" or data.startswith(_NPY_MAGIC):
        raise InputError(f"an .npy file holds one array; features and labels go together in an .npz - "
                         f"{_NPZ_FIX}", path)
    if ext in IMAGE_EXTENSIONS or data.startswith(_IMAGE_MAGIC):
        raise InputError("is a single image: give the folder that holds the images (one subfolder "
                         "per class for training)", path)
    return ("npz" if data.startswith(_ZIP_MAGIC) else "csv"), data


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


def _delimiter(path: str, text: str) -> str:
    """Tab for .tsv/.tab; otherwise from the first non-blank line: comma, else tab, else semicolon."""
    ext = os.path.splitext(path)[1].lower() if path != "-" else ""
    if _CSV_EXTENSIONS.get(ext):
        return _CSV_EXTENSIONS[ext]
    first, pos = "", 0
    while pos < len(text) and not first.strip():
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        first, pos = text[pos:end], end + 1
    if "," in first:
        return ","
    if "\t" in first:
        return "\t"
    return ";" if ";" in first else ","


def _csv_rows(reader, name: str):
    """The rows of a ``csv.reader``; a line it cannot parse is an InputError at that line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise InputError(f"not valid CSV ({e})", f"{name}:{reader.line_num}") from None
        yield row


def _line_start(text: str, line: int) -> int:
    """Offset of the first character after the first ``line`` lines (``\\n``-terminated)."""
    pos = 0
    for _ in range(line):
        nl = text.find("\n", pos)
        if nl < 0:
            return len(text)
        pos = nl + 1
    return pos


def _read_csv(data, name, path, label_column, require_labels, expected_features) -> Dataset:
    text = decode_text(data, name)
    delimiter = _delimiter(path, text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = _csv_rows(reader, name)
    header = next(rows, None)
    while header is not None and not any(c.strip() for c in header):
        header = next(rows, None)  # leading blank lines
    if header is None:
        raise InputError("empty: expected a header row naming the columns (features, then the label), "
                         "then one sample per line", name)
    header_line = reader.line_num
    where = f"{name}:{header_line}"
    columns = [c.strip() for c in header]
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

    parsed = _parse_fast(data, text, header_line, columns, label, in_file, delimiter, name)
    if parsed is None:
        parsed = _parse_slow(text, header_line, columns, label, in_file, delimiter, name)
    X, y, lines = parsed
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


def _record_dtype(ncols: int, label):
    """A structured dtype that reads one CSV row: runs of float64 features and the label as text."""
    if label is None:
        return np.dtype([("f0", np.float64, (ncols,))])
    fields = []
    if label > 0:
        fields.append(("f0", np.float64, (label,)))
    fields.append(("label", object))
    if label < ncols - 1:
        fields.append(("f1", np.float64, (ncols - 1 - label,)))
    return np.dtype(fields)


def _parse_fast(data, text, header_line, columns, label, in_file, delimiter, name):
    """(X, y, lines) by numpy's C parser, or None when the slow path must decide (a bad cell,
    a line of spaces, a lone CR, a quoted line break): it reports the exact place of a bad cell.

    Rows are the non-empty lines after the header (numpy skips empty lines too), which holds only
    when no quoted field spans lines: numpy then finds fewer rows than lines, and the slow path
    takes over. Lines of spaces (numpy reads them as a row) and lone CRs go to the slow path.
    """
    start = _line_start(text, header_line)
    end = len(text)
    while end > start and text[end - 1] in " \t\r\n":
        end -= 1  # trailing blank lines
    if end <= start or _LONE_CR.search(text, 0, end):
        return None
    last_line = header_line + 1 + text.count("\n", start, end)
    blank, newlines, pos = [], header_line - 1, start - 1  # newlines before pos
    for match in _BLANK_LINE.finditer(text, start - 1, end):
        if match.group(1).strip("\r"):
            return None
        newlines += text.count("\n", pos, match.start())
        pos = match.start()
        blank.append(newlines + 2 - (header_line + 1))  # line newlines + 2, as an index from the first row
    if blank:
        keep = np.ones(last_line - header_line, dtype=bool)
        keep[blank] = False
        lines = (np.flatnonzero(keep) + header_line + 1).tolist()
    else:
        lines = list(range(header_line + 1, last_line + 1))
    n_rows = len(lines)
    ncols = len(columns)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec = np.loadtxt(io.BytesIO(data), dtype=_record_dtype(ncols, label), delimiter=delimiter,
                             comments=None, quotechar='"', skiprows=header_line, max_rows=n_rows,
                             encoding="utf-8-sig", ndmin=1)
    except (ValueError, TypeError):
        return None
    if len(rec) != n_rows:
        return None  # a quoted field holds a line break: lines are not rows
    parts = [rec[f] for f in rec.dtype.names if f != "label"]
    X = np.empty((len(rec), ncols - (label is not None)))
    col = 0
    for part in parts:
        X[:, col:col + part.shape[1]] = part
        col += part.shape[1]
    bad = ~np.isfinite(X)
    if bad.any():  # nan/inf parsed: name the cell as it is written
        row, j = (int(i) for i in np.argwhere(bad)[0])
        line = lines[row]
        first = _line_start(text, line - 1)
        last = text.find("\n", first)
        cells = next(csv.reader([text[first:last if last >= 0 else len(text)]], delimiter=delimiter))
        _number(cells[in_file[j]], columns[in_file[j]], f"{name}:{line}", delimiter)
        raise AssertionError("a non-finite cell passed the cell check")
    y = None if label is None else _texts(s.strip() for s in rec["label"])
    return X, y, lines


def _parse_slow(text, header_line, columns, label, in_file, delimiter, name):
    """(X, y, lines) by the csv module, row by row: the reference the fast path must agree with,
    and the one that locates every bad cell."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = _csv_rows(reader, name)
    for _ in rows:
        if reader.line_num >= header_line:
            break
    ncols = len(columns)
    if len(in_file) == 1:
        k0 = in_file[0]
        features = lambda row: (row[k0],)  # noqa: E731 - itemgetter of one index gives no tuple
    else:
        features = operator.itemgetter(*in_file)
    blocks, labels, lines, chunk, chunk_lines = [], [], [], [], []

    def convert():
        try:
            block = np.array(chunk, dtype=np.float64).reshape(len(chunk), len(in_file))
        except ValueError:
            block = None
        if block is None or not np.isfinite(block).all():
            for cells, line in zip(chunk, chunk_lines):
                for k, cell in zip(in_file, cells):
                    _number(cell, columns[k], f"{name}:{line}", delimiter)
            raise AssertionError("a cell numpy refused was accepted one by one")
        blocks.append(block)
        chunk.clear()
        chunk_lines.clear()

    for row in rows:
        if not any(c.strip() for c in row):
            continue  # blank line
        if len(row) != ncols:
            shown = delimiter.join(columns) if ncols <= 8 else f"as many as the header on line {header_line}"
            raise InputError(f"expected {ncols} fields ({shown}), got {len(row)}",
                             f"{name}:{reader.line_num}")
        chunk.append(features(row))
        chunk_lines.append(reader.line_num)
        lines.append(reader.line_num)
        if label is not None:
            labels.append(row[label].strip())
        if len(chunk) == _CHUNK:
            convert()
    if chunk:
        convert()
    X = np.concatenate(blocks) if blocks else np.empty((0, len(in_file)))
    y = None if label is None else _texts(labels)
    return X, y, lines


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


def _read_npz(data, name, require_labels) -> Dataset:
    if data.startswith(_NPY_MAGIC):
        raise InputError(f"an .npy file holds one array; features and labels go together in an .npz - "
                         f"{_NPZ_FIX}", name)
    with open_npz(data, name, _NPZ_FIX) as npz:
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
    if kind in "iu":
        text = [str(int(v)) for v in y.tolist()]
    elif kind == "b":
        text = [str(bool(v)) for v in y.tolist()]
    elif kind == "f":
        bad = ~np.isfinite(y)
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(f"y[{i}] is {y[i]}: every row needs a class", where)
        frac = y != np.round(y)
        if frac.any():
            i = int(np.argmax(frac))
            raise InputError(f"y[{i}] is {y[i]}: labels must be class names or whole numbers", where)
        text = [str(int(v)) for v in y.tolist()]
    elif kind in "US":
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
    for folder, dirs, files in os.walk(root, followlinks=True):
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
    from PIL import Image, ImageOps  # lazy: pillow is not needed to start the CLI

    resample = getattr(Image.Resampling, RESAMPLE)
    try:
        with warnings.catch_warnings():
            # Sizes are checked below; pillow's palette/EXIF warnings are not the user's business.
            warnings.simplefilter("ignore")
            with Image.open(file) as im:
                width, height = im.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise InputError(f"image is {width}x{height} pixels, over the limit of "
                                     f"{MAX_IMAGE_PIXELS:,} (pillow's decompression-bomb guard) - "
                                     "downscale it first", file)
                try:
                    im = ImageOps.exif_transpose(im)
                except Exception:  # a damaged EXIF block: keep the pixels as stored
                    pass
                if im.mode == "F":
                    raise InputError("32-bit floating-point images are not supported - save it as an 8- or "
                                     "16-bit PNG", file)
                if im.mode in _WIDE_GRAY:
                    # pillow clips 16-bit values to 255 when it converts: scale them instead.
                    gray = Image.fromarray(np.asarray(im, dtype=np.float32), "F")
                    if gray.size != (size, size):
                        gray = gray.resize((size, size), resample)
                    v = np.clip(np.asarray(gray, dtype=np.float64) / 65535.0, 0.0, 1.0)
                    return np.repeat(v.reshape(-1), 3)
                rgb = im.convert("RGB")
                if rgb.size != (size, size):
                    rgb = rgb.resize((size, size), resample)
                pixels = np.asarray(rgb, dtype=np.uint8)
    except InputError:
        raise
    except Image.DecompressionBombError as e:
        raise InputError(f"image is too large ({e}) - downscale it first", file) from None
    except Exception as e:  # pillow raises OSError, SyntaxError, ValueError... for damaged files
        reason = str(e) or type(e).__name__
        raise InputError(f"cannot read this image ({reason}) - replace or remove the file", file) from None
    return pixels.reshape(-1) / 255.0
