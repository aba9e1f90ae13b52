"""Detection accuracy: COCO mAP exactly as pycocotools' ``COCOeval`` (bbox), and PASCAL VOC AP.

Both protocols take the ground truth and the detections as flat arrays: an image index and a class
index per box (0-based, ``n_images`` and ``n_classes`` in all), boxes, and for detections a score.
Image indices must follow pycocotools' image order (sorted image ids) and class indices its
category order (sorted category ids): where scores tie, that order decides, as in pycocotools.

COCO (:func:`coco_evaluate`), step by step as ``COCOeval.evaluate / accumulate / summarize``:

1. Per (image, class): detections sorted by descending score (equal scores: file order, a stable
   sort), the first ``max_dets[-1]`` (100) kept. IoU as pycocotools' ``bbIou`` on ``[x, y, w, h]``:
   areas ``w * h``, and for a crowd region the union is the detection's area.
2. Per area range, ground truth is ignored when crowd, flagged ``ignore``, or its ``area`` (the
   annotation's field, not the box's) lies outside the range (borders included: 32² is small
   and medium); ignored boxes are sorted last (stable).
3. Per IoU threshold t, greedy matching in score order: each detection takes the not yet matched
   (or crowd) ground truth with the largest IoU >= t (equal IoU: the later box), preferring any
   regular box over an ignored one. A detection matched to an ignored box is ignored; so is an
   unmatched one whose box area ``w * h`` lies outside the range.
4. Per (class, area, max detections): the kept detections of every image in image order, the
   first ``max_det`` per image, stably sorted by descending score; cumulative TP / FP, recall
   ``tp / n_gt`` and precision ``tp / (tp + fp + eps)`` (eps = ``np.spacing(1)``), the precision
   envelope, sampled at the 101 recall thresholds (0 past the last recall reached).
5. The 12 summary numbers: means of the precision (AP) or recall (AR) entries that are not -1.
   -1 marks "nothing to evaluate" (a class without ground truth).

VOC (:func:`voc_evaluate`), the devkit's ``VOCevaldet``: per class, detections in descending score
order (stable) each take the ground-truth box of their image with the largest IoU (the first of
equals); IoU >= 0.5 on a box not yet taken is a TP, on a taken one a FP (a duplicate), on a
``difficult`` box neither; below 0.5, a FP. AP is 11-point (VOC2007: the mean over recall
thresholds 0, 0.1, ..., 1 of the best precision at or beyond them) or all-point (VOC2010+: the
area under the precision envelope).

The per-image matching loops run in numba for large inputs (:mod:`dltool.core.map_kernels`), in
numpy for small ones, with the same results.
"""

from dataclasses import dataclass, field

import numpy as np

from dltool.core.arrays import unique_sorted
from dltool.core.map_names import COCO_METRICS
from dltool.errors import InputError

#: pycocotools' Params.setDetParams, computed the same way so that every threshold is the same float.
IOU_THRESHOLDS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
RECALL_THRESHOLDS = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
AREA_RANGES = np.array([[0 ** 2, 1e5 ** 2], [0 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]],
                       dtype=np.float64)
AREA_NAMES = ("all", "small", "medium", "large")
MAX_DETS = (1, 10, 100)
#: VOC2007's 11 recall thresholds: k / 10 exactly as decimals (a recall of 3/10 reaches 0.3).
VOC07_RECALL_THRESHOLDS = np.arange(11) / 10.0

# Below this many detections the numpy matching loop beats importing numba and loading the
# cached kernels (~0.5 s).
NUMBA_MIN_DETECTIONS = 15_000
# pycocotools' np.spacing(1) in the precision's denominator.
_EPS = np.spacing(1)


# ------------------------------------------------------------------ input checks


def _int_index(values, n: int, count: int, name: str) -> np.ndarray:
    a = np.asarray(values)
    if a.size == 0 and count == 0:
        return np.zeros(0, dtype=np.int64)
    if a.shape != (count,) or not np.issubdtype(a.dtype, np.integer):
        raise InputError(f"{name} must be {count} integers, got {a.dtype} {a.shape}")
    a = a.astype(np.int64)
    if count and (a.min() < 0 or a.max() >= n):
        raise InputError(f"{name} must lie in 0..{n - 1}, got {a.min()}..{a.max()}")
    return a


