"""Box files: CSV/TSV with a header, COCO JSON (detection results or instances), ``.npy`` arrays.

Every reader returns a :class:`BoxFile`: the boxes as validated ``xyxy`` float64, the optional
score / class / image columns, and the original records so that output can carry every other
column through unchanged (and write COCO back as COCO).
"""

import csv
import io
import itertools

import numpy as np

from dltool.core.boxes import BOX_FORMATS, MAX_COORDINATE, box_convert
from dltool.errors import InputError
from dltool.io import formats
from dltool.io.csvfile import CsvFile, field_count_message
from dltool.io.streams import NPY_MAGIC, decode_text, input_name, parse_json, read_input
from dltool.io.tabular import cell_text, is_number

_WRITE_ROWS = 32768  # kept rows copied out of the input per numpy gather
# Column names dltool gives a meaning to (matched case-insensitively); all others ride along.
SCORE, CLASS, IMAGE = "score", "class", "image"
# COCO keys and the CSV columns they are shown as.
_COCO_FLAT = ("image_id", "category_id", "x", "y", "w", "h", "score")


class BoxFile:
    """Boxes read from one input.

    ``kind`` is ``csv`` (``records``: a :class:`CsvRecords`, each row's original cell strings, kept as
    the input's bytes; ``columns`` the header), ``coco`` (``records``: the original dicts) or ``npy``
    (no records). ``lines[i]`` is where row i came from, for messages. ``classes`` and ``images`` are
    object arrays of labels (as text), or None. ``score_column`` is the index of the score cell in a
    CSV record; ``xywh`` (COCO) the [x, y, w, h] boxes exactly as the file gave them; ``document``
    (COCO instances) the whole object (images, categories, ...). A plain class: see
    :class:`dltool.io.csvfile.Chunk`.
    """

    def __init__(self, name: str, kind: str, box_format: str, xyxy: np.ndarray, scores: np.ndarray | None,
                 classes: np.ndarray | None, images: np.ndarray | None, columns: list, records: list | None,
                 lines: list, delimiter: str = ",", score_column: int | None = None,
                 xywh: np.ndarray | None = None, document: dict | None = None):
        self.name, self.kind, self.box_format, self.xyxy = name, kind, box_format, xyxy
        self.scores, self.classes, self.images = scores, classes, images
        self.columns, self.records, self.lines, self.delimiter = columns, records, lines, delimiter
        self.score_column, self.xywh, self.document = score_column, xywh, document

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
        """(columns, rows of cells) for kept ``rows``; ``scores`` replaces the score column.

        CSV input: the rows are a :class:`KeptRows`, iterated lazily, which writes itself as CSV/TSV
        straight from the input's bytes (a kept ``0.670`` stays ``0.670``).
        """
        if self.kind == "csv":
            return list(self.columns), KeptRows(self, rows, scores)
        rows = list(rows)
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


class CsvRecords:
    """The cells of each row of a CSV box file, as written, without a Python string per cell: rows
    that numpy's parser read stay spans of the input's bytes (split when asked for), the others
    (quoted fields) keep the csv module's cells. A sequence: ``len``, ``records[i]``, iteration."""

    def __init__(self, data, starts, ends, slow: dict, delimiter: str):
        self.data = data  # the input after a BOM (a memoryview of bytes)
        self.starts, self.ends = starts, ends  # absolute spans; -1 for rows kept in ``slow``
        self.slow = slow  # row -> cells
        self.delimiter = delimiter

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, row):
        row = int(row)
        if row < 0:
            row += len(self)
        if self.starts[row] < 0:
            return self.slow[row]
        return bytes(self.data[self.starts[row]:self.ends[row]]).decode("utf-8").split(self.delimiter)

    def __iter__(self):
        for row in range(len(self)):
            yield self[row]


