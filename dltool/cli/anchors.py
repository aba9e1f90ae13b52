"""``dltool anchors-kmeans``: anchor boxes from a label set by k-means with d = 1 - IoU."""

import sys

import click

from dltool.cli.options import SEED, quiet_option
from dltool.cli.output import note, print_table, resolve_format
from dltool.cli.progress import progress_bar
from dltool.core.names import ANCHOR_UPDATES, LABEL_FORMATS, PRESET_ANCHORS
from dltool.errors import InputError
from dltool.io.formats import ANCHOR_EXTENSIONS, output_format
from dltool.io.streams import atomic_output, check_outputs

FORMATS = ("auto", "table", "csv", "json", "darknet", "yolov5")
PLOT_POINTS = 50_000  # boxes drawn in --plot at most (a seeded sample): more only blurs the picture


@click.command("anchors-kmeans")
@click.argument("labels", default="-", metavar="LABELS")
@click.option("-k", "--clusters", type=click.IntRange(min=1), default=9, show_default=True,
              help="Number of anchors.")
@click.option("--img-size", type=click.IntRange(min=0), default=640, show_default=True,
              help="Scale each image so its long side is this many pixels, as YOLOv5 trains (0: native "
                   "pixels). CSV w,h input is taken as it is.")
@click.option("--assume-square", is_flag=True,
              help="YOLO labels: do not read images; take every image as --img-size square.")
@click.option("--min-size", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Drop boxes with a side smaller than this many pixels (after scaling).")
@click.option("--input-format", type=click.Choice(LABEL_FORMATS), default="auto", show_default=True,
              help="yolo: a labels directory; coco: an instances JSON; voc: a directory of XML; csv: w,h "
                   "columns in pixels. auto: from the path.")
@click.option("--restarts", type=click.IntRange(min=1), default=3, show_default=True,
              help="k-means runs from different k-means++ seeds; the best average IoU wins.")
@click.option("--update", type=click.Choice(list(ANCHOR_UPDATES)), default="median", show_default=True,
              help="; ".join(f"{k}: {v}" for k, v in ANCHOR_UPDATES.items()) + ".")
@click.option("--max-iter", type=click.IntRange(min=1), default=300, show_default=True,
              help="Iterations per k-means run at most.")
@click.option("--evolve", "generations", type=click.IntRange(min=0), default=0, show_default=True,
              help="Then mutate the anchors this many generations (as YOLOv5 does), keeping only "
                   "mutations that raise the average IoU.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of k-means++ and --evolve.")
@click.option("--ratio-threshold", type=click.FloatRange(min=1, min_open=True), default=4.0, show_default=True,
              help="YOLOv5's anchor-matching ratio test, used for best-possible recall.")
@click.option("--compare", default=None, metavar="ANCHORS",
              help=f"Also score another anchor set: {', '.join(PRESET_ANCHORS)}, or 'w,h, w,h, ...'.")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="auto: a table on a terminal, else CSV. darknet: the cfg 'anchors =' line; yolov5: "
                   "the model yaml 'anchors:' block.")
@click.option("-o", "--output", default=None, metavar="FILE",
              help="Write the anchors here (format from .csv/.json/.yaml/.cfg/.txt), atomically.  "
                   "[default: stdout]")
