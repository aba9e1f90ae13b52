"""Boxes drawn on a picture with pillow, written as PNG (or JPEG) atomically."""

import os

import numpy as np

from dltool.errors import InputError
from dltool.io.images import IMAGE_FORMATS, UnreadableImage, load_image, to_uint8
from dltool.io.streams import atomic_output

# Distinct, colour-blind-friendly hues (Okabe-Ito), cycled by class.
PALETTE = [(230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178),
           (213, 94, 0), (204, 121, 167), (0, 0, 0)]


def _picture(path: str):
    """The picture to draw on, as an RGB pillow image: its pixels as stored (detections refer to
    them; no EXIF turn), read by dltool's one image loader."""
    from PIL import Image

    try:
        pixels = load_image(path, upright=False).pixels
    except UnreadableImage as e:
        raise InputError(f"cannot read image: {e.reason}", path) from None
    return Image.fromarray(to_uint8(pixels), "RGB")


def draw_detections(image_path: str, out_path: str, kept_boxes: np.ndarray, labels: list,
                    class_keys: list, suppressed_boxes: np.ndarray) -> None:
    """Draw kept boxes (solid, coloured by class, labelled) and suppressed boxes (faint) on an image.

    Parameters
    ----------
    kept_boxes, suppressed_boxes : ndarray of shape (K, 4), xyxy pixels
    labels : list of str, the caption of each kept box (e.g. "car 0.91")
    class_keys : list of int, the colour index of each kept box
    """
    from PIL import Image, ImageDraw, ImageFont

    fmt = IMAGE_FORMATS.get(os.path.splitext(out_path)[1].lower())
    if fmt is None:
        raise InputError("the drawing is an image: use a .png or .jpg output name", out_path)
    img = _picture(image_path)
    overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
    pen = ImageDraw.Draw(overlay)
    for box in suppressed_boxes:
        pen.rectangle(box.tolist(), outline=(255, 255, 255, 110), width=1)
    width = max(2, round(min(img.size) / 200))
    font = ImageFont.load_default()
    for box, label, key in zip(kept_boxes, labels, class_keys):
        colour = PALETTE[key % len(PALETTE)]
        pen.rectangle(box.tolist(), outline=colour + (255,), width=width)
        left, top, right, bottom = pen.textbbox((0, 0), label, font=font)
        x, y = float(box[0]), max(0.0, float(box[1]) - (bottom - top) - 4)
        pen.rectangle([x, y, x + right - left + 4, y + bottom - top + 4], fill=colour + (220,))
        pen.text((x + 2, y + 2 - top), label, fill=(0, 0, 0, 255) if sum(colour) > 350 else (255, 255, 255, 255),
                 font=font)
    result = Image.alpha_composite(img.convert("RGBA"), overlay).convert("RGB")
    with atomic_output(out_path, binary=True) as f:
        result.save(f, format=fmt)