def _boxes(values, name: str) -> np.ndarray:
    b = np.asarray(values, dtype=np.float64)
    if b.size == 0:
        return np.zeros((0, 4))
    if b.ndim != 2 or b.shape[1] != 4:
        raise InputError(f"{name} must have shape (N, 4), got {b.shape}")
    if not np.isfinite(b).all():
        raise InputError(f"{name}: coordinates must be finite numbers")
    return np.ascontiguousarray(b)


def _vector(values, count: int, name: str, dtype=np.float64, default=None) -> np.ndarray:
    if values is None:
        return np.full(count, default, dtype=dtype)
    a = np.asarray(values)
    if a.size == 0 and count == 0:
        return np.zeros(0, dtype=dtype)
    if a.shape != (count,):
        raise InputError(f"{name} must have {count} values, got shape {a.shape}")
    a = np.ascontiguousarray(a, dtype=dtype)
    if dtype == np.float64 and not np.isfinite(a).all():
        k = int(np.argmax(~np.isfinite(a)))
        raise InputError(f"{name}: row {k} is {a[k]}, expected a finite number")
    return a


@dataclass
class _Sets:
    """Validated inputs of one evaluation."""

    n_images: int
    n_classes: int
    gt_image: np.ndarray
    gt_class: np.ndarray
    gt_box: np.ndarray
    gt_area: np.ndarray
    gt_crowd: np.ndarray
    gt_ignore: np.ndarray
    dt_image: np.ndarray
    dt_class: np.ndarray
    dt_box: np.ndarray
    dt_score: np.ndarray


def _check(n_images, n_classes, gt_image, gt_class, gt_box, dt_image, dt_class, dt_box, dt_score,
           gt_area=None, gt_crowd=None, gt_ignore=None, box_kind="xywh") -> _Sets:
    if n_images < 0 or n_classes < 0:
        raise InputError("n_images and n_classes must be >= 0")
    gb, db = _boxes(gt_box, "gt_box"), _boxes(dt_box, "dt_box")
    ng, nd = len(gb), len(db)
    wi, hi = (2, 3) if box_kind == "xywh" else (None, None)
    for b, name in ((gb, "gt_box"), (db, "dt_box")):
        w = b[:, 2] if wi else b[:, 2] - b[:, 0]
        h = b[:, 3] if hi else b[:, 3] - b[:, 1]
        if len(b) and ((w < 0) | (h < 0)).any():
            k = int(np.argmax((w < 0) | (h < 0)))
            raise InputError(f"{name}: row {k} has a negative width or height: {b[k].tolist()}")
    if gt_area is None:
        gt_area = gb[:, 2] * gb[:, 3] if box_kind == "xywh" else (gb[:, 2] - gb[:, 0]) * (gb[:, 3] - gb[:, 1])
    return _Sets(
        int(n_images), int(n_classes),
        _int_index(gt_image, n_images, ng, "gt_image"), _int_index(gt_class, n_classes, ng, "gt_class"), gb,
        _vector(gt_area, ng, "gt_area"), _vector(gt_crowd, ng, "gt_crowd", bool, False),
        _vector(gt_ignore, ng, "gt_ignore", bool, False),
        _int_index(dt_image, n_images, nd, "dt_image"), _int_index(dt_class, n_classes, nd, "dt_class"), db,
        _vector(dt_score, nd, "dt_score"))


# ------------------------------------------------------------------ groups of one image and class


def coco_iou(dt_xywh: np.ndarray, gt_xywh: np.ndarray, gt_crowd: np.ndarray) -> np.ndarray:
    """IoU as pycocotools' ``maskUtils.iou`` for boxes (``bbIou``), bit for bit.

    Parameters
    ----------
    dt_xywh : ndarray of shape (D, 4)
    gt_xywh : ndarray of shape (G, 4)
    gt_crowd : ndarray of shape (G,), bool
        For a crowd region the union is the detection's own area: IoU = |d ∩ g| / |d|.

    Returns
    -------
    ndarray of shape (D, G)

    Notes
    -----
    The kit's :func:`dltool.core.iou.box_iou` works on corners; COCO stores ``[x, y, w, h]``, and
    ``((x + w) - x)`` is not always ``w`` in floating point, so the areas here are ``w * h`` as
    pycocotools computes them (intersections are the same: ``min(x + w, ...) - max(x, ...)``).
    """
    d = dt_xywh[:, None, :]
    g = gt_xywh[None, :, :]
    return _coco_iou_formula(d, g, gt_crowd[None, :])


