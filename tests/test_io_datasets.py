"""Data sets for train-logreg / predict: dltool.io.datasets.read_dataset on CSV, NPZ and image folders.

Hand-made fixtures in ``tests/data/datasets/``:

label_last.csv          x1,x2,x3,label - 4 rows, spellings 6e-1, 1E3, -0, cells with spaces
label_first.csv         label,height,weight - labels 1/0/1 (stay text)
named.csv               Petal,Kind,Sepal - the label in the middle, named in another case
tab.tsv                 a<TAB>b<TAB>y
messy.csv               BOM, CRLF, a leading blank line, quoted names with a comma, a quoted label
                        with a line break, blank and whitespace-only lines: rows end on lines 3, 7, 8
predict_reordered.csv   x2,x3,x1 (no label) for a model trained on x1,x2,x3
predict_labelled.csv    x2,label,x3,x1

NPZ files and image folders are built in tmp_path (an .npz holds timestamps; images are made with
exactly known pixels).
"""

import io
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from dltool.errors import ExitCode, InputError
from dltool.io import images
from dltool.io.csvfile import CsvFile
from dltool.io.datasets import DATA_FORMATS, Dataset, classes_of, read_dataset

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data" / "datasets"
SAMPLES = ROOT / "samples"


def error(path, **kwargs) -> str:
    """The message of the InputError that reading ``path`` raises."""
    with pytest.raises(InputError) as info:
        read_dataset(str(path), **kwargs)
    assert info.value.exit_code == ExitCode.BAD_INPUT
    return str(info.value)


def write(path: pathlib.Path, content) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, newline="")
    return path


def npz(path: pathlib.Path, **arrays) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path


def image(path: pathlib.Path, array=None, mode=None, size=(8, 8), color=(10, 20, 30), **save):
    """Save an image made from ``array`` (uint8/uint16, with ``mode``) or a solid ``color``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(array, mode) if array is not None else Image.new(mode or "RGB", size, color)
    im.save(path, **save)
    return path


def labels(ds: Dataset) -> list:
    return None if ds.y is None else ds.y.tolist()


@pytest.fixture
def stdin(monkeypatch):
    """Replace standard input with a pipe carrying ``data``."""
    def feed(data: bytes):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    return feed


def check_arrays(ds: Dataset):
    assert ds.X.dtype == np.float64 and ds.X.ndim == 2 and ds.X.flags.c_contiguous
    if ds.y is not None:
        assert ds.y.dtype == object and ds.y.shape == (len(ds.X),)
        assert all(type(v) is str for v in ds.y)
    assert len(ds.feature_names) == ds.X.shape[1]


# ------------------------------------------------------------------ CSV


def test_csv_label_last_by_default():
    ds = read_dataset(str(DATA / "label_last.csv"))
    check_arrays(ds)
    np.testing.assert_array_equal(ds.X, [[1, 2, 3], [4.5, -5, 0.6], [7, 8, 9], [0.25, 1000, 0]])
    assert labels(ds) == ["cat", "dog", "cat", "bird"]  # whitespace stripped
    assert ds.feature_names == ["x1", "x2", "x3"]
    assert (ds.kind, ds.label_name, ds.lines) == ("csv", "label", [2, 3, 4, 5])
    assert (ds.paths, ds.image_size, ds.notes) == (None, 0, [])
    assert ds.name == str(DATA / "label_last.csv") and len(ds) == 4
    assert ds.where(2) == f"{DATA / 'label_last.csv'}:4"


def test_csv_label_first_numbers_stay_text():
    ds = read_dataset(str(DATA / "label_first.csv"), label_column="label")
    np.testing.assert_array_equal(ds.X, [[1.5, 60], [1.7, 72.5], [1.8, 80]])
    assert labels(ds) == ["1", "0", "1"]
    assert ds.feature_names == ["height", "weight"]
    # by default the last column is the label, whatever it holds
    ds = read_dataset(str(DATA / "label_first.csv"))
    assert ds.label_name == "weight" and labels(ds) == ["60", "72.5", "80"]


def test_csv_named_label_column_in_the_middle_any_case():
    for name in ("kind", "KIND", " Kind "):
        ds = read_dataset(str(DATA / "named.csv"), label_column=name)
        np.testing.assert_array_equal(ds.X, [[0.25, 5.1], [1.5, 7.0], [1.4, 6.4]])
        assert labels(ds) == ["setosa", "versicolor", "versicolor"]
        assert ds.feature_names == ["Petal", "Sepal"] and ds.label_name == "Kind"


def test_tsv():
    ds = read_dataset(str(DATA / "tab.tsv"))
    np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4]])
    assert labels(ds) == ["yes", "no"] and ds.feature_names == ["a", "b"] and ds.label_name == "y"


def test_messy_csv_bom_crlf_quotes_blank_lines():
    ds = read_dataset(str(DATA / "messy.csv"))
    np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4], [5, 6]])
    assert labels(ds) == ["a, b", "two\r\nlines", "plain"]
    assert ds.feature_names == ["x 1", "x,2"]
    assert ds.lines == [3, 7, 8]  # a row is located by the line it ends on


@pytest.mark.parametrize("sep", [",", "\t", ";"])
def test_delimiter_is_sniffed_for_csv_and_stdin(tmp_path, stdin, sep):
    text = sep.join(["f", "g", "cls"]) + "\n" + sep.join(["1.5", "2", "a"]) + "\n"
    for path in (write(tmp_path / "d.csv", text), write(tmp_path / "d.txt", text)):
        ds = read_dataset(str(path))
        np.testing.assert_array_equal(ds.X, [[1.5, 2]])
        assert labels(ds) == ["a"] and ds.feature_names == ["f", "g"]
    stdin(text.encode())
    ds = read_dataset("-")
    assert ds.name == "<stdin>" and ds.kind == "csv" and labels(ds) == ["a"]


def test_csv_on_stdin(stdin):
    stdin((DATA / "label_last.csv").read_bytes())
    ds = read_dataset("-")
    np.testing.assert_array_equal(ds.X, read_dataset(str(DATA / "label_last.csv")).X)
    assert ds.where(0) == "<stdin>:2"
    stdin(b"x,y\n1,a\n1,b\nq,c\n")
    assert error("-") == "<stdin>:4: column 'x' must be a number, got 'q'"


def test_stdin_terminal_is_refused(monkeypatch):
    class Tty(io.TextIOWrapper):
        def isatty(self):
            return True
    monkeypatch.setattr(sys, "stdin", Tty(io.BytesIO(b"")))
    assert "standard input is a terminal" in error("-")


@pytest.fixture(params=["numpy", "kernel"])
def parser(request, monkeypatch):
    """Run the test with numpy's parser, then with dltool's numba kernel, whatever the input's size."""
    from dltool.io import csvfile

    monkeypatch.setattr(csvfile, "KERNEL_MIN_BYTES", 1 << 60 if request.param == "numpy" else 0)
    return request.param


