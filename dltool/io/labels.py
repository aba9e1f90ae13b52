"""Label sets for anchor clustering: box widths and heights from YOLO, COCO, Pascal VOC or CSV.

:func:`read_labels` turns a labelled data set into an ``(N, 2)`` array of box widths and heights
in pixels, scaled the way YOLOv5's ``kmean_anchors`` sees them: each image resized so that its
long side is ``img_size`` (``img_size=0`` keeps native pixels). Boxes with a side under
``min_size`` pixels are dropped, as YOLOv5 drops boxes under 2 px.

=========  =============================================================================
``yolo``   a directory of ``*.txt`` label files (searched recursively; a dataset root with a
           ``labels/`` folder reads that folder), one ``class cx cy w h`` line per box,
           normalised to [0, 1], or a segment line ``class x1 y1 x2 y2 x3 y3 ...`` (its
           bounding box is used). Image sizes come from the image headers, found the YOLO
           way: ``.../labels/<sub>/<name>.txt`` -> ``.../images/<sub>/<name>.<ext>`` (or the
           image beside the label file). ``assume_square`` reads no images.
``coco``   a COCO instances ``.json`` (``images`` with width/height, ``annotations`` with
           ``bbox`` [x, y, w, h] in pixels); ``iscrowd=1`` annotations are skipped.
``voc``    a directory of Pascal VOC ``*.xml`` annotations (e.g. ``Annotations/``), searched
           recursively; ``<difficult>1</difficult>`` objects are skipped.
``csv``    a CSV/TSV with a header holding ``w`` and ``h`` columns, in pixels, used as given:
           no scaling (``img_size`` and ``assume_square`` do not apply). ``-`` reads stdin.
=========  =============================================================================

The io layer does not import pillow at module level (``dltool --help`` stays light): images are
opened inside :func:`_image_size`, header only, never decoded.
"""

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np

from dltool.errors import InputError
from dltool.io.csvfile import CsvFile, RowBuffer, field_count_message
from dltool.io.formats import LABEL_EXTENSIONS, format_from_extension
from dltool.core.names import LABEL_FORMATS
from dltool.io.images import IMAGE_EXTENSIONS, image_size
from dltool.io.streams import decode_text, input_name, parse_json, read_input, unlistable_folder
from dltool.io.tabular import is_number


_TOL = 1e-6  # normalised coordinates a rounding error outside [0, 1] are accepted (and clipped)
_YOLO_LINE = "`class cx cy w h`"
_SEGMENT_LINE = "`class x1 y1 x2 y2 x3 y3 ...`"
_ASSUME_SQUARE = "pass --img-size N --assume-square to scale the normalised sizes by N instead"
# labelImg writes the class names into the label folder; it is not a label file.
_CLASSES_FILE = "classes.txt"


@dataclass
class LabelSet:
    """Box sizes read from one labelled data set.

    Attributes
    ----------
    wh : ndarray of shape (N, 2)
        float64 box widths and heights in pixels, after scaling and after min-size filtering.
    name : str
        The input as named in messages (``<stdin>`` for ``-``).
    kind : str
        ``yolo``, ``coco``, ``voc`` or ``csv``.
    n_images : int
        Images in the set: YOLO label files, COCO ``images`` entries, VOC XML files; 0 for csv.
    dropped : int
        Boxes dropped because a side was under ``min_size``.
    notes : list of str
        Remarks for stderr, e.g. ``skipped 3 crowd annotations (iscrowd=1)``.
    """

    wh: np.ndarray
    name: str
    kind: str
    n_images: int
    dropped: int
    notes: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.wh)


