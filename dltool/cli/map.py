"""``dltool map``: detection accuracy, COCO mAP exactly as pycocotools and PASCAL VOC AP, with a CI gate."""

import sys

import click

from dltool.cli.options import box_format_option, quiet_option
from dltool.cli.output import note, print_table, resolve_format
from dltool.core.map_names import COCO_METRICS, DT_FORMATS, GT_FORMATS, HEADLINE, MAP_METRICS, PROTOCOLS, VOC_METRICS
from dltool.errors import ExitCode, InputError
from dltool.io.formats import format_from_extension, pick

FORMATS = ("auto", "table", "csv", "tsv", "json")
#: -o FILE: the format from the extension (.npz: the precision / recall arrays).
OUTPUT_FORMATS = pick("json", "csv", "tsv", "npz")
PLOT_CLASSES = 10  # classes drawn one by one in --plot (those with the most ground truth)
TITLES = {"coco": "COCO bbox, as pycocotools", "voc07": "VOC2007 11-point", "voc": "VOC all-point"}


@click.command("map")
@click.argument("detections", metavar="DETECTIONS")
@click.argument("ground_truth", metavar="GROUND_TRUTH")
@click.option("--protocol", type=click.Choice(list(PROTOCOLS)), default="coco", show_default=True,
              help="; ".join(f"{k}: {v}" for k, v in PROTOCOLS.items()) + ".")
@click.option("--fail-below", type=float, default=None, metavar="X",
              help="Exit 1 when --fail-metric is below X: a CI gate (the report is still written).  "
                   "[default: no gate]")
@click.option("--fail-metric", type=click.Choice(MAP_METRICS), default=None,
              help="The number --fail-below judges: one of the 12 COCO numbers, or mAP (VOC).  "
                   f"[default: {', '.join(f'{v} for {k}' for k, v in HEADLINE.items())}]")
@click.option("--plot", default=None, metavar="PNG",
              help="Draw precision-recall curves per class and over all classes.  [default: no plot]")
@click.option("-o", "--output", default=None, metavar="FILE",
              help="Write here instead of stdout, atomically: .json/.csv/.tsv the report, .npz the "
                   "precision and recall arrays (pycocotools' eval['precision'], ['recall'], ['scores']).  "
                   "[default: the report to stdout]")
@click.option("--dt-format", type=click.Choice(DT_FORMATS), default="auto", show_default=True,
              help="DETECTIONS: coco results JSON, csv/tsv with image, class, score and box columns, or "
                   "yolo prediction .txt files (class cx cy w h conf). auto: from the path.")
@click.option("--gt-format", type=click.Choice(GT_FORMATS), default="auto", show_default=True,
              help="GROUND_TRUTH: coco instances JSON (iscrowd, area), csv/tsv (optional iscrowd, area, "
                   "difficult columns), a yolo labels directory, or a voc directory of XML. auto: from the path.")
@box_format_option
@click.option("--img-size", type=click.IntRange(min=0), default=0, show_default=True,
              help="YOLO labels: scale each image so its long side is this many pixels (0: the images' "
                   "own pixels). Only the area ranges (small < 32², large > 96²) see it.")
@click.option("--assume-square", is_flag=True,
              help="YOLO labels: read no images; take every image as --img-size square.")
@click.option("--strict", is_flag=True,
              help="Refuse (exit 2) detections of images or classes the ground truth does not have, "
                   "instead of leaving them out with a warning.")
@click.option("--plus-one", is_flag=True,
              help="VOC protocols: count pixels as the devkit does, (x2 - x1 + 1)(y2 - y1 + 1), for "
                   "integer pixel-index boxes.  [default: continuous coordinates, like COCO]")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="Output format. auto: tables when stdout is a terminal, else JSON. csv/tsv: one row "
                   "per class and a first 'all' row.")
