"""The one reader of delimited text (CSV, TSV) behind every dltool reader: box files, data sets, w,h files.

What it does for all of them:

- **header**: the first non-blank record names the columns (each caller checks the names);
- **delimiter**: tab for ``.tsv``/``.tab``, else sniffed from the first non-blank line: comma if it
  has one, else tab, else semicolon (else comma); standard input is sniffed the same way;
- **text**: UTF-8, with or without a BOM (as Excel writes it); LF, CRLF or CR line ends; quoted fields
  as the csv module reads them (a quoted field may hold the delimiter, quotes and line breaks), with
  **no field-size limit** (the csv module's own stops at 131,072 characters: it is raised while
  dltool reads, and put back);
- **rows**: records whose cells are all blank are skipped; each row knows the line it ends on, for
  ``file:line`` messages;
- **streaming**: the input is read in blocks of about :data:`BLOCK_BYTES`, never decoded into one
  string, and the columns a caller asks for are parsed block by block by numpy's C parser
  (``numpy.loadtxt``): a 200,000 x 100 float CSV reads at numpy's speed in about the memory of its
  float64 array.

A block that numpy's parser cannot take as it is goes to the csv module, which is the reference
(both give the same rows, lines and values wherever both answer; tested): a lone CR, a row of blank
cells or of the wrong width, a cell numpy refuses (Python's ``float()`` reads a few more spellings,
such as ``1_000``), and, from the first quote character to the end of the input, everything (a
quoted field may run across blocks). A cell that ``float()`` cannot read is NaN in ``values`` and
True in ``unreadable``: each caller words the message, since it knows what the column means.
"""

import contextlib
import csv
import io
import os
import re
import stat
import sys
import warnings

import numpy as np

from dltool.errors import InputError
from dltool.io.formats import DELIMITERS, EXTENSIONS
from dltool.io.streams import input_name, open_input

#: Bytes read per block. Measured on a 200,000 x 100 CSV: blocks from 256 KB to 4 MB all read at
#: numpy.loadtxt's own speed; smaller blocks keep numpy's per-block buffers small.
BLOCK_BYTES = 1 << 20
#: Rows per chunk on the csv-module path.
SLOW_ROWS = 8192
#: From this many bytes on, numeric cells are parsed by dltool's numba kernel
#: (``dltool.core.csv_kernels``) instead of numpy's parser: ~1.4x faster a core, and on every core,
#: but loading numba and the kernel costs about 0.3 s, which numpy's parser spends on ~120 MB.
#: Measured with ``benchmarks/bench_csv.py --crossover``.
KERNEL_MIN_BYTES = 128 << 20
#: Bytes per block on the kernel path: larger blocks spread better over threads.
KERNEL_BLOCK_BYTES = 4 << 20

_BOM = b"\xef\xbb\xbf"
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")  # a line and its end, as csv reads with newline=""
_FIELD_LIMIT = min(sys.maxsize, 2**31 - 1)
_SPACE = np.zeros(256, dtype=bool)  # bytes str.strip() removes that can start a line of spaces
_SPACE[[9, 11, 12, 28, 29, 30, 31, 32]] = True


@contextlib.contextmanager
def unlimited_fields():
    """The csv module's field-size limit (process-wide) lifted while the block runs."""
    old = csv.field_size_limit(_FIELD_LIMIT)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def sniff_delimiter(path: str | None, first_line: str) -> str:
    """Tab for a ``.tsv``/``.tab`` path; else from ``first_line`` (the first non-blank line): comma,
    else tab, else semicolon, else comma."""
    if path and path != "-" and path.lower().endswith(EXTENSIONS["tsv"]):
        return DELIMITERS["tsv"]
    for delimiter in (",", "\t", ";"):
        if delimiter in first_line:
            return delimiter
    return ","


def is_blank(cells) -> bool:
    """A record of blank cells (an empty line, spaces, ``,,``): skipped, not a row."""
    return not any(c.strip() for c in cells)


def field_count_message(columns: list, count: int, delimiter: str, header_line: int) -> str:
    """``expected 3 fields (a,b,c), got 2``; a header of more than 8 names is not spelled out."""
    shown = delimiter.join(columns) if len(columns) <= 8 else f"as many as the header on line {header_line}"
    return f"expected {len(columns)} fields ({shown}), got {count}"


