"""Logistic / softmax regression (dltool.core.logreg): the course's worked numbers, gradients
against finite differences, every optimizer against the course's update equations step by step,
and training behaviour on both code paths."""

import math

import numpy as np
import pytest

from dltool.core import logreg
from dltool.core.logreg import Hyper, cost_and_grads, predict_proba, sigmoid, train
from dltool.errors import InputError
from reference import course_update, numerical_gradient

PATHS = {"numpy": 10**18, "numba": 0}


@pytest.fixture(params=list(PATHS))
def path(request, monkeypatch):
    monkeypatch.setattr(logreg, "NUMBA_MIN_VALUES", PATHS[request.param])
    return request.param


# ---------------------------------------------------------------- the course's numbers (C1W2)

# propagate(w, b, X, Y) with the course's X (n_x, m); ours is (m, n_x).
W0 = np.array([[1.0, 2.0]])
B0 = np.array([2.0])
X0 = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]]).T
Y0 = np.array([1, 0, 1])


def test_sigmoid_course_values_and_extremes():
    np.testing.assert_allclose(sigmoid(np.array([0.0, 2.0])), [0.5, 0.88079708], atol=1e-8)
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # no overflow or log(0)
        np.testing.assert_array_equal(sigmoid(np.array([-1000.0, 1000.0])), [0.0, 1.0])


def test_propagate_course_values():
    cost, dW, db = cost_and_grads(W0, B0, X0, Y0)
    assert cost == pytest.approx(5.801545319394553, abs=1e-12)
    np.testing.assert_allclose(dW, [[0.99845601, 2.39507239]], atol=1e-8)
    np.testing.assert_allclose(db, [0.00145557813678], atol=1e-12)


def test_optimize_course_values():
    W, b = W0.copy(), B0.copy()
    for _ in range(100):
        cost, dW, db = cost_and_grads(W, b, X0, Y0)
        W, b = W - 0.009 * dW, b - 0.009 * db
    np.testing.assert_allclose(W, [[0.19033591, 0.12259159]], atol=1e-8)
    np.testing.assert_allclose(b, [1.92535983008], atol=1e-10)
    np.testing.assert_allclose(dW, [[0.67752042, 1.41625495]], atol=1e-8)
    np.testing.assert_allclose(db, [0.219194504541], atol=1e-11)


def test_predict_course_values():
    W = np.array([[0.1124579, 0.23106775]])
    X = np.array([[1.0, -1.1, -3.2], [1.2, 2.0, 0.1]]).T
    p = predict_proba(W, np.array([-0.3]), X)[:, 1]
    np.testing.assert_array_equal(p > 0.5, [True, True, False])


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("n_y", [1, 4])
@pytest.mark.parametrize("l2", [0.0, 0.7])
def test_gradients_match_finite_differences(n_y, l2):
    rng = np.random.default_rng(n_y)
    X = rng.standard_normal((13, 5))
    y = rng.integers(0, max(n_y, 2), 13)
    W = rng.standard_normal((n_y, 5))
    b = rng.standard_normal(n_y)
    _, dW, db = cost_and_grads(W, b, X, y, l2)
    np.testing.assert_allclose(dW, numerical_gradient(lambda w: cost_and_grads(w, b, X, y, l2)[0], W), atol=1e-8)
    np.testing.assert_allclose(db, numerical_gradient(lambda v: cost_and_grads(W, v, X, y, l2)[0], b), atol=1e-8)


