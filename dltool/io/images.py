"""The one image loader: any image pillow reads, as (H, W, 3) float64 RGB in [0, 1], for every command
(``gram-style`` images, ``train-logreg`` / ``predict`` image folders, ``nms --draw`` pictures, the
image sizes of YOLO label sets), and PNG / JPEG output.

:func:`load_image` reads a file (or ``-`` for standard input) and returns a :class:`LoadedImage`
whose ``notes`` say, in words, everything that was done to the stored pixels:

==================  =============================================================================
size guard          images over :data:`MAX_PIXELS` are refused from their header, before any pixel
                    is decoded (a PNG of a few KB can claim 100000x100000 pixels)
frames              an animated GIF/PNG or a multi-page TIFF gives its first frame
orientation         turned upright by its EXIF orientation tag, as a photo viewer shows it
8-bit modes         grayscale (``L``), black-and-white (``1``), palette (``P``), CMYK, YCbCr... are
                    converted to RGB; an alpha channel (``RGBA``, ``LA``, ``PA``) or palette
                    transparency is dropped, keeping the colour stored under it (torchvision's
                    loader does the same)
16-bit grayscale    ``I;16`` / ``I`` values are scaled by 1/65535 (pillow's own conversion would
                    clip them to 255); a 16-bit RGB PNG is read at 8 bits (pillow keeps the high
                    byte of each channel)
refused             32-bit float (``F``) images: their value range is not recorded in the file, so
                    no scale can be assumed; CIE L*a*b* images (no colour management here)
``size``            ``fit="square"`` (textures): the centred square of the image (its short side) is
                    cut out, then resized to ``size`` x ``size``; ``fit="stretch"`` (``train-logreg``
                    image folders, like the course's 64x64 pictures): the whole image is resized to
                    ``size`` x ``size``, the aspect ratio not kept. Both with pillow's BILINEAR filter
                    (torchvision's ``Resize`` default; pillow widens it when shrinking, so it does
                    not alias)
==================  =============================================================================

:func:`open_image` opens a file without decoding its pixels (its header read and its size checked):
:func:`image_size` gives the upright size from the header alone.

:func:`save_image` writes (H, W, 3) values in [0, 1] as an 8-bit PNG (or JPEG, by the extension),
clipped and rounded (``round(255 v)``), atomically. A PNG written by :func:`save_image` loads back
to exactly the same 8-bit values.

Pillow is imported inside the functions, never at module level: the CLI imports its modules to
print ``--help``, which must stay cheap.
"""

import contextlib
import io
import os
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from dltool.errors import InputError
from dltool.io.streams import atomic_output, input_name, open_input, read_input

#: Images with more pixels are refused before they are decoded: pillow's own decompression-bomb
#: error threshold (2 x its ``MAX_IMAGE_PIXELS`` default, about 179 megapixels). dltool checks it
#: from the header itself and never changes pillow's process-wide setting.
MAX_PIXELS = 2 * 89_478_485
#: Extensions of the image files dltool picks out of folders (any case), in order of preference
#: when two files differ only in their extension.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
#: How an image is brought to ``size`` x ``size`` (see the module docstring).
FITS = ("square", "stretch")
#: Output extensions and the pillow format each is written in.
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
#: The filter images are resized with (a pillow ``Image.Resampling`` name).
RESAMPLE = "BILINEAR"
#: Quality of JPEG output (pillow's default, 75, smears fine texture).
JPEG_QUALITY = 95

# Grayscale modes wider than 8 bits: pillow clips (not scales) them when converting to RGB.
_WIDE_GRAY = ("I;16", "I;16L", "I;16B", "I;16N", "I")
# How a mode is named in notes; modes not listed are named by their code alone.
_MODE_NAMES = {"1": "black-and-white", "L": "grayscale", "LA": "grayscale", "La": "grayscale",
               "I": "grayscale", "I;16": "grayscale", "I;16L": "grayscale", "I;16B": "grayscale",
               "I;16N": "grayscale", "P": "palette", "PA": "palette", "RGBX": "padded RGB"}
_REFUSED_MODES = {
    "F": "32-bit floating-point images are not supported (their value range is not recorded, so no "
         "scale to [0, 1] can be assumed) - save it as an 8- or 16-bit PNG",
    "LAB": "CIE L*a*b* images are not supported - convert it to RGB and save it as a PNG",
}
_FIX_DAMAGED = "re-save or re-download the image"
_FORMATS_READ = "PNG, JPEG, BMP, GIF, TIFF, WebP"
_MAGIC = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF87a": "GIF", b"GIF89a": "GIF",
          b"II*\x00": "TIFF", b"MM\x00*": "TIFF", b"BM": "BMP"}
