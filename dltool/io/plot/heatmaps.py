"""Matrices drawn as heatmaps side by side (``dltool gram-style --plot``: Gram matrices)."""


def heatmaps(path: str, matrices, names, cell: int = 256) -> None:
    """Each matrix as a ``cell`` x ``cell`` heatmap (0 dark blue, its largest |value| yellow; negative
    values as 0), its name above, side by side; written to ``path`` as PNG, atomically."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    from dltool.io.streams import atomic_output

    pad, top = 16, 28
    canvas = Image.new("RGB", (len(matrices) * (cell + pad) + pad, cell + top + pad), "white")
    pen = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    for k, (G, name) in enumerate(zip(matrices, names)):
        scale = np.abs(G).max() or 1.0
        values = np.clip(G / scale, 0.0, 1.0)
        rgb = np.stack([values ** 0.5, values, 1.0 - values ** 0.5], axis=-1)  # dark blue -> yellow
        tile = Image.fromarray((rgb * 255).astype(np.uint8)).resize((cell, cell), Image.Resampling.NEAREST)
        x = pad + k * (cell + pad)
        canvas.paste(tile, (x, top))
        pen.text((x, 8), name[-40:], fill="black", font=font)
    with atomic_output(path, binary=True) as f:
        canvas.save(f, format="PNG")
