"""Charts drawn with pillow and written as PNG: scatter points, lines and labelled markers.

One small chart type serves all of dltool's pictures: anchor-box scatter plots (box widths
against heights, coloured by cluster, anchors marked), cost curves (train and validation cost
by epoch), per-layer statistics. Usage::

    chart = Chart(title="Cost", x_label="epoch", y_label="cost", y_log=True)
    chart.line(epochs, train_cost, label="train")
    chart.line(epochs, val_cost, label="validation", dashed=True)
    chart.save("cost.png")

One job per module: :mod:`.ticks` (axes, round tick values and their labels), :mod:`.text`
(fonts, fitting and placing text), :mod:`.raster` (dots, lines, markers), :mod:`.charts` (the
chart, marker texts and legend placement), :mod:`.colours`. Importing this package stays cheap:
the CLI imports it to print ``--help``, and pillow is imported only when a chart is drawn.
"""

from dltool.io.plot.charts import Chart, require_png
from dltool.io.plot.heatmaps import heatmaps
from dltool.io.plot.colours import AXIS, BACKGROUND, GRID, MINOR_GRID, PALETTE, TEXT, colour
from dltool.io.plot.raster import COORD_LIMIT, MARKER_SHAPES
from dltool.io.plot.text import STAND_INS, SUPERSAMPLE
from dltool.io.plot.ticks import PAD, Axis, format_log_tick, format_ticks, log_ticks, nice_ticks

__all__ = ["AXIS", "BACKGROUND", "COORD_LIMIT", "GRID", "MARKER_SHAPES", "MINOR_GRID", "PAD", "PALETTE",
           "STAND_INS", "SUPERSAMPLE", "TEXT", "Axis", "Chart", "colour", "format_log_tick", "format_ticks", "heatmaps",
           "log_ticks", "nice_ticks", "require_png"]