_EXIF_ORIENTATION = 0x0112
_TRANSPOSED = (5, 6, 7, 8)  # EXIF orientations that turn the stored image by 90 degrees


class UnreadableImage(InputError):
    """The file is not an image, or a damaged one (as opposed to one dltool refuses to read)."""


@dataclass
class LoadedImage:
    """An image ready for the style costs.

    Attributes
    ----------
    pixels : ndarray of shape (H, W, 3), float64 RGB values in [0, 1]
    name : str, how the image is named in messages (its path, or ``<stdin>``)
    original_mode : str, pillow's mode of the stored pixels (``RGB``, ``L``, ``RGBA``, ``P``, ``I;16``...)
    original_size : (W, H) as stored in the file, before any rotation, crop or resize
    notes : list of str, each change made to the stored pixels, in order
        (e.g. ``converted grayscale (L) to RGB``, ``resized 512x512 to 128x128``); empty when the
        file was 8-bit RGB used as it is
    """

    pixels: np.ndarray
    name: str
    original_mode: str
    original_size: tuple
    notes: list = field(default_factory=list)

    @property
    def size(self) -> tuple:
        """(W, H) of :attr:`pixels`, pillow's order."""
        return self.pixels.shape[1], self.pixels.shape[0]


def load_image(path, size: int | None = None, name: str | None = None, fit: str = "square",
               upright: bool = True) -> LoadedImage:
    """Read an image as RGB values in [0, 1], noting every conversion.

    Parameters
    ----------
    path : str or path-like, an image file pillow reads (PNG, JPEG, BMP, GIF, TIFF, WebP...) or
        ``-`` for standard input
    size : int, optional
        Bring the image to ``size`` x ``size`` as ``fit`` says. None keeps the image as it is.
    name : str, optional
        How the image is named in notes and errors; by default its path.
    fit : "square" (cut out the centred square, then resize) or "stretch" (resize the whole image)
    upright : bool
        Turn the image as its EXIF orientation says (False: the pixels as stored, which is what
        a detector that ignores EXIF saw).

    Returns
    -------
    LoadedImage, with ``pixels`` of shape (size, size, 3) (or the image's own (H, W, 3))

    Raises
    ------
    UnreadableImage
        Missing, a directory, empty, not an image, damaged or truncated.
    InputError
        A refused mode (32-bit float, L*a*b*), more than :data:`MAX_PIXELS` pixels, a bad ``size``.
    """
    path = os.fspath(path)
    name = input_name(path) if name is None else name
    if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer))
                             or size < 1 or size * size > MAX_PIXELS):
        raise InputError(f"the image size must be a whole number of pixels from 1 to "
                         f"{int(MAX_PIXELS ** 0.5)}, got {size!r}")
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, got {fit!r}")
    with open_image(path, name) as im:
        return _decode(im, size, name, fit, upright)


@contextlib.contextmanager
def open_image(path, name: str | None = None):
    """The image at ``path`` (``-``: standard input) opened by pillow, its pixels not decoded yet.

    Its header is read and its size checked against :data:`MAX_PIXELS` (a PNG of a few KB can
    claim 100000x100000 pixels); pillow's warnings are silenced inside the block.

    Raises
    ------
    UnreadableImage, InputError
        As :func:`load_image`.
    """
    from PIL import Image  # lazy: pillow is not needed to start the CLI

    path = os.fspath(path)
    name = input_name(path) if name is None else name
    try:
        stream = io.BytesIO(read_input(path)) if path == "-" else open_input(path)
    except InputError as e:
        raise UnreadableImage(e.reason, e.where) from None
    with contextlib.closing(stream), warnings.catch_warnings():
        # Sizes are checked here; pillow's palette/EXIF/bomb warnings are not the user's business.
        warnings.simplefilter("ignore")
        head = stream.read(16)
        stream.seek(0)
        if not head:
            raise UnreadableImage(f"empty file - expected an image ({_FORMATS_READ})", name)
        try:
            im = Image.open(stream)
        except Image.DecompressionBombError as e:
            found = re.search(r"\((\d+) pixels\)", str(e))
            count = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
            raise _too_large(count, name) from None
        except Image.UnidentifiedImageError:
            kind = image_signature(head)
            if kind:  # pillow gives up on a damaged header the same way as on a text file
                raise UnreadableImage(f"damaged {kind} file: its header cannot be read - {_FIX_DAMAGED}",
                                      name) from None
            raise UnreadableImage(f"not an image pillow can read ({_FORMATS_READ}...) - check that this is "
                                  "the picture you meant", name) from None
        except Exception as e:  # a header pillow recognises but cannot parse
            raise UnreadableImage(f"damaged {image_signature(head) or 'image'} file: its header cannot be read "
                                  f"({_reason(e)}) - {_FIX_DAMAGED}", name) from None
        with im:
            width, height = im.size
            if width * height > MAX_PIXELS:  # checked on the header: nothing is decoded yet
                raise _too_large(f"{width}x{height} pixels", name)
            yield im


