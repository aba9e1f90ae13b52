"""Which file extension means which format: the one table every reader and writer consults.

Pure Python (no numpy): the CLI imports it to build ``--help``. A reader or writer picks the
formats it handles from :data:`EXTENSIONS` (a box file reads csv, tsv, json, npy; rows are
written as csv, tsv, json, jsonl) and asks :func:`format_from_extension` or
:func:`output_format`; a command whose formats have other names maps them onto the same
extensions (:data:`LABEL_EXTENSIONS`, :data:`ANCHOR_EXTENSIONS`).
"""

from dltool.errors import InputError

#: file format -> the extensions that name it, matched case-insensitively.
EXTENSIONS = {
    "csv": (".csv",),
    "tsv": (".tsv", ".tab"),
    "json": (".json",),
    "jsonl": (".jsonl", ".ndjson"),
    "npy": (".npy",),
    "npz": (".npz",),
    "txt": (".txt",),
    "xml": (".xml",),
    "yaml": (".yaml", ".yml"),
    "cfg": (".cfg",),
}

#: the delimiter of each delimited-text format (``txt`` is sniffed like ``csv``).
DELIMITERS = {"csv": ",", "tsv": "\t"}


def pick(*names: str) -> dict:
    """The entries of :data:`EXTENSIONS` for ``names``, in that order."""
    return {name: EXTENSIONS[name] for name in names}


#: Rows written by ``-o FILE`` (iou, nms, predict, ...).
ROW_FORMATS = pick("csv", "tsv", "json", "jsonl")
#: Box files read by iou and nms.
BOX_FORMATS = pick("csv", "tsv", "json", "npy")
#: Label sets read by anchors-kmeans, by what the file holds.
LABEL_EXTENSIONS = {"coco": EXTENSIONS["json"], "csv": EXTENSIONS["csv"] + EXTENSIONS["tsv"],
                    "yolo": EXTENSIONS["txt"], "voc": EXTENSIONS["xml"]}
#: Anchor sets written by anchors-kmeans ``-o FILE``.
ANCHOR_EXTENSIONS = {"csv": EXTENSIONS["csv"], "json": EXTENSIONS["json"], "yolov5": EXTENSIONS["yaml"],
                     "darknet": EXTENSIONS["cfg"] + EXTENSIONS["txt"]}


def format_from_extension(path: str, formats: dict) -> str | None:
    """The format whose extensions end ``path`` (any case), or None."""
    lower = str(path).lower()
    for name, extensions in formats.items():
        if lower.endswith(tuple(extensions)):
            return name
    return None


def output_format(path: str, formats: dict) -> str:
    """The format of an output file from its extension, or the InputError that lists the choices."""
    fmt = format_from_extension(path, formats)
    if fmt is None:
        shown = ", ".join(e for extensions in formats.values() for e in extensions)
        raise InputError(f"cannot tell the format from the extension - use {shown} or --format", path)
    return fmt
