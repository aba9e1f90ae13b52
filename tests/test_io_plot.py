"""Charts: dltool.io.plot.

Tick values and labels are checked as numbers and strings; pictures are checked by reading the
written PNG back and looking for the colours that data of a known place must have left there.
"""

import io
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from dltool.errors import InputError
from dltool.io.plot import (PALETTE, Axis, Chart, colour, format_log_tick, format_ticks, log_ticks,
                            nice_ticks)

RED = (255, 0, 0)


def read_png(path):
    from PIL import Image

    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def red_pixels(image):
    """Rows and columns of the clearly red pixels."""
    a = np.asarray(image.convert("RGB")).astype(int)
    return np.nonzero((a[..., 0] > 200) & (a[..., 1] < 90) & (a[..., 2] < 90))


# --- ticks -------------------------------------------------------------------------------------


@pytest.mark.parametrize("lo, hi, expected", [
    (0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    (0, 100, [0, 20, 40, 60, 80, 100]),
    (-3.7, 12.1, [-2, 0, 2, 4, 6, 8, 10, 12]),
    (0.95, 1.05, [0.96, 0.98, 1.0, 1.02, 1.04]),
    (1e-9, 5.3e-9, [1e-9, 2e-9, 3e-9, 4e-9, 5e-9]),
    (0, 3.2e12, [0, 5e11, 1e12, 1.5e12, 2e12, 2.5e12, 3e12]),
    (-1e-3, 1e-3, [-1e-3, -5e-4, 0, 5e-4, 1e-3]),
    (12, 3, [4, 6, 8, 10, 12]),  # reversed ends are swapped
])
def test_nice_ticks_are_round_and_exact(lo, hi, expected):
    # Equal, not close: 0.6 must be the float 0.6, not 3 * 0.2 = 0.6000000000000001.
    assert nice_ticks(lo, hi).tolist() == expected


@pytest.mark.parametrize("seed", range(20))
def test_nice_ticks_properties_on_random_ranges(seed):
    rng = np.random.default_rng(seed)
    span = 10.0 ** rng.uniform(-12, 12)
    centre = rng.normal() * span * 10.0 ** rng.uniform(-3, 5)  # floats keep ticks apart up to 1e5 spans out
    lo, hi = centre - span * rng.uniform(), centre + span * rng.uniform()
    max_ticks = int(rng.integers(2, 12))
    ticks = nice_ticks(lo, hi, max_ticks)
    # Past max_ticks only when keeping to it leaves one tick: the next finer step then gives at most 5.
    assert 2 <= len(ticks) <= max(max_ticks, 5)
    tol = 1e-9 * (hi - lo)
    assert ticks.min() >= lo - tol and ticks.max() <= hi + tol
    if len(ticks) > 1:
        steps = np.diff(ticks)
        step = float(np.median(steps))
        assert np.allclose(steps, step, rtol=1e-6, atol=0)
        mantissa = step / 10.0 ** math.floor(math.log10(step) + 1e-9)
        assert min(abs(mantissa - m) for m in (1, 2, 5)) < 1e-6
        assert np.allclose(ticks / step, np.round(ticks / step), atol=1e-6)


def test_nice_ticks_never_leave_a_lone_tick():
    # At most 3 ticks allows a step of 0.5, which leaves only 4.0 in the range: 0.2 is taken instead.
    assert nice_ticks(3.57, 4.43, 3).tolist() == [3.6, 3.8, 4.0, 4.2, 4.4]
    assert nice_ticks(3.57, 4.43, 5).tolist() == [3.6, 3.8, 4.0, 4.2, 4.4]


def test_nice_ticks_of_a_point_and_bad_ranges():
    assert nice_ticks(3.5, 3.5).tolist() == [3.5]
    with pytest.raises(ValueError):
        nice_ticks(0, float("nan"))
    with pytest.raises(ValueError):
        nice_ticks(-float("inf"), 1)


def test_tick_labels():
    assert format_ticks([0, 0.2, 0.4], -1) == ["0.0", "0.2", "0.4"]
    assert format_ticks([-2, 0, 2], 0) == ["-2", "0", "2"]
    assert format_ticks([0.96, 0.98, 1.0], -2) == ["0.96", "0.98", "1.00"]
    assert format_ticks([0, 5e5, 1e6, 1.5e6], 5) == ["0", "5e5", "1e6", "1.5e6"]
    assert format_ticks([1e-9, 2e-9], -9) == ["1e-9", "2e-9"]
    assert format_ticks([2.5e-4, 5e-4], -5) == ["2.5e-4", "5e-4"]
    assert [format_log_tick(v) for v in (0.01, 0.1, 1, 10, 1000, 1e4)] == ["0.01", "0.1", "1", "10", "1000", "10000"]
    assert [format_log_tick(v) for v in (1e5, 2e6, 1e-3, 5e-7)] == ["1e5", "2e6", "1e-3", "5e-7"]


def test_log_ticks_are_powers_of_ten_with_2_and_5_between():
    major, minor = log_ticks(1, 1000)
    assert major.tolist() == [1, 10, 100, 1000]
    assert minor.tolist() == [2, 5, 20, 50, 200, 500]
    major, minor = log_ticks(0.003, 0.7)
    assert major.tolist() == [0.01, 0.1]
    assert minor.tolist() == [0.005, 0.02, 0.05, 0.2, 0.5]
    major, minor = log_ticks(30, 70)
    assert major.tolist() == [] and minor.tolist() == [50]


def test_log_ticks_over_many_decades_are_thinned():
    major, minor = log_ticks(1e-10, 1e10, max_ticks=10)
    assert len(major) <= 10
    exponents = np.log10(major)
    assert np.allclose(exponents, np.round(exponents)) and len(set(np.diff(exponents).round())) == 1
    assert set(major) | set(minor) == {float(f"1e{k}") for k in range(-10, 11)}  # skipped powers stay minor


def test_log_ticks_refuse_non_positive_ranges():
    with pytest.raises(ValueError):
        log_ticks(0, 10)


# --- pixel mapping -----------------------------------------------------------------------------


def test_axis_maps_ends_to_ends_linear_and_log():
    x = Axis(-5, 15, False, 0, 400)
    assert x.to_pixel([-5, 5, 15]).tolist() == [0, 200, 400]
    y = Axis(0, 10, False, 299, 0)  # a y axis: up the picture is down the rows
    assert y.to_pixel([0, 10]).tolist() == [299, 0]
    log = Axis(1, 100, True, 0, 100)
    assert np.allclose(log.to_pixel([1, 10, 100]), [0, 50, 100])
    assert np.isnan(log.to_pixel([0, -1, np.nan])).all()
    with pytest.raises(ValueError):
        Axis(2, 2)
    with pytest.raises(ValueError):
        Axis(0, 10, log=True)


def pixel_of(chart):
    """(x, y) -> the picture pixel a data point lands on (after render: plot_box and ranges known)."""
    left, top, right, bottom = chart.plot_box
    (x_lo, x_hi), (y_lo, y_hi) = chart._range("x"), chart._range("y")

    def at(x, y):
        return (left + (x - x_lo) / (x_hi - x_lo) * (right - 1 - left),
                bottom - 1 - (y - y_lo) / (y_hi - y_lo) * (bottom - 1 - top))
    return at


def test_points_land_where_their_values_say(tmp_path):
    chart = Chart(width=600, height=400)
    chart.scatter([0, 10, 5], [5, 5, 0], colour=RED, size=2, alpha=255)
    path = str(tmp_path / "points.png")
    chart.save(path)
    rows, cols = red_pixels(read_png(path))
    at = pixel_of(chart)
    for x, y in ((0, 5), (10, 5), (5, 0)):
        px, py = at(x, y)
        near = (np.abs(cols - px) <= 4) & (np.abs(rows - py) <= 4)
        assert near.any() and abs(cols[near].mean() - px) <= 1 and abs(rows[near].mean() - py) <= 1


def test_data_range_is_padded_so_extreme_points_stay_inside(tmp_path):
    chart = Chart(width=600, height=400)
    chart.scatter([1, 2], [1, 2], colour=RED, size=2, alpha=255)
    chart.save(str(tmp_path / "c.png"))
    rows, cols = red_pixels(read_png(str(tmp_path / "c.png")))
    left, top, right, bottom = chart.plot_box
    assert cols.min() > left + 5 and cols.max() < right - 5
    assert rows.min() > top + 5 and rows.max() < bottom - 5


def test_per_point_colours_and_stacking(tmp_path):
    chart = Chart(width=400, height=300)
    # Two points on one spot: the later one shows. Ten points on one spot: darker than one.
    chart.scatter([2, 2], [5, 5], colours=[1, 2], size=3, alpha=255)
    chart.scatter([6] * 10 + [8], [5] * 11, colour=(0, 0, 0), size=3, alpha=40)
    image = chart.render()
    a = np.asarray(image).astype(int)
    pixel = pixel_of(chart)

    def at(x, y):
        px, py = pixel(x, y)
        return a[round(py), round(px)]

    assert np.abs(at(2, 5) - PALETTE[2]).max() <= 2
    assert at(6, 5).sum() < at(8, 5).sum() < 3 * 255


# --- pictures ----------------------------------------------------------------------------------


def full_chart(seed=0):
    rng = np.random.default_rng(seed)
    chart = Chart("A chart", "width", "height", width=640, height=480, x_log=True, y_log=True)
    w = np.exp(rng.normal(3, 1, 2000))
    h = w * np.exp(rng.normal(0, 0.4, 2000))
    chart.scatter(w, h, colours=rng.integers(0, 5, 2000), label="boxes")
    chart.markers([10, 50], [12, 40], labels=["10×12", "50×40"], label="anchors")
    chart.line([1, 10, 100], [1, 10, 100], dashed=True, label="w = h")
    return chart


def test_save_writes_a_png_of_the_requested_size(tmp_path):
    path = str(tmp_path / "chart.png")
    full_chart().save(path)
    image = read_png(path)
    assert image.format == "PNG" and image.mode == "RGB" and image.size == (640, 480)
    a = np.asarray(image)
    assert (a == 255).all(axis=2).mean() > 0.5  # mostly white
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 20  # and something drawn on it


def test_saving_twice_gives_identical_bytes(tmp_path):
    first, second = str(tmp_path / "a.png"), str(tmp_path / "b.png")
    full_chart().save(first)
    full_chart().save(second)
    with open(first, "rb") as f, open(second, "rb") as g:
        assert f.read() == g.read()


def test_characters_the_font_lacks_get_stand_ins():
    def picture(text):
        chart = Chart(title=text, width=300, height=200)
        chart.markers([1], [1], labels=[text])
        return chart.render().tobytes()

    assert picture("3×4 − 1") == picture("3x4 - 1")


def one_point(c):
    c.scatter([3.0], [4.0])


def all_equal(c):
    c.scatter([2.0] * 5, [2.0] * 5)
    c.line([2.0] * 5, [2.0] * 5)


def empty_series(c):
    c.scatter([], [])
    c.line([], [], label="nothing")
    c.markers([], [], labels=[])


def all_nan(c):
    c.scatter([np.nan, np.nan], [1, np.nan])
    c.line([np.nan], [np.nan])


def some_nan_and_inf(c):
    c.line([0, 1, np.nan, 3, 4, np.inf], [0, 1, 2, np.nan, 4, 5], label="broken")
    c.markers([0, np.nan], [np.nan, 1], labels=["a", "b"])


def log_with_non_positive(c):
    c.x_log = c.y_log = True
    c.scatter([-1, 0, 1, 10, 100], [5, 0, 1, -2, 100])
    c.line([0, 1, 10, 100], [1, -1, 10, 100])


def log_single_point(c):
    c.x_log = c.y_log = True
    c.markers([7], [7], labels=["only"])


def log_all_non_positive(c):
    c.y_log = True
    c.scatter([1, 2], [0, -3])


def one_line_point(c):
    c.line([1], [1], label="lone")


def values_far_apart(c):
    c.line([-1e300, 0.5, 1e300], [0.5, 1e300, -1e300])
    c.scatter([5, -5, 1e308], [5, 0.5, 0.5])
    c.markers([2], [2], labels=["far"])


def data_outside_fixed_range(c):
    c.x_range, c.y_range = (0, 1), (0, 1)
    values_far_apart(c)


def huge_and_tiny_values(c):
    c.line([1e-300, 2e-300], [1e300, 1.5e300])


def near_the_float_limits(c):
    c.scatter([-1.7e308, 1.7e308, 0], [1.7e308, -1.7e308, 1])
    c.line([1, 2], [np.finfo(float).max, np.finfo(float).max])


def near_the_float_limits_on_log_axes(c):
    c.x_log = c.y_log = True
    c.scatter([5e-324, 1.7e308], [1e-310, 1.7e308])


def long_texts(c):
    c.title = "t" * 300
    c.line([0, 1], [0, 1], label="a very long legend entry " * 3)


@pytest.mark.parametrize("fill", [one_point, all_equal, empty_series, all_nan, some_nan_and_inf,
                                  log_with_non_positive, log_single_point, log_all_non_positive,
                                  one_line_point, values_far_apart, data_outside_fixed_range, huge_and_tiny_values,
                                  near_the_float_limits,
                                  near_the_float_limits_on_log_axes, long_texts],
                         ids=lambda f: f.__name__)
def test_degenerate_data_draws_a_picture(tmp_path, fill):
    chart = Chart("degenerate", "x", "y", width=400, height=300)
    fill(chart)
    path = str(tmp_path / "d.png")
    chart.save(path)
    assert read_png(path).size == (400, 300)


def test_an_empty_chart_still_has_axes(tmp_path):
    path = str(tmp_path / "empty.png")
    Chart(width=300, height=200).save(path)
    assert read_png(path).size == (300, 200)


def test_bad_arguments_are_refused():
    chart = Chart()
    with pytest.raises(ValueError, match="differ in length"):
        chart.line([1, 2], [1])
    with pytest.raises(ValueError, match="shape"):
        chart.markers([1], [1], shape="star")
    with pytest.raises(ValueError, match="labels"):
        chart.markers([1, 2], [1, 2], labels=["one"])
    with pytest.raises(ValueError, match="colours"):
        chart.scatter([1, 2], [1, 2], colours=[[1, 2]])
    with pytest.raises(ValueError):
        Chart(width=50, height=50)
    log_range = Chart(x_log=True, x_range=(0, 10))
    with pytest.raises(ValueError, match="x_range"):
        log_range.render()


def test_a_fixed_range_places_the_ends_on_the_frame(tmp_path):
    chart = Chart(width=600, height=400, x_range=(0, 10), y_range=(0, 10))
    chart.scatter([0, 10], [0, 10], colour=RED, size=2, alpha=255)
    chart.save(str(tmp_path / "fixed.png"))
    rows, cols = red_pixels(read_png(str(tmp_path / "fixed.png")))
    left, top, right, bottom = chart.plot_box
    # each dot is cut by the frame: its visible quarter starts on the corner
    assert abs(cols.min() - left) <= 1 and abs(cols.max() - (right - 1)) <= 1
    assert abs(rows.min() - top) <= 1 and abs(rows.max() - (bottom - 1)) <= 1


def test_palette_is_distinct_and_cycles():
    assert len(set(PALETTE)) == len(PALETTE) >= 10
    assert colour(0) == PALETTE[0] and colour(len(PALETTE) + 3) == PALETTE[3] and colour(-1) == PALETTE[-1]
    chart = Chart()
    chart.line([0, 1], [0, 1])
    chart.line([0, 1], [1, 0])
    chart.scatter([0], [1])
    assert [s["colour"] for s in chart._series] == PALETTE[:3]  # unset colours differ by series


# --- output file -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["chart.jpg", "chart", "chart.png.txt"])
def test_a_name_that_is_not_png_is_refused_and_writes_nothing(tmp_path, name):
    with pytest.raises(InputError, match=r"\.png"):
        full_chart().save(str(tmp_path / name))
    assert os.listdir(tmp_path) == []


def test_a_missing_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="directory"):
        full_chart().save(str(tmp_path / "no" / "chart.png"))


