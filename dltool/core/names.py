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

#: optimizer -> its update: the course's four (C2W2; v: first moment, s: second moment), then the
#: two full-batch solvers that reach the optimum (what scikit-learn's lbfgs / newton-cholesky reach).
OPTIMIZERS = {
    "gd": "W -= lr dW",
    "momentum": "v = b1 v + (1 - b1) dW; W -= lr v",
    "rmsprop": "s = b2 s + (1 - b2) dW^2; W -= lr dW / (sqrt(s) + eps)",
    "adam": "v, s as above; W -= lr v_hat / (sqrt(s_hat) + eps), bias-corrected",
    "lbfgs": "full-batch L-BFGS (10 curvature pairs, Armijo line search) to max|dJ| <= --tol",
    "newton": "full-batch Newton (exact Hessian, line search) to max|dJ| <= --tol; small models",
}

#: learning-rate schedule -> alpha in epoch epoch_num = 1, 2, ... (C2W2 "Learning rate decay";
#: staircase as the course's assignment writes schedule_lr_decay).
LR_SCHEDULES = {
    "constant": "alpha = alpha0",
    "inverse": "alpha = alpha0 / (1 + decay_rate * epoch_num)",
    "exponential": "alpha = decay_base^epoch_num * alpha0 (the course's 0.95^epoch_num)",
    "sqrt": "alpha = k / sqrt(epoch_num) * alpha0",
    "staircase": "alpha = alpha0 / (1 + decay_rate * floor(epoch_num / time_interval))",
}

#: hidden-layer activation -> (kernel code, formula).
ACTIVATIONS = {
    "relu": (0, "max(0, z)"),
    "leaky_relu": (1, "max(0.01 z, z)"),
    "tanh": (2, "tanh(z)"),
    "sigmoid": (3, "1 / (1 + e^-z)"),
}

#: initialization method -> (default gain, description). The standard deviation is
#: gain * sqrt(1 / fan_in) (he, xavier, lecun), gain * sqrt(2 / (fan_in + fan_out)) (glorot),
#: or --scale (random).
INIT_METHODS = {
    "zeros": (1.0, "all weights 0: never breaks the symmetry between units"),
    "random": (1.0, "N(0, 1) x --scale (the course's x 0.01)"),
    "he": (2 ** 0.5, "std sqrt(2 / n[l-1]): He / Kaiming, for ReLU"),
    "xavier": (1.0, "std sqrt(1 / n[l-1]): the course's 'Xavier' (Keras lecun_*, not torch xavier_*)"),
    "glorot": (1.0, "std sqrt(2 / (n[l-1] + n[l])): Glorot, torch xavier_*, Keras glorot_*"),
    "lecun": (1.0, "std sqrt(1 / n[l-1]): LeCun"),
}

#: the names torch.nn.init and Keras use -> (method, distribution, whose name it is). A borrowed
#: name behaves as its library does: Keras's *_normal draw a truncated normal (HeNormal,
#: GlorotNormal, LecunNormal), torch's kaiming_normal_ / xavier_normal_ a plain one. Note torch's
#: xavier_* is glorot.
INIT_ALIASES = {
    "he_normal": ("he", "truncated", "Keras"), "he_uniform": ("he", "uniform", "Keras"),
    "kaiming_normal": ("he", "normal", "torch"), "kaiming_uniform": ("he", "uniform", "torch"),
    "glorot_normal": ("glorot", "truncated", "Keras"), "glorot_uniform": ("glorot", "uniform", "Keras"),
    "xavier_normal": ("glorot", "normal", "torch"), "xavier_uniform": ("glorot", "uniform", "torch"),
    "lecun_normal": ("lecun", "truncated", "Keras"), "lecun_uniform": ("lecun", "uniform", "Keras"),
}

#: torch.nn.init.calculate_gain (leaky_relu with negative slope 0.01).
GAINS = {
    "linear": 1.0, "conv": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": 2 ** 0.5,
    "leaky_relu": (2.0 / (1 + 0.01 ** 2)) ** 0.5, "selu": 0.75,
}

#: weight distribution -> description.
DISTRIBUTIONS = {
    "normal": "N(0, std^2)",
    "uniform": "U(-sqrt(3) std, sqrt(3) std): the same std",
    "truncated": "normal with std / 0.8796..., redrawn beyond 2 std (Keras): the same std",
}

#: ``--input-format`` of a data set (train-logreg, predict, gradcheck --data); auto: a folder is an
#: image folder, else from the extension, ``-`` is CSV.
DATA_FORMATS = ("auto", "csv", "npz", "images")

#: ``--input-format`` of a label set (anchors-kmeans).
LABEL_FORMATS = ("auto", "yolo", "coco", "voc", "csv")

#: style normalization -> description with its factors (P = n_H n_W; mean = over the n_C² entries).
#: pytorch: the PyTorch neural-style tutorial's gram_matrix (divides by a·b·c·d = 1·n_C·n_H·n_W)
#: and StyleLoss (F.mse_loss, reduction "mean"). pystiche: pystiche.loss.GramLoss with its defaults
#: normalize=True (pystiche.gram_matrix divides by the number of positions) and score_weight 1,
#: scored by mse_loss (mean), for a batch of one image.
STYLE_NORMS = {
    "course": "1/(2 n_H n_W n_C)^2 sum (G_S - G_G)^2 with G = sum over positions (C4W4, lecture and assignment)",
    "pytorch": "mean (G_S - G_G)^2 with G = sum / (n_C n_H n_W) (PyTorch tutorial): "
               "4/n_C^2 x course",
    "pystiche": "mean (G_S - G_G)^2 with G = sum / (n_H n_W) (pystiche GramLoss, normalize=True): "
                "4 x course",
    "notes": "sum (G_S - G_G)^2 with G = sum over positions, no factor (the course notes' ||G(S) - G(G)||_F^2): "
             "(2 n_H n_W n_C)^2 x course",
}

#: content normalization -> its formula. mean is the PyTorch tutorial's ContentLoss and pystiche's
#: FeatureReconstructionLoss (mse_loss over all entries).
CONTENT_NORMS = {
    "assignment": "1/(4 n_H n_W n_C) ||a_C - a_G||^2",
    "lecture": "1/2 ||a_C - a_G||^2",
    "mean": "1/(n_H n_W n_C) ||a_C - a_G||^2 (PyTorch tutorial, pystiche)",
}

#: gram-style --features name -> description
TEXTURE_FEATURES = {
    "random": "a seeded bank of random multi-scale filters + ReLU (Ustyuzhaninov et al. 2016)",
    "bank": "fixed Gaussian-derivative filters (1st and 2nd order, 4 / 3 orientations, sigma 1, 2, 4) "
            "and Gaussian blurs, per colour channel, + ReLU",
    "rgb": "the raw colour channels (one layer of 3 maps: the Gram of the pixel colours)",
}

#: gram-style --optimizer (synthesis) -> description
SYNTHESIS_OPTIMIZERS = {
    "lbfgs": "L-BFGS (two-loop recursion, m = 10, Armijo backtracking, pixels projected on [0, 1])",
    "adam": "Adam on the pixels (lr, beta1, beta2, epsilon), clipped to [0, 1] after each step",
}

#: gram-style --init (synthesis) -> description
SYNTHESIS_INITS = {
    "noise": "seeded uniform noise in [0, 1]",
    "style": "the (first) style image, resized by cropping / tiling to the output size",
    "content": "the content image",
}