class Header:
    """The header record: the column names (whitespace stripped), the line it ends on, the delimiter."""

    def __init__(self, columns: list, line: int, delimiter: str):
        self.columns, self.line, self.delimiter = columns, line, delimiter


class Chunk:
    """Consecutive rows of the input, parsed.

    Attributes
    ----------
    lines : ndarray of shape (n,), int64, the line each row ends on
    values : ndarray of shape (n, k), float64, the ``numeric`` columns asked for (NaN where unreadable)
    unreadable : ndarray of shape (n, k), bool: cells ``float()`` cannot read; None when there are none
    texts : list of lists of str, the ``text`` columns asked for, each cell as written (not stripped)
    bad_width : int or None, the first row whose number of fields is not the header's (it and the
        rows after it are not parsed); ``bad_count`` is its number of fields
    data, offset, starts, ends : rows numpy read: the bytes of their block, its position in the input
        (after a BOM), and each row's span in ``data``, line end excluded. None for rows the csv
        module read, which keep their cells in ``records`` instead.

    (Plain classes, not dataclasses, here and in ``io/boxes.py``: every iou and nms run imports these
    modules, and importing ``dataclasses`` and building the classes costs ~2 ms of a 0.1 s run.)
    """

    def __init__(self, lines: np.ndarray, values: np.ndarray, unreadable: np.ndarray | None, texts: list,
                 delimiter: str, bad_width: int | None = None, bad_count: int = 0,
                 data: memoryview | bytes | None = None, offset: int = 0, starts: np.ndarray | None = None,
                 ends: np.ndarray | None = None, records: list | None = None):
        self.lines, self.values, self.unreadable, self.texts = lines, values, unreadable, texts
        self.delimiter, self.bad_width, self.bad_count = delimiter, bad_width, bad_count
        self.data, self.offset, self.starts, self.ends, self.records = data, offset, starts, ends, records

    def __len__(self) -> int:
        return len(self.lines)

    def record(self, row: int) -> list:
        """The cells of row ``row`` as written."""
        if self.records is not None:
            return self.records[row]
        return bytes(self.data[self.starts[row]:self.ends[row]]).decode("utf-8").split(self.delimiter)

    def first_unreadable(self):
        """(row, k) of the first unreadable numeric cell in row-major order, or None."""
        if self.unreadable is None or not self.unreadable.any():
            return None
        return divmod(int(np.argmax(self.unreadable.reshape(-1))), self.unreadable.shape[1])


