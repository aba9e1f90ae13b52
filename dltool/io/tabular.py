"""Rows to CSV / TSV / JSON / JSON Lines text. Machine formats carry full precision
(``repr`` of floats: the shortest text that reads back to the same number), ``\\n`` line ends."""

import csv
import json

#: output formats for rows -> file extensions that select them for ``-o``
ROW_FORMATS = {"csv": (".csv",), "tsv": (".tsv", ".tab"), "json": (".json",), "jsonl": (".jsonl", ".ndjson")}


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
    writer = csv.writer(stream, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell_text(v) for v in row])


def write_json(stream, obj) -> None:
    """JSON; a list of records is written one record per line (still one JSON document),
    as COCO result files usually are: readable, and diff- and grep-friendly."""
    if isinstance(obj, list) and obj and all(isinstance(r, dict) for r in obj):
        stream.write("[\n")
        stream.write(",\n".join(json.dumps(r, default=json_value, allow_nan=False) for r in obj))
        stream.write("\n]\n")
        return
    json.dump(obj, stream, default=json_value, allow_nan=False)
    stream.write("\n")


def write_jsonl(stream, records) -> None:
    for record in records:
        json.dump(record, stream, default=json_value, allow_nan=False)
        stream.write("\n")


def format_from_extension(path: str, formats: dict) -> str | None:
    """The format whose extensions end ``path``, or None."""
    lower = path.lower()
    for name, extensions in formats.items():
        if lower.endswith(extensions):
            return name
    return None
