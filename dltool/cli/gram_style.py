"""``dltool gram-style``: Gram (style) matrices, style and content costs, texture synthesis."""

import sys

import click

from dltool.cli.options import SEED, FiniteRange, quiet_option
from dltool.cli.output import note, print_table, resolve_format
from dltool.cli.progress import progress_bar
from dltool.core.names import CONTENT_NORMS, STYLE_NORMS, SYNTHESIS_INITS, SYNTHESIS_OPTIMIZERS, TEXTURE_FEATURES
from dltool.errors import InputError
from dltool.io.streams import check_outputs
from dltool.io.tabular import write_delimited, write_json


@click.command("gram-style")
@click.argument("images", nargs=-1, metavar="[STYLE.png OTHER.png ...]")
@click.option("--style-activations", default=None, metavar="S.npy|S.npz",
              help="Style activations (n_H, n_W, n_C), or several layers in an .npz.  [default: none]")
@click.option("--generated-activations", default=None, metavar="G.npy|G.npz",
              help="Generated activations to score against the style.  [default: none]")
@click.option("--content-activations", default=None, metavar="C.npy|C.npz",
              help="Content activations (the content cost needs --generated-activations).  [default: none]")
@click.option("--layer-weights", default=None, metavar="L1,L2,...",
              help="lambda[l] per layer of an .npz.  [default: equal, 1/L each]")
@click.option("--style-norm", type=click.Choice(list(STYLE_NORMS)), default="course", show_default=True,
              help="course: 1/(2 n_H n_W n_C)^2 ||G_S - G_G||^2; pytorch: the PyTorch tutorial's (Gram / "
                   "(n_C n_H n_W), mean square); pystiche: Gram / (n_H n_W), mean square; notes: "
                   "||G_S - G_G||^2 with no factor, as the course notes write it.")
@click.option("--content-norm", type=click.Choice(list(CONTENT_NORMS)), default="assignment", show_default=True,
              help="assignment: 1/(4 n_H n_W n_C) ||a_C - a_G||^2; lecture: 1/2 ||.||^2; mean: the peers' mean square.")
@click.option("--alpha", type=FiniteRange(min=0), default=10.0, show_default=True, help="Weight of the content cost in J.")
@click.option("--beta", type=FiniteRange(min=0), default=40.0, show_default=True, help="Weight of the style cost in J.")
@click.option("--features", type=click.Choice(list(TEXTURE_FEATURES)), default="random", show_default=True,
              help="Images: random: a seeded bank of random multi-scale filters + ReLU (Ustyuzhaninov et al.); "
                   "bank: fixed Gaussian-derivative filters; rgb: the raw channels.")
@click.option("--filters", type=click.IntRange(min=1), default=None,
              help="Random features: filters per size.  [default: the engine's]")
@click.option("--filter-sizes", default=None, metavar="3,5,...",
              help="Random features: filter sizes.  [default: the engine's]")
@click.option("--size", type=click.IntRange(min=8), default=128, show_default=True,
              help="Images are center-cropped square and resized to SIZE x SIZE.")
@click.option("--synthesize", is_flag=True,
              help="Synthesize a texture with the first image's style (-o out.png).")
@click.option("--style", "extra_styles", multiple=True, metavar="IMAGE",
              help="With --synthesize: more style images to blend.  [default: none]")
@click.option("--style-weights", default=None, metavar="W1,W2,...",
              help="With --synthesize: blend weights of the style images.  [default: equal]")
@click.option("--content", "content_image", default=None, metavar="IMAGE",
              help="With --synthesize: add alpha * J_content towards this image.  [default: none]")
@click.option("--init", "init_from", type=click.Choice(list(SYNTHESIS_INITS)), default="noise",
              show_default=True, help="With --synthesize: the starting image.")
@click.option("--iterations", type=click.IntRange(min=1), default=None,
              help="With --synthesize: optimizer steps.  [default: the engine's]")
@click.option("--optimizer", type=click.Choice(list(SYNTHESIS_OPTIMIZERS)), default="lbfgs", show_default=True,
              help="With --synthesize: L-BFGS (written here, no scipy) or Adam.")
@click.option("--lr", type=FiniteRange(min=0, min_open=True), default=0.05, show_default=True,
              help="Adam's learning rate (0.02 stalls within 500 steps on the samples).")