class CsvFile:
    """A delimited text input: its :attr:`header` (None when it has no non-blank line), then
    :meth:`chunks` of parsed rows. Read once, front to back.

    Parameters
    ----------
    path : str
        A file, or ``-`` for standard input (refused when it is a terminal).
    data : bytes, optional
        The input's bytes, when the caller holds them already (box files keep them to write kept
        rows back as they were); otherwise the input is streamed.
    delimiter : str, optional
        Forced (``--input-format tsv``); by default from the extension or sniffed.
    name : str, optional
        How the input is named in messages; the path by default, ``<stdin>`` for ``-``.

    Raises
    ------
    InputError
        The input cannot be opened, is not UTF-8, or its header is not valid CSV.
    """

    def __init__(self, path: str, data: bytes | None = None, delimiter: str | None = None,
                 name: str | None = None, block_bytes: int = BLOCK_BYTES):
        self.path = path
        self.name = name or input_name(path)
        self.block_bytes = max(1, int(block_bytes))
        self.delimiter = delimiter
        self.header = None
        self.data = None  # the input after a BOM, when held in memory
        self._raw, self._base = data, 0
        self._stream = self._owned = None
        if data is not None:
            self._base = 3 if data[:3] == _BOM else 0
            self.data = memoryview(data)[self._base:]
        else:
            self._stream = open_input(path)
            self._owned = self._stream if path != "-" else None
        self._pending = []  # (offset, bytes) read while looking for the header
        self._offset = 0  # bytes of the input consumed (after a BOM)
        self._line = 0  # lines consumed
        try:
            self._read_header()
        except BaseException:
            self.close()
            raise

    def size_hint(self) -> int | None:
        """Bytes of the input after the header, when known (in memory, or a regular file)."""
        if self.data is not None:
            return len(self.data) - self._offset + sum(len(b) for _, b in self._pending)
        try:
            st = os.fstat(self._stream.fileno())
        except (AttributeError, OSError, ValueError):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        return max(0, st.st_size - self._offset + sum(len(b) for _, b in self._pending))

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ blocks of bytes

    def _blocks(self):
        """(offset, bytes) blocks of whole lines, in input order."""
        while self._pending:
            yield self._pending.pop(0)
        while True:
            if self.data is not None:
                pos = self._offset
                if pos >= len(self.data):
                    return
                nl = self._raw.find(b"\n", self._base + pos + self.block_bytes - 1)
                end = len(self.data) if nl < 0 else nl + 1 - self._base
                block = self.data[pos:end]
            else:
                block = self._stream.read(self.block_bytes)
                if not block:
                    return
                if not block.endswith(b"\n"):
                    block += self._stream.readline()
                if self._offset == 0 and block.startswith(_BOM):
                    block = block[3:]
            offset = self._offset
            self._offset += len(block)
            yield offset, block

    def _decode(self, block, offset: int, line: int) -> str:
        """A block as text; a byte that is not UTF-8 is an InputError at its line."""
        raw = bytes(block)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            at = line + raw[: e.start].count(b"\n") + 1
            raise InputError(f"not UTF-8 text (byte {offset + e.start}) - save the file as UTF-8",
                             f"{self.name}:{at}") from None

    # ------------------------------------------------------------------ the header

    def _read_header(self) -> None:
        """Find the first non-blank record; what follows it in its block waits in ``_pending``."""
        lines, raw, start = [], b"", 0  # undecided lines, their bytes, the offset of the first
        for offset, block in self._blocks():
            if not lines:
                start, raw = offset, b""
            raw += bytes(block)
            text = self._decode(block, offset, self._line + len(lines))
            lines += [m.group(0) for m in _LINE.finditer(text) if m.group(0)]
            first = next((ln for ln in lines if ln.strip()), None)
            if first is None:  # blank lines only, so far
                self._line += len(lines)
                lines = []
                continue
            if self.delimiter is None:
                self.delimiter = sniff_delimiter(self.path, first)
            found = self._first_record(lines)
            if found is None:
                continue  # a quoted field of the header goes on in the next block
            self._take_header(found, lines, raw, start)
            return
        if lines:  # the input ends inside a quoted header field: the csv module's reading of it
            found = self._first_record(lines, at_end=True)
            if found is not None:
                self._take_header(found, lines, raw, start)
                return
            self._line += len(lines)  # it read as blank records only (a lone '"'): no header
        if self.delimiter is None:
            self.delimiter = sniff_delimiter(self.path, "")

    def _take_header(self, found, lines, raw, start):
        """Keep the header found in ``lines`` (whose bytes ``raw`` start at ``start``); queue the rest."""
        used, cells = found
        consumed = sum(len(ln.encode("utf-8")) for ln in lines[:used])
        self._line += used
        rest = raw[consumed:]
        if rest:
            self._pending.append((start + consumed, rest))
        self.header = Header([c.strip() for c in cells], self._line, self.delimiter)

    def _first_record(self, lines, at_end: bool = False):
        """(lines used, cells) of the first non-blank record of ``lines``; None if it may go on
        past them (a quoted field still open at their end)."""
        reader = csv.reader(iter(lines), delimiter=self.delimiter)
        with unlimited_fields():
            while True:
                before = reader.line_num
                try:
                    cells = next(reader)
                except StopIteration:  # cannot happen: there is a non-blank line
                    return None
                except csv.Error as e:
                    raise InputError(f"not valid CSV ({e})", f"{self.name}:{self._line + reader.line_num}") from None
                if is_blank(cells):
                    continue
                if not at_end and reader.line_num == len(lines) and "".join(lines[before:]).count('"') % 2:
                    return None
                return reader.line_num, cells

    # ------------------------------------------------------------------ rows

    def chunks(self, numeric=(), text=(), force_slow: bool = False, kernel: bool | None = None,
               rows: "RowBuffer | None" = None):
        """The rows after the header as :class:`Chunk` s, in input order.

        Parameters
        ----------
        numeric : column indices parsed as float64, the columns of ``Chunk.values`` in this order
        text : column indices kept as text, ``Chunk.texts`` in this order (none of ``numeric``)
        force_slow : read every row with the csv module (the reference path; for tests)
        kernel : parse with dltool's numba kernel (True) or numpy's parser (False); by default the
            kernel from :data:`KERNEL_MIN_BYTES` of input on. Both give the same chunks.
        rows : the :class:`RowBuffer` the caller adds each chunk's values to: the kernel then parses
            into it directly (``add`` finds the values in place), which saves a copy of every value
            and lets the threads that parse also fault the new pages in.
        """
        if self.header is None:
            self.close()
            return
        numeric, text = [int(k) for k in numeric], [int(k) for k in text]
        ncols = len(self.header.columns)
        if kernel is None:
            kernel = (self.size_hint() or 0) >= KERNEL_MIN_BYTES
        parse = self._numpy_parse
        if kernel and len(set(numeric) | set(text)) == len(numeric) + len(text):
            parse = _KernelParser(ncols, numeric, text, self.delimiter, rows).parse
            if self.block_bytes == BLOCK_BYTES:
                self.block_bytes = KERNEL_BLOCK_BYTES
        blocks = self._blocks()
        try:
            for offset, block in blocks:
                if not force_slow and not _has(block, b'"'):
                    chunk, n_lines = self._fast(block, offset, ncols, numeric, text, parse)
                    if chunk is not None:
                        self._line += n_lines
                        if len(chunk):
                            yield chunk
                        continue
                    yield from self._slow([(offset, block)], ncols, numeric, text)  # the block alone
                    continue
                # From a quote on, the csv module reads the rest: a quoted field may cross blocks.
                yield from self._slow(_chain((offset, block), blocks), ncols, numeric, text)
                return
        finally:
            self.close()

    def _fast(self, block, offset, ncols, numeric, text, parse):
        """(chunk, lines in the block) by ``parse`` (numpy's parser or the kernel), or (None, 0) for
        the csv module to read."""
        buf = np.frombuffer(block, dtype=np.uint8)
        newlines = np.flatnonzero(buf == 10)
        ends = newlines if len(buf) == 0 or buf[-1] == 10 else np.append(newlines, len(buf))
        n_lines = len(ends)
        starts = np.zeros_like(ends)
        starts[1:] = ends[:-1] + 1
        if _has(block, b"\r"):
            cr = np.flatnonzero(buf == 13)
            if cr[-1] == len(buf) - 1 or not (buf[cr + 1] == 10).all():
                return None, 0  # a lone CR ends a line for the csv module
            ends = ends - (buf[np.maximum(ends - 1, 0)] == 13) * (ends > starts)
        lines = np.arange(self._line + 1, self._line + n_lines + 1, dtype=np.int64)
        keep = ends > starts  # empty lines are skipped, by numpy too
        if not keep.all():
            starts, ends, lines = starts[keep], ends[keep], lines[keep]
        if len(starts) == 0:
            return Chunk(lines, np.empty((0, len(numeric))), None, [[] for _ in text], self.delimiter), n_lines
        if not numeric:
            return None, 0  # only a numeric cell tells numpy's parser that a row of blank cells is no row
        used = sorted(set(numeric) | set(text))
        # Rows to look at one by one: lines of spaces (numpy would read them as a row) and rows of
        # another width (numpy checks widths only where it reads every column). Blank ones are
        # skipped; any other is the csv module's to report.
        odd = _SPACE[buf[starts]]
        checks_width = parse != self._numpy_parse  # the kernel counts every row's cells
        if len(used) < ncols and not checks_width:
            wrong = np.add.reduceat(buf == ord(self.delimiter), starts, dtype=np.int32) != ncols - 1
            odd |= wrong
        odd = np.flatnonzero(odd)
        if len(odd):
            if len(odd) > 64:
                return None, 0
            blank = np.array([is_blank(bytes(block[starts[i]:ends[i]]).decode("utf-8", "replace")
                                       .split(self.delimiter)) for i in odd])
            if len(used) < ncols and not checks_width and (wrong[odd] & ~blank).any():
                return None, 0
            odd = odd[blank]
        blank_spans = np.column_stack([starts[odd], ends[odd]])  # rows to skip, (start, end) in block
        if len(odd):
            keep = np.ones(len(starts), dtype=bool)
            keep[odd] = False
            starts, ends, lines = starts[keep], ends[keep], lines[keep]
        parsed = parse(block, buf, starts, ends, blank_spans, ncols, numeric, text)
        if parsed is None:
            return None, 0
        values, texts = parsed
        return Chunk(lines, values, None, texts, self.delimiter, data=block, offset=offset, starts=starts,
                     ends=ends), n_lines

    def _numpy_parse(self, block, buf, starts, ends, blank_spans, ncols, numeric, text):
        """(values, texts) of the rows ``starts``/``ends`` of ``block``, by numpy's parser, which
        reads the block without its ``blank_spans``; None where it refuses a cell or a row."""
        used = sorted(set(numeric) | set(text))
        block_in = block
        if len(blank_spans):
            cuts = np.concatenate([[0], blank_spans.ravel(), [len(buf)]])
            block_in = b"".join(bytes(block[a:b]) for a, b in zip(cuts[0::2], cuts[1::2]))
        fields, where = _record_fields(used, set(numeric))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rec = np.loadtxt(io.BytesIO(block_in), dtype=fields, delimiter=self.delimiter,
                                 comments=None, quotechar=None, ndmin=1, encoding="utf-8",
                                 usecols=used if len(used) < ncols else None)  # all: numpy checks widths
        except (ValueError, TypeError):  # a cell numpy refuses, a blank row, bytes that are not UTF-8
            return None
        if len(rec) != len(starts):
            return None
        runs = {}  # field -> positions in ``numeric`` of its columns, in field order
        for j, k in enumerate(numeric):
            runs.setdefault(where[k][0], {})[where[k][1]] = j
        if len(runs) == 1 and list(next(iter(runs.values())).items()) == [(i, i) for i in range(len(numeric))]:
            values = rec[next(iter(runs))]  # a view: the caller copies it once, where it keeps it
        else:
            values = np.empty((len(rec), len(numeric)))
            for name, positions in runs.items():
                values[:, [positions[i] for i in sorted(positions)]] = rec[name][:, sorted(positions)]
        return values, [rec[where[k][0]].tolist() for k in text]

    def _slow(self, blocks, ncols, numeric, text):
        """Chunks read by the csv module from ``blocks`` (quoted line breaks may cross them)."""
        base = self._line
        reader = csv.reader(self._text_lines(blocks), delimiter=self.delimiter)
        pending = []
        with unlimited_fields():
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                except csv.Error as e:
                    raise InputError(f"not valid CSV ({e})", f"{self.name}:{base + reader.line_num}") from None
                if is_blank(cells):
                    continue
                pending.append((base + reader.line_num, cells))
                if len(cells) != ncols or len(pending) >= SLOW_ROWS:
                    yield _slow_chunk(pending, ncols, numeric, text, self.delimiter)
                    pending = []
        self._line = base + reader.line_num
        if pending:
            yield _slow_chunk(pending, ncols, numeric, text, self.delimiter)

    def _text_lines(self, blocks):
        """The decoded lines (ends kept) of ``blocks``, as csv.reader reads a file opened with newline=""."""
        line = self._line
        for offset, block in blocks:
            text = self._decode(block, offset, line)
            for m in _LINE.finditer(text):
                if m.group(0):
                    yield m.group(0)
            line += text.count("\n") + text.count("\r") - text.count("\r\n")