@pytest.fixture
def no_slow_path(monkeypatch):
    """Fail if the csv-module path of dltool.io.csvfile reads any row."""
    def no_slow(*args, **kwargs):
        raise AssertionError("slow path used")
        yield
    monkeypatch.setattr(CsvFile, "_slow", no_slow)


def test_empty_lines_keep_the_fast_path(tmp_path, no_slow_path, parser):
    path = write(tmp_path / "d.csv", "\na,b\n\n1,x\n2,y\n\n\n3,z\n\n \n\n")
    ds = read_dataset(str(path))
    assert ds.X.tolist() == [[1], [2], [3]] and labels(ds) == ["x", "y", "z"] and ds.lines == [4, 5, 8]
    path = write(tmp_path / "d.csv", "a,b\r\n\r\n1,x\r\n\r\n2,y")
    ds = read_dataset(str(path))
    assert ds.X.tolist() == [[1], [2]] and labels(ds) == ["x", "y"] and ds.lines == [3, 5]


def test_a_large_clean_csv_takes_the_fast_path(tmp_path, no_slow_path, parser):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 7))
    y = rng.choice(["a", "b", "c"], 3000)
    text = "c0,c1,c2,y,c3,c4,c5,c6\n" + "".join(
        ",".join([*map(repr, row[:3]), lab, *map(repr, row[3:])]) + "\n" for row, lab in zip(X.tolist(), y))
    path = write(tmp_path / "big.csv", text)
    ds = read_dataset(str(path), label_column="y")
    np.testing.assert_array_equal(ds.X, X)  # repr round-trips exactly
    assert labels(ds) == y.tolist() and ds.lines[-1] == 3001


def test_a_large_csv_read_in_small_blocks_is_the_same(tmp_path, monkeypatch, parser):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 3))
    lines = ["a,b,c,label", ""] + [f"{a!r},{b!r},{c!r},k{i % 3}" for i, (a, b, c) in enumerate(X.tolist())]
    path = write(tmp_path / "d.csv", "\r\n".join(lines) + "\r\n")
    whole = read_dataset(str(path))
    monkeypatch.setattr(CsvFile.__init__, "__defaults__", (None, None, None, 64))  # 64-byte blocks
    small = read_dataset(str(path))
    np.testing.assert_array_equal(small.X, X)
    np.testing.assert_array_equal(whole.X, X)
    assert small.lines == whole.lines == list(range(3, 503)) and labels(small) == labels(whole)


# ------------------------------------------------------------------ CSV errors