@click.option("--plot", default=None, metavar="PNG", help="Draw box shapes (w vs h, by cluster) and anchors.")
@quiet_option
def command(labels, clusters, img_size, assume_square, min_size, input_format, restarts, update, max_iter,
            generations, seed, ratio_threshold, compare, output_format, output, plot, quiet):
    """Anchor boxes for YOLO-style detectors by k-means on box shapes with d = 1 - IoU.

    Course: C4W3 "Anchor boxes".

    Reads a YOLO labels directory (image sizes from the sibling images/ folder), a COCO
    instances JSON, a Pascal VOC directory of XML files, or a CSV of w,h. Seeds with
    k-means++, keeps the best of --restarts runs, and reports the average IoU of each box with
    its best anchor, YOLOv5's best-possible recall (BPR) and anchors per box.

    \b
    Examples:
      dltool anchors-kmeans samples/yolo/labels
      dltool anchors-kmeans samples/coco_instances.json --compare yolov5
      dltool anchors-kmeans samples/coco_instances.json -k 6 --format darknet
      dltool anchors-kmeans samples/yolo/labels --format yolov5 --plot anchors.png
      dltool anchors-kmeans samples/coco_instances.json --evolve 300 --format json
    """
    from dltool.core.anchors import anchor_metrics, assign, kmeans_anchors, parse_anchors
    from dltool.io.labels import read_labels

    other = _compare_anchors(parse_anchors, compare)
    fmt = _output_format(output_format, output)
    # Refuse unusable output targets before any work, so that a run failing on one never
    # leaves the other written.
    check_outputs([output, plot], [labels])
    if plot:
        from dltool.io.plot import require_png

        require_png(plot)
    data = read_labels(labels, img_size=img_size, assume_square=assume_square, min_size=min_size,
                       input_format=input_format)
    for line in data.notes:
        note(quiet, f"anchors-kmeans: {line}")
    images = f" from {data.n_images} image{'s' if data.n_images != 1 else ''}" if data.n_images else ""
    reason = f"a side < {min_size:g} px" if min_size > 0 else "a side of 0 px"
    dropped = f" ({data.dropped} dropped: {reason})" if data.dropped else ""
    note(quiet, f"anchors-kmeans: {len(data.wh)} boxes{images} in {data.name}{dropped}")

    with progress_bar(quiet) as update_bar:
        def progress(stage, step, total, avg_iou):
            update_bar(stage, step, total, f"avg IoU {avg_iou:.4f}")

        result = kmeans_anchors(data.wh, clusters, seed=seed, restarts=restarts, update=update,
                                max_iter=max_iter, generations=generations, progress=progress)
    metrics = anchor_metrics(data.wh, result.anchors, ratio_threshold)
    other_metrics = anchor_metrics(data.wh, other, ratio_threshold) if other is not None else None

    report = _report(data, result, metrics, other, other_metrics, compare, dict(
        clusters=clusters, img_size=img_size, min_size=min_size, restarts=restarts, update=update,
        evolve=generations, seed=seed, ratio_threshold=ratio_threshold))
    if plot:
        labels_of_boxes = assign(data.wh, result.anchors)[0]
        _plot(plot, data, labels_of_boxes, result.anchors, other, compare, report, seed)
        note(quiet, f"anchors-kmeans: plot written to {plot}")
    text = None if fmt == "table" else _render(fmt, report)
    if output:
        with atomic_output(output) as f:
            f.write(text)
    elif fmt == "table":
        _print_tables(report)
    else:
        sys.stdout.write(text)



def _output_format(requested, output):
    if not output:
        return resolve_format(requested, "csv")
    if requested not in ("auto", "table"):
        return requested
    # -o FILE picks its format from the extension when --format is auto.
    return output_format(output, ANCHOR_EXTENSIONS)


def _summary(anchors, m):
    return {"anchors": anchors.tolist(), "avg_iou": m.avg_iou, "bpr": m.bpr,
            "anchors_per_box": m.anchors_per_box,
            "per_anchor": [{"w": float(w), "h": float(h), "boxes": int(c),
                            "mean_iou": None if c == 0 else float(v)}
                           for (w, h), c, v in zip(anchors, m.counts, m.mean_iou)]}


def _compare_anchors(parse_anchors, compare):
    """The --compare anchors, with errors led by the option (the user typed them there)."""
    if compare is None:
        return None
    try:
        return parse_anchors(compare)
    except InputError as e:
        raise e.located("--compare") from None


