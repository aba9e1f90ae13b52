"""``dltool nms``: greedy non-max suppression (and Soft-NMS) on a detections file."""

import math
import os
import sys

import click

from dltool.cli.options import box_format_option, input_format_option, output_format_option, quiet_option
from dltool.cli.output import emit_rows, note, resolve_format
from dltool.core.names import NMS_METHODS
from dltool.errors import InputError
from dltool.io.streams import check_outputs
from dltool.io.tabular import write_json

#: The course's score cut (C4W3 "Non-max suppression": "discard all boxes with p_c <= 0.6").
COURSE_SCORE_THRESHOLD = 0.6


@click.command("nms")
@click.argument("detections", default="-", metavar="DETECTIONS")
@click.option("--iou-threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Suppress a box when its IoU with a kept box is strictly greater than this.")
@click.option("--score-threshold", type=float, default=None,
              help="First drop boxes with score <= this (the course's 'discard p_c <= 0.6'). "
                   "Default: none for hard NMS; 0.001 as the Soft-NMS cut-off.")
@click.option("--class-agnostic", is_flag=True,
              help="Let boxes of different classes suppress each other (default: per class).")
@click.option("--max-detections", type=click.IntRange(min=1), default=None,
              help="Keep at most this many boxes per image, the highest scores.  [default: all]")
@click.option("--method", type=click.Choice(list(NMS_METHODS)), default="hard", show_default=True,
              help="; ".join(f"{k}: {v}" for k, v in NMS_METHODS.items()) + ".")
@click.option("--sigma", type=click.FloatRange(min=0, min_open=True), default=0.5, show_default=True,
              help="Width of the gaussian Soft-NMS decay.")
@click.option("--course", is_flag=True,
              help="The course's rules (C4W3 'Non-max suppression'): discard boxes with p_c <= 0.6 (or "
                   "--score-threshold) and keep a box only if its IoU with every kept box is < --iou-threshold, "
                   "i.e. suppress at IoU >= 0.5, where the default (torchvision's) suppresses at IoU > 0.5 "
                   "and drops no score.  [default: torchvision's rules]")
@click.option("--indices", is_flag=True, help="Print only the kept row numbers (0-based, in score order).")
@click.option("--draw", "draw_image", metavar="IMAGE", default=None,
              help="Draw the kept boxes (and, faintly, the suppressed ones) on IMAGE; needs -o out.png.")
@click.option("--image-id", default=None,
              help="With --draw and an image column: whose boxes to draw.  [default: IMAGE's file name]")
@click.option("-o", "--output", default=None, metavar="FILE",
              help="Write the picture (with --draw) or the kept rows (.csv/.tsv/.json/.jsonl) here, "
                   "atomically.  [default: rows to stdout]")