def test_a_failed_drawing_leaves_the_old_file_alone(tmp_path, monkeypatch):
    path = tmp_path / "chart.png"
    path.write_bytes(b"old")

    def fail(self):
        raise ValueError("drawing failed")

    with monkeypatch.context() as patched:
        patched.setattr(Chart, "render", fail)
        with pytest.raises(ValueError):
            full_chart().save(str(path))
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["chart.png"]
    full_chart().save(str(path))
    assert read_png(str(path)).size == (640, 480) and os.listdir(tmp_path) == ["chart.png"]


def test_uppercase_png_extension_is_accepted(tmp_path):
    path = str(tmp_path / "CHART.PNG")
    Chart(width=300, height=200).save(path)
    assert read_png(path).size == (300, 200)


# --- cost --------------------------------------------------------------------------------------


def test_importing_the_module_imports_no_pil_numba_click_or_rich():
    code = ("import sys, dltool.io.plot\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PIL', 'numba', 'click', 'rich')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_hundred_thousand_points_draw(tmp_path):
    # Its speed (about 0.2 s: no per-point Python loop) is benchmarks' business: no clock here.
    rng = np.random.default_rng(1)
    chart = Chart(x_log=True, y_log=True)
    chart.scatter(np.exp(rng.normal(3, 1, 100_000)), np.exp(rng.normal(3, 1, 100_000)),
                  colours=rng.integers(0, 9, 100_000))
    chart.save(str(tmp_path / "many.png"))
    assert len(read_png(tmp_path / "many.png").getcolors(1 << 16) or []) > 9  # the nine colours drawn


def test_old_pillow_without_font_sizes_still_draws(tmp_path, monkeypatch):
    from PIL import ImageFont

    if not hasattr(ImageFont, "load_default_imagefont"):
        pytest.skip("this pillow has only the bitmap font anyway")

    def sizeless_load_default(size=None):  # pillow < 10.1: a small Latin-1 bitmap font
        if size is not None:
            raise TypeError("load_default() got an unexpected keyword argument 'size'")
        return ImageFont.load_default_imagefont()

    monkeypatch.setattr(ImageFont, "load_default", sizeless_load_default)
    chart = full_chart()
    chart.title = "3×4 é ☃"  # not in Latin-1, in Latin-1, in nothing
    path = str(tmp_path / "old.png")
    chart.save(path)
    assert read_png(path).size == (640, 480)