def image_size(path, name: str | None = None) -> tuple:
    """(width, height) of an image as shown upright (EXIF orientation applied), from its header
    alone: no pixel is decoded.

    Raises
    ------
    UnreadableImage, InputError
        As :func:`open_image`.
    """
    with open_image(path, name) as im:
        width, height = im.size
        if im.format in ("JPEG", "MPO", "TIFF") and _orientation(im) in _TRANSPOSED:  # EXIF sits in their headers
            width, height = height, width
    return width, height


def image_signature(data: bytes) -> str | None:
    """The image format the first bytes of a file announce (``PNG``, ``JPEG``...), if any."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return next((kind for magic, kind in _MAGIC.items() if data.startswith(magic)), None)


def _too_large(count: str, name: str) -> InputError:
    return InputError(f"image is {count}, over the limit of {MAX_PIXELS:,} pixels (a guard against "
                      "decompression bombs) - downscale it first", name)


def _reason(e: Exception) -> str:
    return str(e) or type(e).__name__


def _decode(im, size, name, fit="square", upright=True) -> LoadedImage:
    """The pixels of an opened (not yet decoded) pillow image, per the module's table."""
    from PIL import ImageOps

    width, height = im.size
    mode, notes = im.mode, []
    if mode in _REFUSED_MODES:  # refused before decoding them, too
        raise InputError(_REFUSED_MODES[mode], name)
    frames = getattr(im, "n_frames", 1)
    if frames > 1:
        notes.append(f"used the first of its {frames} frames")
    rawmode = _rawmode(im)
    try:
        im.load()
    except Exception as e:  # pillow raises OSError, SyntaxError, ValueError, EOFError... for damaged data
        raise UnreadableImage(f"damaged or truncated image ({_reason(e)}) - {_FIX_DAMAGED}", name) from None

    orientation = _orientation(im) if upright else None
    if orientation not in (None, 1):
        try:
            im = ImageOps.exif_transpose(im)
            notes.append(f"turned upright by its EXIF orientation ({orientation})")
        except Exception:  # a damaged EXIF block: keep the pixels as stored
            pass

    if mode in _WIDE_GRAY:
        return _decode_wide_gray(im, mode, (width, height), size, name, notes, fit)
    if mode not in ("RGB", "RGBA", "RGBa", "RGBX"):  # (the alpha or padding of RGB: noted below)
        notes.append(f"converted {_describe(mode)} to RGB")
    if "A" in mode or "a" in mode:
        notes.append(f"dropped the alpha channel of {mode}{_transparency(im)}")
    elif "transparency" in im.info:
        notes.append(f"dropped the transparent colour of {mode}")
    if rawmode and ";16" in rawmode and mode in ("RGB", "RGBA"):
        notes.append(f"read 16-bit {mode} at 8 bits per channel")
    try:
        rgb = im.convert("RGBA").convert("RGB") if mode in ("La", "RGBa") else im.convert("RGB")
    except Exception:
        raise InputError(f"colour mode {mode} is not supported - convert it to RGB and save it as "
                         "a PNG", name) from None
    rgb = _resize(rgb, size, notes, fit)
    pixels = np.asarray(rgb, dtype=np.uint8).astype(np.float64) / 255.0
    return LoadedImage(np.ascontiguousarray(pixels), name, mode, (width, height), notes)


def _decode_wide_gray(im, mode, stored_size, size, name, notes, fit) -> LoadedImage:
    """16-bit (or 32-bit integer) grayscale: scaled by 1/65535 in floating point, then repeated
    into three channels (pillow's ``convert`` would clip every value above 255)."""
    from PIL import Image

    values = np.asarray(im, dtype=np.float64)
    notes.append(f"converted {_describe(mode)} to RGB")
    notes.append("scaled 16-bit values by 1/65535")
    outside = int(np.count_nonzero((values < 0) | (values > 65535)))
    if outside:
        notes.append(f"clipped {outside:,} values outside 0..65535")
    gray = _resize(Image.fromarray(np.clip(values, 0, 65535).astype(np.float32), "F"), size, notes, fit)
    v = np.clip(np.asarray(gray, dtype=np.float64) / 65535.0, 0.0, 1.0)
    pixels = np.repeat(v[:, :, None], 3, axis=2)
    return LoadedImage(pixels, name, mode, stored_size, notes)