def _report(data, result, metrics, other, other_metrics, compare, settings):
    report = {"input": data.name, "kind": data.kind, "boxes": int(len(data.wh)), "dropped": int(data.dropped),
              "images": int(data.n_images), "settings": settings, **_summary(result.anchors, metrics),
              "iterations": [run.iterations for run in result.runs], "best_restart": result.best_run,
              "evolved_mutations": result.evolved}
    if other is not None:
        report["compare"] = {"name": compare, **_summary(other, other_metrics)}
    return report


def _ints(anchors):
    return [(int(round(w)), int(round(h))) for w, h in anchors]


def _render(fmt, report) -> str:
    anchors = report["anchors"]
    if fmt == "json":
        import json  # only this format needs it

        return json.dumps(report) + "\n"
    if fmt == "darknet":
        return "anchors = " + ",  ".join(f"{w},{h}" for w, h in _ints(anchors)) + "\n"
    if fmt == "yolov5":
        pairs = _ints(anchors)
        if len(pairs) % 3:
            return "anchors:\n  - [" + ", ".join(f"{w},{h}" for w, h in pairs) + "]\n"
        lines = ["anchors:"]
        for level in range(len(pairs) // 3):
            group = ", ".join(f"{w},{h}" for w, h in pairs[3 * level:3 * level + 3])
            lines.append(f"  - [{group}]  # P{level + 3}/{2 ** (level + 3)}")
        return "\n".join(lines) + "\n"
    rows = ["anchor,w,h,boxes,mean_iou"]
    for i, a in enumerate(report["per_anchor"]):
        rows.append(f"{i},{a['w']!r},{a['h']!r},{a['boxes']},{'' if a['mean_iou'] is None else repr(a['mean_iou'])}")
    return "\n".join(rows) + "\n"


def _print_tables(report):
    sets = [("dltool", report)] + ([(report["compare"]["name"], report["compare"])] if "compare" in report else [])
    for name, s in sets:
        print_table(["#", "w", "h", "area", "w/h", "boxes", "mean IoU"],
                    [[i, f"{a['w']:.1f}", f"{a['h']:.1f}", f"{a['w'] * a['h']:.0f}", f"{a['w'] / a['h']:.2f}",
                      a["boxes"], "-" if a["mean_iou"] is None else f"{a['mean_iou']:.3f}"]
                     for i, a in enumerate(s["per_anchor"])],
                    title=f"anchors: {name}")
    print_table(["", *[name for name, _ in sets]],
                [["avg IoU", *[f"{s['avg_iou']:.4f}" for _, s in sets]],
                 ["best possible recall", *[f"{s['bpr']:.4f}" for _, s in sets]],
                 ["anchors per box", *[f"{s['anchors_per_box']:.2f}" for _, s in sets]]],
                 title=f"{report['boxes']} boxes, ratio threshold {report['settings']['ratio_threshold']:g}")


def _plot(path, data, labels, anchors, other, compare, report, seed):
    import numpy as np

    from dltool.io.plot import Chart

    rng = np.random.default_rng(seed)
    shown = np.arange(len(data.wh))
    if len(shown) > PLOT_POINTS:
        shown = np.sort(rng.choice(len(data.wh), PLOT_POINTS, replace=False))
    chart = Chart(title=f"{len(anchors)} anchors: avg IoU {report['avg_iou']:.3f}, BPR {report['bpr']:.3f} "
                        f"({len(data.wh)} boxes)",
                  x_label="width (px)", y_label="height (px)", x_log=True, y_log=True)
    chart.scatter(data.wh[shown, 0], data.wh[shown, 1], colours=labels[shown], size=2, alpha=110)
    if other is not None:
        chart.markers(other[:, 0], other[:, 1], colour=(120, 120, 120), shape="s",
                      label=f"{compare} (avg IoU {report['compare']['avg_iou']:.3f})")
    chart.markers(anchors[:, 0], anchors[:, 1], colour=(0, 0, 0), shape="x",
                  labels=[f"{w}x{h}" for w, h in _ints(anchors)], label="dltool anchors")
    chart.save(path)