@pytest.mark.parametrize("text, line, message", [
    ("a,b\n1,x\nabc,y\n", 3, "column 'a' must be a number, got 'abc'"),
    ("a,b\n1,x\n,y\n", 3, "column 'a' must be a number, got '' - missing values are not supported; "
                          "fill or drop them"),
    ("a,b\n1,x\nNA,y\n", 3, "column 'a' must be a number, got 'NA' - missing values are not supported; "
                            "fill or drop them"),
    ("a,b\n1,x\n nan,y\n", 3, "column 'a' must be a number, got ' nan' - missing values are not supported; "
                              "fill or drop them"),
    ("a,b\n1,x\n-inf,y\n", 3, "column 'a' must be a finite number, got '-inf'"),
    ("a,b,c\n1,2,x\n3,4\n", 3, "expected 3 fields (a,b,c), got 2"),
    ("a,b,c\n1,2,x\n3,4,y,5\n", 3, "expected 3 fields (a,b,c), got 4"),
    ("a,b\n1,x\n2, \n", 3, "label column 'b' is empty - every row needs a class (drop unlabelled rows)"),
    ("a,b\n\n1,x\n\n\n2,y,\n", 6, "expected 2 fields (a,b), got 3"),  # counted across blank lines
    ("a;b;c\n1,5;2;x\n", 2, "column 'a' must be a number, got '1,5' - use '.' as the decimal point"),
    ("a,b\n \n2," + "y" * 200_000 + "\n,x\n", 4, "column 'a' must be a number, got '' - missing values "
                                                  "are not supported; fill or drop them"),  # no field limit
])
def test_cell_errors_name_the_line(tmp_path, text, line, message, parser):
    path = write(tmp_path / "d.csv", text)
    assert error(path) == f"{path}:{line}: {message}"


def test_bad_cells_deep_in_a_large_file_are_located(tmp_path, parser):
    rows = [f"{i},{i * 0.5},{'ab'[i % 2]}" for i in range(20000)]
    for bad, expected in [("oops", "column 'y' must be a number, got 'oops'"),
                          ("nan", "column 'y' must be a number, got 'nan' - missing values are not "
                                  "supported; fill or drop them"),
                          ("1e999", "column 'y' must be a finite number, got '1e999'")]:
        body = list(rows)
        body[15000] = f"15000,{bad},a"
        path = write(tmp_path / "d.csv", "x,y,label\n" + "\n".join(body) + "\n")
        assert error(path) == f"{path}:15002: {expected}"


def test_wide_header_field_count_message_is_short(tmp_path):
    cols = [f"c{k}" for k in range(20)]
    path = write(tmp_path / "d.csv", ",".join(cols) + "\n" + ",".join(["1"] * 19) + "\n")
    assert error(path) == f"{path}:2: expected 20 fields (as many as the header on line 1), got 19"


@pytest.mark.parametrize("text, message", [
    ("", "empty: expected a header row naming the columns (features, then the label), then one sample "
         "per line"),
    ("\n \n", "empty: expected a header row"),
    ("1,2,3\n4,5,6\n", ":1: expected a header row naming the columns, got data (1, 2, 3) - add a first line "
                       "with the column names, e.g. x1,x2,...,label"),
    ("5.1,3.5,setosa\n4.9,3.0,setosa\n", ":1: expected a header row naming the columns, got data"),
    ("a,,c\n1,2,x\n", ":1: column 2 has no name in the header - name every column"),
    ("a,b,a\n1,2,x\n", ":1: column 'a' appears twice in the header"),
    ("a,B,b\n1,2,x\n", ":1: column 'B' and 'b' differ only in case in the header"),
    ("a,b\n", ": no data rows after the header (line 1) - one sample per line"),
    ("a,b\n\n\n", ": no data rows after the header (line 1)"),
    ("label\nx\n", ":1: no feature columns: the header has only the label column 'label'"),
])
def test_header_errors(tmp_path, text, message):
    path = write(tmp_path / "d.csv", text)
    got = error(path)
    assert got.startswith(f"{path}{message}" if message.startswith(":") else f"{path}: {message}"), got


def test_integer_column_names_are_a_header(tmp_path):
    ds = read_dataset(str(write(tmp_path / "d.csv", "0,1,2,label\n0.5,1,2,a\n")))
    assert ds.feature_names == ["0", "1", "2"] and ds.X.tolist() == [[0.5, 1, 2]]


def test_missing_label_column_names_the_columns_and_the_option():
    msg = error(DATA / "named.csv", label_column="species")
    assert msg == (f"{DATA / 'named.csv'}:1: no label column 'species': the header has Petal, Kind, Sepal - "
                   "pass --label-column NAME with one of them")
    assert "(--label-column takes the column's name, not its position)" in error(
        DATA / "named.csv", label_column="1")


def test_not_utf8(tmp_path):
    path = write(tmp_path / "d.csv", b"a,b\n1,caf\xe9\n")
    assert error(path) == f"{path}:2: not UTF-8 text (byte 9) - save the file as UTF-8"


# ------------------------------------------------------------------ predict: features matched by name