def _resize(im, size, notes, fit):
    """``im`` at ``size`` x ``size`` as ``fit`` says (``im`` itself when size is None)."""
    from PIL import Image

    if size is None:
        return im
    w, h = im.size
    if fit == "stretch":
        if (w, h) == (size, size):
            return im
        notes.append(f"resized {w}x{h} to {size}x{size}")
        return im.resize((size, size), getattr(Image.Resampling, RESAMPLE))
    side = min(w, h)
    if w != h:
        left, top = (w - side) // 2, (h - side) // 2
        im = im.crop((left, top, left + side, top + side))
        notes.append(f"cropped {w}x{h} to its centred {side}x{side} square")
    if side != size:
        im = im.resize((size, size), getattr(Image.Resampling, RESAMPLE))
        notes.append(f"resized {side}x{side} to {size}x{size}" + (" (enlarged: it will look soft)"
                                                                  if size > side else ""))
    return im


def _rawmode(im) -> str | None:
    """How the file stores its pixels (e.g. ``RGB;16B`` for a 16-bit RGB PNG), read before decoding."""
    try:
        args = im.tile[0].args if hasattr(im.tile[0], "args") else im.tile[0][3]
    except (IndexError, AttributeError, TypeError):
        return None
    if isinstance(args, tuple):
        args = args[0] if args else None
    return args if isinstance(args, str) else None


def _orientation(im) -> int | None:
    try:
        return im.getexif().get(_EXIF_ORIENTATION)
    except Exception:  # a damaged EXIF block
        return None


def _describe(mode: str) -> str:
    named = _MODE_NAMES.get(mode)
    return f"{named} ({mode})" if named else mode


def _transparency(im) -> str:
    """`` (12% of the pixels were transparent...)`` when some were: their hidden colour shows now."""
    try:
        alpha = np.asarray(im.getchannel("A" if "A" in im.mode else "a"))
    except Exception:
        return ""
    seen_through = np.count_nonzero(alpha < 255) / max(alpha.size, 1)
    if not seen_through:
        return ""
    share = f"{100 * seen_through:.0f}%" if seen_through >= 0.01 else "under 1%"
    return f" ({share} of the pixels were transparent or translucent; the colour stored under them is kept)"


def to_uint8(pixels, where: str | None = None) -> np.ndarray:
    """(H, W, 3) values in [0, 1] as uint8: clipped to [0, 1], then ``round(255 v)``.

    Raises
    ------
    InputError
        If ``pixels`` is not (H, W, 3) with H, W >= 1, or holds NaN or infinity.
    """
    a = np.asarray(pixels, dtype=np.float64)
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise InputError(f"an image must be an (H, W, 3) array of RGB values, got shape {a.shape}", where)
    if not np.isfinite(a).all():
        bad = int(np.count_nonzero(~np.isfinite(a)))
        raise InputError(f"{bad:,} pixel values are NaN or infinite - nothing was written", where)
    return np.rint(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)


def save_image(path, pixels) -> None:
    """Write (H, W, 3) RGB values in [0, 1] as an 8-bit PNG or JPEG (by the extension), atomically.

    Values are clipped to [0, 1] and rounded to ``round(255 v)``; a failed write leaves no partial
    file and never clobbers an existing one. JPEG is written at quality :data:`JPEG_QUALITY`.

    Parameters
    ----------
    path : str or path-like, ending in ``.png``, ``.jpg`` or ``.jpeg`` (any case)
    pixels : ndarray of shape (H, W, 3)
    """
    path = os.fspath(path)
    fmt = IMAGE_FORMATS.get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise InputError("an image is written as PNG or JPEG: use a .png or .jpg output name", path)
    data = to_uint8(pixels, path)

    from PIL import Image  # lazy: pillow is not needed to start the CLI

    picture = Image.fromarray(data, "RGB")
    with atomic_output(path, binary=True) as f:
        try:
            picture.save(f, format=fmt, **({"quality": JPEG_QUALITY} if fmt == "JPEG" else {}))
        except OSError as e:
            raise InputError(f"cannot write: {e.strerror or e}", path) from None