@quiet_option
def command(detections, ground_truth, protocol, fail_below, fail_metric, plot, output, dt_format, gt_format,
            box_format, img_size, assume_square, strict, plus_one, output_format, quiet):
    """Detection accuracy: COCO mAP exactly as pycocotools, or PASCAL VOC AP; exit 1 under --fail-below.

    COCO (the default) reproduces pycocotools' COCOeval for bounding boxes number for number: IoU
    thresholds .50:.05:.95, area ranges small/medium/large (32², 96²), up to 100 detections per
    image and class, crowd regions, 101-point interpolated precision; the 12 summary numbers
    (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl) and each class's. --protocol
    voc07 / voc: AP at IoU 0.5, 11-point or all-point, difficult boxes ignored.

    Images are matched by id, file name or stem, classes by name or id. Output: tables at a
    terminal, JSON in a pipe.

    \b
    Examples:
      dltool map samples/map/detections.json samples/map/instances.json
      dltool map samples/map/detections.json samples/map/instances.json --fail-below 0.3
      dltool map samples/map/detections.csv samples/map/instances.json --format csv
      dltool nms samples/map/detections.json --iou-threshold 0.6 | dltool map - samples/map/instances.json
      dltool map samples/map/detections.json samples/map/instances.json --plot pr.png -o pr.npz
      dltool map samples/map/predictions samples/yolo/labels --format csv
      dltool map samples/map/voc_detections.csv samples/map/voc --protocol voc07 --fail-below 0.5
    """
    from dltool.io.detection_sets import join, read_detections, read_ground_truth
    from dltool.io.streams import check_outputs

    if detections == "-" and ground_truth == "-":
        raise InputError("only one of DETECTIONS and GROUND_TRUTH can be '-' (standard input)")
    metric = fail_metric or HEADLINE[protocol]
    if fail_metric and protocol == "coco" and fail_metric not in COCO_METRICS:
        raise InputError(f"--fail-metric {fail_metric} is a VOC number: the coco protocol reports "
                         f"{', '.join(COCO_METRICS)}")
    if fail_metric and protocol != "coco" and fail_metric not in VOC_METRICS:
        raise InputError(f"--fail-metric {fail_metric} is a COCO number: the {protocol} protocol reports "
                         f"{', '.join(VOC_METRICS)} - or use --protocol coco")
    if fail_metric and fail_below is None:
        raise InputError("--fail-metric names the number --fail-below judges: give --fail-below X too")
    if fail_below is not None and not -1 <= fail_below <= 1:
        raise InputError(f"--fail-below must lie in [-1, 1] (AP and AR lie in [0, 1]), got {fail_below:g}")
    out_kind = _output_kind(output, output_format)
    check_outputs([output, plot], [detections, ground_truth])
    if plot:
        from dltool.io.plot import require_png

        require_png(plot)

    gt = read_ground_truth(ground_truth, gt_format, box_format, img_size, assume_square, strict)
    dt = read_detections(detections, dt_format, box_format)
    data = join(gt, dt, strict)
    for line in gt.notes:
        note(quiet, f"map: {gt.name}: {line}")
    for line in data.notes:
        note(quiet, f"map: {dt.name}: {line}")
    if protocol == "coco":
        report, result = _coco(data)
    else:
        report, result = _voc(data, protocol, plus_one)
    report["detections_file"] = dt.name
    note(quiet, f"map: {len(dt)} detections of {dt.name} against {len(gt)} ground-truth boxes of {gt.name} "
                f"({len(gt.image_ids)} images, {len(gt.class_ids)} classes, {protocol})")

    value = report["summary"][metric]
    passed = None
    if fail_below is not None:
        passed = value >= fail_below
        report.update(fail_metric=metric, fail_below=fail_below, passed=passed)
    if plot:
        _plot(plot, protocol, result, gt)
        note(quiet, f"map: plot written to {plot}")
    if out_kind == "npz":
        _write_npz(output, protocol, result, gt)
        note(quiet, f"map: arrays written to {output}")
        _emit(report, resolve_format(output_format, "json"), None, protocol)
    else:
        _emit(report, out_kind, output, protocol)
    if passed is False:
        shown = "-1 (nothing to evaluate)" if value == -1 else f"{value:.4f}"
        note(quiet, f"map: FAILED: {metric} {shown} < --fail-below {fail_below:g}")
        return ExitCode.CHECK_FAILED
    if passed:
        note(quiet, f"map: passed: {metric} {value:.4f} >= --fail-below {fail_below:g}")
    return ExitCode.OK


def _output_kind(output, output_format):
    """The format of the report, or 'npz' when -o names an arrays file."""
    if output:
        kind = format_from_extension(output, OUTPUT_FORMATS)
        if kind == "npz":
            return "npz"
        if output_format in ("auto", "table"):
            if kind is None:
                shown = ", ".join(e for extensions in OUTPUT_FORMATS.values() for e in extensions)
                raise InputError(f"cannot tell the format from the extension - use {shown} or --format "
                                 "csv|tsv|json", output)
            return kind
        return output_format
    return resolve_format(output_format, "json")


# ------------------------------------------------------------------ evaluation


