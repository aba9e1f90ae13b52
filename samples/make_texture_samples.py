"""Generate the texture images that `dltool gram-style` examples and tests run on.

Run from anywhere:  python samples/make_texture_samples.py [OUTDIR]
Writes, next to this script (or under OUTDIR):

textures/bricks.png   a brick wall: offset rows of red-brown bricks of varied tone, with pitted,
                      grainy faces, darker edges and grey mortar joints
textures/weave.png    a basket weave: blue horizontal and golden vertical ribbons crossing over
                      and under in a checkerboard, fine threads along each ribbon, shadows where a
                      ribbon dips under its neighbour
textures/marble.png   polished white marble: turbulent grey veins and faint cracks over a cloudy off-white
                      ground (irregular, no repeat inside the tile)

Each is a 256x256 8-bit RGB PNG, and tileable: every pattern and every noise field has a period
that divides 256, so the image wraps around seamlessly (circular padding sees no seam). The three
differ in colour, scale and regularity, so their Gram (style) matrices are far apart.

Deterministic: every run produces byte-identical files (numpy default_rng, fixed seed; only
elementwise arithmetic, no FFT), and small ones (under 60 KB each).
"""
import sys
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
SEED = 20240917
SIZE = 256  # every period below divides it: the textures tile

Y, X = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)


# ------------------------------------------------------------------ periodic noise

def value_noise(rng, cells: int) -> np.ndarray:
    """Smooth noise in [-1, 1] with ``cells`` random lattice values per side, wrapping around.

    The lattice is indexed modulo ``cells`` and interpolated with a smoothstep, so the field
    has period SIZE in both directions.
    """
    grid = rng.uniform(-1.0, 1.0, (cells, cells))
    step = SIZE / cells
    gy, gx = Y / step, X / step
    iy, ix = np.floor(gy).astype(int), np.floor(gx).astype(int)
    fy, fx = gy - iy, gx - ix
    sy, sx = fy * fy * (3 - 2 * fy), fx * fx * (3 - 2 * fx)
    y0, x0, y1, x1 = iy % cells, ix % cells, (iy + 1) % cells, (ix + 1) % cells
    top = grid[y0, x0] * (1 - sx) + grid[y0, x1] * sx
    bottom = grid[y1, x0] * (1 - sx) + grid[y1, x1] * sx
    return top * (1 - sy) + bottom * sy


def fractal_noise(rng, cells=(4, 8, 16, 32, 64), gain: float = 0.5) -> np.ndarray:
    """A sum of value-noise octaves (coarse first, each ``gain`` times weaker), scaled to [-1, 1]."""
    total, weight, amplitude = np.zeros((SIZE, SIZE)), 0.0, 1.0
    for c in cells:
        total += amplitude * value_noise(rng, c)
        weight += amplitude
        amplitude *= gain
    return total / weight


def to_image(rgb: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), "RGB")


def shade(base, delta) -> np.ndarray:
    """Integer base colours (an RGB triple or (H, W, 3) array) plus one integer brightness change
    per pixel, the same in all three channels.

    Most of the detail goes into ``delta``: equal steps in R, G and B keep the PNG small (zlib
    finds the repeated byte triples), which multiplying each channel by a factor would not.
    """
    return np.rint(np.asarray(base, dtype=np.float64)) + np.rint(delta)[..., None]


def speckles(rng, density: float) -> np.ndarray:
    """A sparse 0/1 field: about ``density`` of the pixels set (grit, pits, flecks)."""
    return (rng.random((SIZE, SIZE)) < density).astype(np.float64)


# ------------------------------------------------------------------ the textures

