"""``dltool init``: initialize a network's weights, and probe what the initialization does."""

import math
import sys

import click

from dltool.cli.options import FINITE, SEED, max_memory_option, parse_sizes, quiet_option
from dltool.cli.output import note, print_table, resolve_format
from dltool.core.names import ACTIVATIONS, DISTRIBUTIONS, GAINS, INIT_ALIASES, INIT_METHODS
from dltool.errors import InputError
from dltool.io.streams import check_outputs
from dltool.io.tabular import write_json

METHOD_HELP = "; ".join(f"{k}: {v[1]}" for k, v in INIT_METHODS.items())
ALIAS_HELP = "; ".join(f"{k} ({lib}): {base} {dist}" for k, (base, dist, lib) in INIT_ALIASES.items())


@click.command("init")
@click.option("--layers", default=None, metavar="N0,N1,...",
              help="Dense layer sizes n[0] (inputs), n[1], ..., n[L].  [default: 12288,20,7,5,1 unless --spec]")
@click.option("--spec", default=None, metavar="SPEC|FILE|-",
              help="A conv-shape layer spec (or preset name): conv and fc layers get weights, fan-in "
                   "f*f*n_C_prev.  [default: none]")
@click.option("--method", type=click.Choice(list(INIT_METHODS) + list(INIT_ALIASES)), default="he",
              show_default=True,
              help=METHOD_HELP + ". Aliases mean what their library means (xavier_normal is torch's, i.e. glorot): "
                   + ALIAS_HELP + ".")
@click.option("--distribution", type=click.Choice(list(DISTRIBUTIONS)), default=None,
              help="; ".join(f"{k}: {v}" for k, v in DISTRIBUTIONS.items()) + ".  [default: normal, or the alias's]")
@click.option("--scale", type=FINITE, default=0.01, show_default=True, help="The std of --method random.")
@click.option("--gain", default=None, metavar="G|NAME",
              help=f"Multiply the std by G, or torch's calculate_gain of {', '.join(GAINS)}.  "
                   "[default: the method's: sqrt(2) for he, 1 otherwise]")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the weights and the probe batch.")
@click.option("-o", "--output", default=None, metavar="PARAMS.npz",
              help="Write W1, b1, ... here, atomically.  [default: not saved]")
@click.option("--probe", is_flag=True,
              help="Push a standard-normal batch through the network and a gradient back; show each "
                   "layer's activation mean/std and gradient std.")
@click.option("--activation", type=click.Choice(list(ACTIVATIONS)), default="relu", show_default=True,
              help="With --probe: the activation of every layer.")
@click.option("--depth", type=click.IntRange(min=1), default=None,
              help="With --probe: a network of n[0] inputs and DEPTH layers of n[1] units.  [default: --layers]")
@click.option("--samples", type=click.IntRange(min=1), default=1000, show_default=True,
              help="With --probe: examples in the batch.")
@click.option("--plot", default=None, metavar="PNG", help="With --probe: draw the std per layer.  [default: none]")
@max_memory_option
@click.option("--format", "output_format", type=click.Choice(["auto", "table", "json"]), default="auto",
              show_default=True, help="auto: a table on a terminal, else JSON.")
