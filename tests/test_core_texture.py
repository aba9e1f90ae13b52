"""Texture synthesis (dltool.core.texture) and L-BFGS (dltool.core.lbfgs): the Fourier-domain
features against a direct correlation loop, the hand-written gradient against finite differences,
the style cost's properties (0 on itself, symmetric, invariant to circular shifts), the optimizers
on textbook problems, and short syntheses."""

import numpy as np
import pytest

from dltool.core import texture as tx
from dltool.core.lbfgs import lbfgs
from dltool.errors import InputError


def small_bank(sizes=(3, 5), per_size=3, seed=1):
    return tx.random_bank(sizes, per_size, seed=seed)


def periodic_texture(rng, H=24, W=24):
    """A smooth random image in [0, 1] (any image is periodic for circular padding)."""
    a = rng.uniform(0, 1, (H, W, 3))
    blurred = (a + np.roll(a, 1, 0) + np.roll(a, 1, 1) + np.roll(a, (1, 1), (0, 1))) / 4
    return blurred


# ---------------------------------------------------------------- reference implementations


def direct_features(img, bank, padding):
    """Slow, obvious: z_k[h, w] = Σ_{i,j,c} (x − centre)[h + i − f//2, w + j − f//2, c] W[i, j, c, k],
    indices taken modulo the image size; ReLU; 'valid' keeps the rows and columns that never wrap."""
    x = img - bank.center
    H, W, _ = x.shape
    out = []
    for f, Wt in bank.groups:
        c0 = f // 2
        z = np.zeros((H, W, Wt.shape[3]))
        for h in range(H):
            for w in range(W):
                for i in range(f):
                    for j in range(f):
                        z[h, w] += x[(h + i - c0) % H, (w + j - c0) % W] @ Wt[i, j]
        z = np.maximum(z, 0)
        if padding == "valid":
            z = z[c0:H - f + c0 + 1, c0:W - f + c0 + 1]
        out.append(z)
    return out


def reference_cost(x, targets, bank, padding, content=None, alpha=tx.ALPHA, beta=tx.BETA):
    """J from the direct features, the course's formulas written out."""
    fx = direct_features(x, bank, padding)
    J = 0.0
    lam = 1.0 / len(fx)
    for l, a in enumerate(fx):
        n_H, n_W, n_C = a.shape
        F = a.reshape(-1, n_C)
        G = F.T @ F
        # targets are per-position Grams: the course's form with G(S) = T · n_H n_W
        J += beta * lam / (2.0 * n_H * n_W * n_C) ** 2 * np.sum((targets[l] * n_H * n_W - G) ** 2)
        if content is not None:
            c = direct_features(content, bank, padding)[l]
            J += alpha * lam / (4.0 * n_H * n_W * n_C) * np.sum((a - c) ** 2)
    return J


def numeric_grad(fun, x, h=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        g[idx] = (fun(xp) - fun(xm)) / (2 * h)
    return g


# ---------------------------------------------------------------- banks and features


@pytest.mark.parametrize("padding", ["circular", "valid"])
def test_features_match_a_direct_correlation_loop(padding):
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 1, (9, 11, 3))
    bank = tx.random_bank((1, 3, 4), per_size=2, seed=3)  # an even size too: centred at f // 2
    fast = tx.features(img, bank, padding)
    slow = direct_features(img, bank, padding)
    for a, b in zip(fast, slow):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_filters_larger_than_the_image_wrap_around():
    rng = np.random.default_rng(1)
    img = rng.uniform(0, 1, (6, 7, 3))
    bank = tx.random_bank((9,), per_size=2, seed=0)
    np.testing.assert_allclose(tx.features(img, bank, "circular")[0], direct_features(img, bank, "circular")[0],
                               rtol=1e-10, atol=1e-12)
    with pytest.raises(InputError, match="smaller than"):
        tx.features(img, bank, "valid")