def test_predict_reordered_columns_without_label():
    ds = read_dataset(str(DATA / "predict_reordered.csv"), label_column="label", require_labels=False,
                      expected_features=["x1", "x2", "x3"])
    np.testing.assert_array_equal(ds.X, [[1, 2, 3], [4, 5, 6]])
    assert ds.y is None and ds.label_name is None and ds.feature_names == ["x1", "x2", "x3"]
    check_arrays(ds)


def test_predict_reordered_columns_with_label_any_case():
    ds = read_dataset(str(DATA / "predict_labelled.csv"), label_column="LABEL", require_labels=False,
                      expected_features=["X1", "x2", "x3"])
    np.testing.assert_array_equal(ds.X, [[1, 2, 3], [4, 5, 6]])
    assert labels(ds) == ["dog", "cat"] and ds.label_name == "label"
    assert ds.feature_names == ["x1", "x2", "x3"]  # as the file spells them


def test_predict_missing_and_extra_columns():
    path = DATA / "predict_labelled.csv"
    msg = error(path, label_column="label", require_labels=False, expected_features=["x1", "x2", "x3", "x4"])
    assert msg == (f"{path}:1: missing feature column(s) x4: the model was trained on x1, x2, x3, x4 - "
                   "give a CSV with these columns (any order)")
    msg = error(path, label_column="label", require_labels=False, expected_features=["x1", "x2"])
    assert msg == f"{path}:1: column(s) x3 are not features of the model (trained on x1, x2) - drop them"
    # without the label's name, the label column is one more unknown column
    msg = error(path, require_labels=False, expected_features=["x1", "x2", "x3"])
    assert msg == (f"{path}:1: column(s) label are not features of the model (trained on x1, x2, x3) - "
                   "drop them")


def test_predict_without_expected_features():
    ds = read_dataset(str(DATA / "label_last.csv"), label_column="label", require_labels=False)
    assert labels(ds) == ["cat", "dog", "cat", "bird"] and ds.X.shape == (4, 3)
    ds = read_dataset(str(DATA / "predict_reordered.csv"), label_column="label", require_labels=False)
    assert ds.y is None and ds.feature_names == ["x2", "x3", "x1"]
    ds = read_dataset(str(DATA / "predict_reordered.csv"), require_labels=False)
    assert ds.y is None and ds.X.shape == (2, 3)


def test_predict_many_missing_features_are_listed_short(tmp_path):
    path = write(tmp_path / "d.csv", "a,b\n1,2\n")
    msg = error(path, require_labels=False, expected_features=[f"pixel_{i}" for i in range(12288)])
    assert "missing feature column(s) pixel_0, pixel_1, pixel_2, pixel_3, pixel_4, pixel_5, pixel_6, " \
           "pixel_7, ... (12288 in all)" in msg


# ------------------------------------------------------------------ NPZ


def test_npz_int_labels(tmp_path):
    X = np.arange(6, dtype=np.int32).reshape(3, 2)
    ds = read_dataset(str(npz(tmp_path / "d.npz", X=X, y=np.array([0, 1, 10]))))
    check_arrays(ds)
    np.testing.assert_array_equal(ds.X, [[0, 1], [2, 3], [4, 5]])
    assert labels(ds) == ["0", "1", "10"]
    assert (ds.kind, ds.label_name, ds.feature_names) == ("npz", "y", ["x0", "x1"])
    assert (ds.lines, ds.paths, ds.image_size) == (None, None, 0)
    assert ds.where(1) == f"{tmp_path / 'd.npz'}: row 1"


def test_npz_str_bytes_float_and_bool_labels(tmp_path):
    X = np.ones((3, 1))
    for y, expected in [(np.array(["cat", " dog ", "cat"]), ["cat", "dog", "cat"]),
                        (np.array([b"a", b"b", b"a"]), ["a", "b", "a"]),
                        (np.array([0.0, 1.0, 2.0]), ["0", "1", "2"]),
                        (np.array([True, False, True]), ["True", "False", "True"])]:
        assert labels(read_dataset(str(npz(tmp_path / "d.npz", X=X, y=y)))) == expected


@pytest.mark.parametrize("y", [
    np.array([3, -1, 10**15, 3, 0, -1, 7], dtype=np.int64), np.array([255, 0, 7, 255], dtype=np.uint8),
    np.array([2.0, -0.0, 0.0, 1e15, 2.0, -3.0]), np.array([True, False, False, True]),
    np.random.default_rng(0).integers(0, 5, 5000)])
def test_npz_number_labels_are_each_rows_own_text(tmp_path, y):
    """Written once per class, the texts are those of one str() a row: "0" for -0.0, "True"."""
    X = np.ones((len(y), 1))
    one_each = [str(bool(v)) if y.dtype.kind == "b" else str(int(v)) for v in y.tolist()]
    assert labels(read_dataset(str(npz(tmp_path / "d.npz", X=X, y=y)))) == one_each