def make_bricks(rng) -> Image.Image:
    brick_h, brick_w, mortar = 32, 64, 5  # 8 courses of 4 bricks, every other course offset by half
    row = (Y // brick_h).astype(int)
    shifted = (X + np.where(row % 2 == 1, brick_w // 2, 0)) % SIZE
    col = (shifted // brick_w).astype(int)
    u, v = shifted % brick_w, Y % brick_h  # position inside the brick cell, joint centred on 0
    # half-joint wide bands around the cell edges, with wavy (hand-laid) borders
    to_bed = np.minimum(v, brick_h - v) + 0.8 * value_noise(rng, 32)
    to_head = np.minimum(u, brick_w - u) + 0.8 * value_noise(rng, 32)
    edge = np.minimum(to_bed, to_head) - mortar / 2  # > 0 inside a brick: distance to its border
    in_mortar = edge < 0

    courses, per_course = SIZE // brick_h, SIZE // brick_w
    tone = rng.uniform(-1, 1, (courses, per_course))[row, col]  # each brick fired a little differently
    hue = rng.uniform(-1, 1, (courses, per_course))[row, col]
    brick_base = np.stack([156 + 26 * tone + 10 * hue, 66 + 14 * tone - 6 * hue,
                           48 + 10 * tone - 6 * hue], axis=-1)
    blotches = fractal_noise(rng, (4, 8, 16, 32), gain=0.6)
    grain = value_noise(rng, 64)
    pits = speckles(rng, 0.05) * rng.uniform(10, 35, (SIZE, SIZE))
    flecks = speckles(rng, 0.02) * 18
    rim = np.clip(edge / 4, 0, 1) ** 0.5  # bricks darken and round off towards their borders
    brick_delta = 14 * blotches + 6 * grain - pits + flecks - 34 * (1 - rim)

    grit = fractal_noise(rng, (8, 16, 32), gain=0.7)
    sand = speckles(rng, 0.12) * rng.uniform(-22, 22, (SIZE, SIZE))
    recess = np.clip(-edge / 2.5, 0, 1)  # the joint is set back: darker next to the bricks
    mortar_delta = 16 * grit + sand - 22 * (1 - recess)
    rgb = np.where(in_mortar[..., None], shade((160, 156, 146), mortar_delta),
                   shade(brick_base, brick_delta))
    return to_image(rgb)


def make_weave(rng) -> Image.Image:
    cell, gap = 32, 4  # 8 x 8 crossings; each ribbon is one cell wide, less a gap to the next
    cy, cx = (Y // cell).astype(int), (X // cell).astype(int)
    u, v = X % cell + 0.5, Y % cell + 0.5  # pixel centre inside the crossing, in (0, cell)
    horizontal_on_top = (cy + cx) % 2 == 0
    blue, gold = np.array([60, 104, 182]), np.array([226, 178, 68])

    def ribbon(across, along, colour, on_top):
        """One ribbon's colour where it shows: rounded off at its sides, threads along its length,
        and darker where it dives under (at the crossing's ends) or lies underneath (in the gap)."""
        to_side = np.minimum(across, cell - across) - gap / 2
        profile = 0.35 + 0.65 * np.clip(to_side / 4, 0, 1) ** 0.7
        to_end = np.minimum(along, cell - along)
        dip = np.where(on_top, 0.6 + 0.4 * np.clip(to_end / 5, 0, 1) ** 0.8, 0.45)
        threads = 1 - 0.1 * ((across // 3) % 2)  # 3-pixel threads along the ribbon
        return to_side >= 0, colour * (profile * dip * threads)[..., None]

    on_h, h_rgb = ribbon(v, u, blue, horizontal_on_top)
    on_v, v_rgb = ribbon(u, v, gold, ~horizontal_on_top)
    top = horizontal_on_top[..., None]
    on_top, top_rgb = np.where(horizontal_on_top, on_h, on_v), np.where(top, h_rgb, v_rgb)
    on_under, under_rgb = np.where(horizontal_on_top, on_v, on_h), np.where(top, v_rgb, h_rgb)
    # the ribbon on top; in the gaps beside it the one underneath; where both have gaps the ground
    rgb = np.where(on_top[..., None], top_rgb, np.where(on_under[..., None], under_rgb, 24.0))
    wear = fractal_noise(rng, (4, 8, 16), gain=0.6)
    fibres = speckles(rng, 0.06)
    return to_image(shade(rgb, 8 * wear + 12 * fibres * (on_h | on_v)))


def make_marble(rng) -> Image.Image:
    turbulence = np.abs(fractal_noise(rng, (2, 4, 8, 16, 32), gain=0.55))
    warp = fractal_noise(rng, (2, 4, 8), gain=0.5)
    # veins run diagonally: 2 periods across x and 1 down y keep the phase periodic over the tile
    phase = 2 * np.pi * (2 * X + Y) / SIZE + 6.0 * turbulence + 3.0 * warp
    vein = 1 - np.abs(np.sin(phase)) ** 0.2  # thin dark lines where the sine crosses zero
    # fainter, thinner cracks in another direction, fading in and out
    crack_phase = 2 * np.pi * (3 * X - 2 * Y) / SIZE + 9.0 * fractal_noise(rng, (4, 8, 16, 32), gain=0.6)
    fade = np.clip(2 * fractal_noise(rng, (2, 4), gain=0.5) + 0.3, 0, 1)
    crack = (1 - np.abs(np.sin(crack_phase)) ** 0.15) * fade
    clouds = fractal_noise(rng, (2, 4, 8, 16), gain=0.6)
    delta = 10 * clouds - 140 * np.clip(1.1 * vein, 0, 1) - 70 * crack
    return to_image(shade((232, 233, 226), delta))  # off-white, veins a neutral grey


TEXTURES = {"bricks": make_bricks, "weave": make_weave, "marble": make_marble}


def main():
    out = (Path(sys.argv[1]) if len(sys.argv) > 1 else HERE) / "textures"
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    for name, make in TEXTURES.items():
        path = out / f"{name}.png"
        make(rng).save(path, optimize=True)
        print(f"wrote {path} ({path.stat().st_size / 1000:.1f} KB)")


if __name__ == "__main__":
    main()