@pytest.mark.parametrize("features", list(tx.FEATURES))
@pytest.mark.parametrize("padding", ["circular", "valid"])
def test_feature_shapes_for_each_bank(features, padding):
    bank = tx.make_bank(features)
    H, W = 64, 60
    maps = tx.features(np.full((H, W, 3), 0.3), bank, padding)
    assert len(maps) == len(bank.groups)
    for (f, Wt), a in zip(bank.groups, maps):
        if padding == "circular":
            assert a.shape == (H, W, Wt.shape[3])
        else:
            assert a.shape == (H - f + 1, W - f + 1, Wt.shape[3])
        assert a.min() >= 0  # ReLU
    assert sum(a.shape[2] for a in maps) == bank.n_channels


def test_default_banks():
    bank = tx.random_bank()
    assert bank.sizes == list(tx.DEFAULT_SIZES) and bank.n_channels == len(tx.DEFAULT_SIZES) * tx.DEFAULT_PER_SIZE
    for f, W in bank.groups:
        np.testing.assert_allclose(np.sqrt(np.sum(W * W, axis=(0, 1, 2))), 4.0)  # each filter's L2 norm
        assert np.abs(W).max() > 0
    # seeded: same seed, same filters; another seed, others
    again, other = tx.random_bank(seed=0), tx.random_bank(seed=1)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(bank.groups, again.groups))
    assert not np.array_equal(bank.groups[0][1], other.groups[0][1])
    fixed = tx.fixed_bank()
    assert fixed.sizes == [7, 13, 25] and fixed.n_channels == 144
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(fixed.groups, tx.fixed_bank().groups))
    rgb = tx.rgb_bank()
    img = np.random.default_rng(0).uniform(0, 1, (5, 6, 3))
    np.testing.assert_allclose(tx.features(img, rgb)[0], img, atol=1e-12)  # the raw channels


def test_make_bank_registry_and_errors():
    assert set(tx.FEATURES) == {"random", "bank", "rgb"}
    assert tx.make_bank("random", sizes=(3, 7), per_size=5).n_channels == 10
    for bad in [dict(sizes=(3, 3)), dict(sizes=(0,)), dict(per_size=0), dict(sizes="abc")]:
        with pytest.raises(InputError):
            tx.make_bank("random", **bad)
    with pytest.raises(InputError, match="--features random"):
        tx.make_bank("bank", per_size=4)
    with pytest.raises(InputError, match="unknown features"):
        tx.make_bank("vgg")
    with pytest.raises(InputError, match="shape"):
        tx.FilterBank([(3, np.zeros((3, 3, 1, 2)))])


def test_bad_images_are_refused():
    bank = small_bank()
    for bad in [np.zeros((4, 4)), np.zeros((4, 4, 4)), np.full((4, 4, 3), np.nan), np.array([["a"]])]:
        with pytest.raises(InputError):
            tx.style_targets(bad, bank)
    with pytest.raises(InputError, match="padding"):
        tx.features(np.zeros((8, 8, 3)), bank, "same")


# ---------------------------------------------------------------- the style cost


def test_style_cost_of_an_image_with_itself_is_zero():
    rng = np.random.default_rng(2)
    bank = small_bank()
    img = rng.uniform(0, 1, (16, 16, 3))
    assert tx.style_distance(img, img, bank) == 0.0
    for padding in ("circular", "valid"):
        J, g = tx.loss_and_grad(img, tx.style_targets(img, bank, padding), bank, padding=padding)
        assert abs(J) < 1e-20
        assert np.abs(g).max() < 1e-12


def test_style_distance_is_symmetric_and_positive():
    rng = np.random.default_rng(3)
    bank = small_bank()
    a, b = rng.uniform(0, 1, (16, 16, 3)), rng.uniform(0, 1, (16, 16, 3)) ** 2
    for padding in ("circular", "valid", "auto"):
        d_ab = tx.style_distance(a, b, bank, padding)
        assert d_ab > 0
        assert d_ab == pytest.approx(tx.style_distance(b, a, bank, padding), rel=1e-12)


