"""``dltool gradcheck``: numerical against analytic gradients, for CI."""

import sys

import click

from dltool.cli.options import SEED, FiniteRange, max_memory_option, parse_sizes, quiet_option
from dltool.cli.output import note, print_table, resolve_format
from dltool.cli.progress import progress_bar
from dltool.core.names import ACTIVATIONS
from dltool.errors import ExitCode, InputError
from dltool.io.tabular import write_json

MODELS = ("logreg", "softmax", "mlp")
DEFAULT_LAYERS = {"logreg": "4,1", "softmax": "4,3", "mlp": "4,5,3,1"}


@click.command("gradcheck")
@click.argument("function", required=False, metavar="[MODULE:FUNCTION]")
@click.option("--model", type=click.Choice(MODELS), default=None,
              help="A built-in network: logreg (sigmoid output), softmax, or mlp.  [default: mlp, "
                   "unless a FUNCTION is given]")
@click.option("--layers", default=None, metavar="N0,N1,...,NL",
              help="Layer sizes, course shapes W[l] (n[l], n[l-1]).  [default: logreg 4,1; softmax 4,3; "
                   "mlp 4,5,3,1; the input and output sizes follow --data]")
@click.option("--activation", type=click.Choice(list(ACTIVATIONS)), default="relu", show_default=True,
              help="Hidden-layer activation of the mlp.")
@click.option("--l2", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="L2 strength lambda in the cost: + lambda/(2m) sum ||W[l]||^2.")
@click.option("--params", "params_file", default=None, metavar="FILE.npz",
              help="Parameters W1, b1, ... (as `dltool init` writes them; a train-logreg model works "
                   "too).  [default: a seeded random initialization]")
@click.option("--data", default=None, metavar="DATA",
              help="Built-in models: a train-logreg input (CSV, .npz with X and y, image folder). "
                   "A FUNCTION gets the arrays of this .npz as its second argument.  [default: a seeded "
                   "random batch]")
@click.option("--label-column", default=None, metavar="NAME", help="With --data CSV: the label column.  [default: the last]")
@click.option("--samples", type=click.IntRange(min=1), default=16, show_default=True,
              help="Examples in the seeded random batch.")
@click.option("--epsilon", type=FiniteRange(min=0, max=1, min_open=True, max_open=True), default=1e-7,
              show_default=True,
              help="The two-sided step: (J(theta + eps) - J(theta - eps)) / 2 eps (a step of 1 or more "
                   "measures no derivative).")
@click.option("--sample", "sample", type=click.IntRange(min=1), default=None,
              help="Check this many random coordinates per parameter block.  [default: all]")
@click.option("--fast", type=click.IntRange(min=1), default=None, metavar="K",
              help="Check K random directions v per block instead of coordinates (v.dtheta against a "
                   "two-sided difference along v), for large parameter counts.  [default: off]")
@click.option("--fail-above", type=FiniteRange(min=0), default=1e-5, show_default=True,
              help="Exit 1 when the overall or any block's relative difference is above this.")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Seed of the random batch, initialization and sampled coordinates.")
@max_memory_option
@click.option("--format", "output_format", type=click.Choice(["auto", "table", "json"]), default="auto",
              show_default=True, help="auto: a table on a terminal, else JSON.")
