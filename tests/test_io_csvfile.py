"""The one CSV reader (dltool.io.csvfile) and the lean box-file rows built on it.

The csv-module path is the reference: numpy's bulk path must give the same rows, lines, values and
texts wherever it answers, whatever the block size. Kept box rows written from the input's bytes
must equal the csv module's writer on the same cells, byte for byte.
"""

import csv
import io
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dltool.errors import InputError
from dltool.io import boxes as box_io
from dltool.io.csvfile import CsvFile, RowBuffer, field_count_message, sniff_delimiter
from dltool.io.tabular import cell_text, write_delimited


def read(data: bytes, numeric, text=(), path="t.csv", block_bytes=1 << 20, force_slow=False, kernel=None,
         **kwargs):
    """(header, rows as (line, values, texts), fast chunks used) of ``data``."""
    table = CsvFile(path, data=data, block_bytes=block_bytes, **kwargs)
    rows, fast = [], 0
    for chunk in table.chunks(numeric, text, force_slow=force_slow, kernel=kernel):
        fast += chunk.records is None
        good = len(chunk) if chunk.bad_width is None else chunk.bad_width
        for i in range(good):
            values = [None if chunk.unreadable is not None and chunk.unreadable[i, j] else v
                      for j, v in enumerate(chunk.values[i].tolist())]
            rows.append((int(chunk.lines[i]), values, [t[i] for t in chunk.texts]))
        if chunk.bad_width is not None:
            rows.append(("width", int(chunk.lines[chunk.bad_width]), chunk.bad_count))
            break
    return table.header, rows, fast


def same_floats(a, b):
    """Rows equal, NaN equal to NaN and -0.0 told from 0.0."""
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        if ra[0] == "width":
            assert ra == rb
            continue
        assert ra[0] == rb[0] and ra[2] == rb[2]
        for x, y in zip(ra[1], rb[1]):
            assert (x is None) == (y is None)
            if x is not None:
                assert np.array_equal(np.array([x]), np.array([y]), equal_nan=True)
                assert np.signbit(x) == np.signbit(y)


# ------------------------------------------------------------------ the reader


def test_header_delimiter_bom_crlf_and_lines():
    data = b"\xef\xbb\xbf\r\n x , y ,label\r\n1,2,a\r\n\r\n3,4, b \r\n"
    header, rows, fast = read(data, [0, 1], [2])
    assert (header.columns, header.line, header.delimiter) == (["x", "y", "label"], 2, ",")
    assert rows == [(3, [1.0, 2.0], ["a"]), (5, [3.0, 4.0], [" b "])] and fast == 1


@pytest.mark.parametrize("first, path, expected", [
    ("a,b;c\tx", "t.csv", ","), ("a\tb;c", "t.csv", "\t"), ("a;b", "t.csv", ";"), ("ab", "t.csv", ","),
    ("a,b", "t.tsv", "\t"), ("a,b", "T.TAB", "\t"), ("a;b", "-", ";"), ("a\tb", None, "\t"),
])
def test_delimiter_sniffing(first, path, expected):
    assert sniff_delimiter(path, first) == expected


def test_quoted_fields_with_line_breaks_and_delimiters():
    data = b'"x 1","x,2",y\n1,2,"a, b"\n\n3,4,"two\r\nlines"\n5,6,plain'
    header, rows, fast = read(data, [0, 1], [2])
    assert header.columns == ["x 1", "x,2", "y"]
    assert rows == [(2, [1.0, 2.0], ["a, b"]), (5, [3.0, 4.0], ["two\r\nlines"]), (6, [5.0, 6.0], ["plain"])]


def test_a_quoted_line_break_across_blocks():
    body = "".join(f"{i},k{i}\n" for i in range(40))
    data = ("n,label\n" + body + '99,"a\nb\nc"\n' + body).encode()
    _, small, _ = read(data, [0], [1], block_bytes=16)
    _, whole, _ = read(data, [0], [1], force_slow=True)
    assert small == whole and small[40] == (44, [99.0], ["a\nb\nc"]) and small[-1][0] == 84