def test_gram_distance_of_targets_is_the_style_distance():
    rng = np.random.default_rng(15)
    bank = small_bank()
    a, b = rng.uniform(0, 1, (16, 16, 3)), rng.uniform(0, 1, (20, 18, 3))  # sizes may differ
    A, B = tx.style_targets(a, bank, "valid"), tx.style_targets(b, bank, "valid")
    assert tx.gram_distance(A, B) == pytest.approx(tx.style_distance(a, b, bank, "valid"), rel=1e-12)
    assert tx.gram_distance(A, B, [1, 0]) < tx.gram_distance(A, B, [1, 1])
    with pytest.raises(InputError, match="banks"):
        tx.gram_distance(A, B[:1])


def test_style_distance_is_the_course_cost_for_equal_sizes():
    rng = np.random.default_rng(4)
    bank = small_bank()
    a, b = rng.uniform(0, 1, (10, 12, 3)), rng.uniform(0, 1, (10, 12, 3))
    expected = 0.0
    for fa, fb in zip(tx.features(a, bank, "valid"), tx.features(b, bank, "valid")):
        n_H, n_W, n_C = fa.shape
        Ga = fa.reshape(-1, n_C).T @ fa.reshape(-1, n_C)
        Gb = fb.reshape(-1, n_C).T @ fb.reshape(-1, n_C)
        expected += 0.5 * np.sum((Ga - Gb) ** 2) / (2.0 * n_H * n_W * n_C) ** 2  # λ = 1/2 each
    assert tx.style_distance(a, b, bank, "valid") == pytest.approx(expected, rel=1e-12)


def test_style_cost_is_invariant_to_translating_a_periodic_texture():
    rng = np.random.default_rng(5)
    bank = small_bank((3, 5, 9), 4)
    img = periodic_texture(rng, 24, 20)
    for shift in [(5, 0), (0, 7), (11, 13)]:
        moved = np.roll(img, shift, axis=(0, 1))
        assert tx.style_distance(img, moved, bank, "circular") < 1e-12 * tx.style_distance(img, img ** 2, bank,
                                                                                             "circular")
    # the same translation seen through 'valid' padding changes the statistics
    assert tx.style_distance(img, np.roll(img, (11, 13), axis=(0, 1)), bank, "valid") > 1e-8


def test_wraps_around_and_auto_padding():
    rng = np.random.default_rng(6)
    tile = periodic_texture(rng, 16, 16)
    tiled = np.tile(tile, (2, 2, 1))
    assert tx.wraps_around(tiled)
    assert tx.resolve_padding("auto", tiled) == "circular"
    y, x = np.mgrid[0:32, 0:32] / 31.0
    ramp = np.stack([y, x, 0.5 * (x + y)], axis=-1)  # a smooth photo-like image: its edges differ
    assert not tx.wraps_around(ramp)
    assert tx.resolve_padding("auto", tiled, ramp) == "valid"
    assert tx.resolve_padding("circular", ramp) == "circular"


# ---------------------------------------------------------------- the gradient


@pytest.mark.parametrize("padding", ["circular", "valid"])
@pytest.mark.parametrize("with_content", [False, True])
def test_loss_and_grad_against_finite_differences(padding, with_content):
    rng = np.random.default_rng(7)
    bank = tx.random_bank((3, 5), per_size=3, seed=2)
    style, x, content = (rng.uniform(0, 1, (12, 12, 3)) for _ in range(3))
    content = content if with_content else None
    targets = tx.style_targets(style, bank, padding)
    J, g = tx.loss_and_grad(x, targets, bank, content=content, padding=padding)
    assert J == pytest.approx(reference_cost(x, targets, bank, padding, content), rel=1e-10)
    num = numeric_grad(lambda v: tx.loss_and_grad(v, targets, bank, content=content, padding=padding)[0], x)
    assert np.abs(g - num).max() <= 1e-6 * np.abs(num).max()


