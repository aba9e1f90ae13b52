"""numba kernel of ``dltool map``: pycocotools' greedy matching for every (image, class) group.

Imported only by :func:`dltool.core.detection_eval.coco_evaluate` for inputs large enough to pay
for numba. One small serial kernel, ``nogil``: the groups are split into chunks run on a Python
thread pool, which uses every core without compiling a ``parallel=True`` kernel.
"""

import numpy as np

from dltool.core.jit import njit

# Work per thread chunk below which one thread does all of it: (image, class) groups to match,
# classes to accumulate.
MIN_GROUPS_PER_THREAD = 2000
MIN_CLASSES_PER_THREAD = 8


@njit(nogil=True)
def _match_range(dt_lo, dt_hi, gt_lo, gt_hi, dt_box, gt_box, gt_crowd, gt_ig, thresholds,
                 matched, matched_ig, first, last):
    """COCOeval.evaluateImg's matching for groups first..last-1 (see detection_eval, step 3).

    The IoU is pycocotools' bbIou with the same operation order as ``detection_eval.coco_iou``.
    """
    A = gt_ig.shape[0]
    T = thresholds.shape[0]
    for grp in range(first, last):
        d0, d1, g0, g1 = dt_lo[grp], dt_hi[grp], gt_lo[grp], gt_hi[grp]
        nd, ng = d1 - d0, g1 - g0
        ious = np.zeros((nd, ng))
        for d in range(nd):
            dx, dy, dw, dh = dt_box[d0 + d, 0], dt_box[d0 + d, 1], dt_box[d0 + d, 2], dt_box[d0 + d, 3]
            da = dw * dh
            for j in range(ng):
                gx, gy, gw, gh = gt_box[g0 + j, 0], gt_box[g0 + j, 1], gt_box[g0 + j, 2], gt_box[g0 + j, 3]
                w = min(dw + dx, gw + gx) - max(dx, gx)
                if w <= 0:
                    continue
                h = min(dh + dy, gh + gy) - max(dy, gy)
                if h <= 0:
                    continue
                inter = w * h
                if gt_crowd[g0 + j]:
                    ious[d, j] = inter / da
                else:
                    ious[d, j] = inter / (da + gw * gh - inter)
        order = np.empty(ng, dtype=np.int64)
        taken = np.empty(ng, dtype=np.bool_)
        for a in range(A):
            # Regular boxes first, ignored ones last, each in input order (a stable sort).
            n_regular = 0
            for j in range(ng):
                if not gt_ig[a, g0 + j]:
                    order[n_regular] = j
                    n_regular += 1
            k = n_regular
            for j in range(ng):
                if gt_ig[a, g0 + j]:
                    order[k] = j
                    k += 1
            for t in range(T):
                thr = min(thresholds[t], 1 - 1e-10)
                taken[:] = False
                for d in range(nd):
                    best = thr
                    m = -1
                    m_regular = False
                    for kk in range(ng):
                        j = order[kk]
                        if taken[j] and not gt_crowd[g0 + j]:
                            continue
                        if m > -1 and m_regular and kk >= n_regular:
                            break
                        if ious[d, j] < best:
                            continue
                        best = ious[d, j]
                        m = j
                        m_regular = kk < n_regular
                    if m == -1:
                        continue
                    matched[a, t, d0 + d] = True
                    matched_ig[a, t, d0 + d] = gt_ig[a, g0 + m]
                    taken[m] = True


def coco_match(dt_lo, dt_hi, gt_lo, gt_hi, dt_box, gt_box, gt_crowd, gt_ig, thresholds, matched, matched_ig):
    """Fill ``matched`` / ``matched_ig`` (A, T, D) for every group, on threads for many groups.

    Each group writes only its own detections' columns, so the result does not depend on how the
    groups are split.
    """
    from dltool.core.threads import run_rows

    n = len(dt_lo)
    args = (np.ascontiguousarray(dt_lo, dtype=np.int64), np.ascontiguousarray(dt_hi, dtype=np.int64),
            np.ascontiguousarray(gt_lo, dtype=np.int64), np.ascontiguousarray(gt_hi, dtype=np.int64),
            dt_box, gt_box, gt_crowd, gt_ig, np.ascontiguousarray(thresholds, dtype=np.float64),
            matched, matched_ig)
    run_rows(_match_range, n, *args, min_rows=MIN_GROUPS_PER_THREAD)