def _record_fields(used: list, numeric: set):
    """A structured dtype reading columns ``used`` (ascending): each run of adjacent numeric columns
    one float64 sub-array field (numpy's parser is several times slower with a field per column), each
    text column an object field; and where each column lands, ``{column: (field, index)}``."""
    fields, where, k = [], {}, 0
    while k < len(used):
        if used[k] not in numeric:
            name = f"t{used[k]}"
            fields.append((name, object))
            where[used[k]] = (name, None)
            k += 1
            continue
        run = k
        while run + 1 < len(used) and used[run + 1] in numeric and used[run + 1] == used[run] + 1:
            run += 1
        name = f"n{used[k]}"
        fields.append((name, np.float64, (run - k + 1,)))
        where.update({used[i]: (name, i - k) for i in range(k, run + 1)})
        k = run + 1
    return np.dtype(fields), where


class _KernelParser:
    """Parses blocks of rows with dltool's numba kernel (:mod:`dltool.core.csv_kernels`), rows split
    over threads. Gives what numpy's parser gives: a cell the kernel does not convert itself (``nan``,
    ``1_000``, more than 19 digits) is read by ``float()``; a cell that is not a number, a row of
    another width or bytes that are not UTF-8 give None, for the csv module to read and report."""

    def __init__(self, ncols: int, numeric: list, text: list, delimiter: str, rows: "RowBuffer | None"):
        from dltool.core import csv_kernels

        self.rows = rows if rows is not None and rows.width == len(numeric) else None
        self.kernels = csv_kernels
        self.kinds = np.full(ncols, csv_kernels.SKIP, dtype=np.int8)
        self.slots = np.zeros(ncols, dtype=np.int64)
        self.kinds[numeric], self.slots[numeric] = csv_kernels.NUMBER, np.arange(len(numeric))
        self.kinds[text], self.slots[text] = csv_kernels.TEXT, np.arange(len(text))
        self.ntext, self.nnumeric = len(text), len(numeric)
        self.delimiter = delimiter
        self.table, self.tens = csv_kernels.power_of_five_table(), csv_kernels.powers_of_ten()

    def parse(self, block, buf, starts, ends, blank_spans, ncols, numeric, text):
        """(values, texts) of the rows ``starts``/``ends`` of ``block`` (the kernel reads only them:
        ``blank_spans`` is for numpy's parser), or None for the csv module to read."""
        from dltool.core.threads import run_rows

        raw = block if isinstance(block, bytes) else bytes(block)
        ascii_only = raw.isascii()
        if not ascii_only:
            try:
                raw.decode("utf-8")  # numpy's parser decodes every byte of the block: so do we
            except UnicodeDecodeError:
                return None
        n = len(starts)
        if self.rows is not None and n:
            values = self.rows.next_rows(n, _row_bytes(starts, ends))
        else:
            values = np.empty((n, self.nnumeric))
        spans = np.empty((n, self.ntext, 2), dtype=np.int64)
        hard = np.zeros((n, self.nnumeric), dtype=np.bool_)
        results = run_rows(self.kernels.parse_rows, n, buf, starts, ends, np.uint8(ord(self.delimiter)),
                           self.kinds, self.slots, self.table, self.tens, values, spans, hard, min_rows=256)
        if any(bad >= 0 for bad, _ in results):
            return None
        if any(flagged for _, flagged in results):
            for r, j in zip(*np.nonzero(hard)):
                cell = raw[starts[r]:ends[r]].decode("utf-8").split(self.delimiter)[numeric[j]]
                try:
                    values[r, j] = float(cell)
                except ValueError:
                    return None
        texts = []
        whole = raw.decode("ascii") if ascii_only and self.ntext else None
        for t in range(self.ntext):
            firsts, lasts = spans[:, t, 0].tolist(), spans[:, t, 1].tolist()
            if whole is not None:
                texts.append([whole[a:b] for a, b in zip(firsts, lasts)])
            else:
                texts.append([raw[a:b].decode("utf-8") for a, b in zip(firsts, lasts)])
        return values, texts