def test_no_field_size_limit_and_the_limit_is_put_back():
    limit = csv.field_size_limit()
    data = b'a,b\n1,"' + b"y" * 300_000 + b'"\n2,' + b"z" * 300_000 + b"\n"
    _, rows, _ = read(data, [0], [1])
    assert [len(r[2][0]) for r in rows] == [300_000, 300_000]
    assert csv.field_size_limit() == limit


def test_lone_cr_ends_a_line_as_for_the_csv_module():
    _, rows, fast = read(b"a,b\n1,x\r2,y\n3,z\n", [0], [1])
    assert rows == [(2, [1.0], ["x"]), (3, [2.0], ["y"]), (4, [3.0], ["z"])] and fast == 0


def test_blank_rows_are_skipped_and_widths_reported():
    data = b"a,b,c\n1,2,x\n , ,\n  \n3,4\n5,6,z\n"
    _, rows, _ = read(data, [0, 1], [2])
    assert rows == [(2, [1.0, 2.0], ["x"]), ("width", 5, 2)]
    # a row of another width where only some columns are read
    _, rows, _ = read(b"a,b,c\n1,2,x\n3,4,y,9\n", [0], [2])
    assert rows == [(2, [1.0], ["x"]), ("width", 3, 4)]


def test_unreadable_cells_and_python_spellings():
    _, rows, _ = read(b"a,b\n1_000,x\nabc,y\n nan ,z\n", [0], [1])
    assert rows[0] == (2, [1000.0], ["x"]) and rows[1] == (3, [None], ["y"])
    assert rows[2][0] == 4 and np.isnan(rows[2][1][0])


def test_not_utf8_is_located():
    with pytest.raises(InputError) as info:
        read(b"a,b\n1,x\n2,caf\xe9\n", [0], [1], block_bytes=4)
    assert str(info.value) == "t.csv:3: not UTF-8 text (byte 13) - save the file as UTF-8"


def test_empty_input_has_no_header():
    for data in (b"", b"\n \n\r\n", b"\xef\xbb\xbf"):
        header, rows, _ = read(data, [0])
        assert header is None and rows == []


def test_a_file_is_streamed_and_closed(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,b\n" + b"".join(b"%d,%d\n" % (i, -i) for i in range(5000)))
    table = CsvFile(str(path), block_bytes=1000)
    assert table.size_hint() == path.stat().st_size - 4
    X = RowBuffer(2, table.size_hint())
    for chunk in table.chunks([0, 1]):
        X.add(chunk.values, chunk)
    out = X.array()
    assert out.shape == (5000, 2) and out.flags.c_contiguous and out[4999].tolist() == [4999, -4999]
    assert table._owned is None  # closed once read


def test_standard_input(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"w\th\n1\t2\n")))
    table = CsvFile("-")
    assert table.name == "<stdin>" and table.header.delimiter == "\t"
    assert [c.values.tolist() for c in table.chunks([0, 1])] == [[[1.0, 2.0]]]


def test_field_count_message():
    assert field_count_message(["a", "b"], 3, ";", 1) == "expected 2 fields (a;b), got 3"
    assert field_count_message([str(k) for k in range(9)], 3, ",", 4) == \
        "expected 9 fields (as many as the header on line 4), got 3"


# The bulk path must agree with the csv-module reference wherever it answers.
cell_numbers = st.floats(-1e300, 1e300)  # finite however it is rounded
spellings = st.sampled_from([repr, lambda v: f"{v:.3g}", lambda v: f" {v!r} ", lambda v: f'"{v!r}"',
                             lambda v: f"{v:e}", lambda v: "x" + repr(v), lambda v: f"{v:.18e}",
                             lambda v: f"{v:.25f}", lambda v: f"\t{v:.2f}", lambda v: "nan", lambda v: "-inf",
                             lambda v: "1_000", lambda v: "-0", lambda v: ".5", lambda v: "5.", lambda v: "",
                             lambda v: "1e", lambda v: "1.5e-400", lambda v: "9e999"])