def read_labels(path: str, img_size: int = 640, assume_square: bool = False,
                min_size: float = 2.0, input_format: str = "auto") -> LabelSet:
    """Box widths and heights (pixels) of a YOLO, COCO, Pascal VOC or CSV label set.

    Parameters
    ----------
    path : str
        A YOLO labels directory, a Pascal VOC annotations directory, a COCO instances ``.json``,
        a ``.csv``/``.tsv`` of ``w,h``, or ``-`` for CSV on standard input.
    img_size : int
        Scale each image so that its long side is ``img_size`` pixels, as YOLOv5 trains:
        ``w_px = w_norm * W * img_size / max(W, H)``. ``0`` keeps native pixels. Not applied
        to CSV input, whose sizes are taken as given.
    assume_square : bool
        YOLO only: read no images and take every image as ``img_size`` x ``img_size``
        (``w_px = w_norm * img_size``). Needs ``img_size > 0``.
    min_size : float
        Drop boxes with a width or height under ``min_size`` pixels, or of zero width or height
        (counted in ``dropped``).
    input_format : str
        One of :data:`LABEL_FORMATS`; ``auto`` decides from the path (see the module docstring).

    Raises
    ------
    InputError
        Bad input, located as ``file:line`` or ``file: annotations[k]`` and naming the fix; also
        when no box is left.
    """
    _check_options(img_size, assume_square, min_size, input_format)
    name = input_name(path)
    kind, files = _detect(path, input_format)
    notes = []
    if assume_square and kind != "yolo":
        notes.append(f"--assume-square ignored: {kind} labels give the box sizes without images")
    if kind == "yolo":
        wh, n_images = _read_yolo(files, img_size, assume_square, notes)
    elif kind == "coco":
        wh, n_images = _read_coco(path, img_size, notes)
    elif kind == "voc":
        wh, n_images = _read_voc(files, img_size, notes)
    else:
        wh, n_images = _read_csv(path), 0
    total = len(wh)
    # A zero side has no IoU with anything (0/0 against another zero-width box): it is dropped
    # with the small boxes even at --min-size 0.
    keep = ((wh >= min_size) & (wh > 0)).all(axis=1) if total else np.zeros(0, dtype=bool)
    dropped = int(total - np.count_nonzero(keep))
    wh = np.ascontiguousarray(wh[keep], dtype=np.float64).reshape(-1, 2)
    if not len(wh):
        reasons = ([f"{dropped} dropped by --min-size {min_size:g}"] if dropped else []) + notes
        detail = f" ({'; '.join(reasons)})" if reasons else ""
        fix = (" - lower --min-size, or raise --img-size" if dropped
               else " - the labels hold no boxes to cluster")
        raise InputError(f"no boxes in {name}{detail}{fix}")
    return LabelSet(wh, name, kind, n_images, dropped, notes)


# -------------------------------------------------------------------- options and format


def _check_options(img_size, assume_square, min_size, input_format) -> None:
    if input_format not in LABEL_FORMATS:
        raise InputError(f"unknown label format {input_format!r}: expected one of {', '.join(LABEL_FORMATS)}")
    if isinstance(img_size, bool) or not isinstance(img_size, (int, np.integer)) or img_size < 0:
        raise InputError("--img-size must be a whole number of pixels >= 0 (0 = native pixels), "
                         f"got {img_size!r}")
    if assume_square and img_size <= 0:
        raise InputError("--assume-square needs --img-size N > 0: the normalised sizes are multiplied by N")
    if not isinstance(min_size, (int, float, np.number)) or not math.isfinite(min_size) or min_size < 0:
        raise InputError(f"--min-size must be a finite number of pixels >= 0, got {min_size!r}")