@click.option("--beta1", type=FiniteRange(min=0, max=1, max_open=True), default=0.9, show_default=True, help="Adam's beta1.")
@click.option("--beta2", type=FiniteRange(min=0, max=1, max_open=True), default=0.999, show_default=True, help="Adam's beta2.")
@click.option("--epsilon", type=FiniteRange(min=0, min_open=True), default=1e-8, show_default=True, help="Adam's epsilon.")
@click.option("--preserve-colors", is_flag=True,
              help="With --synthesize: keep the content (or first style) image's colour statistics.")
@click.option("--save-every", type=click.IntRange(min=1), default=None,
              help="With --synthesize: also write OUT-<step>.png every N steps.  [default: never]")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the random filters and the noise.")
@click.option("-o", "--output", default=None, metavar="FILE",
              help="--synthesize: the image (.png); otherwise the Gram matrices (.npz).  [default: none]")
@click.option("--plot", default=None, metavar="PNG", help="Draw the Gram matrices as heatmaps.  [default: none]")
@click.option("--format", "output_format", type=click.Choice(["auto", "table", "csv", "json"]), default="auto",
              show_default=True, help="auto: a table on a terminal, else JSON (activations) or CSV (images).")
@quiet_option
def command(images, style_activations, generated_activations, content_activations, layer_weights, style_norm,
            content_norm, alpha, beta, features, filters, filter_sizes, size, synthesize, extra_styles,
            style_weights, content_image, init_from, iterations, optimizer, lr, beta1, beta2, epsilon,
            preserve_colors, save_every, seed, output, plot, output_format, quiet):
    """Gram matrices, style and content costs (the course's C4W4), and texture synthesis.

    On activations (--style-activations, arrays (n_H, n_W, n_C)): each layer's Gram summary and
    style cost, the content cost, J = alpha J_content + beta J_style. On images: the style
    distance of every image to the first, with features from random filters (no pretrained
    network needed). --synthesize generates a texture by gradient descent on the pixels.

    \b
    Examples:
      dltool gram-style samples/textures/bricks.png samples/textures/weave.png samples/textures/marble.png
      dltool gram-style samples/textures/bricks.png --synthesize -o bricks_synth.png --size 128
      dltool gram-style --style-activations samples/gram/style.npy --generated-activations samples/gram/generated.npy
    """
    check_outputs([output, plot], [*images, *extra_styles, content_image, style_activations,
                                   generated_activations, content_activations])
    if plot:
        from dltool.io.plot import require_png

        require_png(plot)
    synthesis_only = {"--style": extra_styles, "--style-weights": style_weights, "--content": content_image,
                      "--init": init_from != "noise", "--iterations": iterations, "--optimizer": optimizer != "lbfgs",
                      "--preserve-colors": preserve_colors, "--save-every": save_every}
    if not synthesize and any(synthesis_only.values()):
        used = ", ".join(k for k, v in synthesis_only.items() if v)
        raise InputError(f"{used} only apply with --synthesize")
    if synthesize and plot:
        raise InputError("--plot draws Gram matrices of given images or activations; with --synthesize, "
                         "--save-every N writes the intermediate images")
    if style_activations:
        if images or synthesize:
            raise InputError("give images or --style-activations, not both")
        return _activations(style_activations, generated_activations, content_activations, layer_weights,
                            style_norm, content_norm, alpha, beta, output, plot, output_format, quiet)
    if not images:
        raise InputError("give style images (STYLE.png OTHER.png ...) or --style-activations S.npy")
    bank = _bank(features, filters, filter_sizes, seed)
    if synthesize:
        return _synthesize(images, extra_styles, style_weights, content_image, bank, size, init_from, iterations,
                           optimizer, lr, beta1, beta2, epsilon, preserve_colors, save_every, seed, alpha, beta,
                           output, quiet)
    return _distances(images, bank, size, style_norm, output, plot, output_format, quiet)


def _floats(text, option):
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v < 0 for v in values):
        raise InputError(f"{option} must be numbers >= 0 separated by commas, got {text!r}")
    return values