label_text = st.text(st.characters(codec="utf-8", exclude_characters=',"\r\n'), min_size=0, max_size=6)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_fast_and_slow_paths_agree(data):
    ncols = data.draw(st.integers(1, 5))
    label = data.draw(st.one_of(st.none(), st.integers(0, ncols - 1)))
    nrows = data.draw(st.integers(1, 12))
    rows = []
    for _ in range(nrows):
        cells = [data.draw(spellings)(data.draw(cell_numbers)) for _ in range(ncols)]
        if label is not None:
            cells[label] = data.draw(st.one_of(label_text, label_text.map(lambda s: f'"{s}, {s}"')))
        if data.draw(st.integers(0, 20)) == 0:
            cells = cells[:-1] or ["1", "2"]  # a row of another width
        rows.append(",".join(cells))
    newline = data.draw(st.sampled_from(["\n", "\r\n"]))
    blank = st.tuples(st.integers(0, nrows), st.sampled_from(["", " ", "\t ", ",".join([" "] * ncols)]))
    lines = [",".join(f"c{k}" for k in range(ncols))]
    blanks = data.draw(st.lists(blank, max_size=4))
    for i, row in enumerate(rows):
        lines += [b for at, b in blanks if at == i]
        lines.append(row)
    lines += [b for at, b in blanks if at == nrows]
    raw = (newline.join(lines) + data.draw(st.sampled_from(["", newline]))).encode()
    numeric = [k for k in range(ncols) if k != label]
    if not numeric:
        return
    text = [] if label is None else [label]
    reference = read(raw, numeric, text, force_slow=True)
    for block_bytes in (1 << 20, data.draw(st.integers(1, 64))):
        for kernel in (False, True):  # numpy's parser, dltool's numba kernel
            got = read(raw, numeric, text, block_bytes=block_bytes, kernel=kernel)
            assert vars(got[0]) == vars(reference[0])  # the header: columns, line, delimiter
            same_floats(got[1], reference[1])


# ------------------------------------------------------------------ box files: kept rows from bytes


def written(boxes, keep, scores=None, delimiter=","):
    """(rows written from the input's bytes, the same rows by the csv module cell by cell)."""
    columns, rows = boxes.table(keep, scores)
    fast, slow = io.StringIO(), io.StringIO()
    write_delimited(fast, columns, rows, delimiter)
    writer = csv.writer(slow, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for cells in rows:  # iteration gives the cells, as the csv module would be given them
        writer.writerow([cell_text(v) for v in cells])
    return fast.getvalue(), slow.getvalue()


cell_text_st = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=5)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_kept_rows_are_written_as_the_csv_module_writes_them(tmp_path_factory, data):
    n = data.draw(st.integers(0, 30))
    source = data.draw(st.sampled_from([",", "\t", ";"]))
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    header = ["x1", "y1", "x2", "y2", "score", "note"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=source, lineterminator=data.draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    for _ in range(n):
        x, y = rng.uniform(0, 100, 2)
        writer.writerow([f"{x:.1f}", f"{y:.2f}", f"{x + 5:.1f}", f"{y + 5:g}", f"{rng.uniform():.3f}",
                         data.draw(cell_text_st)])
    path = tmp_path_factory.mktemp("boxes") / ("b.tsv" if source == "\t" else "b.csv")
    path.write_bytes(buffer.getvalue().encode())
    boxes = box_io.read_boxes(str(path))
    keep = rng.permutation(n)[: rng.integers(0, n + 1)]
    scores = np.where(rng.uniform(size=len(keep)) < 0.5, boxes.scores[keep] * 0.5, boxes.scores[keep])
    for delimiter in (",", "\t"):
        for new_scores in (None, scores):
            fast, slow = written(boxes, keep, new_scores, delimiter)
            assert fast == slow


def test_kept_rows_keep_the_original_text(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x1,y1,x2,y2,score,extra\n0,0,10,10,0.670,a b\n20,20,30,30,0.9e0,\"q,\"\n")
    boxes = box_io.read_boxes(str(path))
    assert list(boxes.records) == [["0", "0", "10", "10", "0.670", "a b"], ["20", "20", "30", "30", "0.9e0", "q,"]]
    fast, slow = written(boxes, [1, 0])
    assert fast == slow == 'x1,y1,x2,y2,score,extra\n20,20,30,30,0.9e0,"q,"\n0,0,10,10,0.670,a b\n'
    fast, _ = written(boxes, [0], np.array([0.5]))
    assert fast.splitlines()[1] == "0,0,10,10,0.5,a b"


def test_label_codes_are_np_unique_ranks():
    rng = np.random.default_rng(3)
    a = np.array([f"i{k}" for k in rng.integers(0, 50, 500)], dtype=object)
    b = np.array([f"i{k}" for k in rng.integers(25, 80, 300)], dtype=object)
    codes = box_io.label_codes(a, None, b)
    _, expected = np.unique(np.concatenate([a, b]).astype(str), return_inverse=True)
    assert codes[1] is None
    np.testing.assert_array_equal(np.concatenate([codes[0], codes[2]]), expected)
    assert box_io.label_codes(None) == [None]


def test_all_number_blocks_read_exactly_as_python_reads_each_cell():
    """The fast path (numpy's parser, block by block) gives every cell's correctly rounded value,
    bit for bit: shortest reprs, 17 digits, exponents, signs, -0.0, subnormals, integers, spaces."""
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.standard_normal(3000) * 10.0 ** rng.integers(-300, 300, 3000),
                             rng.integers(-10**6, 10**6, 1000).astype(float), [0.0, -0.0, 5e-324, 1.7976931348623157e308]])
    spellings = [repr, lambda v: f"{v:.17g}", lambda v: f"{v:.3e}", lambda v: f" {v:+.6f} "]
    cells = [spellings[k % 4](float(v)) for k, v in enumerate(values)]
    cells += ["1"] * (-len(cells) % 4)
    raw = ("a,b,c,d\n" + "\n".join(",".join(cells[i:i + 4]) for i in range(0, len(cells), 4)) + "\n").encode()
    table = CsvFile("t.csv", data=raw)
    chunks = list(table.chunks([0, 1, 2, 3]))
    assert all(chunk.records is None for chunk in chunks)  # the fast path read every block
    got = np.concatenate([chunk.values for chunk in chunks])
    want = np.array([float(c) for c in cells]).reshape(-1, 4)
    assert got.view(np.uint64).tolist() == want.view(np.uint64).tolist()


