"""Slow, obvious reference implementations that the fast kernels in ``dltool.core`` are tested against.

Everything here is plain Python on floats, one pair or one box at a time, written to be read rather
than to be fast (the way torchvision's test_ops.py checks its kernels). Conventions, as documented
in ``dltool.core.iou`` / ``dltool.core.nms``:

* boxes are ``xyxy``, continuous coordinates, area ``(x2 - x1) * (y2 - y1)`` with no ``+1``;
* a denominator of 0 drops its term instead of producing NaN, so a zero-area box has IoU 0 with
  everything, itself included;
* greedy NMS visits boxes by descending score, equal scores by the lower index, and suppresses a
  box when its IoU with an already kept box is strictly greater than the threshold.
"""

import math

import numpy as np


def _coords(box):
    x1, y1, x2, y2 = (float(v) for v in box)
    return x1, y1, x2, y2


def _iou_and_union(a, b):
    ax1, ay1, ax2, ay2 = _coords(a)
    bx1, by1, bx2, by2 = _coords(b)
    area_a = (ax2 - ax1) * (ay2 - ay1)
    area_b = (bx2 - bx1) * (by2 - by1)
    iw = min(ax2, bx2) - max(ax1, bx1)
    ih = min(ay2, by2) - max(ay1, by1)
    inter = iw * ih if (iw > 0 and ih > 0) else 0.0
    union = area_a + area_b - inter
    iou = inter / union if union > 0 else 0.0
    return iou, union


def _enclosing(a, b):
    """Width and height of the smallest box enclosing a and b."""
    ax1, ay1, ax2, ay2 = _coords(a)
    bx1, by1, bx2, by2 = _coords(b)
    return max(ax2, bx2) - min(ax1, bx1), max(ay2, by2) - min(ay1, by1)


def iou_pair(a, b):
    """|A ∩ B| / |A ∪ B|; 0 when the union is empty."""
    return _iou_and_union(a, b)[0]


def giou_pair(a, b):
    """IoU − (|C| − |A ∪ B|) / |C|, C the enclosing box; the term is dropped when |C| = 0."""
    iou, union = _iou_and_union(a, b)
    cw, ch = _enclosing(a, b)
    area_c = cw * ch
    if area_c <= 0:
        return iou
    return iou - (area_c - union) / area_c


def diou_pair(a, b):
    """IoU − ρ² / c², ρ the distance between the centres, c the diagonal of the enclosing box."""
    iou = iou_pair(a, b)
    ax1, ay1, ax2, ay2 = _coords(a)
    bx1, by1, bx2, by2 = _coords(b)
    cw, ch = _enclosing(a, b)
    c2 = cw ** 2 + ch ** 2
    if c2 <= 0:
        return iou
    rho2 = ((ax1 + ax2) / 2 - (bx1 + bx2) / 2) ** 2 + ((ay1 + ay2) / 2 - (by1 + by2) / 2) ** 2
    return iou - rho2 / c2


def _aspect_angle(box):
    """atan(w / h), taking its limit π/2 when h = 0 < w, and 0 for a point."""
    x1, y1, x2, y2 = _coords(box)
    w, h = x2 - x1, y2 - y1
    if h > 0:
        return math.atan(w / h)
    return math.pi / 2 if w > 0 else 0.0


def ciou_pair(a, b):
    """DIoU − α v, v = 4/π² (atan(w_B/h_B) − atan(w_A/h_A))², α = v / (1 − IoU + v)."""
    iou = iou_pair(a, b)
    v = 4 / math.pi ** 2 * (_aspect_angle(b) - _aspect_angle(a)) ** 2
    denom = 1 - iou + v
    alpha = v / denom if denom > 0 else 0.0
    return diou_pair(a, b) - alpha * v


PAIR_METRICS = {"iou": iou_pair, "giou": giou_pair, "diou": diou_pair, "ciou": ciou_pair}


def iou_matrix_loop(A, B, metric="iou"):
    """The (N, M) matrix, one pair at a time, as nested lists of floats."""
    f = PAIR_METRICS[metric]
    return [[f(a, b) for b in B] for a in A]


def greedy_nms(boxes, scores, t):
    """Greedy NMS, torchvision semantics: kept indices in descending score order (ties: lower index)."""
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))
    keep = []
    for i in order:
        if all(iou_pair(boxes[k], boxes[i]) <= t for k in keep):
            keep.append(i)
    return keep


def grouped_nms(boxes, scores, groups, t):
    """NMS run separately per group; the union of the results in descending score order (ties: index)."""
    keep = []
    for g in sorted(set(int(v) for v in groups)):
        members = [i for i in range(len(scores)) if int(groups[i]) == g]
        sub = greedy_nms([boxes[i] for i in members], [scores[i] for i in members], t)
        keep.extend(members[j] for j in sub)
    return sorted(keep, key=lambda i: (-float(scores[i]), i))