def _activations(style_path, generated_path, content_path, layer_weights, style_norm, content_norm, alpha, beta,
                 output, plot, output_format, quiet):
    import numpy as np

    from dltool.core import gram as g
    from dltool.io.activations import read_layers

    names, S = read_layers(style_path)
    S = [g.check_activations(a, f"{style_path}: {n}") for n, a in zip(names, S)]
    weights = _floats(layer_weights, "--layer-weights") if layer_weights else None
    if weights is not None and len(weights) != len(S):
        raise InputError(f"--layer-weights has {len(weights)} values for {len(S)} layers")
    report = {"style_norm": style_norm, "style_norm_factors": g.STYLE_NORMS[style_norm], "layers": []}
    grams = {}
    for name, a in zip(names, S):
        G = _gram(g, a, style_norm, f"{style_path}: {name}")
        grams[f"G_{name}"] = G
        report["layers"].append({"name": name, "shape": list(a.shape), "gram_trace": float(np.trace(G)),
                                 "gram_mean": float(G.mean()), "gram_max": float(G.max())})
    if generated_path:
        gnames, Gs = read_layers(generated_path)
        if len(Gs) != len(S):
            raise InputError(f"{len(Gs)} generated layers for {len(S)} style layers", generated_path)
        Gs = [g.check_activations(a, f"{generated_path}: {n}") for n, a in zip(gnames, Gs)]
        for sname, a_S, gname, a_G in zip(names, S, gnames, Gs):
            if a_S.shape != a_G.shape:
                raise InputError(f"shape {a_G.shape}, but the style layer {sname} of {style_path} has shape "
                                 f"{a_S.shape}: each layer's two activations must have the same shape",
                                 f"{generated_path}: {gname}")
            _gram(g, a_G, style_norm, f"{generated_path}: {gname}")
        with np.errstate(over="ignore", invalid="ignore"):
            total, per_layer = g.style_cost(S, Gs, weights, style_norm)
        _finite(total, "style cost", generated_path)
        for row, j in zip(report["layers"], per_layer):
            row["style_cost"] = j
        report["layer_weights"] = weights or [1.0 / len(S)] * len(S)
        report["style_cost"] = total
        if content_path:
            # The course takes the content cost on one layer: the last of each file.
            _, C = read_layers(content_path)
            c = g.check_activations(C[-1], content_path)
            report["content_norm"] = content_norm
            report["content_layer"] = gnames[-1]
            with np.errstate(over="ignore", invalid="ignore"):
                report["content_cost"] = _finite(g.content_cost(c, Gs[-1], content_norm), "content cost",
                                                 content_path)
                report["alpha"], report["beta"] = alpha, beta
                report["total_cost"] = _finite(g.total_cost(report["content_cost"], total, alpha, beta),
                                               "total cost J", content_path)
    elif content_path:
        raise InputError("--content-activations needs --generated-activations to compare with")
    if output:
        from dltool.io.params import write_params

        write_params(output, grams)
        note(quiet, f"gram-style: Gram matrices written to {output}")
    if plot:
        from dltool.io.plot import heatmaps

        heatmaps(plot, list(grams.values()), names)
        note(quiet, f"gram-style: Gram heatmaps written to {plot}")
    fmt = resolve_format(output_format, "json")
    if fmt == "json":
        write_json(sys.stdout, report)
    elif fmt == "csv":
        write_delimited(sys.stdout, ["layer", "n_H", "n_W", "n_C", "gram_trace", "gram_max", "style_cost"],
                        [[r["name"], *r["shape"], r["gram_trace"], r["gram_max"], r.get("style_cost", "")]
                         for r in report["layers"]])
    else:
        rows = [[r["name"], "x".join(map(str, r["shape"])), f"{r['gram_trace']:.6g}", f"{r['gram_max']:.6g}",
                 f"{r['style_cost']:.6g}" if "style_cost" in r else "-"] for r in report["layers"]]
        print_table(["layer", "n_H x n_W x n_C", "Gram trace", "Gram max", "style cost"], rows,
                    title=f"gram-style ({style_norm}: {report['style_norm_factors']})")
        for key in ("style_cost", "content_cost", "total_cost"):
            if key in report:
                click.echo(f"{key.replace('_', ' ')}: {report[key]:.10g}")


def _gram(g, a, norm, where):
    """A layer's Gram matrix, refused (naming the file and layer) when it overflows float64."""
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore"):
        G = g.gram(a, norm)
    if not np.isfinite(G).all():
        raise InputError("values so large that the Gram matrix overflows float64 - scale the activations down",
                         where)
    return G


def _finite(value, what, where):
    import math

    if not math.isfinite(value):
        raise InputError(f"the {what} overflows float64 - scale the activations down", where)
    return value