def test_npz_by_path_never_holds_the_file_beside_the_arrays(tmp_path, monkeypatch):
    """A file's arrays are read straight from it: the reader never reads the whole file."""
    import dltool.io.datasets as datasets

    path = npz(tmp_path / "d.npz", X=np.arange(20.0).reshape(10, 2), y=np.arange(10) % 2)
    monkeypatch.setattr(datasets, "read_input", lambda p: pytest.fail("read the whole file"))
    ds = read_dataset(str(path))
    np.testing.assert_array_equal(ds.X, np.arange(20.0).reshape(10, 2))
    assert labels(ds) == [str(v % 2) for v in range(10)]


def test_npz_on_stdin_and_by_format(tmp_path, stdin):
    path = npz(tmp_path / "d.npz", X=np.eye(2), y=np.array(["a", "b"]))
    stdin(path.read_bytes())
    ds = read_dataset("-")
    assert ds.kind == "npz" and ds.name == "<stdin>" and labels(ds) == ["a", "b"]
    other = tmp_path / "data.bin"
    other.write_bytes(path.read_bytes())
    assert read_dataset(str(other)).kind == "npz"  # sniffed
    assert read_dataset(str(other), input_format="npz").kind == "npz"


def test_npz_without_y(tmp_path):
    path = npz(tmp_path / "d.npz", X=np.eye(2), extra=np.zeros(1))
    assert error(path) == (f"{path}: no array named y (the labels): the file holds X, extra - "
                           "save the arrays with np.savez(path, X=X, y=y)")
    ds = read_dataset(str(path), require_labels=False)
    assert ds.y is None and ds.label_name is None


@pytest.mark.parametrize("arrays, message", [
    ({"x": np.eye(2), "y": np.zeros(2)}, ": no array named X: the file holds x, y - expected X (m samples, "
                                          "n features) and y (m labels); names are case-sensitive"),
    ({"X": np.zeros(3), "y": np.zeros(3)}, ": X: X has shape (3,), expected a 2-D array (m samples, "
                                            "n features) - for one feature save X.reshape(-1, 1)"),
    ({"X": np.zeros((2, 4, 4, 3)), "y": np.zeros(2)}, ": X: X has shape (2, 4, 4, 3), expected a 2-D array "
                                                      "(m samples, n features) - flatten each sample: "
                                                      "X.reshape(len(X), -1)"),
    ({"X": np.zeros((0, 3)), "y": np.zeros(0)}, ": X: X has shape (0, 3): no samples"),
    ({"X": np.array([["a", "b"]]), "y": np.zeros(1)}, ": X: X has dtype <U1, expected numbers"),
    ({"X": np.zeros((3, 2)), "y": np.zeros((1, 3))}, ": y: y has shape (1, 3), expected (3,): one label per "
                                                      "row of X - save y.ravel()"),
    ({"X": np.zeros((4, 3)), "y": np.zeros(3)}, ": y: y has shape (3,), expected (4,): one label per row "
                                                 "of X - X looks transposed (features x samples, the "
                                                 "course's layout): save X.T"),
    ({"X": np.array([[1.0, 2.0], [3.0, np.nan]]), "y": np.zeros(2)},
     ": X[1]: X[1, 1] is nan: missing values are not supported; fill or drop them"),
    ({"X": np.array([[1.0, np.inf]]), "y": np.zeros(1)}, ": X[0]: X[0, 1] is inf"),
    ({"X": np.eye(2), "y": np.array([0.0, 0.5])}, ": y: y[1] is 0.5: labels must be class names or "
                                                   "whole numbers"),
    ({"X": np.eye(2), "y": np.array([0.0, np.nan])}, ": y: y[1] is nan: every row needs a class"),
    ({"X": np.eye(2), "y": np.array(["a", " "])}, ": y: y[1] is empty: every row needs a class"),
    ({"X": np.eye(2), "y": np.array([1j, 2j])}, ": y: y has dtype complex128, expected class labels"),
])
def test_npz_errors(tmp_path, arrays, message):
    path = npz(tmp_path / "d.npz", **arrays)
    assert error(path).startswith(f"{path}{message}"), error(path)


def test_npz_object_arrays_are_never_unpickled(tmp_path):
    path = npz(tmp_path / "d.npz", X=np.eye(2), y=np.array(["a", 1], dtype=object))
    assert error(path) == (f"{path}: y: y is an array of Python objects, which is never unpickled - "
                           "save it as a fixed-width string array (y.astype(str))")
    path = npz(tmp_path / "e.npz", X=np.array([[1, None]], dtype=object), y=np.zeros(1))
    assert "X is an array of Python objects" in error(path)


def test_not_an_npz(tmp_path):
    path = write(tmp_path / "d.npz", b"PK\x03\x04 broken")
    assert error(path).startswith(f"{path}: damaged .npz archive (BadZipFile)")
    path = tmp_path / "a.npy"
    np.save(path, np.eye(2))
    assert error(path) == (f"{path}: an .npy file holds one array; features and labels go together in an "
                           ".npz - save the arrays with np.savez(path, X=X, y=y)")


