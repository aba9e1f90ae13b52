"""The registries the CLI offers as choices, free of numpy so that ``dltool --help`` stays light.

The computation modules read their codes from here too: a name is typed once.
"""

#: box format -> its four coordinate names, as used for CSV column headers.
BOX_FORMATS = {
    "xyxy": ("x1", "y1", "x2", "y2"),
    "xywh": ("x", "y", "w", "h"),
    "cxcywh": ("cx", "cy", "w", "h"),
}

#: IoU metric -> (kernel code, value for boxes that can never be compared, e.g. on different
#: images: the metric's value for boxes infinitely far apart, CIoU's aspect term left out).
IOU_METRICS = {
    "iou": (0, 0.0),
    "giou": (1, -1.0),
    "diou": (2, -1.0),
    "ciou": (3, -1.0),
}

#: NMS method -> one-line description.
NMS_METHODS = {
    "hard": "greedy NMS: drop boxes with IoU > threshold against a kept box",
    "linear": "Soft-NMS: scale scores by (1 - IoU) where IoU > threshold",
    "gaussian": "Soft-NMS: scale scores by exp(-IoU^2 / sigma), for every overlap",
}