def soft_nms_ref(boxes, scores, t=0.3, sigma=0.5, method="linear", min_score=0.001, groups=None):
    """Soft-NMS (Bodla et al. 2017) as documented in ``dltool.core.nms.soft_nms``.

    Repeatedly take the remaining box with the highest current score (ties: the lower index) and
    decay the scores of the others: ``linear``: × (1 − IoU) when IoU > t; ``gaussian``: × exp(−IoU²/σ)
    for every box. A box whose score is (or decays to) <= ``min_score`` is dropped.

    Returns ``(keep, new_scores)``: kept indices in descending decayed score (ties: lower index) and
    their decayed scores.
    """
    if groups is None:
        groups = [0] * len(scores)
    final = {}
    for g in sorted(set(int(v) for v in groups)):
        current = {i: float(scores[i]) for i in range(len(scores))
                   if int(groups[i]) == g and float(scores[i]) > min_score}
        while current:
            best = min(current, key=lambda i: (-current[i], i))
            final[best] = current.pop(best)
            for j in list(current):
                o = iou_pair(boxes[best], boxes[j])
                if method == "gaussian":
                    current[j] *= math.exp(-(o * o) / sigma)
                elif o > t:
                    current[j] *= 1 - o
                if current[j] <= min_score:
                    del current[j]
    keep = sorted(final, key=lambda i: (-final[i], i))
    return keep, [final[i] for i in keep]


# ---------------------------------------------------------------- anchors (k-means with 1 - IoU)


def wh_iou_pair(w, h, aw, ah):
    """IoU of two box shapes sharing a centre."""
    inter = min(w, aw) * min(h, ah)
    return inter / (w * h + aw * ah - inter)


def assign_ref(wh, anchors):
    """Each box to its anchor of highest IoU (first on ties), pair by pair."""
    labels, best = [], []
    for w, h in wh:
        ious = [wh_iou_pair(w, h, aw, ah) for aw, ah in anchors]
        j = max(range(len(ious)), key=lambda t: (ious[t], -t))
        labels.append(j)
        best.append(ious[j])
    return np.array(labels), np.array(best)


def lloyd_ref(wh, centroids, update="median", max_iter=300, tol=1e-9, backtrack=(1.0, 0.5, 0.25, 0.125)):
    """Plain Lloyd k-means with d = 1 - IoU: assign, move each centroid to its cluster's median (or
    mean); an empty cluster goes to the worst-served box; a step that lowers the average IoU is
    shortened (1/2, 1/4, 1/8) or ends the run. Returns (centroids, history of avg IoU)."""
    wh = np.asarray(wh, dtype=float)
    c = np.array(centroids, dtype=float)
    labels, best = assign_ref(wh, c)
    history = [best.mean()]
    for _ in range(max_iter):
        target = np.empty_like(c)
        empty = []
        for j in range(len(c)):
            members = wh[labels == j]
            if len(members) == 0:
                empty.append(j)
            else:
                target[j] = np.median(members, axis=0) if update == "median" else members.mean(axis=0)
        worst = np.argsort(best, kind="stable")
        for n, j in enumerate(empty):
            target[j] = wh[worst[n]]
        for fraction in backtrack:
            proposal = c + fraction * (target - c)
            new_labels, new_best = assign_ref(wh, proposal)
            if new_best.mean() >= history[-1]:
                break
        else:
            break
        gain = new_best.mean() - history[-1]
        unchanged = np.array_equal(new_labels, labels)
        c, labels, best = proposal, new_labels, new_best
        history.append(best.mean())
        if unchanged or gain < tol:
            break
    return c, history


# ---------------------------------------------------------------- optimizers, as the course writes them


def course_update(name, W, dW, state, t, lr, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """One parameter update with the course's equations (C2W2); ``state`` holds v and s."""
    v, s = state.setdefault("v", np.zeros_like(W)), state.setdefault("s", np.zeros_like(W))
    if name == "gd":
        return W - lr * dW
    if name == "momentum":
        state["v"] = beta1 * v + (1 - beta1) * dW
        return W - lr * state["v"]
    if name == "rmsprop":
        state["s"] = beta2 * s + (1 - beta2) * dW ** 2
        return W - lr * dW / (np.sqrt(state["s"]) + epsilon)
    state["v"] = beta1 * v + (1 - beta1) * dW
    state["s"] = beta2 * s + (1 - beta2) * dW ** 2
    v_corrected = state["v"] / (1 - beta1 ** t)
    s_corrected = state["s"] / (1 - beta2 ** t)
    return W - lr * v_corrected / (np.sqrt(s_corrected) + epsilon)


def numerical_gradient(f, theta, eps=1e-6):
    """Two-sided finite differences of a scalar function, coordinate by coordinate."""
    theta = np.array(theta, dtype=float)
    grad = np.zeros_like(theta)
    for i in np.ndindex(theta.shape):
        plus, minus = theta.copy(), theta.copy()
        plus[i] += eps
        minus[i] -= eps
        grad[i] = (f(plus) - f(minus)) / (2 * eps)
    return grad