class RowBuffer:
    """float64 rows gathered chunk by chunk into one C-contiguous (n, width) array.

    The array is sized from the input's bytes and the first chunk's bytes per row, then grown in
    place (``ndarray.resize``: realloc, which moves no pages for large arrays) if the guess was
    short, and cut to size at the end: the rows are never held twice, as a list of chunks
    concatenated at the end would hold them.
    """

    def __init__(self, width: int, size_hint: int | None = None):
        self.width = int(width)
        self.size_hint = size_hint
        self.rows = 0
        self._array = None

    def _reserve(self, n: int, bytes_per_row: float | None) -> None:
        """Room for ``n`` more rows: the first time sized from the input's bytes, then grown."""
        if self._array is None:
            capacity = max(n, 1024)
            if self.size_hint and bytes_per_row:
                capacity = max(capacity, int(self.size_hint / max(1.0, bytes_per_row) * 1.02) + 16)
            # Made small and grown by realloc: numpy advises the kernel to back a fresh allocation
            # of 4 MB or more with transparent huge pages, and where the kernel compacts memory to
            # find them (THP defrag "madvise", a common default) the first touch of those pages
            # can stall: 0.01-0.4 s for 160 MB on the machine this was measured on, against a
            # steady 0.08 s for pages grown by realloc, which numpy does not advise. It is also
            # how numpy.loadtxt grows its own result.
            self._array = np.empty((1, self.width))
            self._array.resize((capacity, self.width), refcheck=False)
        elif self.rows + n > len(self._array):
            self._array.resize((max(self.rows + n, int(len(self._array) * 1.5)), self.width), refcheck=False)

    def next_rows(self, n: int, bytes_per_row: float | None = None) -> np.ndarray:
        """A view of the next ``n`` rows, for a parser to write in place; :meth:`add` of this very
        view then takes them without a copy."""
        self._reserve(n, bytes_per_row)
        return self._array[self.rows:self.rows + n]

    def add(self, values: np.ndarray, chunk: Chunk | None = None) -> np.ndarray:
        """Append ``values`` (n, width); returns the rows where they now are (a view)."""
        n = len(values)
        self._reserve(n, _row_bytes(chunk.starts, chunk.ends) if chunk is not None else None)
        out = self._array[self.rows:self.rows + n]
        in_place = values.base is self._array and \
            values.__array_interface__["data"][0] == out.__array_interface__["data"][0]
        if not in_place:
            out[...] = values
        self.rows += n
        return out

    def array(self) -> np.ndarray:
        """The rows, (n, width); the buffer is handed over (add nothing after)."""
        if self._array is None:
            return np.empty((0, self.width))
        if len(self._array) != self.rows:
            self._array.resize((self.rows, self.width), refcheck=False)
        out, self._array = self._array, None
        return out