def test_gradient_with_layer_weights_blends_and_a_wrapping_filter():
    rng = np.random.default_rng(8)
    bank = tx.random_bank((3, 13), per_size=2, seed=4)  # 13 > 10: wraps onto itself
    s1, s2, x = (rng.uniform(0, 1, (10, 10, 3)) for _ in range(3))
    targets = tx.blend_targets([tx.style_targets(s, bank, "circular") for s in (s1, s2)], [3, 1])
    lw = [0.7, 0.3]
    J, g = tx.loss_and_grad(x, targets, bank, layer_weights=lw, beta=2.0)
    num = numeric_grad(lambda v: tx.loss_and_grad(v, targets, bank, layer_weights=lw, beta=2.0)[0], x)
    assert np.abs(g - num).max() <= 1e-6 * np.abs(num).max()


def test_float32_agrees_with_float64():
    rng = np.random.default_rng(9)
    bank = tx.random_bank((3, 7, 15), per_size=16, seed=0)
    style, x = rng.uniform(0, 1, (32, 32, 3)), rng.uniform(0, 1, (32, 32, 3))
    targets = tx.style_targets(style, bank, "circular")
    J64, g64 = tx.loss_and_grad(x, targets, bank, precision="float64")
    J32, g32 = tx.loss_and_grad(x, targets, bank, precision="float32")
    assert J32 == pytest.approx(J64, rel=1e-4)
    assert np.abs(g32 - g64).max() <= 1e-3 * np.abs(g64).max()


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_the_objective_never_writes_into_the_callers_image(precision):
    # A channel-first array seen as (H, W, 3): its transpose back is contiguous float64, which
    # numpy does not copy; centring it in place used to subtract 0.5 from the caller's pixels.
    rng = np.random.default_rng(10)
    bank = small_bank()
    channels = rng.uniform(0, 1, (3, 16, 16))
    view = channels.transpose(1, 2, 0)
    before = channels.copy()
    targets = tx.style_targets(rng.uniform(0, 1, (16, 16, 3)), bank, "circular")
    objective = tx.Objective((16, 16), targets, bank, precision=precision)
    J, g = objective(view)
    np.testing.assert_array_equal(channels, before)
    assert (J, g.tolist()) == (objective(np.ascontiguousarray(view))[0], objective(view)[1].tolist())
    tx.features(view, bank)
    tx.style_targets(view, bank, "circular", precision)
    np.testing.assert_array_equal(channels, before)


def test_threads_are_the_callers_and_give_the_same_numbers():
    rng = np.random.default_rng(11)
    bank = tx.random_bank((3, 5, 9), per_size=20, seed=2)  # 60 filters: several blocks per thread
    style, x = rng.uniform(0, 1, (24, 24, 3)), rng.uniform(0, 1, (24, 24, 3))
    targets = tx.style_targets(style, bank, "circular")
    serial = tx.Objective((24, 24), targets, bank, precision="float64")(x)
    with tx.workers(2) as pool:
        assert pool is not None
        shared = tx.Objective((24, 24), targets, bank, precision="float64", executor=pool)(x)
        assert tx.style_targets(style, bank, "circular", executor=pool)[0].tolist() == targets[0].tolist()
    assert pool._shutdown  # closed by the with block that made it
    assert shared[0] == pytest.approx(serial[0], rel=1e-12)
    np.testing.assert_allclose(shared[1], serial[1], rtol=0, atol=1e-12 * np.abs(serial[1]).max())
    with tx.workers(1) as none:
        assert none is None  # one thread: no pool to start


def test_no_module_level_threads_or_ctypes():
    import pathlib
    import threading

    package = pathlib.Path(tx.__file__).resolve().parents[2]
    sources = "\n".join(p.read_text() for p in package.rglob("*.py"))
    assert "ctypes" not in sources and "/proc/self/maps" not in sources
    before = {t.name for t in threading.enumerate()}
    image, _ = tx.synthesize(periodic_texture(np.random.default_rng(12), 16, 16), 16, small_bank(), iterations=2)
    assert not [t for t in threading.enumerate() if t.name.startswith("dltool-texture") and t.name not in before]


