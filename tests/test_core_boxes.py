"""Box formats and validation: dltool.core.boxes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dltool.core.boxes import BOX_FORMATS, box_area, box_convert, check_boxes, check_scores
from dltool.errors import DltoolError, ExitCode, InputError

# One box per row, written out by hand in each format (all values exact in binary).
HAND = {
    "xyxy": [[0, 0, 2, 2], [1, 2, 4, 8], [-3, -1, -2, 0.5], [5, 5, 5, 7]],
    "xywh": [[0, 0, 2, 2], [1, 2, 3, 6], [-3, -1, 1, 1.5], [5, 5, 0, 2]],
    "cxcywh": [[1, 1, 2, 2], [2.5, 5, 3, 6], [-2.5, -0.25, 1, 1.5], [5, 6, 0, 2]],
}


@pytest.mark.parametrize("in_fmt", list(BOX_FORMATS))
@pytest.mark.parametrize("out_fmt", list(BOX_FORMATS))
def test_box_convert_hand_values(in_fmt, out_fmt):
    got = box_convert(HAND[in_fmt], in_fmt, out_fmt)
    assert got.dtype == np.float64
    assert got.shape == (4, 4)
    np.testing.assert_array_equal(got, np.array(HAND[out_fmt], dtype=np.float64))


@pytest.mark.parametrize("fmt", ["xywh", "cxcywh"])
def test_box_convert_round_trip_random(fmt):
    rng = np.random.default_rng(0)
    xy = rng.uniform(-500, 500, (1000, 2))
    wh = rng.uniform(0, 300, (1000, 2))
    xyxy = np.concatenate([xy, xy + wh], axis=1)
    back = box_convert(box_convert(xyxy, "xyxy", fmt), fmt, "xyxy")
    np.testing.assert_allclose(back, xyxy, rtol=0, atol=1e-12)
    # xywh <-> cxcywh directly agrees with going through xyxy
    other = "cxcywh" if fmt == "xywh" else "xywh"
    direct = box_convert(box_convert(xyxy, "xyxy", fmt), fmt, other)
    np.testing.assert_allclose(direct, box_convert(xyxy, "xyxy", other), rtol=0, atol=1e-12)


def test_box_convert_same_format_is_a_copy():
    a = np.array([[0.0, 0.0, 1.0, 1.0]])
    out = box_convert(a, "xyxy", "xyxy")
    np.testing.assert_array_equal(out, a)
    out[0, 0] = 99
    assert a[0, 0] == 0.0


def test_box_convert_empty_and_unknown_format():
    out = box_convert(np.zeros((0, 4)), "xywh", "xyxy")
    assert out.shape == (0, 4)
    with pytest.raises(InputError, match="unknown box format 'yolo'"):
        box_convert([[0, 0, 1, 1]], "yolo", "xyxy")
    with pytest.raises(InputError, match="unknown box format"):
        box_convert([[0, 0, 1, 1]], "xyxy", "XYXY")


@given(st.lists(st.tuples(st.integers(-1000, 1000), st.integers(-1000, 1000),
                          st.integers(0, 1000), st.integers(0, 1000)), max_size=20))
@settings(max_examples=100, deadline=None)
def test_box_convert_round_trip_integers_exact(rows):
    """Integer xywh boxes: every conversion is exact in float64, so round trips are bit-exact."""
    xywh = np.array(rows, dtype=np.float64).reshape(-1, 4)
    for fmt in BOX_FORMATS:
        np.testing.assert_array_equal(box_convert(box_convert(xywh, "xywh", fmt), fmt, "xywh"), xywh)


# ---------------------------------------------------------------- check_boxes


def test_check_boxes_returns_contiguous_float64():
    src = np.array([[0, 0, 1, 1], [2, 3, 4, 5]], dtype=np.int32)
    out = check_boxes(np.asfortranarray(src))  # Fortran-ordered ints in
    assert out.dtype == np.float64 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, src)
    assert check_boxes([[0, 0, 0, 0]]).shape == (1, 4)  # a zero-area box is valid


@pytest.mark.parametrize("empty", [[], np.zeros((0, 4)), np.zeros(0, dtype=np.float32)])
def test_check_boxes_empty(empty):
    out = check_boxes(empty)
    assert out.shape == (0, 4)
    assert out.dtype == np.float64


@pytest.mark.parametrize("bad_shape", [np.zeros((3,)), np.zeros((4,)), np.zeros((2, 5)), np.zeros((2, 3)),
                                       np.zeros((1, 2, 4)), np.zeros((0, 3))])
def test_check_boxes_wrong_shape(bad_shape):
    with pytest.raises(InputError, match=r"shape \(N, 4\)") as info:
        check_boxes(bad_shape, "preds")
    assert str(info.value).startswith("preds: ")
    assert str(bad_shape.shape) in str(info.value)


def test_check_boxes_errors_are_value_errors_with_exit_code_2():
    with pytest.raises(ValueError):
        check_boxes([[0, 0, 1]])
    err = InputError("x")
    assert isinstance(err, DltoolError) and err.exit_code == ExitCode.BAD_INPUT == 2


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("col", range(4))
def test_check_boxes_non_finite_names_the_row(bad, col):
    boxes = np.array([[0, 0, 1, 1], [0, 0, 2, 2], [0, 0, 3, 3], [0, 0, 4, 4]], dtype=np.float64)
    boxes[2, col] = bad
    boxes[3, col] = bad  # only the first offending row is named
    with pytest.raises(InputError, match=r"^boxes: row 2: coordinates must be finite") as info:
        check_boxes(boxes)
    assert info.value.where == "boxes"
    assert "row 3" not in str(info.value)


@pytest.mark.parametrize("row, box", [(1, [2, 0, 1, 1]), (1, [0, 2, 1, 1]), (1, [0, 0, -1e-9, 1])])
def test_check_boxes_inverted_names_the_row(row, box):
    boxes = [[0, 0, 1, 1], box, [5, 5, 4, 4]]
    with pytest.raises(InputError, match=rf"row {row}: x2 < x1 or y2 < y1") as info:
        check_boxes(boxes)
    assert str([float(v) for v in box]) in str(info.value)


def test_check_boxes_non_numeric():
    with pytest.raises(InputError, match="real numbers"):
        check_boxes(np.array([["a", "b", "c", "d"]]))
    with pytest.raises(InputError, match="real numbers"):
        check_boxes(np.ones((1, 4), dtype=complex))


def test_check_scores():
    np.testing.assert_array_equal(check_scores([1, 2, 3], 3), [1.0, 2.0, 3.0])
    assert check_scores([], 0).shape == (0,)
    with pytest.raises(InputError, match="expected 3 scores"):
        check_scores([1, 2], 3)
    with pytest.raises(InputError, match="row 1: score must be a finite number"):
        check_scores([0.5, np.nan, 0.2], 3)


def test_box_area():
    np.testing.assert_array_equal(box_area(check_boxes(HAND["xyxy"])), [4.0, 18.0, 1.5, 0.0])