def _row_bytes(starts, ends) -> float | None:
    """The input's bytes per row, from the spans of a chunk's rows (None without spans or rows)."""
    if starts is None or len(starts) == 0:
        return None
    return (ends[-1] - starts[0] + 1) / len(starts)


def _has(block, byte: bytes) -> bool:
    """Whether ``byte`` occurs in ``block`` (bytes, or a memoryview: ``in`` would loop in Python)."""
    if isinstance(block, bytes):
        return byte in block
    return bool(np.any(np.frombuffer(block, dtype=np.uint8) == byte[0]))


def _chain(first, rest):
    yield first
    yield from rest


def _float(cell: str):
    try:
        return float(cell)
    except ValueError:
        return None


def _slow_chunk(pending, ncols, numeric, text, delimiter) -> Chunk:
    """A chunk of csv-module records: their numeric columns by ``float()``, the rest as text."""
    lines = np.array([line for line, _ in pending], dtype=np.int64)
    records = [cells for _, cells in pending]
    n = len(records)
    values = np.full((n, len(numeric)), np.nan)
    unreadable = None
    bad_width = bad_count = None
    for i, cells in enumerate(records):
        if len(cells) != ncols:
            bad_width, bad_count = i, len(cells)
            break
        for j, k in enumerate(numeric):
            v = _float(cells[k])
            if v is None:
                if unreadable is None:
                    unreadable = np.zeros((n, len(numeric)), dtype=bool)
                unreadable[i, j] = True
            else:
                values[i, j] = v
    good = n if bad_width is None else bad_width
    texts = [[cells[k] for cells in records[:good]] + [""] * (n - good) for k in text]
    return Chunk(lines, values, unreadable, texts, delimiter, bad_width, bad_count or 0, records=records)
