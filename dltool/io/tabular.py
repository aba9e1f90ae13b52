"""Rows to CSV / TSV / JSON / JSON Lines text. Machine formats carry full precision
(``repr`` of floats: the shortest text that reads back to the same number), ``\\n`` line ends."""

import contextlib
import csv

from dltool.errors import InputError
from dltool.io.formats import ROW_FORMATS, format_from_extension  # the one table, re-exported here

__all__ = ["NumberColumns", "ROW_FORMATS", "cell_text", "format_from_extension", "is_number", "json_value", "write_delimited",
           "write_json", "write_jsonl"]


def _plain(value):
    """A numpy scalar as the Python number it holds (without importing numpy here: --help
    imports this module and must stay light)."""
    return value.item() if hasattr(value, "item") and hasattr(value, "dtype") else value


def is_number(text: str) -> bool:
    """Whether a cell reads as a number (as Python's float() reads it)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def cell_text(value) -> str:
    """A cell as CSV text: floats at full precision (shortest round-trip repr), the rest as str."""
    value = _plain(value)
    return repr(value) if isinstance(value, float) else str(value)


def json_value(value):
    """json.dumps' fallback for numpy scalars."""
    plain = _plain(value)
    if plain is value:
        raise TypeError(f"not JSON serializable: {type(value).__name__}")
    return plain


def write_delimited(stream, columns, rows, delimiter: str = ",") -> None:
    """A header and rows as CSV (or TSV), quoted where needed (the csv module's minimal quoting).

    ``rows`` that know how to write themselves (a ``write_delimited(stream, delimiter)`` method, as
    the kept rows of a CSV box file do, straight from the input's bytes) are asked to.
    """
    writer = csv.writer(stream, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    direct = getattr(rows, "write_delimited", None)
    if direct is not None:
        direct(stream, delimiter)
        return
    for row in rows:
        writer.writerow([cell_text(v) for v in row])


def write_json(stream, obj) -> None:
    """JSON; a list of records is written one record per line (still one JSON document),
    as COCO result files usually are: readable, and diff- and grep-friendly."""
    with _json_numbers():
        if isinstance(obj, list) and obj and all(isinstance(r, dict) for r in obj):
            text = ",\n".join(_dumps(r) for r in obj)
            stream.write("[\n" + text + "\n]\n")
            return
        text = _dumps(obj)
    stream.write(text + "\n")


def write_jsonl(stream, records) -> None:
    with _json_numbers():
        for record in records:
            stream.write(_dumps(record) + "\n")


def _dumps(obj) -> str:
    """One JSON value, numpy scalars as numbers, NaN refused. ``json`` is imported here, not at the
    top: most runs write CSV, and it costs ~1.5 ms to import, 1 % of a short run."""
    import json

    return json.dumps(obj, default=json_value, allow_nan=False)


@contextlib.contextmanager
def _json_numbers():
    """JSON has no NaN or Infinity: a record carried through from the input with one (in an id or an
    extra field, which no reader checks) is the input's fault, said in one line."""
    try:
        yield
    except ValueError as e:
        if "JSON compliant" not in str(e):
            raise
        raise InputError("the input carries NaN or Infinity in a field written back (an id or an extra "
                         "field), which JSON cannot hold - fix those values, or choose --format csv") from None


class NumberColumns:
    """Rows made of whole columns of numbers (numpy arrays of ints or floats), that write themselves
    as CSV/TSV without a Python call per cell: a million ``a,b,iou`` rows in about a second rather
    than seven. The text is :func:`cell_text`'s (ints as such, floats as their shortest round-trip
    ``repr``); iterating gives the rows as tuples, for tables and JSON.
    """

    BLOCK = 1 << 16  # rows turned into text at a time: bounded memory, few calls

    def __init__(self, *columns):
        self.columns = columns

    def __len__(self):
        return len(self.columns[0]) if self.columns else 0

    def __iter__(self):
        return zip(*(c.tolist() for c in self.columns))

    def write_delimited(self, stream, delimiter: str) -> None:
        line = delimiter.join("{!r}" if c.dtype.kind == "f" else "{}" for c in self.columns) + "\n"
        for lo in range(0, len(self), self.BLOCK):
            stream.write("".join(map(line.format, *(c[lo:lo + self.BLOCK].tolist() for c in self.columns))))