@box_format_option
@input_format_option
@output_format_option(machine="CSV, or JSON for COCO input")
@quiet_option
def command(detections, iou_threshold, score_threshold, class_agnostic, max_detections, method, sigma, course,
            indices, draw_image, image_id, output, box_format, input_format, output_format, quiet):
    """Greedy non-max suppression with torchvision's rules, per class and per image.

    Boxes are taken in descending score order (equal scores: the earlier row first) and a box is
    dropped when its IoU with an already kept box is > --iou-threshold. Boxes of different
    classes (a 'class' column) or images (an 'image' column) never suppress each other.
    Output: the kept rows, highest score first, with every column kept; COCO JSON stays COCO.
    Course: C4W3 "Non-max suppression"; --course applies the course's rules: drop
    p_c <= 0.6, suppress at IoU >= 0.5.

    \b
    Examples:
      dltool nms samples/detections.csv
      dltool nms samples/detections.json --score-threshold 0.3 > kept.json
      dltool nms samples/detections.csv --class-agnostic --indices
      dltool nms samples/detections.csv --course
      dltool nms samples/detections.csv --method gaussian --format json
      dltool nms samples/detections.csv --draw samples/street.png -o kept.png
      dltool nms samples/detections.csv | dltool iou - samples/ground_truth.csv --min-iou 0.5
    """
    from dltool.core.groups import group_codes
    from dltool.core.nms import select_detections
    from dltool.io.boxes import label_codes, read_boxes

    if draw_image and not output:
        raise InputError("--draw needs -o FILE.png for the picture")
    rules = ""
    if course:
        if method != "hard":
            raise InputError("--course is the course's greedy (hard) NMS: drop --method " + method)
        if iou_threshold <= 0:
            raise InputError("--course keeps a box when its IoU is < --iou-threshold: 0 would keep only the "
                             "best box of each class - give a threshold above 0")
        score_threshold = COURSE_SCORE_THRESHOLD if score_threshold is None else score_threshold
        rules = f"course rules: IoU >= {iou_threshold:g} suppresses, p_c <= {score_threshold:g} dropped, "
        # The kernels suppress when IoU > t. The largest float below t turns that into IoU >= t exactly.
        iou_threshold = math.nextafter(iou_threshold, -math.inf)
    check_outputs([output], [detections, draw_image])
    boxes = read_boxes(detections, box_format, input_format)
    scores = boxes.require_scores()
    class_codes, = label_codes(None if class_agnostic else boxes.classes)
    image_codes, = label_codes(boxes.images)
    groups = group_codes(image_codes, class_codes, len(boxes))
    keep, kept_scores = select_detections(boxes.xyxy, scores, groups, image_codes, iou_threshold,
                                          score_threshold, max_detections, method, sigma)
    scope = " and ".join(s for s, c in (("class", class_codes), ("image", image_codes)) if c is not None)
    note(quiet, f"nms: kept {len(keep)} of {len(boxes)} boxes ({method}{', ' + rules.rstrip(', ') if rules else ''}"
                f"{', per ' + scope if scope else ''}) from {boxes.name}")
    new_scores = kept_scores if method != "hard" else None

    if draw_image:
        _draw(boxes, keep, new_scores, draw_image, image_id, output, quiet)
        output = None  # -o was the picture; the rows still go to stdout
    if indices:
        if output:
            raise InputError("--indices prints to stdout; drop -o, or drop --indices to write rows")
        if resolve_format(output_format, "csv") == "json":
            write_json(sys.stdout, keep.tolist())
        else:
            sys.stdout.write("".join(f"{i}\n" for i in keep.tolist()))
        return
    columns, rows = boxes.table(keep, new_scores)
    machine = "json" if boxes.kind == "coco" else "csv"
    emit_rows(output_format, output, columns, rows, lambda: boxes.json_records(keep, new_scores),
              title=f"nms: {len(keep)} of {len(boxes)} kept", machine=machine)


def _draw(boxes, keep, new_scores, image_path, image_id, output, quiet):
    """Draw the rows of one image: kept ones labelled, suppressed ones faint."""
    import numpy as np

    from dltool.io.boxes import label_codes
    from dltool.io.draw import draw_detections

    on_image = np.ones(len(boxes), dtype=bool)
    if boxes.images is not None:
        wanted = {image_id} if image_id is not None else {
            os.path.basename(image_path), os.path.splitext(os.path.basename(image_path))[0]}
        on_image = np.isin(boxes.images.astype(str), list(wanted))
        if not on_image.any():
            ids = sorted(set(boxes.images.astype(str)))
            raise InputError(f"no boxes of image {' or '.join(sorted(wanted))!r} in {boxes.name} "
                             f"(image ids: {', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''}) "
                             "- pass --image-id")
    kept = np.zeros(len(boxes), dtype=bool)
    kept[keep] = True
    shown = [k for k in range(len(keep)) if on_image[keep[k]]]
    scores = boxes.scores if new_scores is None else dict(zip(keep.tolist(), new_scores.tolist()))
    colour_codes, = label_codes(boxes.classes)  # colour by class even with --class-agnostic
    labels, colours = [], []
    for k in shown:
        row = int(keep[k])
        name = str(boxes.classes[row]) if boxes.classes is not None else ""
        labels.append(f"{name} {scores[row]:.2f}".strip())
        colours.append(int(colour_codes[row]) if colour_codes is not None else 0)
    draw_detections(image_path, output, boxes.xyxy[keep[shown]], labels, colours,
                    boxes.xyxy[on_image & ~kept])
    note(quiet, f"nms: drew {len(shown)} kept and {int((on_image & ~kept).sum())} suppressed boxes on {output}")
