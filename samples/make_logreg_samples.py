"""Generate the data sets that `dltool train-logreg` and `dltool predict` examples and tests run on.

Run from anywhere:  python samples/make_logreg_samples.py [OUTDIR]
Writes, next to this script (or under OUTDIR):

shapes/circle/NNN.png    40 64x64 pictures of a filled circle, and
shapes/square/NNN.png    40 of a filled square: a bright pastel shape of random colour, size
                         (radius 14-19 px; the square's half-side 0.95 x that) and position
                         (centre within 3 px of the middle) on a dark noisy background of random
                         tint. Palette PNGs of 5 colours, so the folder stays small. A linear
                         model on the 12288 pixels tells them apart: the square's corners are
                         where the circle is not (logistic regression by gradient descent, 4-fold
                         cross-validation: 95% held out with standardized pixels, 99% without).
flowers.csv              150 flowers, 50 per species (setosa, versicolor, virginica), in shuffled
                         order: sepal_length, sepal_width, petal_length, petal_width in cm with 2
                         decimals, drawn from one correlated Gaussian per species with means,
                         standard deviations and correlations close to Fisher's iris data.

Deterministic: every run produces byte-identical files (numpy default_rng, fixed seed).
"""
import colorsys
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SEED = 20240613

# ------------------------------------------------------------------ shapes/

SIZE = 64
PER_CLASS = 40
NOISE_LEVELS = 4  # background shades; palette index NOISE_LEVELS is the shape


def shape_image(rng, kind: str) -> Image.Image:
    """One SIZE x SIZE palette image: a circle or a square on a noisy background."""
    tint, base = rng.uniform(), rng.uniform(0.10, 0.35)
    background = [colorsys.hsv_to_rgb(tint, 0.3, base + 0.04 * k) for k in range(NOISE_LEVELS)]
    # Pastel and bright: every channel of the shape is above the background's.
    shape = colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0.1, 0.5), rng.uniform(0.85, 1.0))
    palette = [round(255 * c) for rgb in background + [shape] for c in rgb]
    im = Image.fromarray(rng.integers(0, NOISE_LEVELS, (SIZE, SIZE)).astype(np.uint8), "P")
    im.putpalette(palette)
    r = rng.uniform(14, 19)
    cx, cy = SIZE / 2 + rng.uniform(-3, 3, size=2)
    draw = ImageDraw.Draw(im)
    if kind == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=NOISE_LEVELS)
    else:
        h = 0.95 * r
        draw.rectangle([cx - h, cy - h, cx + h, cy + h], fill=NOISE_LEVELS)
    return im


def write_shapes(out: Path, rng) -> None:
    for kind in ("circle", "square"):
        folder = out / "shapes" / kind
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
    for i in range(PER_CLASS):
        for kind in ("circle", "square"):
            shape_image(rng, kind).save(out / "shapes" / kind / f"{i:03d}.png", optimize=True)


# ------------------------------------------------------------------ flowers.csv

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
# Close to Fisher's iris data, per species: means and standard deviations (cm), correlations.
SPECIES = {
    "setosa": ((5.006, 3.428, 1.462, 0.246), (0.352, 0.379, 0.174, 0.105),
               ((1, .743, .267, .278), (.743, 1, .178, .233), (.267, .178, 1, .332), (.278, .233, .332, 1))),
    "versicolor": ((5.936, 2.770, 4.260, 1.326), (0.516, 0.314, 0.470, 0.198),
                   ((1, .526, .754, .546), (.526, 1, .561, .664),
                    (.754, .561, 1, .787), (.546, .664, .787, 1))),
    "virginica": ((6.588, 2.974, 5.552, 2.026), (0.636, 0.322, 0.552, 0.275),
                  ((1, .457, .864, .281), (.457, 1, .401, .538),
                   (.864, .401, 1, .322), (.281, .538, .322, 1))),
}
PER_SPECIES = 50


def write_flowers(out: Path, rng) -> None:
    rows = []
    for species, (mean, std, corr) in SPECIES.items():
        cov = np.array(corr) * np.outer(std, std)
        x = rng.multivariate_normal(mean, cov, size=PER_SPECIES, method="cholesky")
        x = np.maximum(np.round(x, 2), 0.1)  # measured to 0.01 cm, never below 1 mm
        rows += [(row, species) for row in x]
    order = rng.permutation(len(rows))
    lines = [",".join(FEATURES + ("species",))]
    lines += [",".join(f"{v:.2f}" for v in rows[k][0]) + "," + rows[k][1] for k in order]
    with open(out / "flowers.csv", "w", newline="") as f:
        f.write("\n".join(lines) + "\n")


def main(out: Path = HERE) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_shapes(out, np.random.default_rng(SEED))
    write_flowers(out, np.random.default_rng(SEED + 1))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