def _coco(data):
    from dltool.core.detection_eval import coco_evaluate

    gt = data.gt
    result = coco_evaluate(len(gt.image_ids), len(gt.class_ids), gt.image, gt.cls, gt.xywh, data.dt_image,
                           data.dt_class, data.dt_xywh, data.dt_score, gt_area=gt.area, gt_crowd=gt.crowd,
                           gt_ignore=gt.difficult)
    names = list(COCO_METRICS)
    per_class = []
    for k in range(len(gt.class_ids)):
        row = {"id": gt.class_ids[k], "name": gt.class_names[k], "ground_truth": int(result.n_gt[k]),
               "detections": int(result.n_dt[k])}
        row.update({n: float(v) for n, v in zip(names, result.per_class[k])})
        per_class.append(row)
    report = _header(data, "coco")
    report.update(summary=result.summary, per_class=per_class)
    return report, result


def _voc(data, protocol, plus_one):
    import numpy as np

    from dltool.core.detection_eval import voc_evaluate

    gt = data.gt
    xyxy = lambda b: np.column_stack([b[:, :2], b[:, :2] + b[:, 2:]]) if len(b) else np.zeros((0, 4))  # noqa: E731
    result = voc_evaluate(len(gt.image_ids), len(gt.class_ids), gt.image, gt.cls, xyxy(gt.xywh), data.dt_image,
                          data.dt_class, xyxy(data.dt_xywh), data.dt_score, gt_difficult=gt.difficult | gt.crowd,
                          use_07_metric=protocol == "voc07", plus_one=plus_one)
    per_class = []
    for k in range(len(gt.class_ids)):
        rec, prec = result.recall[k], result.precision[k]
        per_class.append({"id": gt.class_ids[k], "name": gt.class_names[k], "ground_truth": int(result.n_gt[k]),
                          "detections": int(result.n_dt[k]), "tp": int(result.tp[k]), "fp": int(result.fp[k]),
                          "recall": float(rec[-1]) if len(rec) else 0.0,
                          "precision": float(prec[-1]) if len(prec) else 0.0, "AP": float(result.ap[k])})
    report = _header(data, protocol)
    report.update(plus_one=plus_one, summary=result.summary, per_class=per_class)
    return report, result


def _header(data, protocol):
    gt = data.gt
    return {"protocol": protocol, "detections_file": None, "ground_truth_file": gt.name,
            "images": len(gt.image_ids), "classes": len(gt.class_ids), "ground_truth": len(gt),
            "crowd": int(gt.crowd.sum()), "difficult": int(gt.difficult.sum()),
            "detections": data.n_detections_read, "left_out": {"unknown_image": data.unknown_images,
                                                              "unknown_class": data.unknown_classes}}


# ------------------------------------------------------------------ output


def _emit(report, fmt, output, protocol):
    from dltool.io.streams import atomic_output
    from dltool.io.tabular import write_delimited, write_json

    if fmt == "table":
        _print_tables(report, protocol)
        return
    stream = atomic_output(output) if output else None
    with (stream if stream is not None else _Stdout()) as f:
        if fmt == "json":
            write_json(f, report)
        else:
            columns, rows = _rows(report, protocol)
            write_delimited(f, columns, rows, "\t" if fmt == "tsv" else ",")


class _Stdout:
    def __enter__(self):
        return sys.stdout

    def __exit__(self, *exc):
        return False


def _rows(report, protocol):
    """One row per class and a first 'all' row: the columns of the summary."""
    names = list(report["summary"])
    if protocol == "coco":
        columns = ["class_id", "class", "ground_truth", "detections", *names]
        first = ["", "all", report["ground_truth"] - report["crowd"] - report["difficult"],
                 sum(c["detections"] for c in report["per_class"]), *report["summary"].values()]
        rows = [[c["id"], c["name"], c["ground_truth"], c["detections"], *(c[n] for n in names)]
                for c in report["per_class"]]
        return columns, [first] + rows
    columns = ["class_id", "class", "ground_truth", "detections", "tp", "fp", "recall", "precision", "AP"]
    first = ["", "all", sum(c["ground_truth"] for c in report["per_class"]),
             sum(c["detections"] for c in report["per_class"]), sum(c["tp"] for c in report["per_class"]),
             sum(c["fp"] for c in report["per_class"]), "", "", report["summary"]["mAP"]]
    return columns, [first] + [[c[k] if k != "class_id" else c["id"] for k in
                                ("class_id", "name", "ground_truth", "detections", "tp", "fp", "recall",
                                 "precision", "AP")] for c in report["per_class"]]


def _value(v: float) -> str:
    return f"{v:.3f}"