def _walk(root: str) -> list:
    """Every file under ``root`` (hidden files and folders left out), sorted: a stable order."""
    found = []
    for folder, dirs, files in os.walk(root, onerror=unlistable_folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [os.path.join(folder, f) for f in files if not f.startswith(".")]
    return sorted(found)


def _ext(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def _yolo_files(root: str) -> list:
    # A dataset root (images/, labels/, train.txt listing image paths) reads labels/ only.
    labels = os.path.join(root, "labels")
    return [f for f in _walk(labels if os.path.isdir(labels) else root) if _ext(f) == ".txt"]


def _detect(path: str, input_format: str):
    """(kind, files): the label format, and for yolo/voc the files to read."""
    if path == "-":
        if input_format in ("auto", "csv"):
            return "csv", None
        if input_format == "coco":
            return "coco", None
        raise InputError(f"{input_format} labels are read from a directory, not standard input - '-' "
                         "reads a CSV with w,h columns (or COCO JSON with --input-format coco)", "<stdin>")
    if not os.path.exists(path):
        raise InputError("no such file or directory - check the path", path)
    if os.path.isdir(path):
        if input_format in ("coco", "csv"):
            what = ("a COCO instances .json file" if input_format == "coco"
                    else "a .csv/.tsv file with w,h columns")
            raise InputError(f"is a directory, expected {what}", path)
        if input_format == "voc":
            files = [f for f in _walk(path) if _ext(f) == ".xml"]
            if not files:
                raise InputError("no *.xml Pascal VOC annotations found in this directory (searched "
                                 "recursively) - give the Annotations/ folder", path)
            return "voc", files
        txt = _yolo_files(path)
        if input_format == "yolo":
            if not txt:
                raise InputError("no *.txt YOLO label files found in this directory (searched "
                                 "recursively) - give the labels/ folder", path)
            return "yolo", txt
        # auto: YOLO .txt labels first; a VOC devkit also holds ImageSets/**/*.txt lists.
        yolo = [f for f in txt
                if os.path.basename(f) != _CLASSES_FILE and "ImageSets" not in PurePath(f).parts]
        if yolo:
            return "yolo", txt
        everything = _walk(path)
        xml = [f for f in everything if _ext(f) == ".xml"]
        if xml:
            return "voc", xml
        hint = (" - for COCO, give the instances .json file itself"
                if any(_ext(f) == ".json" for f in everything) else "")
        raise InputError("no label files found: expected YOLO *.txt label files or Pascal VOC *.xml "
                         f"annotations (searched recursively){hint}", path)
    if input_format != "auto":
        return input_format, [path] if input_format in ("yolo", "voc") else None
    kind = format_from_extension(path, LABEL_EXTENSIONS)
    if kind is None:
        raise InputError("cannot tell the label format from the extension: expected a YOLO labels "
                         "directory, a Pascal VOC annotations directory, a COCO instances .json or a "
                         ".csv/.tsv with w,h columns - or pass --input-format", path)
    return kind, [path] if kind in ("yolo", "voc") else None


def _read_text(path: str) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", path) from None
    return decode_text(data, path)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# -------------------------------------------------------------------- YOLO


def _read_yolo(files, img_size, assume_square, notes, out=None, conf=False):
    """(wh, n_images): one label file per image; boxes scaled by their image's size.

    ``conf``: prediction files, ``class cx cy w h conf`` per line (ultralytics' save_conf).
    ``out``: a dict that receives every row (``values``), the ``files``, box ``counts`` per file,
    ``lines``, and the ``sizes`` (width, height) each file's boxes were scaled by (NaN where no
    image was opened).
    """
    width = 6 if conf else 5
    skipped = [f for f in files if os.path.basename(f) == _CLASSES_FILE]
    if skipped:
        files = [f for f in files if os.path.basename(f) != _CLASSES_FILE]
        notes.append(f"skipped {_plural(len(skipped), 'class-name file')} ({_CLASSES_FILE})")
    rows, lines, counts = [], [], []  # rows: 5 strings per box line, or 5 floats for a segment
    for f in files:
        start = len(rows)
        for lineno, line in enumerate(_read_text(f).split("\n"), 1):
            fields = line.split()
            n = len(fields)
            if n == width:
                rows.append(fields)
            elif n == 0:
                continue  # blank line
            elif n > 6 and n % 2 and not conf:
                rows.append(_segment_box(fields, f"{f}:{lineno}"))
            else:
                raise InputError(_PREDICTION_FIELDS.format(n) if conf else _field_count_message(fields),
                                 f"{f}:{lineno}")
            lines.append(lineno)
        counts.append(len(rows) - start)
    counts = np.array(counts, dtype=np.int64)
    if out is not None:
        out.update(files=files, counts=counts, lines=lines, values=np.empty((0, width)), sizes=np.empty((0, 2)))
    if not files:
        return np.empty((0, 2)), 0
    empty = int(np.count_nonzero(counts == 0))
    if empty:
        notes.append(f"{empty} of {_plural(len(files), 'label file')} empty (background images)")
    file_of_row = np.repeat(np.arange(len(files)), counts)

    def where(row: int) -> str:
        return f"{files[file_of_row[row]]}:{lines[row]}"

    try:
        values = np.array(rows, dtype=np.float64).reshape(-1, width)
    except ValueError:
        values = None
    if values is None:  # find the first field Python cannot read as a number
        for row, fields in enumerate(rows):
            for k, text in enumerate(fields):
                if isinstance(text, str) and not is_number(text):
                    raise InputError(f"{(*_YOLO_NAMES, 'conf')[k]} is {text!r}, not a number - expected "
                                     f"{_PREDICTION_LINE if conf else _YOLO_LINE}, normalised to [0, 1]",
                                     where(row))
        values = np.array([[float(v) for v in r] for r in rows]).reshape(-1, width)
    bad = ~_valid_yolo_rows(values[:, :5])
    if conf:
        bad |= ~np.isfinite(values[:, 5])
    if bad.any():
        row = int(np.argmax(bad))
        problem = (f"conf is {values[row, 5]:g}: the confidence must be a finite number"
                   if _valid_yolo_rows(values[row:row + 1, :5])[0] else _yolo_row_problem(values[row, :5]))
        raise InputError(problem, where(row))
    wh = np.clip(values[:, 3:5], 0.0, 1.0)
    if out is not None:
        out["values"] = values
    if assume_square:
        if out is not None:
            out["sizes"] = np.full((len(files), 2), float(img_size))
        return wh * float(img_size), len(files)
    finder = _ImageFinder()
    sizes = np.ones((len(files), 2))
    for i in np.flatnonzero(counts):  # a background image (no boxes) is never opened
        sizes[i] = finder.size_for(files[i])
    if out is not None:
        out["sizes"] = np.where((counts > 0)[:, None], sizes, np.nan)
    sizes = np.repeat(sizes, counts, axis=0)
    if img_size:
        # scale per axis first (W * img_size / max(W, H)): exact for the usual image sizes
        scale = sizes * (float(img_size) / sizes.max(axis=1))[:, None]
    else:
        scale = sizes
    return wh * scale, len(files)


_YOLO_NAMES = ("class", "cx", "cy", "w", "h")
_PREDICTION_LINE = "`class cx cy w h conf`"
_PREDICTION_FIELDS = ("expected 6 fields " + _PREDICTION_LINE + " (a YOLO prediction file with confidences, "
                      "as ultralytics writes with save_conf=True), got {}")


def _field_count_message(fields: list) -> str:
    n = len(fields)
    msg = (f"expected 5 fields {_YOLO_LINE} (or a segment {_SEGMENT_LINE}: the class and at least "
           f"3 x,y points), got {_plural(n, 'field')}")
    if n == 1 and (_ext(fields[0]) in IMAGE_EXTENSIONS or "/" in fields[0]):
        msg += " - this looks like a list of image paths, not a YOLO label file"
    elif n == 4:
        msg += " - is the class index missing?"
    elif n == 6:
        msg += " - a detection file with a confidence column? YOLO labels have none"
    return msg


def _valid_yolo_rows(values: np.ndarray) -> np.ndarray:
    cls = values[:, 0]
    coords = values[:, 1:]
    return (np.isfinite(values).all(axis=1) & (cls >= 0) & (cls == np.floor(cls))
            & (coords >= -_TOL).all(axis=1) & (coords <= 1 + _TOL).all(axis=1))


def _yolo_row_problem(row: np.ndarray) -> str:
    """Why one ``class cx cy w h`` row was refused (the checks of _valid_yolo_rows, in order)."""
    for name, v in zip(_YOLO_NAMES, row):
        if not math.isfinite(v):
            return f"{name} is {v:g}: values must be finite numbers"
    if row[0] < 0 or row[0] != math.floor(row[0]):
        return f"class must be a class index (a whole number >= 0), got {row[0]:g}"
    for name, v in zip(_YOLO_NAMES[3:], row[3:]):
        if v < -_TOL:
            return f"{name} is {v:g}: box width and height must be >= 0"
    for name, v in zip(_YOLO_NAMES[1:], row[1:]):
        if v < -_TOL or v > 1 + _TOL:
            hint = (" - these look like pixels: YOLO labels divide x and w by the image width, "
                    "y and h by its height" if v > 1 else "")
            return f"{name} is {v:g}: coordinates must be normalised to [0, 1]{hint}"
    return f"invalid box {' '.join(f'{v:g}' for v in row)}"  # not reached


def _segment_box(fields: list, where: str) -> list:
    """The bounding box ``[class, cx, cy, w, h]`` of a segment line, as YOLOv5's segments2boxes."""
    try:
        values = np.array(fields, dtype=np.float64)
    except ValueError:
        values = None
    if values is None:
        for k, text in enumerate(fields):
            if not is_number(text):
                what = "class" if k == 0 else f"{'xy'[(k - 1) % 2]}{(k + 1) // 2}"
                raise InputError(f"{what} is {text!r}, not a number - expected a segment "
                                 f"{_SEGMENT_LINE}, normalised to [0, 1]", where)
        values = np.array([float(t) for t in fields])
    if not np.isfinite(values).all():
        k = int(np.argmax(~np.isfinite(values)))
        raise InputError(f"field {k + 1} is {values[k]:g}: values must be finite numbers", where)
    cls = values[0]
    if cls < 0 or cls != math.floor(cls):
        raise InputError(f"class must be a class index (a whole number >= 0), got {cls:g}", where)
    points = values[1:]
    outside = (points < -_TOL) | (points > 1 + _TOL)
    if outside.any():
        k = int(np.argmax(outside))
        raise InputError(f"segment point {'xy'[k % 2]}{k // 2 + 1} is {points[k]:g}: coordinates must be "
                         "normalised to [0, 1]", where)
    points = np.clip(points, 0.0, 1.0)
    x, y = points[0::2], points[1::2]
    return [cls, (x.min() + x.max()) / 2, (y.min() + y.max()) / 2, x.max() - x.min(), y.max() - y.min()]


class _ImageFinder:
    """The image of a YOLO label file, and its size; each folder is listed once."""

    def __init__(self):
        self._listings = {}
        self._folders = {}

    def _listing(self, folder: str) -> dict:
        if folder not in self._listings:
            try:
                names = sorted(os.listdir(folder))
            except (FileNotFoundError, NotADirectoryError):
                names = []  # no image folder there: the caller says what to do instead
            except OSError as e:  # it exists but cannot be listed: say so, not "no image found"
                unlistable_folder(e)
            rank = {ext: i for i, ext in enumerate(IMAGE_EXTENSIONS)}
            found = {}
            for n in names:
                stem, ext = os.path.splitext(n)
                ext = ext.lower()
                if ext in rank and (stem not in found or rank[ext] < rank[_ext(found[stem])]):
                    found[stem] = n
            self._listings[folder] = found
        return self._listings[folder]

    @staticmethod
    def folders(label: str) -> list:
        """Where the image of ``label`` may be: the YOLO ``images`` twin of its folder, then its own."""
        folder = os.path.dirname(label) or "."
        parts = PurePath(folder).parts
        if "labels" not in parts:
            parts = PurePath(os.path.abspath(folder)).parts
        out = []
        if "labels" in parts:
            k = len(parts) - 1 - parts[::-1].index("labels")  # the LAST labels component
            out.append(os.path.join(*parts[:k], "images", *parts[k + 1:]))
        out.append(folder)
        return out

    def size_for(self, label: str) -> tuple:
        folder, base = os.path.split(label)
        stem = os.path.splitext(base)[0]
        if folder not in self._folders:
            self._folders[folder] = self.folders(label)
        folders = self._folders[folder]
        for folder in folders:
            name = self._listing(folder).get(stem)
            if name is not None:
                return _image_size(os.path.join(folder, name), label)
        exts = ",".join(e[1:] for e in IMAGE_EXTENSIONS)
        looked = " and ".join(os.path.join(f, f"{stem}.{{{exts}}}") for f in folders)
        raise InputError(f"no image for this label file (looked for {looked}); its size is needed to "
                         "turn normalised boxes into pixels - keep images in .../images/... beside "
                         f".../labels/..., or {_ASSUME_SQUARE}", label)


def _image_size(path: str, label: str) -> tuple:
    """(width, height) from the image header (no decoding), turned as its EXIF orientation says."""
    try:
        width, height = image_size(path)
    except InputError as e:
        raise InputError(f"cannot read this image's size ({e.reason}), needed for the labels in {label} - "
                         f"replace the image, or {_ASSUME_SQUARE}", path) from None
    if width <= 0 or height <= 0:
        raise InputError(f"image has size {width}x{height}, needed for the labels in {label}", path)
    return width, height


# -------------------------------------------------------------------- COCO


def _is_real(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _read_coco(path, img_size, notes):
    import json  # loaded by parse_json already; not at the top, where every CSV or YOLO run would pay

    name = input_name(path)
    text = decode_text(read_input(path), name)
    doc = parse_json(text, name)
    if isinstance(doc, list):
        if doc and isinstance(doc[0], dict) and "bbox" in doc[0] and "images" not in doc[0]:
            raise InputError("this is a detection-results list; anchors need an instances file with "
                             "images and annotations (e.g. instances_train2017.json)", name)
        raise InputError("expected a COCO instances object {\"images\": [...], \"annotations\": [...]}, "
                         "got a list", name)
    if not isinstance(doc, dict):
        raise InputError("expected a COCO instances object {\"images\": [...], \"annotations\": [...]}, "
                         f"got {type(doc).__name__}", name)
    for key in ("images", "annotations"):
        if not isinstance(doc.get(key), list):
            got = "missing" if key not in doc else f"not a list ({type(doc[key]).__name__})"
            raise InputError(f"\"{key}\" is {got}: a COCO instances file has \"images\" (id, width, "
                             "height) and \"annotations\" (image_id, bbox [x,y,w,h])", name)
    images, annotations = doc["images"], doc["annotations"]
    need_size = img_size > 0
    scale_of = {}  # image id -> factor from its pixels to the img_size-long-side pixels
    index_of = {}
    for k, im in enumerate(images):
        where = f"{name}: images[{k}]"
        if not isinstance(im, dict):
            raise InputError(f"expected an object with \"id\", \"width\", \"height\", got "
                             f"{type(im).__name__}", where)
        if "id" not in im:
            raise InputError("missing \"id\" - each image needs the id its annotations refer to", where)
        iid = im["id"]
        if not isinstance(iid, (int, float, str)) or isinstance(iid, bool):
            raise InputError(f"\"id\" must be a number or a string, got {json.dumps(iid)}", where)
        if iid in index_of:
            raise InputError(f"duplicate image id {json.dumps(iid)} (also images[{index_of[iid]}])", where)
        index_of[iid] = k
        if need_size:
            dims = []
            for key in ("width", "height"):
                v = im.get(key)
                if key not in im:
                    raise InputError(f"missing \"{key}\" - the image size is needed to scale its boxes "
                                     "to --img-size (or pass --img-size 0 for native pixels)", where)
                if not _is_real(v) or not math.isfinite(v) or v <= 0:
                    raise InputError(f"\"{key}\" must be a positive number of pixels, got {json.dumps(v)} "
                                     "- fix the image entry (or pass --img-size 0 for native pixels)", where)
                dims.append(v)
            scale_of[iid] = img_size / max(dims)
        else:
            scale_of[iid] = 1.0
    boxes, scales = [], []
    crowd = 0
    for k, ann in enumerate(annotations):
        where = f"{name}: annotations[{k}]"
        if not isinstance(ann, dict):
            raise InputError("expected an object with \"image_id\" and \"bbox\", "
                             f"got {type(ann).__name__}", where)
        if "image_id" not in ann:
            raise InputError("missing \"image_id\" - each annotation names its image", where)
        iid = ann["image_id"]
        try:
            scale = scale_of[iid]
        except (KeyError, TypeError):
            raise InputError(f"unknown image_id {json.dumps(iid)}: no entry in \"images\" has this id",
                             where) from None
        bbox = ann.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4 or not all(_is_real(v) for v in bbox):
            raise InputError(f"\"bbox\" must be 4 numbers [x, y, w, h] in pixels, got {json.dumps(bbox)}",
                             where)
        w, h = bbox[2], bbox[3]
        if not all(math.isfinite(v) for v in bbox):
            raise InputError(f"\"bbox\" must be finite numbers, got {json.dumps(bbox)}", where)
        if w < 0 or h < 0:
            raise InputError(f"\"bbox\" has a negative width or height ({w:g}, {h:g}): COCO boxes are "
                             "[x, y, w, h] with w, h >= 0", where)
        if ann.get("iscrowd") == 1:
            crowd += 1  # YOLOv5's COCO conversion leaves crowd regions out
            continue
        boxes.append((w, h))
        scales.append(scale)
    if crowd:
        notes.append(f"skipped {_plural(crowd, 'crowd annotation')} (iscrowd=1)")
    wh = np.array(boxes, dtype=np.float64).reshape(-1, 2)
    return wh * np.array(scales, dtype=np.float64)[:, None], len(images)


# -------------------------------------------------------------------- Pascal VOC


_VOC_BOX = ("xmin", "ymin", "xmax", "ymax")
_VOC_BNDBOX = "<bndbox><xmin>..</xmin><ymin>..</ymin><xmax>..</xmax><ymax>..</ymax></bndbox> in pixels"


def _voc_number(element, tag: str, where: str, fix: str) -> float:
    text = element.findtext(tag)
    if text is None:
        raise InputError(f"missing <{tag}> - {fix}", where)
    try:
        v = float(text)
    except ValueError:
        raise InputError(f"<{tag}> is {text.strip()!r}, not a number - {fix}", where) from None
    if not math.isfinite(v):
        raise InputError(f"<{tag}> is {text.strip()}: must be a finite number - {fix}", where)
    return v


def _read_voc(files, img_size, notes, out=None):
    """(wh, n_images) of the objects that are not difficult. ``out``: a dict whose ``images`` list
    receives ``(file, <filename>, <size> width and height texts)`` per file and ``objects`` list
    ``(image number, name, x1, y1, x2, y2, difficult, where)`` per object, difficult ones too."""
    boxes, scales = [], []
    difficult = 0
    import xml.etree.ElementTree as ET  # here: only VOC folders need an XML parser (~3 ms to import)

    size_fix = "each annotation needs <size><width>W</width><height>H</height></size> (or pass --img-size 0)"
    for f in files:
        try:
            with open(f, "rb") as fh:
                data = fh.read()
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror}", f) from None
        try:
            root = ET.fromstring(data)
        except ET.ParseError as e:
            line, column = e.position
            msg = re.sub(r": line \d+, column \d+$", "", str(e))
            raise InputError(f"invalid XML: {msg} (column {column + 1})", f"{f}:{line}") from None
        if root.tag != "annotation":
            raise InputError(f"expected a Pascal VOC <annotation> document, got <{root.tag}>", f)
        if out is not None:
            out.setdefault("objects", [])
            out.setdefault("images", []).append((f, root.findtext("filename"), root.findtext("size/width"),
                                                 root.findtext("size/height")))
        scale = 1.0
        if img_size > 0:
            size = root.find("size")
            if size is None:
                raise InputError(f"missing <size> - {size_fix}", f)
            dims = [_voc_number(size, key, f, size_fix) for key in ("width", "height")]
            if min(dims) <= 0:
                raise InputError(f"<size> is {dims[0]:g}x{dims[1]:g}: width and height must be > 0 - "
                                 f"{size_fix}", f)
            scale = img_size / max(dims)
        for i, obj in enumerate(root.findall("object")):
            label = (obj.findtext("name") or "").strip()
            where = f"{f}: object[{i}]" + (f" ({label})" if label else "")
            bndbox = obj.find("bndbox")
            if bndbox is None:
                raise InputError(f"missing <bndbox> - each <object> needs {_VOC_BNDBOX}", where)
            x1, y1, x2, y2 = (_voc_number(bndbox, key, where, f"each <object> needs {_VOC_BNDBOX}")
                              for key in _VOC_BOX)
            if x2 < x1 or y2 < y1:
                raise InputError(f"xmax < xmin or ymax < ymin in ({x1:g},{y1:g},{x2:g},{y2:g}): "
                                 "<bndbox> needs the corners in order", where)
            if out is not None:
                out["objects"].append((len(out["images"]) - 1, label, x1, y1, x2, y2,
                                       (obj.findtext("difficult") or "0").strip() == "1", where))
            if (obj.findtext("difficult") or "0").strip() == "1":
                difficult += 1  # YOLOv5's VOC conversion leaves difficult objects out
                continue
            boxes.append((x2 - x1, y2 - y1))
            scales.append(scale)
    if difficult:
        notes.append(f"skipped {_plural(difficult, 'difficult object')} (<difficult>1</difficult>)")
    wh = np.array(boxes, dtype=np.float64).reshape(-1, 2)
    return wh * np.array(scales, dtype=np.float64)[:, None], len(files)


# -------------------------------------------------------------------- CSV


def _read_csv(path: str) -> np.ndarray:
    """Widths and heights from the ``w``, ``h`` columns, in pixels as given (never scaled)."""
    name = input_name(path)
    with CsvFile(path, name=name) as table:
        header = table.header
        if header is None:
            raise InputError("empty: expected a header row with w,h columns (box width and height in pixels), "
                             "then one box per line", name)
        where_header = f"{name}:{header.line}"
        columns = header.columns
        lowered = [c.lower() for c in columns]
        if all(is_number(c) for c in columns if c):
            raise InputError("expected a header row naming the columns (w,h), got numbers - add a first "
                             "line `w,h`", where_header)
        missing = [c for c in ("w", "h") if c not in lowered]
        if missing:
            hint = (" - for corners, add w = x2 - x1 and h = y2 - y1"
                    if {"x1", "y1", "x2", "y2"} <= set(lowered) else "")
            raise InputError(f"missing column(s) {','.join(missing)}: the header is "
                             f"{header.delimiter.join(columns)!r}, expected w and h columns (box width and "
                             f"height in pixels){hint}", where_header)
        for c in ("w", "h"):
            if lowered.count(c) > 1:
                raise InputError(f"column {c!r} appears twice in the header", where_header)
        wh_columns = [lowered.index("w"), lowered.index("h")]
        chunks = list(table.chunks(wh_columns))
    for chunk in chunks:  # every row has its fields before any value is checked
        if chunk.bad_width is not None:
            raise InputError(field_count_message(columns, chunk.bad_count, header.delimiter, header.line),
                             f"{name}:{chunk.lines[chunk.bad_width]}")
    wh = RowBuffer(2)
    for chunk in chunks:
        values = chunk.values
        bad = ~(np.isfinite(values) & (values >= 0))
        if chunk.unreadable is not None:
            bad |= chunk.unreadable
        if bad.any():
            row = int(np.argmax(bad.any(axis=1)))
            for k, v in enumerate(values[row]):
                cell = chunk.record(row)[wh_columns[k]].strip()
                col, where = columns[wh_columns[k]], f"{name}:{chunk.lines[row]}"
                if chunk.unreadable is not None and chunk.unreadable[row, k]:
                    raise InputError(f"{col} must be a number of pixels, got {cell!r}", where)
                if not math.isfinite(v):
                    raise InputError(f"{col} must be a finite number, got {cell}", where)
                if v < 0:
                    raise InputError(f"{col} is {cell}: box width and height must be >= 0", where)
        wh.add(values)
    return wh.array()


# -------------------------------------------------------------------- boxes for evaluation


@dataclass
class LabelBoxes:
    """Every box of a YOLO or Pascal VOC label set, with its image and class (``dltool map``).

    Attributes
    ----------
    name, kind : str
        The input as named in messages; ``yolo`` or ``voc``.
    images : list of str
        Image ids: the label file's stem (YOLO; background images found in the ``images/`` twin
        folders included) or the XML file's stem (VOC).
    aliases : list of str or None
        Another name of each image: VOC's ``<filename>``, or None.
    sizes : ndarray of shape (n_images, 2)
        Width and height in pixels (NaN where not known: VOC without ``<size>``, YOLO predictions).
    image : ndarray of shape (N,), int
        The image number of each box.
    classes : ndarray of shape (N,), object
        The class of each box as text: YOLO's class index, VOC's ``<name>``.
    xywh : ndarray of shape (N, 4)
        ``[x, y, w, h]`` (top-left corner and size): in pixels, or normalised to [0, 1] when
        ``normalized`` (YOLO predictions, read without their images).
    scores : ndarray of shape (N,) or None
        YOLO predictions' confidences.
    difficult : ndarray of shape (N,), bool
        VOC's ``<difficult>1</difficult>``.
    where : list of str
        ``file:line`` (YOLO) or ``file: object[i]`` (VOC) of each box, for messages.
    notes : list of str
    """

    name: str
    kind: str
    images: list
    aliases: list
    sizes: np.ndarray
    image: np.ndarray
    classes: np.ndarray
    xywh: np.ndarray
    scores: np.ndarray | None
    difficult: np.ndarray
    where: list
    normalized: bool = False
    notes: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.xywh)


def read_label_boxes(path: str, input_format: str = "auto", confidences: bool = False, img_size: int = 0,
                     assume_square: bool = False) -> LabelBoxes:
    """The boxes of a YOLO labels (or predictions) directory or a Pascal VOC annotations directory.

    Parameters
    ----------
    path : str
        A directory (or one ``.txt`` / ``.xml`` file).
    input_format : {"auto", "yolo", "voc"}
    confidences : bool
        YOLO prediction files, ``class cx cy w h conf`` per line: read without images, so the
        boxes stay normalised (``normalized`` is True).
    img_size, assume_square : int, bool
        YOLO labels: image sizes as :func:`read_labels` takes them (``img_size=0``: native pixels
        from the image headers).
    """
    if input_format not in ("auto", "yolo", "voc"):
        raise InputError(f"unknown label format {input_format!r}: expected auto, yolo or voc")
    _check_options(img_size, assume_square, 0.0, input_format)
    name = input_name(path)
    if path == "-":
        raise InputError("YOLO and VOC labels are read from a directory, not standard input", "<stdin>")
    kind, files = _detect(path, input_format)
    if kind not in ("yolo", "voc"):
        raise InputError(f"expected a YOLO labels directory or Pascal VOC annotations, got {kind} input", path)
    if kind == "voc" and confidences:
        raise InputError("Pascal VOC annotations hold no detection scores - give detections as COCO "
                         "results JSON, CSV or YOLO prediction .txt files", path)
    notes, out = [], {}
    if kind == "yolo":
        _read_yolo(files, img_size if not confidences else 1, assume_square or confidences, notes, out=out,
                   conf=confidences)
        files, counts, values = out["files"], out["counts"], out["values"]
        images = [os.path.splitext(os.path.basename(f))[0] for f in files]
        where = [f"{files[k]}:{line}" for k, line in zip(np.repeat(np.arange(len(files)), counts), out["lines"])]
        sizes = out["sizes"] if not confidences else np.full((len(files), 2), np.nan)
        image = np.repeat(np.arange(len(files)), counts)
        v = np.clip(values[:, 1:5], 0.0, 1.0)
        xywh = np.column_stack([v[:, 0] - v[:, 2] / 2, v[:, 1] - v[:, 3] / 2, v[:, 2], v[:, 3]])
        normalized = bool(confidences)
        if not confidences:
            images, sizes = _with_background_images(files, images, sizes, notes)
            if img_size and not assume_square:  # long side img_size, as read_labels scales
                sizes = sizes * (float(img_size) / sizes.max(axis=1))[:, None]
            xywh = xywh * np.tile(sizes[image], 2)
        return LabelBoxes(name, kind, images, [None] * len(images), sizes, image,
                          np.array([str(int(c)) for c in values[:, 0]], dtype=object), xywh,
                          values[:, 5].copy() if confidences else None, np.zeros(len(values), dtype=bool),
                          where, normalized, notes)
    _read_voc(files, 0, [], out=out)
    images = [os.path.splitext(os.path.basename(f))[0] for f, *_ in out.get("images", [])]
    sizes = np.full((len(images), 2), np.nan)
    for k, (_, _, width, height) in enumerate(out.get("images", [])):
        try:
            sizes[k] = float(width), float(height)
        except (TypeError, ValueError):
            pass
    objects = out.get("objects", [])
    corners = np.array([o[2:6] for o in objects], dtype=np.float64).reshape(-1, 4)
    xywh = np.column_stack([corners[:, :2], corners[:, 2:] - corners[:, :2]])
    return LabelBoxes(name, kind, images, [(fn or "").strip() or None for _, fn, _, _ in out.get("images", [])],
                      sizes, np.array([o[0] for o in objects], dtype=np.int64),
                      np.array([o[1] for o in objects], dtype=object), xywh, None,
                      np.array([o[6] for o in objects], dtype=bool), [o[7] for o in objects], False, notes)


def _with_background_images(files, images, sizes, notes):
    """Add the images of the ``images/`` twin folders that have no label file (background images
    of a YOLO set), and read the sizes of the images without boxes, which _read_yolo skips."""
    finder, known = _ImageFinder(), set(images)
    folders = {}  # image stem -> folder holding it
    for label in files:
        for folder in _ImageFinder.folders(label)[:1]:
            for stem in finder._listing(folder):
                if stem not in known:
                    known.add(stem)
                    folders[stem] = folder
    if folders:
        notes.append(f"{_plural(len(folders), 'image')} without a label file (background images)")
    images = images + list(folders)
    sizes = np.concatenate([sizes, np.full((len(folders), 2), np.nan)])
    for k in np.flatnonzero(np.isnan(sizes[:, 0])):
        try:
            if k < len(files):
                sizes[k] = finder.size_for(files[k])
            else:
                folder = folders[images[k]]
                sizes[k] = _image_size(os.path.join(folder, finder._listing(folder)[images[k]]), folder)
        except InputError:
            pass  # a background image that cannot be found: its size is asked for only if needed
    return images, sizes