def _coco_iou_formula(d, g, crowd):
    """``bbIou`` on broadcastable arrays ``d`` (..., 4) and ``g`` (..., 4); same operation order."""
    ga = g[..., 2] * g[..., 3]
    da = d[..., 2] * d[..., 3]
    w = np.minimum(d[..., 2] + d[..., 0], g[..., 2] + g[..., 0]) - np.maximum(d[..., 0], g[..., 0])
    h = np.minimum(d[..., 3] + d[..., 1], g[..., 3] + g[..., 1]) - np.maximum(d[..., 1], g[..., 1])
    overlap = (w > 0) & (h > 0)
    inter = w * h
    union = np.where(crowd, da, da + ga - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(overlap, inter / np.where(overlap, union, 1.0), 0.0)


# ------------------------------------------------------------------ COCO


@dataclass
class CocoResult:
    """What ``COCOeval.accumulate`` and ``summarize`` produce, plus per-class summaries.

    Attributes
    ----------
    stats : ndarray of shape (12,)
        ``COCOeval.stats``, named by :data:`dltool.core.map_names.COCO_METRICS`.
    per_class : ndarray of shape (K, 12)
        The same 12 numbers for each class alone (-1 where the class has no ground truth).
    precision : ndarray of shape (T, R, K, A, M)
        ``eval['precision']``: T IoU thresholds, R = 101 recall thresholds, K classes, A = 4 area
        ranges, M = 3 max-detection settings; -1 where there is no ground truth.
    recall : ndarray of shape (T, K, A, M)
    scores : ndarray of shape (T, R, K, A, M)
        The score at which each precision entry is reached.
    n_gt : ndarray of shape (K,), int
        Regular (not crowd, not ignored) ground-truth boxes per class.
    n_dt : ndarray of shape (K,), int
        Detections per class that were evaluated (at most ``max_dets[-1]`` per image and class).
    """

    stats: np.ndarray
    per_class: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    scores: np.ndarray
    n_gt: np.ndarray
    n_dt: np.ndarray
    iou_thresholds: np.ndarray = field(default_factory=lambda: IOU_THRESHOLDS.copy())
    recall_thresholds: np.ndarray = field(default_factory=lambda: RECALL_THRESHOLDS.copy())
    area_ranges: np.ndarray = field(default_factory=lambda: AREA_RANGES.copy())
    max_dets: tuple = MAX_DETS

    @property
    def summary(self) -> dict:
        """The 12 numbers by name (``AP``, ``AP50``, ... ``ARl``)."""
        return {name: float(v) for name, v in zip(COCO_METRICS, self.stats)}


def coco_evaluate(n_images: int, n_classes: int, gt_image, gt_class, gt_xywh, dt_image, dt_class,
                  dt_xywh, dt_score, gt_area=None, gt_crowd=None, gt_ignore=None,
                  use_numba: bool | None = None) -> CocoResult:
    """COCO bbox evaluation, exactly as ``COCOeval(gt, dt, "bbox")`` then evaluate/accumulate/summarize.

    Parameters
    ----------
    n_images, n_classes : int
        Images and categories of the ground truth (pycocotools' ``imgIds``, ``catIds``).
    gt_image, gt_class : array_like of shape (G,), int
        Image and class index of each ground-truth box (indices in sorted-id order).
    gt_xywh : array_like of shape (G, 4)
        ``[x, y, w, h]`` as in the annotation's ``bbox``.
    dt_image, dt_class : array_like of shape (D,), int
    dt_xywh : array_like of shape (D, 4)
    dt_score : array_like of shape (D,)
    gt_area : array_like of shape (G,), optional
        The annotations' ``area`` (segment areas in COCO); default ``w * h``.
    gt_crowd : array_like of shape (G,), bool, optional
        ``iscrowd``: regions any number of detections may match, ignored in the counts.
    gt_ignore : array_like of shape (G,), bool, optional
        Boxes ignored like crowd regions but with the usual IoU and one match (e.g. VOC's
        ``difficult``). pycocotools itself has no such flag.
    use_numba : bool, optional
        Force the numba kernels on or off; by default numba for inputs of at least
        ``NUMBA_MIN_DETECTIONS`` detections.

    Returns
    -------
    CocoResult
    """
    s = _check(n_images, n_classes, gt_image, gt_class, gt_xywh, dt_image, dt_class, dt_xywh, dt_score,
               gt_area, gt_crowd, gt_ignore)
    K, T, A = s.n_classes, len(IOU_THRESHOLDS), len(AREA_RANGES)
    max_det = MAX_DETS[-1]

    # Detections by (image, class), then descending score, equal scores in input order; the
    # first max_det of each group are all that pycocotools ever looks at.
    dkey = s.dt_image * max(K, 1) + s.dt_class
    order = np.lexsort((-s.dt_score, dkey))
    dkey_sorted = dkey[order]
    n = len(order)
    first = np.ones(n, dtype=bool)
    first[1:] = dkey_sorted[1:] != dkey_sorted[:-1]
    starts = np.flatnonzero(first)
    rank = np.arange(n) - np.repeat(starts, np.diff(np.append(starts, n)))
    kept = rank < max_det
    order, rank, dkey_sorted = order[kept], rank[kept], dkey_sorted[kept]
    dt_box = np.ascontiguousarray(s.dt_box[order])
    dt_score = s.dt_score[order]
    dt_class = s.dt_class[order]
    dt_area = dt_box[:, 2] * dt_box[:, 3]

    gkey = s.gt_image * max(K, 1) + s.gt_class
    gorder = np.argsort(gkey, kind="stable")
    gkey_sorted = gkey[gorder]
    gt_box = np.ascontiguousarray(s.gt_box[gorder])
    gt_crowd = s.gt_crowd[gorder]
    gt_class = s.gt_class[gorder]
    gt_area = s.gt_area[gorder]
    # Per area range: ignored (crowd, flagged, or area outside the range, borders inside).
    gt_ig = (gt_crowd | s.gt_ignore[gorder])[None, :] | (gt_area[None, :] < AREA_RANGES[:, :1]) \
        | (gt_area[None, :] > AREA_RANGES[:, 1:])
    dt_out = (dt_area[None, :] < AREA_RANGES[:, :1]) | (dt_area[None, :] > AREA_RANGES[:, 1:])

    # Groups (image, class) holding both detections and ground truth: the only ones with matches.
    both = np.intersect1d(unique_sorted(dkey_sorted), unique_sorted(gkey_sorted), assume_unique=True)
    dt_lo, dt_hi = np.searchsorted(dkey_sorted, both, "left"), np.searchsorted(dkey_sorted, both, "right")
    gt_lo, gt_hi = np.searchsorted(gkey_sorted, both, "left"), np.searchsorted(gkey_sorted, both, "right")

    matched = np.zeros((A, T, len(order)), dtype=bool)
    matched_ig = np.zeros((A, T, len(order)), dtype=bool)
    if use_numba is None:
        use_numba = len(order) >= NUMBA_MIN_DETECTIONS
    if len(both):
        args = (dt_lo, dt_hi, gt_lo, gt_hi, dt_box, gt_box, gt_crowd,
                np.ascontiguousarray(gt_ig), IOU_THRESHOLDS, matched, matched_ig)
        if use_numba:
            from dltool.core import map_kernels

            map_kernels.coco_match(*args)
        else:
            _numpy_match(*args)
    dt_ig = matched_ig | (~matched & dt_out[:, None, :])

    n_gt_area = np.zeros((K, A), dtype=np.int64)
    for a in range(A):
        n_gt_area[:, a] = np.bincount(gt_class[~gt_ig[a]], minlength=K)[:K]
    precision, recall, scores = _accumulate(dt_class, dt_score, rank, matched, dt_ig, n_gt_area, K, use_numba)
    stats = summarize(precision, recall)
    per_class = np.array([summarize(precision[:, :, [k]], recall[:, [k]]) for k in range(K)]).reshape(K, 12)
    return CocoResult(stats, per_class, precision, recall, scores, n_gt_area[:, 0].copy(),
                      np.bincount(dt_class, minlength=K)[:K])


def _numpy_match(dt_lo, dt_hi, gt_lo, gt_hi, dt_box, gt_box, gt_crowd, gt_ig, thresholds, matched, matched_ig):
    """COCOeval.evaluateImg's greedy matching, one detection at a time, all thresholds at once."""
    T = len(thresholds)
    thr = np.minimum(thresholds, 1 - 1e-10)[:, None]
    rows = np.arange(T)
    for d0, d1, g0, g1 in zip(dt_lo.tolist(), dt_hi.tolist(), gt_lo.tolist(), gt_hi.tolist()):
        crowd = gt_crowd[g0:g1]
        ious = coco_iou(dt_box[d0:d1], gt_box[g0:g1], crowd)
        for a in range(gt_ig.shape[0]):
            ig = gt_ig[a, g0:g1]
            gorder = np.argsort(ig, kind="stable")  # regular boxes first, ignored ones last
            n_regular = int(np.count_nonzero(~ig))
            sorted_ious = ious[:, gorder]
            sorted_crowd = crowd[gorder]
            taken = np.zeros((T, g1 - g0), dtype=bool)
            for d in range(d1 - d0):
                ok = (~taken | sorted_crowd) & (sorted_ious[d] >= thr)
                m = np.full(T, -1)
                for lo, hi in ((0, n_regular), (n_regular, g1 - g0)):
                    if hi == lo:
                        continue
                    vals = np.where(ok[:, lo:hi], sorted_ious[d, lo:hi], -np.inf)
                    best = vals.max(axis=1)
                    # the last box holding the best IoU (pycocotools takes ties that come later)
                    last = hi - 1 - np.argmax((vals == best[:, None])[:, ::-1], axis=1)
                    m = np.where((m < 0) & np.isfinite(best), last, m)
                hit = m >= 0
                if hit.any():
                    matched[a, hit, d0 + d] = True
                    matched_ig[a, hit, d0 + d] = m[hit] >= n_regular
                    taken[rows[hit], m[hit]] = True


def _accumulate(dt_class, dt_score, rank, matched, dt_ig, n_gt, K, use_numba=False):
    """COCOeval.accumulate: precision (T,R,K,A,M), recall (T,K,A,M), scores (T,R,K,A,M)."""
    A, T = matched.shape[:2]
    R, M = len(RECALL_THRESHOLDS), len(MAX_DETS)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    scores = -np.ones((T, R, K, A, M))
    # Per class, the detections of every image in image order (their current order), stably
    # sorted by descending score: accumulate's mergesort over the concatenated images.
    acc = np.lexsort((np.arange(len(dt_class)), -dt_score, dt_class))
    bounds = np.searchsorted(dt_class[acc], np.arange(K + 1))
    if use_numba:
        from dltool.core import map_kernels

        map_kernels.coco_accumulate(bounds, acc, rank, dt_score, matched, dt_ig, n_gt, MAX_DETS,
                                    RECALL_THRESHOLDS, _EPS, precision, recall, scores)
        return precision, recall, scores
    tp_all = matched & ~dt_ig
    fp_all = ~matched & ~dt_ig
    for k in range(K):
        idx_k = acc[bounds[k]:bounds[k + 1]]
        rank_k = rank[idx_k]
        for m, max_det in enumerate(MAX_DETS):
            idx = idx_k[rank_k < max_det]
            nd = len(idx)
            score_sorted = dt_score[idx]
            for a in range(A):
                npig = int(n_gt[k, a])
                if npig == 0:
                    continue
                tp_sum = np.cumsum(tp_all[a][:, idx], axis=1).astype(float)
                fp_sum = np.cumsum(fp_all[a][:, idx], axis=1).astype(float)
                rc = tp_sum / npig
                pr = tp_sum / (fp_sum + tp_sum + _EPS)
                recall[:, k, a, m] = rc[:, -1] if nd else 0
                if nd == 0:
                    precision[:, :, k, a, m] = 0
                    scores[:, :, k, a, m] = 0
                    continue
                pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
                for t in range(T):
                    inds = np.searchsorted(rc[t], RECALL_THRESHOLDS, side="left")
                    reached = inds < nd
                    q = np.zeros(R)
                    ss = np.zeros(R)
                    q[reached] = pr[t, inds[reached]]
                    ss[reached] = score_sorted[inds[reached]]
                    precision[t, :, k, a, m] = q
                    scores[t, :, k, a, m] = ss
    return precision, recall, scores


def summarize(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """``COCOeval.summarize``'s 12 numbers from ``precision`` (T,R,K,A,M) and ``recall`` (T,K,A,M).

    Each is the mean of the entries that are not -1, or -1 when there are none.
    """
    stats = np.zeros(len(COCO_METRICS))
    for i, (ap, iou, area, max_det, _) in enumerate(COCO_METRICS.values()):
        aind = [AREA_NAMES.index(area)]
        mind = [MAX_DETS.index(max_det)]
        if ap:
            s = precision
            if iou is not None:
                s = s[np.where(iou == IOU_THRESHOLDS)[0]]
            s = s[:, :, :, aind, mind]
        else:
            s = recall
            if iou is not None:
                s = s[np.where(iou == IOU_THRESHOLDS)[0]]
            s = s[:, :, aind, mind]
        stats[i] = -1 if len(s[s > -1]) == 0 else np.mean(s[s > -1])
    return stats


# ------------------------------------------------------------------ VOC


@dataclass
class VocResult:
    """Per-class VOC AP and its precision-recall curves.

    Attributes
    ----------
    ap : ndarray of shape (K,)
        AP per class; -1 for a class without (non-difficult) ground truth.
    mAP : float
        Mean of ``ap`` over classes with ground truth (-1 when there are none).
    n_gt : ndarray of shape (K,), int
        Non-difficult ground-truth boxes per class (the devkit's ``npos``).
    n_dt, tp, fp : ndarray of shape (K,), int
        Detections per class, and how many were true / false positives (the rest matched
        difficult boxes and count as neither).
    recall, precision : list of K ndarrays
        The curves, one point per detection in descending score order.
    """

    ap: np.ndarray
    mAP: float
    n_gt: np.ndarray
    n_dt: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    recall: list
    precision: list
    use_07_metric: bool

    @property
    def summary(self) -> dict:
        return {"mAP": float(self.mAP)}


def voc_ap(recall: np.ndarray, precision: np.ndarray, use_07_metric: bool) -> float:
    """The devkit's ``VOCap`` (all-point) or its VOC2007 11-point loop.

    11-point: ``mean over t in 0, 0.1, ..., 1 of max(precision[recall >= t])`` (0 when no recall
    reaches t). All-point: ``mrec = [0, recall, 1]``, ``mpre = [0, precision, 0]``, the precision made
    non-increasing from the right, and the sum of ``(mrec[i] - mrec[i-1]) * mpre[i]`` where recall
    changes.
    """
    recall = np.asarray(recall, dtype=np.float64)
    precision = np.asarray(precision, dtype=np.float64)
    if use_07_metric:
        ap = 0.0
        for t in VOC07_RECALL_THRESHOLDS:
            reached = precision[recall >= t]
            ap += (reached.max() if reached.size else 0.0) / 11.0
        return float(ap)
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[i] - mrec[i - 1]) * mpre[i]))