# ------------------------------------------------------------------ image folders


def test_solid_colour_images_exact_values_and_layout(tmp_path):
    image(tmp_path / "red" / "a.png", size=(100, 50), color=(255, 0, 0))
    image(tmp_path / "teal" / "b.png", size=(4, 4), color=(0, 128, 128))
    image(tmp_path / "teal" / "c.jpg", size=(16, 16), color=(0, 0, 0), quality=95)
    ds = read_dataset(str(tmp_path), image_size=8)
    check_arrays(ds)
    assert ds.X.shape == (3, 8 * 8 * 3)
    np.testing.assert_array_equal(ds.X[0], np.tile([1.0, 0.0, 0.0], 64))  # resized from 100x50, still solid
    np.testing.assert_array_equal(ds.X[1], np.tile([0.0, 128 / 255, 128 / 255], 64))  # resized up from 4x4
    np.testing.assert_array_equal(ds.X[2], 0.0)
    assert labels(ds) == ["red", "teal", "teal"]
    assert ds.paths == ["red/a.png", "teal/b.png", "teal/c.jpg"]
    assert (ds.kind, ds.label_name, ds.image_size, ds.lines) == ("images", "class", 8, None)
    assert ds.feature_names[:2] == ["pixel_0", "pixel_1"] and len(ds.feature_names) == 192
    assert ds.where(1) == f"{tmp_path}/teal/b.png"


def test_pixels_are_flattened_in_hwc_order(tmp_path):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    image(tmp_path / "k" / "p.png", pixels)
    ds = read_dataset(str(tmp_path), image_size=6)
    np.testing.assert_array_equal(ds.X[0], pixels.reshape(-1) / 255.0)
    np.testing.assert_array_equal(ds.X[0].reshape(6, 6, 3)[2, 4], pixels[2, 4] / 255.0)


def test_resize_keeps_halves_apart(tmp_path):
    pixels = np.zeros((128, 128, 3), dtype=np.uint8)
    pixels[:, :64] = (255, 0, 0)
    pixels[:, 64:] = (0, 0, 255)
    image(tmp_path / "k" / "p.png", pixels)
    got = read_dataset(str(tmp_path)).X[0].reshape(64, 64, 3)  # default image_size 64
    np.testing.assert_array_equal(got[:, :31], np.broadcast_to([1.0, 0, 0], (64, 31, 3)))
    np.testing.assert_array_equal(got[:, 33:], np.broadcast_to([0, 0, 1.0], (64, 31, 3)))


def test_modes_are_converted_to_rgb(tmp_path):
    gray = np.array([[0, 51], [102, 255]], dtype=np.uint8)
    image(tmp_path / "k" / "1_gray.png", gray, "L")
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[...] = (10, 20, 30, 0)  # alpha is dropped, as torchvision's loader does
    image(tmp_path / "k" / "2_rgba.png", rgba, "RGBA")
    palette = Image.fromarray(np.array([[0, 1], [1, 0]], dtype=np.uint8), "P")
    palette.putpalette([200, 100, 0, 0, 50, 250] + [0] * 762)
    palette.save(tmp_path / "k" / "3_palette.png")
    wide = np.array([[0, 257], [32768, 65535]], dtype=np.uint16)
    image(tmp_path / "k" / "4_gray16.png", wide)
    ds = read_dataset(str(tmp_path), image_size=2)
    X = ds.X.reshape(4, 2, 2, 3)
    np.testing.assert_array_equal(X[0], np.repeat(gray[..., None] / 255.0, 3, axis=2))
    np.testing.assert_array_equal(X[1], np.broadcast_to(np.array([10, 20, 30]) / 255.0, (2, 2, 3)))
    np.testing.assert_array_equal(X[2, 0, 0], np.array([200, 100, 0]) / 255.0)
    np.testing.assert_array_equal(X[2, 0, 1], np.array([0, 50, 250]) / 255.0)
    # 16-bit gray is scaled by 1/65535, not clipped at 255 as pillow's own conversion does
    np.testing.assert_allclose(X[3], np.repeat(wide[..., None] / 65535.0, 3, axis=2), rtol=0, atol=1e-7)


def test_16_bit_gray_resized(tmp_path):
    image(tmp_path / "k" / "g.png", np.full((10, 20), 30000, dtype=np.uint16))
    np.testing.assert_allclose(read_dataset(str(tmp_path), image_size=4).X, 30000 / 65535, atol=1e-6)


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [255, 255, 255]]], dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: displayed after a 90-degree clockwise turn
    image(tmp_path / "k" / "p.png", pixels, exif=exif)
    got = read_dataset(str(tmp_path), image_size=2).X[0].reshape(2, 2, 3)
    np.testing.assert_array_equal(got, np.rot90(pixels, k=-1) / 255.0)


