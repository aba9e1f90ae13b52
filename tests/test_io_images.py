"""Images for gram-style: dltool.io.images.load_image / save_image, and the texture samples.

The samples are ``samples/textures/*.png`` (made by ``samples/make_texture_samples.py``); every
other image is built in tmp_path with exactly known pixels, in the mode under test.
"""

import io
import pathlib
import re
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps

from dltool.errors import ExitCode, InputError
from dltool.io import images
from dltool.io.images import MAX_PIXELS, LoadedImage, load_image, save_image, to_uint8

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
TEXTURES = ("bricks", "weave", "marble")


def error(path, **kwargs) -> str:
    """The message of the InputError that loading ``path`` raises."""
    with pytest.raises(InputError) as info:
        load_image(str(path), **kwargs)
    assert info.value.exit_code == ExitCode.BAD_INPUT
    return str(info.value)


def save(tmp_path, name: str, array, mode: str | None = None, **kwargs) -> str:
    path = tmp_path / name
    Image.fromarray(np.asarray(array), *([mode] if mode else [])).save(path, **kwargs)
    return str(path)


def png_bytes(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes | None = None) -> bytes:
    """A PNG written by hand (pillow cannot write 16-bit RGB, nor lie about its size)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    body = chunk(b"IDAT", zlib.compress(rows)) if rows is not None else b""
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + body + chunk(b"IEND", b"")


# ------------------------------------------------------------------ the samples

@pytest.mark.parametrize("texture", TEXTURES)
def test_each_sample_loads_as_256x256_rgb_in_unit_range(texture):
    path = SAMPLES / "textures" / f"{texture}.png"
    loaded = load_image(str(path))
    assert isinstance(loaded, LoadedImage)
    assert loaded.pixels.shape == (256, 256, 3) and loaded.pixels.dtype == np.float64
    assert loaded.pixels.flags.c_contiguous
    assert 0.0 <= loaded.pixels.min() and loaded.pixels.max() <= 1.0
    assert loaded.name == str(path) and loaded.original_mode == "RGB" and loaded.original_size == (256, 256)
    assert loaded.notes == [] and loaded.size == (256, 256)
    assert path.stat().st_size <= 60_000
    small = load_image(str(path), size=128)
    assert small.pixels.shape == (128, 128, 3) and small.notes == ["resized 256x256 to 128x128"]


@pytest.mark.parametrize("texture", TEXTURES)
def test_each_sample_tiles_without_a_seam(texture):
    """Every period divides 256: the step across the wrap-around edge is an ordinary step."""
    p = load_image(str(SAMPLES / "textures" / f"{texture}.png")).pixels
    for axis in (0, 1):
        steps = np.abs(np.diff(p, axis=axis)).mean(axis=(1 - axis, 2))  # mean step per line
        seam = np.abs(p.take(0, axis=axis) - p.take(-1, axis=axis)).mean()
        assert seam <= np.percentile(steps, 95), (texture, axis, seam, np.percentile(steps, 95))


def test_samples_differ_in_colour():
    means = {t: load_image(str(SAMPLES / "textures" / f"{t}.png")).pixels.mean(axis=(0, 1)) for t in TEXTURES}
    for i, a in enumerate(TEXTURES):
        for b in TEXTURES[i + 1:]:
            assert np.abs(means[a] - means[b]).max() > 0.1, (a, b)


def test_samples_regenerate_identically(tmp_path):
    script = str(SAMPLES / "make_texture_samples.py")
    for out in ("a", "b"):
        subprocess.run([sys.executable, script, str(tmp_path / out)], check=True, capture_output=True,
                       timeout=120)
    made = sorted(p.name for p in (tmp_path / "a" / "textures").iterdir())
    kept = sorted(p.name for p in (SAMPLES / "textures").glob("*.png"))
    assert made == kept == sorted(f"{t}.png" for t in TEXTURES)
    for name in made:
        fresh, again = tmp_path / "a" / "textures" / name, tmp_path / "b" / "textures" / name
        assert fresh.read_bytes() == again.read_bytes(), name  # a re-run writes the same bytes
        # against the committed files: pixels, not bytes (another zlib may compress differently)
        with Image.open(fresh) as a, Image.open(SAMPLES / "textures" / name) as b:
            assert a.mode == b.mode == "RGB" and a.size == b.size == (256, 256)
            assert np.array_equal(np.asarray(a), np.asarray(b)), name


# ------------------------------------------------------------------ modes and bit depths

def test_rgb_values_are_v_over_255(tmp_path):
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 14
    loaded = load_image(save(tmp_path, "rgb.png", rgb))
    np.testing.assert_array_equal(loaded.pixels, rgb / 255.0)
    assert loaded.notes == [] and loaded.original_size == (3, 2) and loaded.size == (3, 2)


def test_grayscale_is_repeated_into_three_channels(tmp_path):
    gray = np.array([[0, 64], [128, 255]], dtype=np.uint8)
    loaded = load_image(save(tmp_path, "gray.png", gray, "L"))
    assert loaded.original_mode == "L"
    assert loaded.notes == ["converted grayscale (L) to RGB"]
    np.testing.assert_array_equal(loaded.pixels, np.repeat(gray[:, :, None] / 255.0, 3, axis=2))


def test_black_and_white(tmp_path):
    path = tmp_path / "bw.png"
    Image.fromarray(np.array([[0, 255], [255, 0]], dtype=np.uint8)).convert("1").save(path)
    loaded = load_image(str(path))
    assert loaded.original_mode == "1" and loaded.notes == ["converted black-and-white (1) to RGB"]
    np.testing.assert_array_equal(loaded.pixels[:, :, 0], [[0, 1], [1, 0]])


def test_rgba_drops_alpha_and_keeps_the_colour_under_it(tmp_path):
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[..., :3] = [[[10, 20, 30], [40, 50, 60]], [[70, 80, 90], [200, 210, 220]]]
    rgba[..., 3] = [[255, 255], [0, 128]]
    loaded = load_image(save(tmp_path, "rgba.png", rgba, "RGBA"))
    assert loaded.original_mode == "RGBA"
    assert loaded.notes == ["dropped the alpha channel of RGBA (50% of the pixels were transparent or "
                            "translucent; the colour stored under them is kept)"]
    np.testing.assert_array_equal(loaded.pixels, rgba[..., :3] / 255.0)


def test_opaque_rgba_says_only_that_alpha_was_dropped(tmp_path):
    rgba = np.full((2, 2, 4), 255, dtype=np.uint8)
    loaded = load_image(save(tmp_path, "opaque.png", rgba, "RGBA"))
    assert loaded.notes == ["dropped the alpha channel of RGBA"]


def test_grayscale_with_alpha(tmp_path):
    la = np.array([[[50, 255], [100, 0]]], dtype=np.uint8)
    loaded = load_image(save(tmp_path, "la.png", la, "LA"))
    assert loaded.original_mode == "LA"
    assert loaded.notes[0] == "converted grayscale (LA) to RGB"
    assert loaded.notes[1].startswith("dropped the alpha channel of LA (50% of the pixels")
    np.testing.assert_array_equal(loaded.pixels[0, :, 1], [50 / 255, 100 / 255])


def test_palette_is_looked_up(tmp_path):
    path = tmp_path / "palette.png"
    im = Image.fromarray(np.array([[0, 1], [2, 1]], dtype=np.uint8), "P")
    im.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (3 * 253))
    im.save(path)
    loaded = load_image(str(path))
    assert loaded.original_mode == "P" and loaded.notes == ["converted palette (P) to RGB"]
    np.testing.assert_array_equal(loaded.pixels[0], [[1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(loaded.pixels[1, 0], [0, 0, 1])


def test_palette_transparency_is_noted(tmp_path):
    path = tmp_path / "palette.png"
    im = Image.fromarray(np.array([[0, 1]], dtype=np.uint8), "P")
    im.putpalette([255, 0, 0, 0, 255, 0] + [0] * (3 * 254))
    im.save(path, transparency=1)
    loaded = load_image(str(path))
    assert loaded.original_mode == "P"
    assert loaded.notes == ["converted palette (P) to RGB", "dropped the transparent colour of P"]
    np.testing.assert_array_equal(loaded.pixels[0], [[1, 0, 0], [0, 1, 0]])


def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 65535], [1000, 30000]], dtype=np.uint16)
    path = save(tmp_path, "gray16.png", values)
    with Image.open(path) as im:
        mode = im.mode
    loaded = load_image(path)
    assert loaded.original_mode == mode and mode in images._WIDE_GRAY
    assert loaded.notes == [f"converted grayscale ({mode}) to RGB", "scaled 16-bit values by 1/65535"]
    np.testing.assert_allclose(loaded.pixels, np.repeat(values[:, :, None] / 65535.0, 3, axis=2), atol=1e-7)
    assert loaded.pixels.dtype == np.float64 and loaded.pixels.flags.c_contiguous


def test_16_bit_grayscale_crops_and_resizes(tmp_path):
    values = np.full((30, 40), 65535, dtype=np.uint16)
    values[:, :5] = 0  # cut away by the centred square
    loaded = load_image(save(tmp_path, "gray16.png", values), size=10)
    assert loaded.pixels.shape == (10, 10, 3)
    np.testing.assert_allclose(loaded.pixels, 1.0, atol=1e-6)
    assert loaded.notes[-2:] == ["cropped 40x30 to its centred 30x30 square", "resized 30x30 to 10x10"]


def test_32_bit_integer_grayscale_is_clipped_with_a_note(tmp_path):
    values = np.array([[0, 65535, 70000, -5]], dtype=np.int32)
    path = tmp_path / "int32.tif"
    Image.fromarray(values, "I").save(path)
    loaded = load_image(str(path))
    assert loaded.original_mode == "I"
    assert loaded.notes == ["converted grayscale (I) to RGB", "scaled 16-bit values by 1/65535",
                            "clipped 2 values outside 0..65535"]
    np.testing.assert_allclose(loaded.pixels[0, :, 0], [0, 1, 1, 0])


def test_16_bit_rgb_is_read_at_8_bits_with_a_note(tmp_path):
    values = (np.arange(12, dtype=np.uint16).reshape(2, 2, 3) * 5000 + 77)
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in values)
    path = tmp_path / "rgb16.png"
    path.write_bytes(png_bytes(2, 2, 16, 2, rows))
    loaded = load_image(str(path))
    assert loaded.original_mode == "RGB"
    assert loaded.notes == ["read 16-bit RGB at 8 bits per channel"]
    np.testing.assert_array_equal(loaded.pixels, (values >> 8) / 255.0)


def test_cmyk_is_converted(tmp_path):
    path = tmp_path / "cmyk.tif"
    Image.new("CMYK", (3, 2), (0, 255, 255, 0)).save(path)  # no black, full magenta + yellow: red
    loaded = load_image(str(path))
    assert loaded.original_mode == "CMYK" and loaded.notes == ["converted CMYK to RGB"]
    np.testing.assert_array_equal(loaded.pixels, np.broadcast_to([1.0, 0.0, 0.0], (2, 3, 3)))


def test_float_images_are_refused(tmp_path):
    path = tmp_path / "float.tif"
    Image.fromarray(np.array([[0.0, 0.5]], dtype=np.float32), "F").save(path)
    message = error(path)
    assert message.startswith(f"{path}: 32-bit floating-point images are not supported")
    assert "save it as an 8- or 16-bit PNG" in message


def test_exif_orientation_turns_the_image_upright(tmp_path):
    rgb = np.zeros((2, 4, 3), dtype=np.uint8)
    rgb[0, 0] = [255, 0, 0]  # a red top-left corner, to see where it goes
    im = Image.fromarray(rgb)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: a viewer rotates it 90 degrees clockwise
    path = tmp_path / "turned.png"
    im.save(path, exif=exif)
    loaded = load_image(str(path))
    assert loaded.original_size == (4, 2) and loaded.size == (2, 4)
    assert loaded.notes == ["turned upright by its EXIF orientation (6)"]
    with Image.open(path) as stored:
        upright = np.asarray(ImageOps.exif_transpose(stored).convert("RGB"))
    np.testing.assert_array_equal(loaded.pixels, upright / 255.0)
    assert loaded.pixels[0, -1, 0] == 1.0  # the red corner is now top-right


def test_animated_images_give_their_first_frame(tmp_path):
    frames = [Image.new("RGB", (4, 4), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    loaded = load_image(str(path))
    assert loaded.notes[0] == "used the first of its 3 frames"
    np.testing.assert_array_equal(loaded.pixels, np.broadcast_to([1.0, 0.0, 0.0], (4, 4, 3)))


def test_jpeg_loads(tmp_path):
    path = save(tmp_path, "flat.jpg", np.full((8, 8, 3), 200, dtype=np.uint8), quality=95)
    loaded = load_image(path)
    assert loaded.original_mode == "RGB" and loaded.notes == []
    np.testing.assert_allclose(loaded.pixels, 200 / 255, atol=2 / 255)


def test_standard_input(tmp_path, monkeypatch):
    data = (SAMPLES / "textures" / "weave.png").read_bytes()

    class Stdin:
        buffer = io.BytesIO(data)

        def isatty(self):
            return False

    monkeypatch.setattr(sys, "stdin", Stdin())
    loaded = load_image("-", size=64)
    assert loaded.name == "<stdin>" and loaded.pixels.shape == (64, 64, 3)


def test_name_is_used_in_messages(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(InputError) as info:
        load_image(str(path), name="style image")
    assert str(info.value).startswith("style image: empty file")
    loaded = load_image(str(SAMPLES / "textures" / "bricks.png"), name="bricks")
    assert loaded.name == "bricks"


# ------------------------------------------------------------------ square crop and resize

def three_bands(tmp_path, width: int, height: int) -> str:
    """Red | green | blue: the centred square (the short side) is all green."""
    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    rgb[..., 1] = 255
    side = min(width, height)
    if width > height:
        rgb[:, : (width - side) // 2] = [255, 0, 0]
        rgb[:, (width - side) // 2 + side:] = [0, 0, 255]
    else:
        rgb[: (height - side) // 2] = [255, 0, 0]
        rgb[(height - side) // 2 + side:] = [0, 0, 255]
    return save(tmp_path, f"bands_{width}x{height}.png", rgb)


@pytest.mark.parametrize("width, height", [(300, 200), (200, 300), (301, 200), (200, 301)])
def test_size_cuts_out_the_centred_square(tmp_path, width, height):
    path = three_bands(tmp_path, width, height)
    side = min(width, height)
    loaded = load_image(path, size=side)
    assert loaded.pixels.shape == (side, side, 3)
    assert loaded.notes == [f"cropped {width}x{height} to its centred {side}x{side} square"]
    np.testing.assert_array_equal(loaded.pixels, np.broadcast_to([0.0, 1.0, 0.0], (side, side, 3)))
    assert loaded.original_size == (width, height)


def test_size_crops_then_resizes(tmp_path):
    loaded = load_image(three_bands(tmp_path, 512, 384), size=128)
    assert loaded.pixels.shape == (128, 128, 3)
    assert loaded.notes == ["cropped 512x384 to its centred 384x384 square", "resized 384x384 to 128x128"]
    np.testing.assert_allclose(loaded.pixels, np.broadcast_to([0.0, 1.0, 0.0], (128, 128, 3)))


def test_without_size_the_image_is_kept_whole(tmp_path):
    loaded = load_image(three_bands(tmp_path, 300, 200))
    assert loaded.pixels.shape == (200, 300, 3) and loaded.notes == []


def test_enlarging_is_noted(tmp_path):
    loaded = load_image(save(tmp_path, "tiny.png", np.zeros((16, 16, 3), dtype=np.uint8)), size=32)
    assert loaded.pixels.shape == (32, 32, 3)
    assert loaded.notes == ["resized 16x16 to 32x32 (enlarged: it will look soft)"]


def test_same_size_is_untouched(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (20, 20, 3), dtype=np.uint8)
    loaded = load_image(save(tmp_path, "square.png", rgb), size=20)
    assert loaded.notes == []
    np.testing.assert_array_equal(loaded.pixels, rgb / 255.0)


@pytest.mark.parametrize("size", [0, -3, 2.5, True, "64", 20_000])
def test_bad_sizes_are_refused(size):
    with pytest.raises(InputError, match="the image size must be a whole number of pixels from 1 to"):
        load_image(str(SAMPLES / "textures" / "bricks.png"), size=size)


def test_numpy_integer_size(tmp_path):
    assert load_image(str(SAMPLES / "textures" / "bricks.png"), size=np.int64(32)).pixels.shape == (32, 32, 3)


# ------------------------------------------------------------------ saving

def test_png_round_trip_is_exact(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (17, 23, 3), dtype=np.uint8)
    path = tmp_path / "out.png"
    save_image(str(path), rgb / 255.0)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.mode == "RGB" and im.size == (23, 17)
    loaded = load_image(str(path))
    np.testing.assert_array_equal(loaded.pixels, rgb / 255.0)
    np.testing.assert_array_equal(to_uint8(loaded.pixels), rgb)


def test_save_clips_and_rounds(tmp_path):
    pixels = np.array([[[-0.5, 1.5, 0.2], [0.5, 1.0, 0.0], [0.001, 0.999, 0.5 / 255 + 1e-9]]])
    path = tmp_path / "clipped.png"
    save_image(path, pixels)  # a pathlib.Path is fine too
    with Image.open(path) as im:
        np.testing.assert_array_equal(np.asarray(im), [[[0, 255, 51], [128, 255, 0], [0, 255, 1]]])


def test_save_jpeg_by_extension(tmp_path):
    smooth = np.broadcast_to(np.linspace(0, 1, 32)[None, :, None], (32, 32, 3))
    for name in ("out.jpg", "OUT.JPEG"):
        save_image(str(tmp_path / name), smooth)
        with Image.open(tmp_path / name) as im:
            assert im.format == "JPEG" and im.size == (32, 32)
        assert np.abs(load_image(str(tmp_path / name)).pixels - smooth).mean() < 0.01


def test_save_refuses_other_extensions(tmp_path):
    with pytest.raises(InputError) as info:
        save_image(str(tmp_path / "out.bmp"), np.zeros((2, 2, 3)))
    assert str(info.value) == (f"{tmp_path / 'out.bmp'}: an image is written as PNG or JPEG: use a .png or "
                               ".jpg output name")
    assert not (tmp_path / "out.bmp").exists()


@pytest.mark.parametrize("shape", [(4, 4), (4, 4, 4), (0, 4, 3), (4, 4, 3, 1)])
def test_save_refuses_other_shapes(tmp_path, shape):
    with pytest.raises(InputError, match=r"an image must be an \(H, W, 3\) array of RGB values, got shape"):
        save_image(str(tmp_path / "out.png"), np.zeros(shape))
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_nan_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "out.png"
    save_image(str(path), np.zeros((2, 2, 3)))
    before = path.read_bytes()
    bad = np.zeros((2, 2, 3))
    bad[0, 0, 0], bad[1, 1, 2] = np.nan, np.inf
    with pytest.raises(InputError) as info:
        save_image(str(path), bad)
    assert str(info.value) == f"{path}: 2 pixel values are NaN or infinite - nothing was written"
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_save_into_a_missing_folder(tmp_path):
    with pytest.raises(InputError, match="its directory does not exist"):
        save_image(str(tmp_path / "nowhere" / "out.png"), np.zeros((2, 2, 3)))


# ------------------------------------------------------------------ errors

def test_missing_file(tmp_path):
    path = tmp_path / "nope.png"
    assert error(path) == f"{path}: no such file - check the path"


def test_directory(tmp_path):
    assert error(tmp_path) == f"{tmp_path}: is a directory, expected a file"


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    assert error(path) == f"{path}: empty file - expected an image (PNG, JPEG, BMP, GIF, TIFF, WebP)"


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("x1,y1,x2,y2\n1,2,3,4\n")
    assert error(path) == (f"{path}: not an image pillow can read (PNG, JPEG, BMP, GIF, TIFF, WebP...) - "
                           "check that this is the picture you meant")


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_image(tmp_path, keep):
    data = (SAMPLES / "textures" / "marble.png").read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: int(len(data) * keep)])
    message = error(path)
    assert message.startswith(f"{path}: damaged or truncated image (")
    assert message.endswith(") - re-save or re-download the image")


def test_corrupt_image_data(tmp_path):
    data = bytearray((SAMPLES / "textures" / "bricks.png").read_bytes())
    start = data.index(b"IDAT") + 4
    data[start + 100: start + 600] = bytes((i * 7) % 256 for i in range(500))  # scrambled deflate data
    path = tmp_path / "corrupt.png"
    path.write_bytes(bytes(data))
    message = error(path)
    assert message.startswith(f"{path}: damaged")
    assert message.endswith("- re-save or re-download the image")


def test_damaged_header(tmp_path):
    path = tmp_path / "header.png"
    data = bytearray(png_bytes(4, 4, 8, 2, b"\x00" * (4 * 13)))
    data[16:20] = b"\x00\x00\x00\x00"  # width 0
    path.write_bytes(bytes(data))
    assert error(path) == (f"{path}: damaged PNG file: its header cannot be read - "
                           "re-save or re-download the image")


SIGNATURES = [(b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG"),
              (b"GIF89a\x01", "GIF"), (b"II*\x00\x08\x00", "TIFF")]


@pytest.mark.parametrize("data, kind", SIGNATURES, ids=[kind for _, kind in SIGNATURES])
def test_only_a_signature(tmp_path, data, kind):
    path = tmp_path / "stub.img"
    path.write_bytes(data)
    assert error(path).startswith(f"{path}: damaged {kind} file")


def test_huge_dimensions_in_a_tiny_file_are_refused(tmp_path):
    """A 45-byte PNG claiming 100000 x 100000 pixels: refused, nothing decoded."""
    path = tmp_path / "bomb.png"
    path.write_bytes(png_bytes(100_000, 100_000, 8, 2))
    assert error(path) == (f"{path}: image is 10,000,000,000 pixels, over the limit of {MAX_PIXELS:,} "
                           "pixels (a guard against decompression bombs) - downscale it first")


def test_images_over_the_limit_are_refused_before_decoding(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 256 * 256 - 1)

    def no_decoding(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    path = SAMPLES / "textures" / "weave.png"
    assert error(path) == (f"{path}: image is 256x256 pixels, over the limit of 65,535 pixels (a guard "
                           "against decompression bombs) - downscale it first")
    monkeypatch.undo()
    monkeypatch.setattr(images, "MAX_PIXELS", 256 * 256)  # at the limit: read
    assert load_image(str(path)).pixels.shape == (256, 256, 3)


def test_one_pixel_limit_and_pillows_own_setting_left_alone(tmp_path):
    # Every reader goes through this module's MAX_PIXELS; no module assigns pillow's global.
    from PIL import Image

    from dltool.io.draw import draw_detections

    package = ROOT / "dltool"
    sources = {p: p.read_text() for p in package.rglob("*.py")}
    assert not [p for p, text in sources.items() if re.search(r"MAX_IMAGE_PIXELS\s*=", text)]
    assert [p.name for p, text in sources.items() if re.search(r"^MAX_PIXELS\s*=", text, re.M)] == ["images.py"]
    before = Image.MAX_IMAGE_PIXELS
    load_image(str(SAMPLES / "textures" / "weave.png"), 16)
    draw_detections(str(SAMPLES / "street.png"), str(tmp_path / "drawn.png"), np.zeros((0, 4)), [], [],
                    np.zeros((0, 4)))
    assert Image.MAX_IMAGE_PIXELS == before


def test_importing_the_module_does_not_import_pillow():
    code = ("import sys, dltool.io.images\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'PIL'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