@quiet_option
def command(layers, spec, method, distribution, scale, gain, seed, output, probe, activation, depth, samples, plot,
            max_memory, output_format, quiet):
    """Initialize weights the course's way; --probe shows vanishing and exploding activations.

    Course: C2W1 "Weight initialization for deep networks" (and C1W3 "Random initialization").

    Writes W1, b1, ... in the course's shapes (W[l] (n[l], n[l-1]); conv W (f, f, n_C_prev, n_C);
    biases zero (n[l], 1)), usable by `dltool gradcheck --params` and by numpy. Note the naming
    trap: the course's "Xavier" sqrt(1/n[l-1]) is Keras's lecun_normal; torch's and Keras's
    xavier/glorot is sqrt(2/(n_in + n_out)). --method xavier follows the course. Keras's names
    (he_normal, glorot_normal, lecun_normal) draw Keras's truncated normal; torch's
    (kaiming_normal, xavier_normal) a plain normal.

    \b
    Examples:
      dltool init --layers 12288,20,7,5,1 --method he -o params.npz
      dltool init --layers 100,100 --depth 50 --method random --probe
      dltool init --layers 100,100 --depth 50 --method he --probe --plot probe.png
      dltool init --spec "32x32x3 | conv f=5 c=6 | pool f=2 s=2 | fc 10" --method glorot_uniform
    """
    from dltool.core import init as core

    check_outputs([output, plot], [spec])
    if plot:
        from dltool.io.plot import require_png

        require_png(plot)
        if not probe:
            raise InputError("--plot draws the probe: add --probe")
    if depth and not probe:
        raise InputError("--depth builds the probed network: add --probe")
    if layers and spec:
        raise InputError("give --layers or --spec, not both")
    if spec:
        shapes = _spec_shapes(spec)
        if probe:
            raise InputError("--probe works on dense --layers (a conv spec has no dense equivalent to probe)")
    else:
        sizes = parse_sizes("12288,20,7,5,1" if layers is None else layers, example="12288,20,7,5,1")
        if depth:
            sizes = [sizes[0]] + [sizes[1] if len(sizes) > 1 else sizes[0]] * depth
        shapes = core.dense_shapes(sizes)
    import numpy as np

    from dltool.core.memory import check_memory

    weights = sum(math.prod(shape) for shape, _, _ in shapes)
    # float64 weights, the normal draw they are scaled from, and the probe's activations and gradients.
    check_memory(8 * 2 * weights + (8 * 4 * samples * sum(s[0][0] for s in shapes) if probe else 0),
                 "initializing these layers", max_memory)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused just below, by name
        params, rows = core.initialize(shapes, method, distribution, scale, gain, seed)
    _check_finite(rows, method, scale, gain)
    base, dist = core.resolve_method(method, distribution)
    report = {"method": base, "distribution": dist, "seed": seed,
              "layers": [{"name": name, "shape": list(shape), "target_std": target, "std": actual}
                         for name, shape, target, actual in rows],
              "parameters": int(sum(p.size for p in params.values()))}
    if probe:
        rows = core.probe(params, activation, samples, seed)
        overflow = next((r["layer"] for r in rows if not all(map(math.isfinite, (r["act_mean"], r["act_std"])))),
                        None)
        if overflow is not None:
            note(quiet, f"init: the activations overflow float64 at layer {overflow}: they explode "
                        "(non-finite values are null in JSON)")
        # JSON has no inf / NaN: an exploded statistic is null there (the table shows inf).
        report["probe"] = {"activation": activation, "samples": samples,
                           "layers": [{k: (v if not isinstance(v, float) or math.isfinite(v) else None)
                                       for k, v in r.items()} for r in rows] if _json(output_format) else rows}
    if output:
        from dltool.io.params import write_params

        write_params(output, params)
        note(quiet, f"init: {len(rows)} layers, {report['parameters']:,} parameters written to {output}")
    if plot:
        _plot(plot, report)
        note(quiet, f"init: probe plot written to {plot}")
    if _json(output_format):
        write_json(sys.stdout, report)
    else:
        _print(report)


def _check_finite(rows, method, scale, gain):
    """Refuse a --scale or --gain so large that the weights or their std overflow float64."""
    name, _, target, actual = next((r for r in rows if not (math.isfinite(r[2]) and math.isfinite(r[3]))),
                                   (None,) * 4)
    if name is None:
        return
    given = ([f"--scale {scale:g}"] if method == "random" else []) + ([f"--gain {gain}"] if gain is not None else [])
    given = given or ["--gain"]
    raise InputError(f"{' and '.join(given)} {'makes' if len(given) == 1 else 'make'} {name}'s weights overflow float64 (target std "
                     f"{target:.3g}, actual std {actual:.3g}) - use a smaller value")


def _json(output_format):
    return resolve_format(output_format, "json") == "json"


def _spec_shapes(spec):
    from dltool.core.convshape import weight_shapes
    from dltool.io.convspec import load_spec

    return weight_shapes(load_spec(spec))


def _print(report):
    print_table(["layer", "shape", "target std", "actual std"],
                [[r["name"], "x".join(map(str, r["shape"])), f"{r['target_std']:.5g}", f"{r['std']:.5g}"]
                 for r in report["layers"]],
                title=f"init {report['method']} ({report['distribution']}), seed {report['seed']}: "
                      f"{report['parameters']:,} parameters")
    if "probe" in report:
        p = report["probe"]
        print_table(["layer", "units", "activation mean", "activation std", "gradient std"],
                    [[r["layer"], r["units"], f"{r['act_mean']:.4g}", f"{r['act_std']:.4g}", f"{r['grad_std']:.4g}"]
                     for r in p["layers"]],
                    title=f"probe: {p['samples']} standard-normal examples through {p['activation']} layers")


def _plot(path, report):
    from dltool.io.plot import Chart

    rows = report["probe"]["layers"]
    layers = [r["layer"] for r in rows]
    chart = Chart(title=f"{report['method']} init, {report['probe']['activation']}: std per layer",
                  x_label="layer", y_label="std", y_log=True)
    chart.line(layers, [r["act_std"] for r in rows], label="activation std")
    chart.line(layers, [r["grad_std"] for r in rows], label="gradient std (back-propagated)", dashed=True)
    chart.save(path)
