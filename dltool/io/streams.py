"""Where bytes come from and go to: files, ``-`` for stdin, atomic output files."""

import contextlib
import errno
import io
import os
import stat
import sys

from dltool.errors import InputError

#: ``--input-format`` choices; ``auto`` is the extension, or the content sniffed on stdin.
INPUT_FORMATS = ("auto", "csv", "tsv", "json", "npy")


def input_name(path: str) -> str:
    """How an input is named in messages."""
    return "<stdin>" if path == "-" else path


#: The first bytes of a zip archive (so of an ``.npz``) and of an ``.npy`` file.
ZIP_MAGIC, NPY_MAGIC = b"PK\x03\x04", b"\x93NUMPY"


def read_input(path: str) -> bytes:
    """All bytes of a file, or of standard input for ``-``.

    Refuses to wait on an interactive terminal: a user who forgot the file argument gets a
    message instead of a silent hang.
    """
    stream = open_input(path)
    if path == "-":
        return stream.read()
    with stream:
        try:
            return stream.read()
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror}", path) from None


def open_input(path: str):
    """A binary stream of a file, or of standard input for ``-``, to read in pieces.

    The same checks and messages as :func:`read_input`; the caller closes a file it opened
    (standard input is left open).
    """
    if path == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise InputError("standard input is a terminal: give a file, or pipe data in "
                             "(e.g. `cat boxes.csv | dltool iou -`)", "<stdin>")
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text stream without bytes beneath (a replaced sys.stdin)
            return io.BytesIO(sys.stdin.read().encode())
        return stream
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError("no such file - check the path", path) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", path) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", path) from None


def read_head(path: str, size: int) -> bytes:
    """The first ``size`` bytes of a file (fewer if it is shorter), with :func:`open_input`'s checks."""
    with open_input(path) as f:
        try:
            return f.read(size)
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror}", path) from None


def unlistable_folder(error: OSError):
    """``os.walk``'s onerror: a folder that cannot be listed is the user's to fix, not an empty folder."""
    reason = "permission denied" if isinstance(error, PermissionError) else (error.strerror or str(error))
    raise InputError(f"cannot list this folder: {reason} - check its permissions (chmod +rx)",
                     error.filename) from None


def open_npz(source, name: str, fix: str):
    """An ``.npz`` archive (never unpickling), or an InputError ending with ``fix``.

    ``source``: the archive's bytes, or the path of a file (not ``-``), which numpy then reads
    array by array straight into each array: the file's bytes are never held beside them (an
    800 MB data set would otherwise take 1.6 GB).

    numpy reads bytes that are not a zip archive as a pickle and answers with advice about
    ``allow_pickle``, which misleads here: say what the file is not instead.
    """
    import numpy as np

    from_bytes = isinstance(source, (bytes, bytearray))
    head = bytes(source[:len(ZIP_MAGIC)]) if from_bytes else read_head(source, len(ZIP_MAGIC))
    if head != ZIP_MAGIC:
        raise InputError(f"not an .npz archive (a zip of .npy arrays) - {fix}", name)
    try:
        return np.load(io.BytesIO(source) if from_bytes else source, allow_pickle=False)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", name) from None
    except Exception as e:  # BadZipFile, EOFError, ValueError from a damaged archive
        raise InputError(f"damaged .npz archive ({type(e).__name__}) - {fix}", name) from None


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 text (a leading BOM, as Excel writes it, is dropped)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte {e.start}) - save the file as UTF-8",
                         f"{name}:{line}") from None


class _NonFinite(ValueError):
    """A JSON number that is no finite float (json.loads' hooks raise it; parse_json names the file)."""


def _json_number(text: str):
    """Integers stay exact; a number beyond float range (1e999, a 400-digit integer) is refused:
    nothing downstream can use it. (NaN and Infinity literals pass, for the readers to refuse
    where they stand, by item and key.)"""
    if text.lstrip("-").isdigit() and len(text) <= 309:
        return int(text)
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise _NonFinite(text if len(text) <= 24 else text[:20] + "...")
    return value


def parse_json(text: str, name: str):
    """A JSON document, or an InputError naming ``name:line`` (syntax) or ``name`` (nesting, numbers)."""
    import json

    try:
        return json.loads(text, parse_int=_json_number, parse_float=_json_number)
    except _NonFinite as e:
        raise InputError(f"the number {e} is not a finite float (JSON numbers must be, up to about 1.8e308) "
                         "- check the file", name) from None
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e.msg} (column {e.colno})", f"{name}:{e.lineno}") from None
    except RecursionError:
        raise InputError("JSON nested too deeply to be a box or label file - check the file", name) from None


def check_writable(path: str) -> None:
    """Fail early, before any work, if ``path`` cannot be an output file."""
    target = os.path.abspath(path)
    if not os.path.isdir(os.path.dirname(target)):
        raise InputError("cannot write: its directory does not exist", path)
    if os.path.isdir(target):
        raise InputError("cannot write: it is a directory", path)
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return  # a new file
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        # Checked from the mode bits, not os.access: as root, os.access says yes to everything.
        raise InputError("the file is read-only: dltool does not replace it - make it writable "
                         "(chmod u+w) or choose another output file", path)


def _identity(path: str):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def check_outputs(outputs, inputs=()) -> None:
    """The one preflight of output targets: refuse, before any work, an output that cannot be
    written (see :func:`check_writable`) or that is one of this run's ``inputs`` — the same file
    by device and inode, so a symlink or another spelling of the path is caught too.

    ``outputs`` and ``inputs`` are paths; None entries and ``-`` (standard streams) are skipped.
    """
    inputs = [p for p in inputs if p and p != "-"]
    taken = {}
    for p in inputs:
        ident = _identity(p)
        if ident is not None:
            taken.setdefault(ident, p)
    for path in outputs:
        if not path or path == "-":
            continue
        check_writable(path)
        source = taken.get(_identity(path))
        if source is not None:
            same = "" if os.path.abspath(source) == os.path.abspath(path) else f" ({source})"
            raise InputError(f"this output file is also an input of this run{same}: writing it would "
                             "destroy the input - choose another output file", path)


def _create_beside(target: str):
    """(descriptor, path) of a new, empty file in ``target``'s folder, named after it and hidden:
    created exclusively (never an existing file) with the permissions a plain ``open()`` would
    give. (``tempfile.mkstemp`` makes it 0600, and costs ~5 ms to import on every run.)"""
    folder, base = os.path.split(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{base}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", folder)


@contextlib.contextmanager
def atomic_output(path: str, binary: bool = False):
    """Open ``path`` for writing so that it appears whole or not at all.

    Writes go to a temporary file in the same directory, renamed over ``path`` only when the
    ``with`` block succeeds: a failed or interrupted run leaves no partial file and never
    clobbers a good one.
    """
    check_writable(path)
    target = os.path.abspath(path)
    try:
        fd, tmp = _create_beside(target)
    except OSError as e:
        raise InputError(f"cannot write: {e.strerror}", path) from None
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"newline": "", "encoding": "utf-8"})) as f:
            yield f
        os.replace(tmp, target)
    except OSError as e:  # a full disk, a quota, a vanished folder: the user's to fix
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise InputError(f"cannot write: {e.strerror or e} - free some space, or write elsewhere", path) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
