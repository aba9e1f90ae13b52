"""Text in charts: pillow's built-in font at a size (or its bitmap font), characters it lacks
replaced, texts measured, cut to fit, placed by an anchor, turned upright.

PIL objects are passed in: this module imports no PIL at load time (fonts are loaded when asked).
"""

import unicodedata

from dltool.io.plot.colours import BACKGROUND

SUPERSAMPLE = 2  # drawing scale; 1 when only pillow's fixed-size bitmap font is available


def fonts(size: int):
    """Fonts for ticks, axis labels and the title, and the drawing scale they allow.

    Pillow >= 10.1 with FreeType has a scalable built-in font; without it only a small bitmap
    font exists, which cannot be drawn larger, so the chart is then drawn at its own size.
    """
    from PIL import ImageFont

    s = SUPERSAMPLE
    try:
        tick = ImageFont.load_default(size=size * s)
    except (TypeError, OSError, ImportError):  # pillow < 10.1 takes no size
        tick = None
    if not isinstance(tick, ImageFont.FreeTypeFont):
        bitmap = ImageFont.load_default()
        return {"tick": bitmap, "label": bitmap, "title": bitmap}, 1
    return {"tick": tick, "label": ImageFont.load_default(size=round(size * 1.1) * s),
            "title": ImageFont.load_default(size=round(size * 1.3) * s)}, s


# Stand-ins for characters that pillow's small built-in font lacks (it has no "×", no "é"):
# readable ASCII beats the empty box the font would draw instead.
STAND_INS = {"×": "x", "−": "-", "–": "-", "—": "-", "µ": "u", "μ": "u", "²": "^2", "³": "^3",
             "≤": "<=", "≥": ">=", "→": "->", "←": "<-", "≈": "~", "σ": "sigma", "α": "alpha"}


def drawable(text: str, font) -> str:
    """``text`` with each character the font cannot draw replaced by a stand-in.

    A missing character is one the font renders exactly like a code point that no font has,
    or, in pillow's Latin-1 bitmap font, one it cannot even encode.
    """
    if text.isascii():
        return text

    def looks(char):
        try:
            mask = font.getmask(char)
        except UnicodeEncodeError:
            return None
        return mask.size, bytes(mask)

    nowhere = looks("\U0010FFFF")
    out = []
    for char in text:
        if char.isascii() or looks(char) not in (None, nowhere):
            out.append(char)
            continue
        base = unicodedata.normalize("NFKD", char)[:1]  # "é" -> "e"
        out.append(STAND_INS.get(char, base if base.isascii() and base.isprintable() else "?"))
    return "".join(out)


def text_width(draw, text, font) -> int:
    text = drawable(text, font)
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    return right - left


def fit(draw, text, font, width) -> str:
    """``text``, cut short with "..." where it is wider than ``width`` pixels."""
    text = drawable(text, font)
    if text_width(draw, text, font) <= width:
        return text
    lo, hi = 0, len(text)  # the longest prefix that fits with its "..."
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text_width(draw, text[:mid].rstrip() + "...", font) <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "..."


def text_height(draw, font) -> int:
    _, top, _, bottom = draw.textbbox((0, 0), "Hg0", font=font)
    return bottom - top


def text_box(draw, xy, text, font, h="l", v="t"):
    """Where to draw ``text`` so that it is placed at ``xy`` by ``h`` (l/m/r) and ``v`` (t/m/b).

    Returns the drawing origin and the box the text covers. Vertical placement uses the digits'
    top and baseline rather than the text's own box, so that labels in a row line up whatever
    letters they hold.
    """
    text = drawable(text, font)
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    _, top, _, base = draw.textbbox((0, 0), "0", font=font)
    x = xy[0] - left - (right - left) * {"l": 0.0, "m": 0.5, "r": 1.0}[h]
    y = xy[1] - top - (base - top) * {"t": 0.0, "m": 0.5, "b": 1.0}[v]
    box = draw.textbbox((x, y), text, font=font)
    return (x, y), box


def put_text(draw, xy, text, font, fill, h="l", v="t", halo=0):
    origin, box = text_box(draw, xy, text, font, h, v)
    text = drawable(text, font)
    if halo:
        draw.text(origin, text, font=font, fill=fill, stroke_width=halo, stroke_fill=BACKGROUND)
    else:
        draw.text(origin, text, font=font, fill=fill)
    return box


def put_upright(canvas, xy, text, font, fill):
    """Text turned to read upwards, its left side at ``xy[0]``, centred on ``xy[1]``."""
    from PIL import Image, ImageDraw

    text = drawable(text, font)
    probe = ImageDraw.Draw(canvas)
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font)
    stamp = Image.new("L", (right - left + 2, bottom - top + 2), 0)
    ImageDraw.Draw(stamp).text((1 - left, 1 - top), text, font=font, fill=255)
    stamp = stamp.transpose(Image.Transpose.ROTATE_90)
    x, y = int(xy[0]), int(round(xy[1] - stamp.height / 2))
    canvas.paste(fill, (x, y, x + stamp.width, y + stamp.height), stamp)