@quiet_option
def command(function, model, layers, activation, l2, params_file, data, label_column, samples, epsilon, sample,
            fast, fail_above, seed, max_memory, output_format, quiet):
    """Check gradients: two-sided numerical differences against the analytic gradient.

    Course: C2W1 "Gradient checking" (and its "Gradient checking implementation notes").

    Relative difference ||g_num - g|| / (||g_num|| + ||g||), per parameter block and overall:
    ok < 1e-7 <= check < 1e-5 <= suspicious < 1e-3 <= bug. Exit 1 above --fail-above.

    Built-in networks (--model) use the course's equations; a FUNCTION is your own Python
    `f(params)` or `f(params, data)` returning (cost, grads) with grads keyed dW1, db1, ...
    Its cost is evaluated twice first: a cost that changes at the same parameters (dropout,
    sampling) exits 2 - the course checks with dropout off (keep_prob = 1).

    \b
    Examples:
      dltool gradcheck --model mlp --layers 20,10,5,1 --activation tanh
      dltool gradcheck --model softmax --data samples/flowers.csv --l2 0.5
      dltool gradcheck samples/gradcheck/good_net.py:forward_backward --params samples/gradcheck/params.npz --data samples/gradcheck/data.npz
      dltool gradcheck samples/gradcheck/broken_net.py:forward_backward --params samples/gradcheck/params.npz --data samples/gradcheck/data.npz --format json
    """
    from dltool.core import gradcheck

    if function and model:
        raise InputError("give either MODULE:FUNCTION or --model, not both")
    if fast and sample:
        raise InputError("--fast and --sample do not combine: pick one")
    with progress_bar(quiet) as update:
        progress = lambda done, total: update("coordinates", done, total)  # noqa: E731
        if function:
            report, target = _check_function(gradcheck, function, params_file, data, epsilon, sample, fast, seed,
                                             progress)
        else:
            report, target = _check_model(gradcheck, model or "mlp", layers, activation, l2, params_file, data,
                                          label_column, samples, seed, epsilon, sample, fast, progress, max_memory)
    passed = report.worst <= fail_above
    for line in report.notes:
        note(quiet, f"gradcheck: note: {line}")
    result = _as_json(report, target, fail_above, passed)
    if resolve_format(output_format, "json") == "json":
        write_json(sys.stdout, result)
    else:
        _print(result)
    if not passed:
        worst = max(report.blocks, key=lambda b: b.rel_diff)
        note(quiet, f"gradcheck: FAILED: {worst.name} relative difference {worst.rel_diff:.3g} > {fail_above:g}"
                    + (f", worst at {worst.name}{list(worst.worst_index)}: numerical {worst.worst_numeric:.8g}, "
                       f"analytic {worst.worst_analytic:.8g}" if worst.worst_index is not None else ""))
        return ExitCode.CHECK_FAILED
    return ExitCode.OK


def _check_model(gradcheck, model, layers, activation, l2, params_file, data, label_column, samples, seed,
                 epsilon, sample, fast, progress, max_memory):
    import numpy as np

    from dltool.core import mlp

    sizes = parse_sizes(layers) if layers else None
    params = X = Y = None
    if params_file:
        from dltool.io.params import read_params

        params = read_params(params_file)
        try:
            from_params = mlp.layer_sizes(params)
        except InputError as e:  # the layers do not chain: the user's file is at fault
            raise (e if e.where else e.located(params_file)) from None
        if sizes and sizes != from_params:
            raise InputError(f"--layers {layers} does not match the parameters' layers "
                             f"{','.join(map(str, from_params))}", params_file)
        sizes = from_params
    if data:
        from dltool.core.logreg import encode_labels
        from dltool.io.datasets import read_dataset

        dataset = read_dataset(data, label_column=label_column)
        classes, y = encode_labels(dataset.y)
        # Two classes: one sigmoid unit, unless softmax is asked for (two softmax units).
        n_out = 1 if len(classes) == 2 and model != "softmax" else len(classes)
        X, Y = dataset.X.T.copy(), mlp.targets(y, n_out)
        if len(classes) < 2:
            raise InputError("only one class in the labels: need at least two", dataset.name)
        if sizes is None:
            hidden = parse_sizes(DEFAULT_LAYERS[model])[1:-1]
            sizes = [X.shape[0], *hidden, n_out]
        elif sizes[0] != X.shape[0] or sizes[-1] != n_out:
            raise InputError(f"the layers {','.join(map(str, sizes))} do not fit the data: {X.shape[0]} features "
                             f"and {len(classes)} classes need {X.shape[0]},...,{n_out}", dataset.name)
    if sizes is None:
        sizes = parse_sizes(DEFAULT_LAYERS[model])
    if model == "logreg" and (len(sizes) != 2 or sizes[-1] != 1):
        raise InputError(f"--model logreg is one layer with one output (n_x,1), got {','.join(map(str, sizes))}")
    if model == "softmax" and (len(sizes) != 2 or sizes[-1] < 2):
        raise InputError(f"--model softmax is one layer with a unit per class (n_x,C), got {','.join(map(str, sizes))}")
    _check_size(sizes, samples if X is None else X.shape[1], max_memory)
    if params is not None:
        params = {k: np.asarray(v, dtype=np.float64).reshape(v.shape if k[0] == "W" else (-1, 1))
                  for k, v in params.items()}
    net = gradcheck.random_network(sizes, activation, samples, seed, l2, params=params, X=X, Y=Y)
    if net.X.shape[0] != sizes[0]:
        raise InputError(f"the data has {net.X.shape[0]} features, the network's first layer {sizes[0]}")
    report = gradcheck.check_network(net, epsilon, sample, fast, seed, progress)
    hidden = f" {activation}" if len(sizes) > 2 else ""
    return report, f"{model} {','.join(map(str, sizes))}{hidden}" + (f" l2={l2:g}" if l2 else "")