def test_cost_stable_on_extreme_logits():
    X = np.array([[1000.0], [-1000.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        cost, dW, db = cost_and_grads(np.array([[1.0]]), np.array([0.0]), X, np.array([0, 1]))
        cost_soft, _, _ = cost_and_grads(np.array([[1.0], [-1.0], [0.0]]), np.zeros(3), X, np.array([1, 0]))
    assert cost == pytest.approx(1000.0)  # each example is wrong by a margin of 1000
    assert cost_soft == pytest.approx(2000.0)
    assert np.isfinite(dW).all() and np.isfinite(db).all()


def test_binary_and_two_class_softmax_agree_on_probabilities():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 3))
    w = rng.standard_normal((1, 3))
    # softmax with logits (0, z) is the sigmoid of z
    p_sigmoid = predict_proba(w, np.array([0.5]), X)
    p_softmax = predict_proba(np.vstack([np.zeros((1, 3)), w]), np.array([0.0, 0.5]), X)
    np.testing.assert_allclose(p_sigmoid, p_softmax, atol=1e-15)


# ---------------------------------------------------------------- optimizers, step by step


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "rmsprop", "adam"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_training_equals_the_course_update_equations(path, optimizer, n_classes):
    """Full-batch training for a few epochs equals the course's equations applied by hand."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((40, 6))
    y = rng.integers(0, n_classes, 40)
    hyper = Hyper(epochs=7, batch_size=0, optimizer=optimizer, lr=0.05, lr_decay=0.5, l2=0.3, tol=0)
    W, b, history = train(X, y, n_classes, hyper)

    K = 1 if n_classes == 2 else n_classes
    W_ref, b_ref = np.zeros((K, 6)), np.zeros(K)
    state_W, state_b = {}, {}
    costs = []
    for epoch in range(7):
        lr = 0.05 / (1 + 0.5 * epoch)
        cost, dW, db = cost_and_grads(W_ref, b_ref, X, y, l2=0.3)
        costs.append(cost)
        W_ref = course_update(optimizer, W_ref, dW, state_W, epoch + 1, lr)
        b_ref = course_update(optimizer, b_ref, db, state_b, epoch + 1, lr)
    np.testing.assert_allclose(W, W_ref, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(b, b_ref, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(history.cost, costs, rtol=1e-12)


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "rmsprop", "adam"])
def test_mini_batches_equal_the_course_equations_batch_by_batch(path, optimizer):
    """Mini-batch training = the course's loop over the (once shuffled) batches, in the visiting order."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 4))
    y = rng.integers(0, 3, 50)
    hyper = Hyper(epochs=3, batch_size=16, optimizer=optimizer, lr=0.02, lr_decay=1.0, l2=0.5, tol=0, seed=9)
    W, b, history = train(X, y, 3, hyper)

    shuffle = np.random.default_rng(9)
    order = shuffle.permutation(50)
    Xs, ys = X[order], y[order]
    starts = np.arange(0, 50, 16)
    W_ref, b_ref, state_W, state_b, t = np.zeros((3, 4)), np.zeros(3), {}, {}, 0
    for epoch in range(3):
        lr = 0.02 / (1 + epoch)
        for lo in shuffle.permutation(starts):
            xb, yb = Xs[lo:lo + 16], ys[lo:lo + 16]
            _, dW, db = cost_and_grads(W_ref, b_ref, xb, yb)
            dW = dW + 0.5 / 50 * W_ref  # the L2 gradient is lambda/m W, m the whole training set
            t += 1
            W_ref = course_update(optimizer, W_ref, dW, state_W, t, lr)
            b_ref = course_update(optimizer, b_ref, db, state_b, t, lr)
    np.testing.assert_allclose(W, W_ref, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(b, b_ref, rtol=1e-10, atol=1e-13)


def test_numpy_and_numba_paths_train_the_same_model(monkeypatch):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((3000, 20))
    y = (X[:, 0] + 0.5 * rng.standard_normal(3000) > 0).astype(int) + (X[:, 1] > 1)
    results = []
    for threshold in PATHS.values():
        monkeypatch.setattr(logreg, "NUMBA_MIN_VALUES", threshold)
        results.append(train(X, y, 3, Hyper(epochs=20, batch_size=64, tol=0)))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(results[0][2].cost, results[1][2].cost, rtol=1e-12)


# ---------------------------------------------------------------- training behaviour


def test_separable_data_reaches_100_percent(path):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 2))
    y = (X[:, 0] - 2 * X[:, 1] > 0).astype(int)
    X += np.where(y[:, None] == 1, 0.3, -0.3) * np.array([1.0, -2.0]) / math.sqrt(5)  # a margin
    W, b, _ = train(X, y, 2, Hyper(l2=0.0))
    assert (predict_proba(W, b, X).argmax(axis=1) == y).mean() == 1.0


def test_three_gaussian_classes_softmax(path):
    rng = np.random.default_rng(4)
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    y = rng.integers(0, 3, 600)
    X = centres[y] + rng.standard_normal((600, 2))
    W, b, history = train(X, y, 3, Hyper())
    assert W.shape == (3, 2) and b.shape == (3,)
    assert (predict_proba(W, b, X).argmax(axis=1) == y).mean() > 0.95
    assert history.cost[-1] < history.cost[0]