class KeptRows:
    """Kept rows of a CSV box file in output order, as cells (iteration: the score cell a float
    where ``scores`` changed it), or written straight from the input's bytes by
    :meth:`write_delimited`: what :func:`dltool.io.tabular.write_delimited` would write cell by
    cell, byte for byte, without a Python object per cell."""

    def __init__(self, boxes: "BoxFile", rows, scores=None):
        self.boxes = boxes
        self.rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        self.changed = None  # rows whose score cell is rewritten
        if scores is not None:
            new = np.asarray(scores, dtype=np.float64).reshape(-1)
            self.new_scores = new
            self.changed = new != boxes.scores[self.rows]  # an unchanged score keeps its text

    def __len__(self) -> int:
        return len(self.rows)

    def _cells(self, k: int) -> list:
        cells = list(self.boxes.records[self.rows[k]])
        if self.changed is not None and self.changed[k]:
            cells[self.boxes.score_column] = float(self.new_scores[k])
        return cells

    def __iter__(self):
        for k in range(len(self.rows)):
            yield self._cells(k)

    def write_delimited(self, stream, delimiter: str) -> None:
        """The rows as CSV (``delimiter``) on the text ``stream``, ``\n`` line ends, no header."""
        records = self.boxes.records
        data, starts, ends = records.data, records.starts, records.ends
        source = records.delimiter
        buf = np.frombuffer(data, dtype=np.uint8)
        plain = starts[self.rows] >= 0  # rows that are bytes of the input with no quote in them
        if self.changed is not None:
            plain &= ~self.changed
        if delimiter != source:  # a cell holding the new delimiter must be quoted: the csv module's job
            at = np.flatnonzero(buf == ord(delimiter))
            if len(at):
                s, e = starts[self.rows], ends[self.rows]
                plain &= np.searchsorted(at, e) == np.searchsorted(at, np.maximum(s, 0))
        writer = csv.writer(stream, delimiter=delimiter, lineterminator="\n")
        for k0 in range(0, len(self.rows), _WRITE_ROWS):
            k1 = min(k0 + _WRITE_ROWS, len(self.rows))
            if plain[k0:k1].all():
                text = _gather_lines(buf, starts[self.rows[k0:k1]], ends[self.rows[k0:k1]])
                if delimiter != source:
                    text = text.replace(source, delimiter)
                stream.write(text)
                continue
            for k in range(k0, k1):
                if plain[k]:
                    r = self.rows[k]
                    line = bytes(data[starts[r]:ends[r]]).decode("utf-8")
                    stream.write((line if delimiter == source else line.replace(source, delimiter)) + "\n")
                else:
                    writer.writerow([cell_text(v) for v in self._cells(k)])