def test_folder_walk_sorting_hidden_and_other_files(tmp_path):
    image(tmp_path / "b" / "z.PNG", size=(2, 2))
    image(tmp_path / "b" / "deep" / "a.jpeg", size=(2, 2))
    image(tmp_path / "b" / ".hidden.png", size=(2, 2))
    image(tmp_path / "b" / ".cache" / "x.png", size=(2, 2))
    image(tmp_path / "a" / "m.webp", size=(2, 2))
    image(tmp_path / "a" / "l.bmp", size=(2, 2))
    image(tmp_path / "a" / "k.gif", size=(2, 2))
    image(tmp_path / "a" / "j.TIF", size=(2, 2))
    write(tmp_path / "a" / "notes.txt", "not an image")
    write(tmp_path / ".DS_Store", "")
    image(tmp_path / ".trash" / "t.png", size=(2, 2))
    image(tmp_path / "loose.png", size=(2, 2))
    ds = read_dataset(str(tmp_path), image_size=4)
    assert ds.paths == ["a/j.TIF", "a/k.gif", "a/l.bmp", "a/m.webp", "b/deep/a.jpeg", "b/z.PNG"]
    assert labels(ds) == ["a"] * 4 + ["b"] * 2
    assert ds.notes == [f"ignored 1 image directly in {tmp_path} (not in a class subfolder)",
                        "ignored 1 file that is not an image (jpg jpeg png bmp gif tif tiff webp)"]


def test_linked_folders_are_followed_once(tmp_path):
    image(tmp_path / "set" / "k" / "a.png", size=(2, 2))
    image(tmp_path / "elsewhere" / "b.png", size=(2, 2))
    (tmp_path / "set" / "k" / "more").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "set" / "k" / "loop").symlink_to(tmp_path / "set" / "k", target_is_directory=True)
    assert read_dataset(str(tmp_path / "set"), image_size=2).paths == ["k/a.png", "k/more/b.png"]


def test_predict_folder_of_images_without_classes(tmp_path):
    image(tmp_path / "b.png", size=(2, 2), color=(255, 255, 255))
    image(tmp_path / "a.jpg", size=(2, 2))
    ds = read_dataset(str(tmp_path), require_labels=False, image_size=2)
    assert ds.y is None and ds.label_name is None and ds.paths == ["a.jpg", "b.png"]
    np.testing.assert_array_equal(ds.X[1], 1.0)
    assert error(tmp_path, image_size=2).startswith(
        f"{tmp_path}: found 2 images but no class subfolders - training needs one subfolder per class")


def test_predict_folder_with_classes_keeps_labels(tmp_path):
    image(tmp_path / "cat" / "1.png", size=(2, 2))
    ds = read_dataset(str(tmp_path), require_labels=False, image_size=2)
    assert labels(ds) == ["cat"] and ds.label_name == "class"


def test_image_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    assert error(tmp_path / "empty") == (
        f"{tmp_path / 'empty'}: empty folder: expected one subfolder per class, each holding its images "
        "(jpg jpeg png bmp gif tif tiff webp)")
    assert error(tmp_path / "empty", require_labels=False) == (
        f"{tmp_path / 'empty'}: empty folder: no images (jpg jpeg png bmp gif tif tiff webp) in it or in "
        "subfolders")
    root = tmp_path / "set"
    image(root / "cat" / "1.png", size=(2, 2))
    write(root / "dog" / "readme.txt", "")
    assert error(root) == (f"{root / 'dog'}: empty folder: no images (jpg jpeg png bmp gif tif tiff webp) in "
                           "class folder 'dog' - add images or remove the folder")


@pytest.mark.parametrize("content, reason", [
    (b"this is not an image", "not an image pillow can read (PNG, JPEG, BMP, GIF, TIFF, WebP...)"),
    (None, "damaged or truncated image (image file is truncated"),
])
def test_unreadable_image_names_the_file(tmp_path, content, reason):
    if content is None:
        noise = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
        good = image(tmp_path / "good.png", noise)
        content = good.read_bytes()[:300]
        good.unlink()
    bad = write(tmp_path / "set" / "cat" / "bad.png", content)
    image(tmp_path / "set" / "cat" / "ok.png", size=(2, 2))
    msg = error(tmp_path / "set", image_size=2)
    assert msg.startswith(f"{bad}: cannot read this image: {reason}"), msg


def test_huge_and_float_images_are_refused(tmp_path, monkeypatch):
    # One limit for every command: dltool.io.images.MAX_PIXELS, checked from the header.
    image(tmp_path / "set" / "k" / "big.png", size=(30, 20))
    monkeypatch.setattr(images, "MAX_PIXELS", 500)
    assert error(tmp_path / "set", image_size=4) == (
        f"{tmp_path / 'set' / 'k' / 'big.png'}: image is 30x20 pixels, over the limit of 500 pixels (a guard "
        "against decompression bombs) - downscale it first")
    monkeypatch.undo()
    image(tmp_path / "f" / "k" / "f.tif", np.ones((2, 2), dtype=np.float32), "F")
    assert "32-bit floating-point images are not supported" in error(tmp_path / "f")