def voc_evaluate(n_images: int, n_classes: int, gt_image, gt_class, gt_xyxy, dt_image, dt_class, dt_xyxy,
                 dt_score, gt_difficult=None, use_07_metric: bool = False, iou_threshold: float = 0.5,
                 plus_one: bool = False) -> VocResult:
    """PASCAL VOC detection AP per class, as the devkit's ``VOCevaldet`` and ``VOCap``.

    Parameters
    ----------
    gt_xyxy, dt_xyxy : array_like of shape (G, 4), (D, 4)
        Corner boxes. IoU is the kit's :func:`dltool.core.iou.paired_iou` (continuous
        coordinates); ``plus_one`` counts pixels as the devkit does, ``(x2 - x1 + 1) (y2 - y1 + 1)``.
    gt_difficult : array_like of shape (G,), bool, optional
        Difficult boxes: not counted, and detections on them are neither TP nor FP.
    use_07_metric : bool
        11-point interpolation (VOC2007) instead of all-point (VOC2010+).
    iou_threshold : float
        A detection is correct at IoU >= this (the devkit's ``minoverlap``, 0.5).

    Returns
    -------
    VocResult
    """
    from dltool.core.iou import paired_iou

    s = _check(n_images, n_classes, gt_image, gt_class, gt_xyxy, dt_image, dt_class, dt_xyxy, dt_score,
               gt_ignore=gt_difficult, box_kind="xyxy")
    K = s.n_classes
    difficult = s.gt_ignore
    # Per class, detections in descending score order (equal scores: input order, MATLAB's stable sort).
    order = np.lexsort((np.arange(len(s.dt_score)), -s.dt_score, s.dt_class))
    dkey = (s.dt_image * max(K, 1) + s.dt_class)[order]
    gkey = s.gt_image * max(K, 1) + s.gt_class
    gorder = np.argsort(gkey, kind="stable")
    gkey_sorted = gkey[gorder]
    lo = np.searchsorted(gkey_sorted, dkey, side="left")
    hi = np.searchsorted(gkey_sorted, dkey, side="right")
    counts = hi - lo
    # Every (detection, ground truth of its image and class) pair, by detection then gt order.
    det_of_pair = np.repeat(np.arange(len(order)), counts)
    offsets = np.arange(len(det_of_pair)) - np.repeat(np.cumsum(counts) - counts, counts)
    gt_of_pair = gorder[lo[det_of_pair] + offsets]
    one = 1.0 if plus_one else 0.0
    db = s.dt_box[order][det_of_pair] + [0.0, 0.0, one, one]
    gb = s.gt_box[gt_of_pair] + [0.0, 0.0, one, one]
    ious = paired_iou(db, gb)
    # Best IoU per detection (the first of equal ones, as MATLAB's max); -inf without candidates.
    best_pair = np.full(len(order), -1)
    ovmax = np.full(len(order), -np.inf)
    if len(ious):
        by = np.lexsort((np.arange(len(ious)), -ious, det_of_pair))
        head = np.ones(len(by), dtype=bool)
        head[1:] = det_of_pair[by][1:] != det_of_pair[by][:-1]
        best = by[head]
        best_pair[det_of_pair[best]] = best
        ovmax[det_of_pair[best]] = ious[best]
    hit = ovmax >= iou_threshold
    jmax = np.where(hit, gt_of_pair[np.maximum(best_pair, 0)] if len(ious) else -1, -1)
    on_difficult = hit & difficult[np.maximum(jmax, 0)] if len(difficult) else np.zeros(len(order), bool)
    claims = hit & ~on_difficult
    tp = np.zeros(len(order), dtype=bool)
    # The first claim (in score order) on each ground-truth box is the true positive.
    claimed = np.flatnonzero(claims)
    _, first = np.unique(jmax[claimed], return_index=True)
    tp[claimed[first]] = True
    fp = ~tp & ~on_difficult

    dt_class = s.dt_class[order]
    n_gt = np.bincount(s.gt_class[~difficult], minlength=K)[:K] if K else np.zeros(0, np.int64)
    bounds = np.searchsorted(dt_class, np.arange(K + 1))
    ap = np.full(K, -1.0)
    recalls, precisions = [], []
    n_tp, n_fp = np.zeros(K, dtype=np.int64), np.zeros(K, dtype=np.int64)
    for k in range(K):
        sl = slice(bounds[k], bounds[k + 1])
        tp_c = np.cumsum(tp[sl]).astype(float)
        fp_c = np.cumsum(fp[sl]).astype(float)
        n_tp[k], n_fp[k] = int(tp[sl].sum()), int(fp[sl].sum())
        with np.errstate(divide="ignore", invalid="ignore"):
            # tp + fp = 0 (only difficult matches so far): precision 0, as py-faster-rcnn's eps.
            prec = np.where(tp_c + fp_c > 0, tp_c / (tp_c + fp_c), 0.0)
            rec = tp_c / n_gt[k] if n_gt[k] else np.zeros_like(tp_c)
        recalls.append(rec)
        precisions.append(prec)
        if n_gt[k]:
            ap[k] = voc_ap(rec, prec, use_07_metric)
    valid = ap[n_gt > 0]
    mAP = float(np.mean(valid)) if valid.size else -1.0
    return VocResult(ap, mAP, n_gt, np.diff(bounds), n_tp, n_fp, recalls, precisions, use_07_metric)
