"""Uniform grids over boxes, the acceleration structure of sparse IoU and NMS.

Two boxes that overlap with positive area share at least one cell of any uniform grid, so the
kernels (``dltool.core.box_kernels``) compare a box only with the boxes of the cells it covers.
The grid's geometry is picked here, by numpy, so that the kernels themselves are plain loops that
compile quickly. Any geometry gives the same answers; this one keeps cells about the size of the
median box, so that a box covers a few cells and a cell holds a few boxes.
"""

import math

import numpy as np

from dltool.core.arrays import median

#: A grid never has more than this many cells per side.
MAX_SIDE = 4096


def grid_geometry(boxes: np.ndarray, max_cells: int) -> tuple:
    """(x0, y0, cell, gx, gy) of a grid over xyxy ``boxes`` (N >= 1), at most ``max_cells`` cells.

    Cells are about the median box side; never more than ``max_cells`` (tiny boxes spread over a
    large extent would need a huge grid) nor more than ``MAX_SIDE`` per side.
    """
    x0 = float(boxes[:, 0].min())
    y0 = float(boxes[:, 1].min())
    width = float(boxes[:, 2].max()) - x0
    height = float(boxes[:, 3].max()) - y0
    sides = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    floor_cell = math.sqrt(width * height / max_cells) if width * height > 0.0 else 0.0
    cell = max(median(sides), floor_cell, max(width, height) / MAX_SIDE, 1e-12)
    gx = min(int(width / cell) + 1, MAX_SIDE)
    gy = min(int(height / cell) + 1, MAX_SIDE)
    return x0, y0, cell, gx, gy


def segment_grids(boxes: np.ndarray, segments: np.ndarray, min_boxes: int) -> np.ndarray:
    """One grid per segment ``boxes[segments[g]:segments[g + 1]]`` of at least ``min_boxes`` boxes.

    Returns
    -------
    ndarray of shape (G, 5), float64
        Rows (x0, y0, cell, gx, gy); gx = gy = 0 for the segments too small for a grid.
    """
    grids = np.zeros((max(len(segments) - 1, 0), 5))
    sizes = np.diff(segments)
    for g in np.flatnonzero(sizes >= min_boxes):
        lo, hi = segments[g], segments[g + 1]
        grids[g] = grid_geometry(boxes[lo:hi], 2 * (hi - lo) + 16)
    return grids
