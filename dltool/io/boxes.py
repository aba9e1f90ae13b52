"""Box files: CSV/TSV with a header, COCO JSON (detection results or instances), ``.npy`` arrays.

Every reader returns a :class:`BoxFile`: the boxes as validated ``xyxy`` float64, the optional
score / class / image columns, and the original records so that output can carry every other
column through unchanged (and write COCO back as COCO).
"""

import csv
import io
import json
from dataclasses import dataclass

import numpy as np

from dltool.core.boxes import BOX_FORMATS, box_convert
from dltool.errors import InputError
from dltool.io.streams import decode_text, input_name, read_input
from dltool.io.tabular import is_number
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".json": "json", ".npy": "npy"}
_NPY_MAGIC = b"\x93NUMPY"
# Column names dltool gives a meaning to (matched case-insensitively); all others ride along.
SCORE, CLASS, IMAGE = "score", "class", "image"
# COCO keys and the CSV columns they are shown as.
_COCO_FLAT = ("image_id", "category_id", "x", "y", "w", "h", "score")


@dataclass
class BoxFile:
    """Boxes read from one input.

    ``kind`` is ``csv`` (``records``: lists of the original cell strings, ``columns`` the header),
    ``coco`` (``records``: the original dicts) or ``npy`` (no records). ``lines[i]`` is where row i
    came from, for messages. ``classes`` and ``images`` are object arrays of labels (as text), or None.
    """

    name: str
    kind: str
    box_format: str
    xyxy: np.ndarray
    scores: np.ndarray | None
    classes: np.ndarray | None
    images: np.ndarray | None
    columns: list
    records: list | None
    lines: list
    delimiter: str = ","
    score_column: int | None = None  # index of the score cell in a CSV record

    def __len__(self) -> int:
        return len(self.xyxy)

    def where(self, row: int) -> str:
        """``file:line`` (CSV) or ``file: item k`` (JSON) of row ``row``."""
        return f"{self.name}:{self.lines[row]}" if self.kind == "csv" else f"{self.name}: {self.lines[row]}"

    def require_scores(self) -> np.ndarray:
        if self.scores is None and len(self) == 0:
            return np.empty(0)  # an empty file has no score column to miss
        if self.scores is None:
            hint = {"csv": "add a 'score' column",
                    "coco": "each detection needs a \"score\" key",
                    "npy": "save an (N, 5) array: 4 coordinates then the score"}[self.kind]
            raise InputError(f"no scores: non-max suppression ranks boxes by score - {hint}", self.name)
        return self.scores

    # ---------------------------------------------------------------- output

    def table(self, rows, scores=None):
        """(columns, rows of cells) for kept ``rows``; ``scores`` replaces the score column."""
        rows = list(rows)
        if self.kind == "csv":
            out = [list(self.records[r]) for r in rows]
            if scores is not None:
                for r, cells, s in zip(rows, out, scores):
                    if s != self.scores[r]:  # keep the original text of a score that did not change
                        cells[self.score_column] = float(s)
            return list(self.columns), out
        if self.kind == "coco":
            extra = [k for k in self.columns if k not in ("image_id", "category_id", "bbox", "score")]
            columns = [c for c in _COCO_FLAT if c != "score" or self.scores is not None] + extra
            out = []
            for k, r in enumerate(rows):
                rec = self.records[r]
                cells = [rec.get("image_id", ""), rec.get("category_id", ""), *rec["bbox"]]
                if self.scores is not None:
                    cells.append(float(scores[k]) if scores is not None else rec["score"])
                out.append(cells + [rec.get(key, "") for key in extra])
            return columns, out
        columns = list(BOX_FORMATS[self.box_format])
        values = box_convert(self.xyxy[rows], "xyxy", self.box_format)
        if self.scores is None:
            return columns, values.tolist()
        s = self.scores[rows] if scores is None else np.asarray(scores, dtype=float)
        return columns + [SCORE], np.column_stack([values, s]).tolist()

    def json_records(self, rows, scores=None) -> list:
        """JSON objects for kept ``rows``: COCO dicts as they were, CSV rows keyed by column."""
        rows = list(rows)
        if self.kind == "coco":
            out = []
            for k, r in enumerate(rows):
                rec = dict(self.records[r])
                if scores is not None:
                    rec["score"] = float(scores[k])
                out.append(rec)
            return out
        columns, table = self.table(rows, scores)
        numeric = {c.lower() for c in BOX_FORMATS[self.box_format]} | {SCORE}
        return [{c: (float(v) if c.lower() in numeric else v) for c, v in zip(columns, cells)}
                for cells in table]