def _bank(features, filters, filter_sizes, seed):
    from dltool.core.texture import make_bank

    sizes = None
    if filter_sizes:
        try:
            sizes = tuple(int(v) for v in filter_sizes.split(",") if v.strip())
        except ValueError:
            raise InputError(f"--filter-sizes must be whole numbers like 3,5,7, got {filter_sizes!r}") from None
    return make_bank(features, sizes, filters, seed)


def _load(paths, size, quiet):
    from dltool.io.images import load_image

    loaded = []
    for path in paths:
        image = load_image(path, size)
        for line in image.notes:
            note(quiet, f"gram-style: {image.name}: {line}")
        loaded.append(image)
    return loaded


def _distances(paths, bank, size, style_norm, output, plot, output_format, quiet):
    """The style distance of every image to the first (the course's normalization)."""
    from dltool.core.texture import style_distance, style_targets

    if style_norm != "course":
        raise InputError("image style distances use the course's normalization; --style-norm applies to "
                         "--style-activations")
    images = _load(paths, size, quiet)
    reference = images[0]
    rows = [[img.name, style_distance(reference.pixels, img.pixels, bank)] for img in images]
    if output or plot:
        grams = {f"G{l + 1}_{i}": G for i, img in enumerate(images)
                 for l, G in enumerate(style_targets(img.pixels, bank))}
        if output:
            from dltool.io.params import write_params

            write_params(output, grams)
            note(quiet, f"gram-style: per-position Gram matrices (G<layer>_<image>) written to {output}")
        if plot:
            from dltool.io.plot import heatmaps

            heatmaps(plot, [style_targets(img.pixels, bank)[0] for img in images], [img.name for img in images])
            note(quiet, f"gram-style: Gram heatmaps written to {plot}")
    fmt = resolve_format(output_format, "csv")
    columns = ["image", "style_distance"]
    if fmt == "json":
        write_json(sys.stdout, {"reference": reference.name, "size": size, "norm": "course",
                                "distances": [{"image": n, "style_distance": d} for n, d in rows]})
    elif fmt == "csv":
        write_delimited(sys.stdout, columns, rows)
    else:
        print_table(["image", f"style distance to {reference.name}"], [[n, f"{d:.6g}"] for n, d in rows],
                    title=f"gram-style: {size}x{size}, course normalization")


def _synthesize(paths, extra_styles, style_weights, content_image, bank, size, init_from, iterations, optimizer,
                lr, beta1, beta2, epsilon, preserve_colors, save_every, seed, alpha, beta, output, quiet):
    import os

    from dltool.core.texture import DEFAULT_ITERATIONS, style_distance, synthesize
    from dltool.io.images import save_image

    if not output or not output.lower().endswith((".png", ".jpg", ".jpeg")):
        raise InputError("--synthesize writes an image: give -o OUT.png (or .jpg)")
    styles = _load(list(paths) + list(extra_styles), size, quiet)
    weights = _floats(style_weights, "--style-weights") if style_weights else None
    if weights is not None and len(weights) != len(styles):
        raise InputError(f"--style-weights has {len(weights)} values for {len(styles)} style images")
    content = _load([content_image], size, quiet)[0].pixels if content_image else None
    if init_from == "content" and content is None:
        raise InputError("--init content needs --content IMAGE")
    stem, ext = os.path.splitext(output)
    steps = iterations or DEFAULT_ITERATIONS

    def on_save(step, image):
        save_image(f"{stem}-{step:04d}{ext}", image)

    with progress_bar(quiet) as update:
        result = synthesize([s.pixels for s in styles], size=size, bank=bank, iterations=steps,
                            optimizer=optimizer, lr=lr, beta1=beta1, beta2=beta2, epsilon=epsilon, seed=seed,
                            init=init_from, content=content, alpha=alpha, beta=beta, style_weights=weights,
                            preserve_colors=preserve_colors,
                            progress=lambda step, total, cost: update("synthesis", step, total, f"J {cost:.4g}"),
                            save_every=save_every, on_save=on_save if save_every else None)
    save_image(output, result.image)
    distance = style_distance(styles[0].pixels, result.image, bank)
    note(quiet, f"gram-style: {len(result.history) - 1} steps, J {result.history[0]:.4g} -> {result.history[-1]:.4g}; "
                f"style distance to {styles[0].name}: {distance:.4g}; written to {output}")
