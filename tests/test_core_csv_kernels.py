"""The CSV number kernel (dltool.core.csv_kernels) against Python's float(), the reference: every
cell it converts must be the very double float() gives (bit for bit, -0.0 included), and every cell
it does not convert it must flag rather than guess."""

import math
import random
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dltool.core import csv_kernels as K


def rows_of(data: bytes):
    """(buf, starts, ends) of the newline-ended rows of ``data``, as dltool.io.csvfile passes them."""
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    return buf, np.r_[0, ends[:-1] + 1].astype(np.int64), ends


def parse_cells(cells, delimiter=","):
    """(values, hard) of one-cell rows, by the kernel."""
    buf, starts, ends = rows_of(("\n".join(cells) + "\n").encode())
    n = len(cells)
    values, hard = np.empty((n, 1)), np.zeros((n, 1), dtype=np.bool_)
    bad = K.parse_rows(buf, starts, ends, np.uint8(ord(delimiter)), np.array([K.NUMBER], dtype=np.int8),
                       np.zeros(1, dtype=np.int64), K.power_of_five_table(), K.powers_of_ten(), values,
                       np.empty((n, 0, 2), dtype=np.int64), hard, 0, n)
    assert bad == (-1, hard.sum())
    return values[:, 0], hard[:, 0]


def assert_as_float(cells, most_converted=True):
    values, hard = parse_cells(cells)
    reference = np.array([float(c) for c in cells])
    converted = ~hard
    assert np.array_equal(values[converted].view(np.int64), reference[converted].view(np.int64)), \
        [c for c, v, r, h in zip(cells, values, reference, hard) if not h and v != r][:5]
    if most_converted:
        assert converted.mean() > 0.99


def random_doubles(n, seed):
    """Doubles spread over every exponent, both signs (uniform bit patterns below inf)."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 0x7FF0000000000000, n, dtype=np.int64)
    return (bits.view(np.float64) * rng.choice([-1.0, 1.0], n)).tolist()


def test_power_of_five_table_matches_the_published_one():
    table = K.power_of_five_table()
    assert table.shape == (651, 2)
    # First, 5**0 and last rows of the table in Lemire's fast_float / Rust's dec2flt.
    assert tuple(map(int, table[0])) == (0xEEF453D6923BD65A, 0x113FAA2906A13B3F)  # 5**-342
    assert tuple(map(int, table[342])) == (0x8000000000000000, 0)  # 5**0
    assert tuple(map(int, table[-1])) == (0x8E679C2F5E44FF8F, 0x570F09EAA7EA7648)  # 5**308


def test_every_printed_double_reads_back_exactly():
    doubles = random_doubles(100_000, 0)
    for fmt in ("{!r}", "{:.18e}", "{:.17g}", "{:.15g}", "{:.6e}", "{:.3g}"):
        assert_as_float([fmt.format(x) for x in doubles])


def test_decimal_spellings_everywhere_in_range():
    rng = random.Random(1)
    cells = []
    for _ in range(50_000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 19)))
        cut = rng.randint(0, len(digits))
        sign = rng.choice(["", "-", "+"])
        cells.append(f"{sign}{digits[:cut]}.{digits[cut:]}e{rng.randint(-360, 330)}")
    assert_as_float(cells)


def test_halfway_between_doubles_and_one_digit_either_side():
    cells = []
    for x in random_doubles(20_000, 2):
        x = abs(x)
        y = float(np.nextafter(x, math.inf))
        if math.isinf(y):
            continue
        mid = f"{(Decimal(x) + Decimal(y)) / 2:.18e}"
        mantissa, exponent = mid.split("e")
        cells += [mid, f"{mantissa[:-1]}{(int(mantissa[-1]) + 1) % 10}e{exponent}"]
    # Exact ties (round half to even), above 2**53 and written with a fraction.
    cells += [str(2**53 + 2 * k + 1) for k in range(200)] + [f"{2**53 + 2 * k + 1}000e-3" for k in range(200)]
    assert_as_float(cells)


def test_edges_of_the_range():
    cells = ["0", "-0", "0.000", "-0e5", "1e-400", "-1e-400", "1e400", "-1e400", "2.2250738585072011e-308",
             "2.2250738585072014e-308", "4.9406564584124654e-324", "2.4703282292062327e-324",
             "2.4703282292062328e-324", "1.7976931348623157e308", "1.7976931348623158e308",
             "1.7976931348623159e308", "9007199254740993", "1e22", "1e23", "8.98846567431158e307",
             "0.000000000000000000000000001234", "1e0000000000000000000000001", " 2.5 ", "\t-3\t", ".5", "5.",
             "+7", "1E+05", "123456789012345678e-5"]
    values, hard = parse_cells(cells)
    assert not hard.any()
    reference = np.array([float(c) for c in cells])
    assert np.array_equal(values.view(np.int64), reference.view(np.int64))


def test_other_spellings_are_flagged_not_guessed():
    cells = ["", " ", "nan", "-inf", "Infinity", "1_000", "1e", "e5", ".", "-", "+.e1", "1.2.3", "0x10", "1,5",
             "12345678901234567890", "1.5x", "١", "1 2", "--1"]
    values, hard = parse_cells([c.replace(",", ";") for c in cells])
    assert hard.all() and np.isnan(values).all()


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("0123456789.eE+- \t"), max_size=24))
def test_any_cell_is_float_or_flagged(cell):
    values, hard = parse_cells([cell])
    try:
        expected = float(cell)
    except ValueError:
        assert hard[0]
        return
    if not hard[0]:
        assert np.array_equal(values.view(np.int64), np.array([expected]).view(np.int64))


def test_rows_split_into_numbers_and_text_spans():
    data = b"1.5,name,2e3,skip\n-0,x y,,z\n7,a\n"
    buf, starts, ends = rows_of(data)
    kinds = np.array([K.NUMBER, K.TEXT, K.NUMBER, K.SKIP], dtype=np.int8)
    slots = np.array([0, 0, 1, 0], dtype=np.int64)
    values, spans = np.empty((3, 2)), np.zeros((3, 1, 2), dtype=np.int64)
    hard = np.zeros((3, 2), dtype=np.bool_)
    args = (buf, starts, ends, np.uint8(44), kinds, slots, K.power_of_five_table(), K.powers_of_ten(),
            values, spans, hard)
    assert K.parse_rows(*args, 0, 2) == (-1, 1)
    assert values[0].tolist() == [1.5, 2000.0] and values[1, 0] == 0.0 and np.signbit(values[1, 0])
    assert hard[:2].tolist() == [[False, False], [False, True]]  # the blank cell is float()'s to refuse
    assert [data[a:b] for a, b in spans[:2, 0].tolist()] == [b"name", b"x y"]
    assert K.parse_rows(*args, 0, 3)[0] == 2  # the row of two cells