def test_blend_targets():
    a = [np.eye(2), np.ones((3, 3))]
    b = [3 * np.eye(2), np.zeros((3, 3))]
    out = tx.blend_targets([a, b], [1, 3])
    np.testing.assert_allclose(out[0], 2.5 * np.eye(2))
    np.testing.assert_allclose(out[1], 0.25 * np.ones((3, 3)))
    np.testing.assert_allclose(tx.blend_targets([a, b])[0], 2 * np.eye(2))
    with pytest.raises(InputError):
        tx.blend_targets([a, b], [1])
    with pytest.raises(InputError):
        tx.blend_targets([a, b], [0, 0])


# ---------------------------------------------------------------- L-BFGS


def rosenbrock(x):
    f = np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    g = np.zeros_like(x)
    g[:-1] += -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return f, g


@pytest.mark.parametrize("n", [2, 10])
def test_lbfgs_rosenbrock(n):
    x0 = np.tile([-1.2, 1.0], n // 2)
    result = lbfgs(rosenbrock, x0, max_iter=500, ftol=0)
    assert np.abs(result.x - 1).max() < 1e-6
    assert result.status == "gtol"
    assert np.all(np.diff(result.history) <= 0)  # every accepted step decreases f
    assert len(result.history) == result.iterations + 1


def test_lbfgs_quadratic():
    rng = np.random.default_rng(10)
    A = rng.standard_normal((30, 30))
    A = A @ A.T + np.eye(30)
    b = rng.standard_normal(30)
    result = lbfgs(lambda x: (0.5 * x @ A @ x - b @ x, A @ x - b), np.zeros(30), max_iter=300, ftol=0, gtol=1e-10)
    # f stops changing in double precision once |∇f| ~ 1e-7: x is then that close
    np.testing.assert_allclose(result.x, np.linalg.solve(A, b), atol=1e-6)


def test_lbfgs_with_bounds_reaches_the_constrained_minimum():
    rng = np.random.default_rng(11)
    A = rng.standard_normal((20, 20))
    A = A @ A.T + np.eye(20)
    b = 3 * rng.standard_normal(20)
    lo, hi = -0.5, 0.5
    result = lbfgs(lambda x: (0.5 * x @ A @ x - b @ x, A @ x - b), np.zeros(20), bounds=(lo, hi),
                   max_iter=2000, ftol=0, gtol=1e-9)
    x = result.x
    assert x.min() >= lo and x.max() <= hi
    # the reference: projected gradient descent with step 1/L, many iterations
    ref = np.zeros(20)
    step = 1 / np.linalg.eigvalsh(A).max()
    for _ in range(20000):
        ref = np.clip(ref - step * (A @ ref - b), lo, hi)
    np.testing.assert_allclose(x, ref, atol=1e-6)
    assert np.any(x == lo) and np.any(x == hi)  # the bounds are active


def test_lbfgs_callback_can_stop_and_bad_input():
    seen = []
    result = lbfgs(rosenbrock, np.array([-1.2, 1.0]), max_iter=100,
                   callback=lambda it, x, f: seen.append((it, f)) or it == 5)
    assert result.status == "callback" and result.iterations == 5 and [s[0] for s in seen] == [1, 2, 3, 4, 5]
    assert [s[1] for s in seen] == result.history[1:]
    with pytest.raises(InputError):
        lbfgs(rosenbrock, np.array([]))
    with pytest.raises(InputError, match="bounds"):
        lbfgs(rosenbrock, np.zeros(2), bounds=(1.0, 0.0))


# ---------------------------------------------------------------- synthesis


def synthesis_case(seed=12):
    rng = np.random.default_rng(seed)
    stripes = 0.5 + 0.4 * np.sin(np.arange(32) * 2 * np.pi / 8)[None, :, None] * np.array([1.0, 0.5, -0.5])
    style = np.clip(stripes + 0.05 * rng.standard_normal((32, 32, 3)), 0, 1)
    bank = tx.random_bank((3, 7, 11), per_size=8, seed=0)
    return style, bank


def test_synthesis_reduces_the_style_cost_tenfold():
    style, bank = synthesis_case()
    steps = []
    image, history = tx.synthesize(style, 32, bank, iterations=30, seed=0,
                                   progress=lambda step, total, cost: steps.append((step, total, cost)))
    assert image.shape == (32, 32, 3) and image.min() >= 0 and image.max() <= 1
    assert history[0] >= 10 * history[-1]
    assert [s[0] for s in steps] == list(range(1, len(history)))
    assert all(s[1] == 30 for s in steps)
    # the returned image is the one whose cost is reported
    targets = tx.style_targets(style, bank, "auto")
    J, _ = tx.loss_and_grad(image, targets, bank, beta=tx.BETA)
    assert J == pytest.approx(history[-1], rel=1e-3)
    assert tx.style_distance(image, style, bank) < 0.1 * tx.style_distance(
        np.random.default_rng([0, 1]).uniform(0, 1, (32, 32, 3)), style, bank)


def test_adam_reduces_the_cost():
    style, bank = synthesis_case()
    _, history = tx.synthesize(style, 32, bank, iterations=40, optimizer="adam", lr=0.05, seed=0)
    assert len(history) == 41
    assert history[-1] < 0.1 * history[0]


def test_synthesis_is_reproducible_from_its_seed():
    style, bank = synthesis_case()
    a = tx.synthesize(style, 24, bank, iterations=5, seed=3)
    b = tx.synthesize(style, 24, bank, iterations=5, seed=3)
    c = tx.synthesize(style, 24, bank, iterations=5, seed=4)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.history == b.history
    assert not np.array_equal(a.image, c.image)


def test_synthesis_options():
    style, bank = synthesis_case()
    rng = np.random.default_rng(13)
    content = rng.uniform(0, 1, (16, 20, 3))
    saved = []
    image, history = tx.synthesize([style, style[::-1]], (16, 20), bank, iterations=6, init="content",
                                   content=content, style_weights=[2, 1], save_every=3,
                                   on_save=lambda step, img: saved.append((step, img.copy())))
    assert image.shape == (16, 20, 3)
    assert [s for s, _ in saved] == [3, 6]
    assert all(img.min() >= 0 and img.max() <= 1 for _, img in saved)
    # init 'style': already the style image, so the cost starts near 0
    _, h = tx.synthesize(style, 32, bank, iterations=0, init="style")
    _, h_noise = tx.synthesize(style, 32, bank, iterations=0)
    assert h[0] < 1e-6 * h_noise[0]
    for bad in [dict(optimizer="sgd"), dict(init="photo"), dict(init="content"), dict(iterations=-1),
                dict(content=np.zeros((8, 8, 3))), dict(save_every=2), dict(style_padding="same")]:
        with pytest.raises(InputError):
            tx.synthesize(style, 16, bank, **bad)


def test_match_colors_and_preserve_colors():
    rng = np.random.default_rng(14)
    img = 0.3 + 0.2 * rng.uniform(0, 1, (20, 20, 3)) * np.array([1.0, 0.5, 0.2])
    ref = 0.5 + 0.1 * rng.standard_normal((20, 20, 3)) @ np.array([[1, 0.2, 0], [0, 1, 0.3], [0, 0, 1.0]])
    ref = np.clip(ref, 0, 1)
    out = tx.match_colors(img, ref)
    p, r = out.reshape(-1, 3), ref.reshape(-1, 3)
    np.testing.assert_allclose(p.mean(0), r.mean(0), atol=1e-6)
    np.testing.assert_allclose(np.cov(p.T), np.cov(r.T), atol=1e-4)
    # preserve_colors without content: every style takes the first style's colours
    style, bank = synthesis_case()
    blue = style[:, :, ::-1]
    image, _ = tx.synthesize([style, blue], 32, bank, iterations=20, preserve_colors=True)
    assert np.abs(image.reshape(-1, 3).mean(0) - style.reshape(-1, 3).mean(0)).max() < 0.1