def test_early_stopping_and_epoch_limit(path):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((200, 3))
    y = (X[:, 0] > 0).astype(int)
    _, _, stopped = train(X, y, 2, Hyper(epochs=5000, tol=1e-3))
    assert stopped.stopped_early and stopped.epochs < 5000
    _, _, full = train(X, y, 2, Hyper(epochs=37, tol=0))
    assert full.epochs == 37 and not full.stopped_early


def test_same_seed_same_model(path):
    rng = np.random.default_rng(6)
    X = rng.standard_normal((5000, 5))
    y = (X.sum(axis=1) > 0).astype(int)
    a = train(X, y, 2, Hyper(epochs=3, tol=0, seed=4))
    b = train(X, y, 2, Hyper(epochs=3, tol=0, seed=4))
    np.testing.assert_array_equal(a[0], b[0])
    c = train(X, y, 2, Hyper(epochs=3, tol=0, seed=5))
    assert not np.array_equal(a[0], c[0])


def test_validation_cost_is_recorded(path):
    rng = np.random.default_rng(8)
    X = rng.standard_normal((100, 3))
    y = (X[:, 0] > 0).astype(int)
    _, _, history = train(X[:80], y[:80], 2, Hyper(epochs=10, tol=0), X[80:], y[80:])
    assert len(history.val_cost) == 10 and all(np.isfinite(history.val_cost))


def test_auto_batch_size_and_decay():
    assert Hyper().resolve(4096).batch_size == 0 and Hyper().resolve(4096).lr_decay == 0.0
    big = Hyper().resolve(4097)
    assert big.batch_size == 512 and big.lr_decay == 1.0
    explicit = Hyper(batch_size=32, lr_decay=0.25).resolve(100)
    assert explicit.batch_size == 32 and explicit.lr_decay == 0.25
    assert Hyper(batch_size=32).resolve(100).lr_decay == 1.0
    # auto learning rate: 0.01 up to 100 features, scaled by sqrt(100 / n) beyond
    assert Hyper().resolve(10, 30).lr == 0.01 and Hyper().resolve(10, 100).lr == 0.01
    assert Hyper().resolve(10, 12288).lr == pytest.approx(0.01 * math.sqrt(100 / 12288))
    assert Hyper(lr=0.5).resolve(10, 12288).lr == 0.5


def test_divergence_is_a_clear_error():
    X = np.array([[1e200], [-1e200]])
    with pytest.raises(InputError, match="diverged"), np.errstate(all="raise"):
        train(X, np.array([0, 1]), 2, Hyper(lr=1e10, optimizer="gd", epochs=5))


@pytest.mark.parametrize("bad", [dict(optimizer="sgd"), dict(lr=0), dict(lr=float("nan")), dict(beta1=1.0),
                                 dict(beta2=-0.1), dict(l2=-1), dict(epochs=0), dict(batch_size=-1)])
def test_bad_settings(bad):
    with pytest.raises(InputError):
        Hyper(**bad).check_values()


# ---------------------------------------------------------------- helpers


def test_encode_labels_numeric_order_and_text():
    assert logreg.encode_labels(["10", "2", "2", "1"]) == (["1", "2", "10"], pytest.approx(np.array([2, 1, 1, 0])))
    classes, idx = logreg.encode_labels(["cat", "dog", "cat"])
    assert classes == ["cat", "dog"] and idx.tolist() == [0, 1, 0]


def test_stratified_split_keeps_every_class():
    y = np.array([0] * 10 + [1] * 4 + [2] * 2)
    train_rows, val_rows = logreg.stratified_split(y, 0.25, seed=0)
    assert sorted(np.concatenate([train_rows, val_rows]).tolist()) == list(range(16))
    assert np.bincount(y[val_rows]).tolist() == [2, 1, 1]
    assert set(y[train_rows].tolist()) == {0, 1, 2}


def test_standardization_constant_feature():
    mean, std = logreg.standardization(np.array([[1.0, 5.0], [3.0, 5.0]]))
    assert mean.tolist() == [2.0, 5.0] and std.tolist() == [1.0, 1.0]


def test_confusion_matrix():
    cm = logreg.confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 0]), 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]
