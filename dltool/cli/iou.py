"""``dltool iou``: IoU (GIoU, DIoU, CIoU) between two box sets."""

import sys

import click

from dltool.cli.options import box_format_option, input_format_option, output_format_option, quiet_option
from dltool.cli.output import emit_rows, note, print_table, resolve_format
from dltool.core.names import IOU_METRICS
from dltool.errors import InputError
from dltool.io.streams import atomic_output, check_outputs
from dltool.io.formats import ROW_FORMATS, format_from_extension
from dltool.io.tabular import NumberColumns, write_delimited, write_json

TABLE_COLUMNS = 12  # a terminal table shows this many B columns at most
MAX_MATRIX = 500_000_000  # 4 GB of float64: beyond this the dense matrix is the wrong tool


@click.command("iou")
@click.argument("boxes_a", default="-", metavar="A")
@click.argument("boxes_b", required=False, metavar="[B]")
@click.option("--metric", type=click.Choice(list(IOU_METRICS)), default="iou", show_default=True,
              help="iou, or torchvision's generalized / distance / complete IoU.")
@click.option("--paired", is_flag=True, help="Row i of A against row i of B only (equal lengths).")
@click.option("--min-iou", type=float, default=None, metavar="T",
              help="Sparse output: only pairs with metric >= T, as rows a,b,value (for large sets).")
@click.option("-o", "--output", default=None, metavar="FILE",
              help="Write the result here, atomically: .npy (the matrix or values), .csv, .tsv, .json.")
@box_format_option
@input_format_option
@output_format_option(machine="CSV")
@quiet_option
def command(boxes_a, boxes_b, metric, paired, min_iou, output, box_format, input_format, output_format, quiet):
    """IoU between every box of A and every box of B (B defaults to A).

    Course: C4W3 "Intersection over union".

    Continuous coordinates, no +1 pixel convention: a zero-area box has IoU 0 with everything.
    When both files have an 'image' column, boxes of different images are never compared: their
    entry is the metric's 'no overlap at all' value (0 for iou, -1 for the others) and --min-iou
    never lists them.

    \b
    Output (CSV in a pipe):
      matrix     a,0,1,...  one row per A box, one column per B box
      --paired   a,b,iou    one row per index
      --min-iou  a,b,iou    one row per pair at or above T
    Row numbers are 0-based positions in the files.

    \b
    Examples:
      dltool iou samples/ground_truth.csv
      dltool iou samples/detections.csv samples/ground_truth.csv --min-iou 0.5
      dltool iou samples/detections.json samples/ground_truth.csv --metric giou --format json
      dltool nms samples/detections.csv | dltool iou - samples/ground_truth.csv --format json
    """
    import numpy as np

    from dltool.core.groups import mask_other_images, same_image_pairs
    from dltool.core.iou import box_iou, iou_pairs, paired_iou
    from dltool.io.boxes import label_codes, read_boxes

    if paired and min_iou is not None:
        raise InputError("--paired and --min-iou do not combine: pick one output form")
    if boxes_b is not None and boxes_a == "-" and boxes_b == "-":
        raise InputError("standard input can be read once: give at most one of A and B as '-'")
    check_outputs([output], [boxes_a, boxes_b])
    a = read_boxes(boxes_a, box_format, input_format)
    b = a if boxes_b is None else read_boxes(boxes_b, box_format, input_format)
    image_a, image_b = label_codes(a.images, b.images) if a.images is not None and b.images is not None \
        else (None, None)
    apart = IOU_METRICS[metric][1]

    if paired:
        if len(a) != len(b):
            raise InputError(f"--paired needs equal box counts, got {len(a)} in {a.name} and {len(b)} in {b.name}")
        values = mask_other_images(paired_iou(a.xyxy, b.xyxy, metric), image_a, image_b, apart)
        rows_a = rows_b = np.arange(len(a))
    elif min_iou is not None:
        rows_a, rows_b, values = same_image_pairs(*iou_pairs(a.xyxy, b.xyxy, min_iou, metric), image_a, image_b)
    else:
        if len(a) * len(b) > MAX_MATRIX:
            raise InputError(f"the {len(a)} x {len(b)} matrix would take {len(a) * len(b) * 8 / 1e9:.1f} GB: "
                             "use --min-iou T for the pairs that overlap, or --paired")
        matrix = mask_other_images(box_iou(a.xyxy, b.xyxy, metric), image_a, image_b, apart)
        note(quiet, f"{metric}: {len(a)} x {len(b)} matrix")
        _emit_matrix(matrix, metric, output, output_format)
        return

    note(quiet, f"{metric}: {len(values)} pairs")
    if output and output.lower().endswith(".npy"):
        _save_npy(output, values if paired else np.column_stack([rows_a, rows_b, values]))
        return
    columns = ["a", "b", metric]
    rows = NumberColumns(rows_a, rows_b, values)
    emit_rows(output_format, output, columns, rows,
              lambda: [{"a": i, "b": j, metric: v} for i, j, v in rows],
              title=f"{metric}: {a.name} x {b.name}")


def _save_npy(path, array):
    import numpy as np

    with atomic_output(path, binary=True) as f:
        np.save(f, array)


def _emit_matrix(matrix, metric, output, output_format):
    """The N x M matrix: CSV rows ``a,v0,v1,...``, JSON ``{"metric", "shape", "matrix"}``, or .npy."""
    if output:
        if output.lower().endswith(".npy"):
            _save_npy(output, matrix)
            return
        fmt = format_from_extension(output, ROW_FORMATS) if output_format in ("auto", "table") else output_format
        if fmt is None:
            raise InputError("cannot tell the format from the extension - use .npy, .csv, .tsv or .json", output)
        with atomic_output(output) as f:
            _write_matrix(f, fmt, matrix, metric)
        return
    fmt = resolve_format(output_format, "csv")
    if fmt == "table":
        n_cols = min(matrix.shape[1], TABLE_COLUMNS)
        print_table(["a \\ b", *range(n_cols)],
                    [[i, *row[:n_cols].tolist()] for i, row in enumerate(matrix)],
                    title=f"{metric} ({matrix.shape[0]} x {matrix.shape[1]})")
        if matrix.shape[1] > n_cols:
            click.echo(f"({matrix.shape[1] - n_cols} more columns: use --format csv or -o matrix.npy)", err=True)
        return
    _write_matrix(sys.stdout, fmt, matrix, metric)


def _write_matrix(stream, fmt, matrix, metric):
    if fmt in ("csv", "tsv"):
        write_delimited(stream, ["a", *range(matrix.shape[1])],
                        ([i, *row] for i, row in enumerate(matrix.tolist())), "\t" if fmt == "tsv" else ",")
    elif fmt == "json":
        write_json(stream, {"metric": metric, "shape": list(matrix.shape), "matrix": matrix.tolist()})
    else:  # jsonl: one A row per line
        for i, row in enumerate(matrix.tolist()):
            write_json(stream, {"a": i, metric: row})