def test_kernel_path_reads_what_numpy_reads_without_falling_back():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3000, 4)) * 10.0 ** rng.integers(-8, 8, (3000, 4))
    lines = ["a,b,name,c,d"]
    for i, row in enumerate(X.tolist()):
        cells = [repr(row[0]), f"{row[1]:.18e}", ["café", "b", " x "][i % 3], f"{row[2]:.4g}", f" {row[3]:.3f} "]
        if i == 7:
            cells[0] = "nan"  # float() reads it: no fallback for the block
        if i == 8:
            cells[3] = "1_000"
        lines.append(",".join(cells))
    raw = ("\r\n".join(lines) + "\r\n").encode()
    kernel = read(raw, [0, 1, 3, 4], [2], kernel=True, block_bytes=20_000)
    numpy_ = read(raw, [0, 1, 3, 4], [2], kernel=False, block_bytes=20_000)
    reference = read(raw, [0, 1, 3, 4], [2], force_slow=True)
    same_floats(kernel[1], reference[1])
    same_floats(numpy_[1], reference[1])
    chunks = list(CsvFile("t.csv", data=raw, block_bytes=20_000).chunks([0, 1, 3, 4], [2], kernel=True))
    assert len(chunks) > 5 and all(chunk.records is None for chunk in chunks)  # none fell back
    assert kernel[1][8][1][2] == 1000.0


def test_kernel_path_leaves_bad_rows_to_the_csv_module():
    raw = b"a,b,c\n1,2,3\n4,5\n6,x,7\n"
    assert read(raw, [0, 1, 2], kernel=True)[1] == read(raw, [0, 1, 2], force_slow=True)[1]
    assert read(raw, [0], kernel=True)[1][-1] == ("width", 3, 2)
    with pytest.raises(InputError, match="UTF-8"):
        read(b"a,b\n1,\xff\n", [0], kernel=True)
