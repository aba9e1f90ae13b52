"""Rows to CSV / TSV / JSON / JSON Lines text. Machine formats carry full precision
(``repr`` of floats: the shortest text that reads back to the same number), ``\\n`` line ends."""

import csv
import json

import numpy as np

#: output formats for rows -> file extensions that select them for ``-o``
ROW_FORMATS = {"csv": (".csv",), "tsv": (".tsv", ".tab"), "json": (".json",), "jsonl": (".jsonl", ".ndjson")}


def cell_text(value) -> str:
    """A cell as CSV text: floats at full precision, everything else as str."""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return str(value)


def json_value(value):
    """Numpy scalars to plain Python for json.dumps."""
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


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