def _gather_lines(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> str:
    """The byte spans ``buf[starts[i]:ends[i]]``, each followed by ``\n``, as one string (a numpy gather)."""
    lengths = ends - starts + 1
    stops = np.cumsum(lengths)
    source = np.repeat(starts - (stops - lengths), lengths) + np.arange(int(stops[-1]) if len(stops) else 0)
    source[stops - 1] = 0  # the line end: written below (the span may end the input)
    out = buf[source]
    out[stops - 1] = 10
    return out.tobytes().decode("utf-8")


def detect_format(path: str, data: bytes, input_format: str) -> str:
    if input_format != "auto":
        return input_format
    fmt = formats.format_from_extension(path, formats.BOX_FORMATS)
    if fmt is not None:
        return fmt
    if data.startswith(NPY_MAGIC):
        return "npy"
    head = data.lstrip()[:1]
    if head in (b"[", b"{"):
        return "json"
    return "csv"  # a delimited text; its delimiter is sniffed


def read_boxes(path: str, box_format: str = "xyxy", input_format: str = "auto") -> BoxFile:
    """Read a box file (``-`` for stdin); raise InputError naming file and line on bad input."""
    if box_format not in BOX_FORMATS:
        raise InputError(f"unknown box format {box_format!r}: expected one of {', '.join(BOX_FORMATS)}")
    name = input_name(path)
    data = read_input(path)
    fmt = detect_format(path, data, input_format)
    if fmt == "npy":
        return _read_npy(data, name, box_format)
    if fmt == "json":
        return _read_coco(decode_text(data, name), name)
    # --input-format csv/tsv names the delimiter; a .csv/.tsv name or a sniff finds it otherwise
    forced = formats.DELIMITERS[fmt] if input_format != "auto" else None
    return _read_delimited(data, path, name, box_format, forced)


def _suggest_format(lowered: list, box_format: str) -> str:
    for other, names in BOX_FORMATS.items():
        if other != box_format and all(n in lowered for n in names):
            return f" - these look like {other} boxes: pass --box-format {other}"
    return ""


def _read_delimited(data: bytes, path: str, name: str, box_format: str, delimiter: str | None) -> BoxFile:
    table = CsvFile(path, data=data, delimiter=delimiter, name=name)
    delimiter = table.delimiter
    coords = BOX_FORMATS[box_format]
    header = table.header
    if header is None:  # an empty file is an empty box set
        return BoxFile(name, "csv", box_format, np.empty((0, 4)), None, None, None, list(coords),
                       CsvRecords(table.data, np.empty(0, np.int64), np.empty(0, np.int64), {}, delimiter),
                       np.empty(0, np.int64), delimiter)
    columns = header.columns
    lowered = [c.lower() for c in columns]
    where_header = f"{name}:{header.line}"
    if all(is_number(c) for c in columns if c):
        raise InputError(f"expected a header row naming the columns ({','.join(coords)},...), "
                         "got numbers - add a header line", where_header)
    missing = [c for c in coords if c not in lowered]
    if missing:
        raise InputError(f"missing column(s) {','.join(missing)} for --box-format {box_format} "
                         f"(expected {','.join(coords)}){_suggest_format(lowered, box_format)}", where_header)
    dup = sorted({c for c in lowered if lowered.count(c) > 1 and c in (*coords, SCORE, CLASS, IMAGE)})
    if dup:
        raise InputError(f"column {dup[0]!r} appears twice in the header", where_header)
    score_column = lowered.index(SCORE) if SCORE in lowered else None
    numeric = [lowered.index(c) for c in coords] + ([score_column] if score_column is not None else [])
    labelled = [key for key in (CLASS, IMAGE) if key in lowered]
    chunks = list(table.chunks(numeric, [lowered.index(key) for key in labelled]))
    for chunk in chunks:  # every row has its fields before any value is checked
        if chunk.bad_width is not None:
            raise InputError(field_count_message(columns, chunk.bad_count, delimiter, header.line),
                             f"{name}:{chunk.lines[chunk.bad_width]}")
    records, lines, values, unreadable = _gather(table, chunks, len(numeric))

    def numbers(j: int, what: str) -> np.ndarray:
        bad = ~(np.abs(values[:, j]) <= (MAX_COORDINATE if what == "coordinate" else np.inf))
        if unreadable is not None:
            bad |= unreadable[:, j]
        if bad.any():
            row = int(np.argmax(bad))
            k = numeric[j]
            cell = records[row][k].strip()
            limit = f" of magnitude at most {MAX_COORDINATE:g}" if what == "coordinate" else ""
            raise InputError(f"{what} {columns[k]!r} must be a finite number{limit}, got {cell!r}",
                             f"{name}:{lines[row]}")
        return values[:, j]

    raw = np.column_stack([numbers(j, "coordinate") for j in range(4)]) if len(lines) else np.empty((0, 4))
    _check_geometry(raw, box_format, lambda row: f"{name}:{lines[row]}")
    scores = numbers(4, "score").copy() if score_column is not None else None
    labels = {}
    for t, key in enumerate(labelled):
        cells = [v.strip() for chunk in chunks for v in chunk.texts[t]]
        labels[key] = np.empty(len(cells), dtype=object)
        labels[key][:] = cells
    return BoxFile(name, "csv", box_format, box_convert(raw, box_format, "xyxy"), scores,
                   labels.get(CLASS), labels.get(IMAGE), columns, records, lines, delimiter, score_column)


def _gather(table: CsvFile, chunks: list, k: int):
    """(CsvRecords, lines, values (n, k), unreadable (n, k) or None) of all ``chunks``."""
    n = sum(len(c) for c in chunks)
    starts = np.full(n, -1, dtype=np.int64)
    ends = np.full(n, -1, dtype=np.int64)
    slow = {}
    row = 0
    for chunk in chunks:
        if chunk.records is None:
            starts[row:row + len(chunk)] = chunk.starts + chunk.offset
            ends[row:row + len(chunk)] = chunk.ends + chunk.offset
        else:
            slow.update(zip(range(row, row + len(chunk)), chunk.records))
        row += len(chunk)
    lines = np.concatenate([c.lines for c in chunks]) if chunks else np.empty(0, np.int64)
    values = np.concatenate([c.values for c in chunks]) if chunks else np.empty((0, k))
    unreadable = None
    if any(c.unreadable is not None for c in chunks):
        unreadable = np.concatenate([c.unreadable if c.unreadable is not None else np.zeros((len(c), k), bool)
                                     for c in chunks])
    return CsvRecords(table.data, starts, ends, slow, table.delimiter), lines, values, unreadable


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
    import json  # loaded by parse_json already; not at the top, where every CSV run would pay for it

    doc = parse_json(text, name)
    document = None
    if isinstance(doc, dict) and isinstance(doc.get("annotations"), list):
        document, doc = doc, doc["annotations"]  # a COCO instances (ground-truth) file
    if not isinstance(doc, list):
        raise InputError("expected a COCO detection-results list [{\"image_id\", \"category_id\", "
                         "\"bbox\": [x,y,w,h], \"score\"}] or an instances file with \"annotations\"", name)
    fast = _coco_arrays(doc)
    if fast is not None:
        raw, scores, has_score, keys = fast
    else:  # some record is off: the loop below names it
        raw, scores, has_score, keys = np.empty((len(doc), 4)), np.empty(len(doc)), None, {}
    for i, rec in enumerate(doc if fast is None else ()):
        where = f"{name}: item {i}"
        if not isinstance(rec, dict):
            raise InputError(f"expected an object with \"bbox\", got {type(rec).__name__}", where)
        bbox = rec.get("bbox")
        if (not isinstance(bbox, list) or len(bbox) != 4
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)):
            raise InputError(f"\"bbox\" must be 4 numbers [x, y, w, h], got {json.dumps(bbox)}", where)
        raw[i] = bbox
        if not (np.abs(raw[i]) <= MAX_COORDINATE).all():
            raise InputError(f"\"bbox\" must be finite numbers of magnitude at most {MAX_COORDINATE:g}, "
                             f"got {json.dumps(bbox)}", where)
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
                   list(keys), doc, [f"item {i}" for i in range(len(doc))], xywh=raw, document=document)