def test_image_size_and_expected_feature_count(tmp_path):
    image(tmp_path / "k" / "a.png", size=(5, 5))
    for bad in (0, -3, 2.5, True, "64"):
        assert "--image-size must be a whole number of pixels >= 1" in error(tmp_path, image_size=bad)
    assert read_dataset(str(tmp_path), image_size=4, expected_features=["f"] * 48).X.shape == (1, 48)
    assert error(tmp_path, image_size=4, expected_features=["f"] * 192) == (
        f"{tmp_path}: images resized to 4x4 give 48 features (4*4*3), the model expects 192 - the model was "
        "trained on 8x8 images: pass --image-size 8")
    assert error(tmp_path, image_size=4, expected_features=["a", "b"]).endswith(
        "the model expects 2 - the model was not trained on images")
    path = npz(tmp_path / "d.npz", X=np.eye(3), y=np.arange(3))
    assert error(path, expected_features=["a", "b"]) == (
        f"{path}: X has 3 feature columns, the model expects 2 - give data with the features the model was "
        "trained on")


# ------------------------------------------------------------------ detection


def test_format_detection_and_mismatches(tmp_path):
    image(tmp_path / "imgs" / "k" / "a.png", size=(2, 2))
    assert read_dataset(str(tmp_path / "imgs"), image_size=2, input_format="images").kind == "images"
    assert error(tmp_path / "imgs", input_format="csv") == (
        f"{tmp_path / 'imgs'}: is a folder, expected a .csv file (or drop --input-format to read it as an "
        "image folder)")
    csv_path = write(tmp_path / "d.dat", "a,b\n1,x\n")
    assert read_dataset(str(csv_path)).kind == "csv"  # an unknown extension is sniffed
    assert error(csv_path, input_format="images") == (
        f"{csv_path}: is a file, expected a folder of images with one subfolder per class")
    assert error(tmp_path / "nope.csv") == f"{tmp_path / 'nope.csv'}: no such file or folder - check the path"
    assert error(tmp_path / "imgs" / "k" / "a.png") == (
        f"{tmp_path / 'imgs' / 'k' / 'a.png'}: is a single image: give the folder that holds the images "
        "(one subfolder per class for training)")
    assert error(csv_path, input_format="parquet") == (
        "unknown data format 'parquet': expected one of auto, csv, npz, images")
    assert DATA_FORMATS == ("auto", "csv", "npz", "images")


def test_images_cannot_come_from_stdin(stdin):
    stdin(b"")
    assert "an image folder cannot come from standard input" in error("-", input_format="images")


def test_classes_of():
    assert classes_of(np.array(["10", "2", "1", "2"], dtype=object)) == ["1", "2", "10"]
    assert classes_of(["dog", "cat", "Cat"]) == ["Cat", "cat", "dog"]
    assert classes_of(["10", "b", "2"]) == ["10", "2", "b"]


def test_io_module_imports_no_pillow_at_start():
    code = ("import sys\nimport dltool.io.datasets\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PIL', 'numba', 'click', 'rich')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------ samples


def test_sample_shapes():
    ds = read_dataset(str(SAMPLES / "shapes"))
    assert ds.X.shape == (80, 12288)
    assert classes_of(ds.y) == ["circle", "square"]
    assert (ds.y == "circle").sum() == (ds.y == "square").sum() == 40
    assert 0.0 <= ds.X.min() and ds.X.max() <= 1.0
    assert ds.notes == []


def test_sample_flowers():
    ds = read_dataset(str(SAMPLES / "flowers.csv"))
    assert ds.X.shape == (150, 4)
    assert ds.feature_names == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert ds.label_name == "species"
    assert {c: int((ds.y == c).sum()) for c in classes_of(ds.y)} == {"setosa": 50, "versicolor": 50,
                                                                      "virginica": 50}
    np.testing.assert_array_equal(ds.X, np.round(ds.X, 2))
    assert (ds.X > 0).all()


def test_samples_regenerate_identically(tmp_path):
    subprocess.run([sys.executable, str(SAMPLES / "make_logreg_samples.py"), str(tmp_path)], check=True)
    assert (tmp_path / "flowers.csv").read_bytes() == (SAMPLES / "flowers.csv").read_bytes()
    made = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "shapes").rglob("*.png"))
    kept = sorted(p.relative_to(SAMPLES).as_posix() for p in (SAMPLES / "shapes").rglob("*.png"))
    assert made == kept and len(made) == 80
    for rel in made:  # pixels, not bytes: another zlib may compress the same image differently
        with Image.open(tmp_path / rel) as a, Image.open(SAMPLES / rel) as b:
            assert a.mode == b.mode == "P" and a.getpalette() == b.getpalette()
            assert np.array_equal(np.asarray(a), np.asarray(b)), rel
