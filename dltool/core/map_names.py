"""The registries of ``dltool map``, free of numpy so that ``dltool map --help`` stays light.

:mod:`dltool.core.detection_eval` computes what these name; the CLI derives its choices and help
text from them.
"""

#: evaluation protocol -> one-line description.
PROTOCOLS = {
    "coco": "COCO mAP exactly as pycocotools' COCOeval (bbox): IoU .50:.05:.95, 101-point precision",
    "voc07": "PASCAL VOC2007 AP at IoU 0.5, 11-point interpolation",
    "voc": "PASCAL VOC2010+ AP at IoU 0.5, all-point interpolation (area under the PR envelope)",
}

#: pycocotools' summary line, without its value (``COCOeval.summarize``'s format).
_LINE = " {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ]"


def _line(ap: bool, iou: str, area: str, max_dets: int) -> str:
    return _LINE.format("Average Precision" if ap else "Average Recall", "(AP)" if ap else "(AR)",
                        iou, area, max_dets).strip()


#: The 12 numbers of ``COCOeval.stats``, in order: name -> (is AP, IoU threshold or None for
#: the mean over .50:.95, area range, max detections, pycocotools' summary line).
COCO_METRICS = {
    "AP": (True, None, "all", 100, _line(True, "0.50:0.95", "all", 100)),
    "AP50": (True, 0.5, "all", 100, _line(True, "0.50", "all", 100)),
    "AP75": (True, 0.75, "all", 100, _line(True, "0.75", "all", 100)),
    "APs": (True, None, "small", 100, _line(True, "0.50:0.95", "small", 100)),
    "APm": (True, None, "medium", 100, _line(True, "0.50:0.95", "medium", 100)),
    "APl": (True, None, "large", 100, _line(True, "0.50:0.95", "large", 100)),
    "AR1": (False, None, "all", 1, _line(False, "0.50:0.95", "all", 1)),
    "AR10": (False, None, "all", 10, _line(False, "0.50:0.95", "all", 10)),
    "AR100": (False, None, "all", 100, _line(False, "0.50:0.95", "all", 100)),
    "ARs": (False, None, "small", 100, _line(False, "0.50:0.95", "small", 100)),
    "ARm": (False, None, "medium", 100, _line(False, "0.50:0.95", "medium", 100)),
    "ARl": (False, None, "large", 100, _line(False, "0.50:0.95", "large", 100)),
}

#: The VOC protocols' one number: the mean over classes with ground truth of their AP at IoU 0.5.
VOC_METRICS = {
    "mAP": "mean over classes (with ground truth) of the AP at IoU 0.5",
}

#: --fail-metric choices: every name above.
MAP_METRICS = tuple(COCO_METRICS) + tuple(VOC_METRICS)

#: The metric --fail-below gates on by default, per protocol.
HEADLINE = {"coco": "AP", "voc07": "mAP", "voc": "mAP"}

#: --gt-format / --dt-format choices (auto: from the path: a directory is YOLO or VOC labels,
#: .json COCO, .csv/.tsv CSV; on standard input JSON or CSV by content).
GT_FORMATS = ("auto", "coco", "csv", "tsv", "yolo", "voc")
DT_FORMATS = ("auto", "coco", "csv", "tsv", "yolo")
