"""dltool.core.arrays: median and unique_sorted, which do not import numpy.ma."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dltool.core.arrays import median, unique_sorted


@pytest.mark.parametrize("values, expected", [([3.0], 3.0), ([1.0, 2.0], 1.5), ([5.0, 1.0, 3.0], 3.0),
                                              ([4.0, 1.0, 3.0, 2.0], 2.5), ([2.0, 2.0, 7.0, 7.0], 4.5)])
def test_hand_values(values, expected):
    assert median(np.array(values)) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=40))
def test_equals_numpy_median(values):
    """The same value; of equal middle values -0.0 and 0.0, either may come out, as the two
    partition the array differently (numpy also sends NaN to the end)."""
    values = np.array(values)
    with np.errstate(over="ignore"):  # two values near the float limit: both give inf
        assert median(values) == float(np.median(values))


def test_random_arrays_and_input_left_alone():
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 10, 11, 1000, 1001):
        values = rng.normal(size=n)
        before = values.copy()
        assert median(values) == float(np.median(values))
        np.testing.assert_array_equal(values, before)


def test_empty_is_an_error():
    with pytest.raises(ValueError):
        median(np.empty(0))


def test_does_not_import_numpy_ma():
    code = ("import sys, numpy as np\nfrom dltool.core.arrays import median, unique_sorted\n"
            "median(np.arange(10.0))\nprint('numpy.ma' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-5, 5), max_size=30))
def test_unique_sorted_is_numpy_unique_of_sorted_keys(keys):
    keys = np.sort(np.array(keys, dtype=np.int64))
    np.testing.assert_array_equal(unique_sorted(keys), np.unique(keys))