@njit(nogil=True)
def _accumulate_range(bounds, acc, rank, score, tp, ig, n_gt, max_dets, rec_thrs, eps,
                      precision, recall, scores, first, last):
    """COCOeval.accumulate for classes first..last-1 (see detection_eval, step 4).

    ``acc`` lists the detections in accumulation order (class, then descending score, then
    image): class k is ``acc[bounds[k]:bounds[k + 1]]``. ``tp`` and ``ig`` (A, T, D): matched, and
    ignored. Same arithmetic as pycocotools: recall ``tp / n_gt``, precision ``tp / ((fp + tp) + eps)``.
    """
    A, T = tp.shape[0], tp.shape[1]
    R = rec_thrs.shape[0]
    for k in range(first, last):
        lo, hi = bounds[k], bounds[k + 1]
        rc = np.empty(hi - lo)
        pr = np.empty(hi - lo)
        sc = np.empty(hi - lo)
        for a in range(A):
            npig = n_gt[k, a]
            if npig == 0:
                continue
            for m in range(max_dets.shape[0]):
                max_det = max_dets[m]
                for t in range(T):
                    nd = 0
                    tps = 0
                    fps = 0
                    for ii in range(lo, hi):
                        i = acc[ii]
                        if rank[i] >= max_det:
                            continue
                        if not ig[a, t, i]:
                            if tp[a, t, i]:
                                tps += 1
                            else:
                                fps += 1
                        ftp = float(tps)
                        rc[nd] = ftp / npig
                        pr[nd] = ftp / ((float(fps) + ftp) + eps)
                        sc[nd] = score[i]
                        nd += 1
                    recall[t, k, a, m] = rc[nd - 1] if nd else 0.0
                    for i in range(nd - 1, 0, -1):
                        if pr[i] > pr[i - 1]:
                            pr[i - 1] = pr[i]
                    i = 0
                    for r in range(R):
                        while i < nd and rc[i] < rec_thrs[r]:
                            i += 1
                        if i < nd:
                            precision[t, r, k, a, m] = pr[i]
                            scores[t, r, k, a, m] = sc[i]
                        else:
                            precision[t, r, k, a, m] = 0.0
                            scores[t, r, k, a, m] = 0.0


def coco_accumulate(bounds, acc, rank, score, tp, ig, n_gt, max_dets, rec_thrs, eps, precision, recall, scores):
    """Fill ``precision``, ``recall``, ``scores`` (pycocotools' shapes, preset to -1), classes on threads."""
    from dltool.core.threads import run_rows

    run_rows(_accumulate_range, len(bounds) - 1, np.ascontiguousarray(bounds, dtype=np.int64),
             np.ascontiguousarray(acc, dtype=np.int64), np.ascontiguousarray(rank, dtype=np.int64),
             np.ascontiguousarray(score, dtype=np.float64),
             np.ascontiguousarray(tp), np.ascontiguousarray(ig), np.ascontiguousarray(n_gt, dtype=np.int64),
             np.asarray(max_dets, dtype=np.int64), np.ascontiguousarray(rec_thrs, dtype=np.float64), float(eps),
             precision, recall, scores, min_rows=MIN_CLASSES_PER_THREAD)


def warm() -> None:
    """Compile (or load) both kernels for the argument types the wrappers pass (``dltool cache warm``)."""
    from dltool.core.detection_eval import IOU_THRESHOLDS, RECALL_THRESHOLDS

    one = np.array([0], dtype=np.int64)
    box = np.array([[0.0, 0.0, 2.0, 2.0]])
    flags = np.zeros((4, 10, 1), dtype=np.bool_)
    coco_match(one, one + 1, one, one + 1, box, box, np.zeros(1, dtype=np.bool_), np.zeros((4, 1), dtype=np.bool_),
               IOU_THRESHOLDS, flags, flags.copy())
    coco_accumulate(np.array([0, 1]), one, one, np.ones(1), flags, flags.copy(), np.ones((1, 4), dtype=np.int64),
                    (1, 10, 100), RECALL_THRESHOLDS, np.spacing(1), -np.ones((10, 101, 1, 4, 3)),
                    -np.ones((10, 1, 4, 3)), -np.ones((10, 101, 1, 4, 3)))