_REAL = (int, float)


def _coco_arrays(doc: list):
    """(bboxes, scores, has_score, keys) of a COCO list in a few vectorized passes, or None when a
    record is not as expected (then the record-by-record checks of _read_coco find and name it).

    Half a million detections take a fraction of a second here, against seconds record by record.
    """
    try:
        bboxes = [rec["bbox"] for rec in doc]
    except (TypeError, KeyError):
        return None
    if not all(type(b) is list and len(b) == 4 for b in bboxes):
        return None
    if not set(map(type, itertools.chain.from_iterable(bboxes))) <= set(_REAL):
        return None  # bool, str, None, ...: numpy would read some of them as numbers
    try:
        raw = np.array(bboxes, dtype=np.float64).reshape(-1, 4)
    except (OverflowError, ValueError):
        return None
    if not (np.abs(raw) <= MAX_COORDINATE).all():
        return None
    has_score = bool(doc) and "score" in doc[0]
    scores = np.empty(len(doc))
    if has_score:
        values = [rec.get("score") for rec in doc]
        if not set(map(type, values)) <= set(_REAL):
            return None
        try:
            scores = np.array(values, dtype=np.float64)
        except (OverflowError, ValueError):
            return None
        if not np.isfinite(scores).all():
            return None
    return raw, scores, has_score or None, dict.fromkeys(itertools.chain.from_iterable(doc))


def _read_npy(data: bytes, name: str, box_format: str) -> BoxFile:
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as e:  # numpy raises ValueError, OSError, EOFError... for a damaged file
        raise InputError(f"not a readable .npy array ({e})", name) from None
    # Real numbers only: kind b/i/u/f (complex, timedelta and datetime count as numbers to numpy).
    if arr.ndim != 2 or arr.shape[1] not in (4, 5) or arr.dtype.kind not in "biuf":
        raise InputError(f"expected a real-valued array of shape (N, 4) boxes or (N, 5) boxes and score, "
                         f"got {arr.dtype} {arr.shape}", name)
    arr = arr.astype(np.float64)
    bad = ~(np.isfinite(arr).all(axis=1) & (np.abs(arr[:, :4]) <= MAX_COORDINATE).all(axis=1))
    if bad.any():
        raise InputError(f"row {int(np.argmax(bad))}: values must be finite numbers (coordinates of magnitude "
                         f"at most {MAX_COORDINATE:g})", name)
    _check_geometry(arr[:, :4], box_format, lambda row: f"{name}: row {row}")
    scores = arr[:, 4].copy() if arr.shape[1] == 5 else None
    return BoxFile(name, "npy", box_format, box_convert(arr[:, :4], box_format, "xyxy"), scores,
                   None, None, list(BOX_FORMATS[box_format]), None,
                   [f"row {i}" for i in range(len(arr))])


def label_codes(*label_arrays):
    """Integer codes for labels shared across arrays (e.g. the image ids of two files): the rank of
    each label's text among the distinct texts (what ``np.unique(..., return_inverse=True)`` gives,
    by a dictionary instead of a sort of every string)."""
    present = [a for a in label_arrays if a is not None]
    if not present:
        return [None] * len(label_arrays)
    first = {}  # text -> number in order of first appearance
    seen = [first.setdefault(v if v.__class__ is str else str(v), len(first))
            for a in present for v in a.tolist()]
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(np.array(list(first), dtype=object), kind="stable")] = np.arange(len(first))
    codes = rank[np.array(seen, dtype=np.int64)] if seen else np.empty(0, dtype=np.int64)
    out, start = [], 0
    for a in label_arrays:
        if a is None:
            out.append(None)
        else:
            out.append(codes[start:start + len(a)])
            start += len(a)
    return out
