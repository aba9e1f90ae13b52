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

#: Published anchor sets, (w, h) in pixels at 640 (YOLOv5) / 416-608 (darknet) input size.
#: YOLOv5's default anchors are YOLOv3's, fitted to COCO by k-means; YOLOv4/v7 refit them.
PRESET_ANCHORS = {
    "yolov3": ((10, 13), (16, 30), (33, 23), (30, 61), (62, 45), (59, 119),
               (116, 90), (156, 198), (373, 326)),
    "yolov3-tiny": ((10, 14), (23, 27), (37, 58), (81, 82), (135, 169), (344, 319)),
    "yolov4": ((12, 16), (19, 36), (40, 28), (36, 75), (76, 55), (72, 146),
               (142, 110), (192, 243), (459, 401)),
    "yolov5": ((10, 13), (16, 30), (33, 23), (30, 61), (62, 45), (59, 119),
               (116, 90), (156, 198), (373, 326)),
}

#: k-means centroid update -> description.
ANCHOR_UPDATES = {
    "median": "per-cluster median of widths and of heights (robust to outliers)",
    "mean": "per-cluster mean, as darknet and the course do",
}

#: optimizer -> its update, as the course writes it (v: first moment, s: second moment).
OPTIMIZERS = {
    "gd": "W -= lr dW",
    "momentum": "v = b1 v + (1 - b1) dW; W -= lr v",
    "rmsprop": "s = b2 s + (1 - b2) dW^2; W -= lr dW / (sqrt(s) + eps)",
    "adam": "v, s as above; W -= lr v_hat / (sqrt(s_hat) + eps), bias-corrected",
}

#: hidden-layer activation -> (kernel code, formula).
ACTIVATIONS = {
    "relu": (0, "max(0, z)"),
    "leaky_relu": (1, "max(0.01 z, z)"),
    "tanh": (2, "tanh(z)"),
    "sigmoid": (3, "1 / (1 + e^-z)"),
}