# -------------------------------------------------------------------- reading


def detect_format(path: str, data: bytes, input_format: str) -> str:
    if input_format != "auto":
        return input_format
    lower = path.lower()
    for ext, fmt in _EXTENSIONS.items():
        if lower.endswith(ext):
            return fmt
    if data.startswith(_NPY_MAGIC):
        return "npy"
    head = data.lstrip()[:1]
    if head in (b"[", b"{"):
        return "json"
    first_line = data.split(b"\n", 1)[0]
    return "tsv" if b"\t" in first_line and b"," not in first_line else "csv"


def read_boxes(path: str, box_format: str = "xyxy", input_format: str = "auto") -> BoxFile:
    """Read a box file (``-`` for stdin); raise InputError naming file and line on bad input."""
    if box_format not in BOX_FORMATS:
        raise InputError(f"unknown box format {box_format!r}: expected one of {', '.join(BOX_FORMATS)}")
    name = input_name(path)
    data = read_input(path)
    fmt = detect_format(path, data, input_format)
    if fmt == "npy":
        return _read_npy(data, name, box_format)
    text = decode_text(data, name)
    if fmt == "json":
        return _read_coco(text, name)
    return _read_delimited(text, name, box_format, "\t" if fmt == "tsv" else ",")


def _suggest_format(lowered: list, box_format: str) -> str:
    for other, names in BOX_FORMATS.items():
        if other != box_format and all(n in lowered for n in names):
            return f" - these look like {other} boxes: pass --box-format {other}"
    return ""


def _read_delimited(text: str, name: str, box_format: str, delimiter: str) -> BoxFile:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    coords = BOX_FORMATS[box_format]
    header = next(reader, None)
    while header is not None and not any(c.strip() for c in header):
        header = next(reader, None)  # leading blank lines
    if header is None:  # an empty file is an empty box set
        return BoxFile(name, "csv", box_format, np.empty((0, 4)), None, None, None,
                       list(coords), [], [], delimiter)
    columns = [c.strip() for c in header]
    lowered = [c.lower() for c in columns]
    header_line = reader.line_num
    if all(is_number(c) for c in columns if c):
        raise InputError(f"expected a header row naming the columns ({','.join(coords)},...), "
                         "got numbers - add a header line", f"{name}:{header_line}")
    missing = [c for c in coords if c not in lowered]
    if missing:
        raise InputError(f"missing column(s) {','.join(missing)} for --box-format {box_format} "
                         f"(expected {','.join(coords)}){_suggest_format(lowered, box_format)}",
                         f"{name}:{header_line}")
    dup = sorted({c for c in lowered if lowered.count(c) > 1 and c in (*coords, SCORE, CLASS, IMAGE)})
    if dup:
        raise InputError(f"column {dup[0]!r} appears twice in the header", f"{name}:{header_line}")
    records, lines = [], []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(cells) != len(columns):
            raise InputError(f"expected {len(columns)} fields ({delimiter.join(columns)}), got {len(cells)}",
                             f"{name}:{reader.line_num}")
        records.append(cells)
        lines.append(reader.line_num)

    def numbers(column: str, what: str) -> np.ndarray:
        k = lowered.index(column)
        cells = [r[k].strip() for r in records]
        try:
            values = np.array(cells, dtype=np.float64)
        except ValueError:
            values = None
        if values is None or not np.isfinite(values).all():
            for row, cell in enumerate(cells):
                if not is_number(cell) or not np.isfinite(float(cell)):
                    raise InputError(f"{what} {columns[k]!r} must be a finite number, got {cell!r}",
                                     f"{name}:{lines[row]}")
            values = np.array([float(c) for c in cells])  # spellings numpy refuses but Python reads
        return values

    raw = np.column_stack([numbers(c, "coordinate") for c in coords]) if records else np.empty((0, 4))
    _check_geometry(raw, box_format, lambda row: f"{name}:{lines[row]}")
    score_column = lowered.index(SCORE) if SCORE in lowered else None
    scores = numbers(SCORE, "score") if score_column is not None else None
    labels = {}
    for key in (CLASS, IMAGE):
        if key in lowered:
            k = lowered.index(key)
            labels[key] = np.array([r[k].strip() for r in records], dtype=object)
    return BoxFile(name, "csv", box_format, box_convert(raw, box_format, "xyxy"), scores,
                   labels.get(CLASS), labels.get(IMAGE), columns, records, lines, delimiter,
                   score_column)