def _check_size(sizes, samples, max_memory):
    """Refuse layers whose parameters and activations cannot fit, before allocating them."""
    from dltool.core.memory import check_memory

    params = sum((sizes[l - 1] + 1) * sizes[l] for l in range(1, len(sizes)))
    # float64: the parameters, their analytic and numerical gradients and a perturbed copy; the
    # activations and their gradients (forward and backward) for every example.
    check_memory(8 * (4 * params + 4 * samples * sum(sizes)), "gradcheck of these layers", max_memory)


def _check_function(gradcheck, function, params_file, data, epsilon, sample, fast, seed, progress):
    from dltool.io.params import read_arrays, read_params
    from dltool.io.userfunc import call_user, load_function

    if not params_file:
        raise InputError("a FUNCTION needs --params FILE.npz with its parameters (e.g. from `dltool init`)")
    fn = load_function(function)
    params = read_params(params_file)
    arrays = read_arrays(data) if data else None
    try:
        report = gradcheck.check_function(fn, params, arrays, epsilon, sample, fast, seed, progress,
                                          call=call_user)
    except InputError as e:  # what the function returned was wrong: say which function
        raise (e if e.where else e.located(function)) from None
    return report, function


def _as_json(report, target, fail_above, passed):
    return {
        "target": target, "epsilon": report.epsilon, "mode": report.mode, "checked": report.checked,
        "relative_difference": report.rel_diff, "verdict": report.verdict, "fail_above": fail_above,
        "passed": passed,
        "blocks": [{"name": b.name, "shape": list(b.shape), "checked": b.checked, "relative_difference": b.rel_diff,
                    "max_abs_difference": b.max_abs_diff,
                    "worst_index": None if b.worst_index is None else list(b.worst_index),
                    "numerical": b.worst_numeric, "analytic": b.worst_analytic, "verdict": b.verdict}
                   for b in report.blocks],
        "notes": report.notes,
    }


def _print(result):
    # max |diff| is in the JSON; the table keeps to 80 columns.
    print_table(["block", "shape", "n", "rel. diff", "worst at", "numerical", "analytic", "verdict"],
                [[b["name"], "x".join(map(str, b["shape"])) or "()", b["checked"], f"{b['relative_difference']:.1e}",
                  "-" if b["worst_index"] is None else ",".join(map(str, b["worst_index"])),
                  f"{b['numerical']:.5g}", f"{b['analytic']:.5g}", b["verdict"]] for b in result["blocks"]],
                title=f"gradcheck {result['target']}: relative difference {result['relative_difference']:.2e} "
                      f"({result['verdict']}) - {'PASSED' if result['passed'] else 'FAILED'} "
                      f"(--fail-above {result['fail_above']:g})")