def _print_tables(report, protocol):
    summary = report["summary"]
    title = (f"map ({TITLES[protocol]}): {report['images']} images, {report['classes']} classes, "
             f"{report['ground_truth']} ground-truth boxes, {report['detections']} detections")
    if protocol == "coco":
        print_table(["metric", "pycocotools", "value"],
                    [[name, COCO_METRICS[name][4], _value(v)] for name, v in summary.items()], title=title)
        names = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR100"]
        print_table(["class", "gt", "dets", *names],
                    [[c["name"], c["ground_truth"], c["detections"], *(_value(c[n]) for n in names)]
                     for c in report["per_class"]], title="per class (-1.000: no ground truth)")
    else:
        print_table(["class", "gt", "dets", "TP", "FP", "recall", "precision", "AP"],
                    [[c["name"], c["ground_truth"], c["detections"], c["tp"], c["fp"], _value(c["recall"]),
                      _value(c["precision"]), _value(c["AP"])] for c in report["per_class"]],
                    title=title, caption=f"mAP {_value(summary['mAP'])} (classes with ground truth)")
    if "passed" in report:
        verdict = "passed" if report["passed"] else "FAILED"
        print_table(["gate", "value", "verdict"],
                    [[f"{report['fail_metric']} >= {report['fail_below']:g}",
                      _value(summary[report["fail_metric"]]), verdict]])


def _write_npz(path, protocol, result, gt):
    import numpy as np

    from dltool.io.streams import atomic_output

    arrays = {"class_ids": np.array([str(c) for c in gt.class_ids]), "class_names": np.array(gt.class_names)}
    if protocol == "coco":
        arrays.update(precision=result.precision, recall=result.recall, scores=result.scores,
                      iou_thresholds=result.iou_thresholds, recall_thresholds=result.recall_thresholds,
                      area_ranges=result.area_ranges, area_names=np.array(["all", "small", "medium", "large"]),
                      max_dets=np.array(result.max_dets), stats=result.stats, per_class_stats=result.per_class)
    else:
        arrays.update(ap=result.ap, n_gt=result.n_gt)
        for k in range(len(result.ap)):
            arrays[f"recall_{k}"] = result.recall[k]
            arrays[f"precision_{k}"] = result.precision[k]
    with atomic_output(path, binary=True) as f:
        np.savez(f, **arrays)


def _plot(path, protocol, result, gt):
    import numpy as np

    from dltool.io.plot import Chart

    recall_points = np.linspace(0.0, 1.0, 101)
    if protocol == "coco":
        p = result.precision[:, :, :, 0, -1]  # (T, R, K): area all, 100 detections

        def mean_over_classes(t):
            q = p[t]
            valid = (q > -1).all(axis=0)
            return q[:, valid].mean(axis=1) if valid.any() else None

        per_class = [(k, p[0, :, k]) for k in range(p.shape[2]) if (p[0, :, k] > -1).all()]
        headline = [("all classes, IoU 0.50", mean_over_classes(0), False),
                    ("all classes, IoU 0.75", mean_over_classes(5), True)]
        values = {k: result.per_class[k, 1] for k, _ in per_class}
        label = "AP50"
        title = f"Precision-recall (COCO): AP {result.stats[0]:.3f}, AP50 {result.stats[1]:.3f}"
    else:
        curves = []
        for k in range(len(result.ap)):
            if result.ap[k] < 0:
                continue
            rec, prec = result.recall[k], result.precision[k]
            env = np.maximum.accumulate(prec[::-1])[::-1] if len(prec) else prec
            idx = np.searchsorted(rec, recall_points, side="left")
            curves.append((k, np.where(idx < len(rec), env[np.minimum(idx, max(len(rec) - 1, 0))] if len(rec)
                                       else 0.0, 0.0)))
        per_class = curves
        mean = np.mean([c for _, c in curves], axis=0) if curves else None
        headline = [("all classes (mean)", mean, False)]
        values = {k: result.ap[k] for k, _ in per_class}
        label = "AP"
        title = f"Precision-recall ({TITLES[protocol]}): mAP {result.mAP:.3f}"
    chart = Chart(title=title, x_label="recall", y_label="precision (interpolated)", x_range=(0.0, 1.0),
                  y_range=(0.0, 1.02))
    ranked = sorted(per_class, key=lambda kc: -int(np.count_nonzero(gt.cls == kc[0])))[:PLOT_CLASSES]
    for k, curve in sorted(ranked, key=lambda kc: kc[0]):
        chart.line(recall_points, curve, width=1.5, label=f"{gt.class_names[k]} ({label} {values[k]:.2f})")
    for name, curve, dashed in headline:
        if curve is not None:
            chart.line(recall_points, curve, colour=(0, 0, 0), width=3, label=name, dashed=dashed)
    chart.save(path)