def _check_geometry(raw: np.ndarray, box_format: str, where) -> None:
    """Reject boxes with inverted corners or negative sizes, naming the first one."""
    if box_format == "xyxy":
        bad = (raw[:, 2] < raw[:, 0]) | (raw[:, 3] < raw[:, 1])
        if bad.any():
            row = int(np.argmax(bad))
            x1, y1, x2, y2 = raw[row]
            raise InputError(f"x2 < x1 or y2 < y1 in ({x1:g},{y1:g},{x2:g},{y2:g}): xyxy needs corners "
                             "in order - pass --box-format xywh if the last two are width and height",
                             where(row))
    else:
        bad = (raw[:, 2] < 0) | (raw[:, 3] < 0)
        if bad.any():
            row = int(np.argmax(bad))
            raise InputError(f"negative width or height ({raw[row, 2]:g}, {raw[row, 3]:g}) in a "
                             f"{box_format} box - check the columns or --box-format", where(row))


def _read_coco(text: str, name: str) -> BoxFile:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e.msg} (column {e.colno})", f"{name}:{e.lineno}") from None
    if isinstance(doc, dict) and isinstance(doc.get("annotations"), list):
        doc = doc["annotations"]  # a COCO instances (ground-truth) file
    if not isinstance(doc, list):
        raise InputError("expected a COCO detection-results list [{\"image_id\", \"category_id\", "
                         "\"bbox\": [x,y,w,h], \"score\"}] or an instances file with \"annotations\"", name)
    raw = np.empty((len(doc), 4))
    scores = np.empty(len(doc))
    has_score = None
    keys = {}
    for i, rec in enumerate(doc):
        where = f"{name}: item {i}"
        if not isinstance(rec, dict):
            raise InputError(f"expected an object with \"bbox\", got {type(rec).__name__}", where)
        bbox = rec.get("bbox")
        if (not isinstance(bbox, list) or len(bbox) != 4
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)):
            raise InputError(f"\"bbox\" must be 4 numbers [x, y, w, h], got {json.dumps(bbox)}", where)
        raw[i] = bbox
        if not np.isfinite(raw[i]).all():
            raise InputError(f"\"bbox\" must be finite numbers, got {json.dumps(bbox)}", where)
        if has_score is None:
            has_score = "score" in rec
        if has_score:
            s = rec.get("score")
            if not isinstance(s, (int, float)) or isinstance(s, bool) or not np.isfinite(s):
                raise InputError(f"\"score\" must be a finite number, got {json.dumps(s)}", where)
            scores[i] = s
        keys.update(dict.fromkeys(rec))
    _check_geometry(raw, "xywh", lambda row: f"{name}: item {row}")

    def labels(key):
        present = [key in rec for rec in doc]
        return np.array([str(rec.get(key)) for rec in doc], dtype=object) if doc and all(present) else None

    return BoxFile(name, "coco", "xywh", box_convert(raw, "xywh", "xyxy"),
                   scores if has_score else None, labels("category_id"), labels("image_id"),
                   list(keys), doc, [f"item {i}" for i in range(len(doc))])


def _read_npy(data: bytes, name: str, box_format: str) -> BoxFile:
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as e:  # numpy raises ValueError, OSError, EOFError... for a damaged file
        raise InputError(f"not a readable .npy array ({e})", name) from None
    if arr.ndim != 2 or arr.shape[1] not in (4, 5) or not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"expected a numeric array of shape (N, 4) boxes or (N, 5) boxes and score, "
                         f"got {arr.dtype} {arr.shape}", name)
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise InputError(f"row {int(np.argmax(bad))}: values must be finite numbers", name)
    _check_geometry(arr[:, :4], box_format, lambda row: f"{name}: row {row}")
    scores = arr[:, 4].copy() if arr.shape[1] == 5 else None
    return BoxFile(name, "npy", box_format, box_convert(arr[:, :4], box_format, "xyxy"), scores,
                   None, None, list(BOX_FORMATS[box_format]), None,
                   [f"row {i}" for i in range(len(arr))])


def label_codes(*label_arrays):
    """Integer codes for labels shared across arrays (e.g. the image ids of two files)."""
    present = [a for a in label_arrays if a is not None]
    if not present:
        return [None] * len(label_arrays)
    _, codes = np.unique(np.concatenate(present).astype(str), return_inverse=True)
    out, start = [], 0
    for a in label_arrays:
        if a is None:
            out.append(None)
        else:
            out.append(codes[start:start + len(a)].astype(np.int64))
            start += len(a)
    return out
