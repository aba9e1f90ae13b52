"""``dltool conv-shape``: shapes, parameters, multiply-adds and receptive fields of a conv net."""

import sys

import click

from dltool.cli.options import max_memory_option, quiet_option
from dltool.cli.output import note, print_table, resolve_format
from dltool.core.convshape import DTYPES
from dltool.core.presets import PRESETS
from dltool.errors import InputError
from dltool.io.convspec import load_spec
from dltool.io.tabular import write_delimited, write_json


@click.command("conv-shape")
@click.argument("spec", required=False, metavar="[SPEC|FILE|-]")
@click.option("--preset", type=click.Choice(list(PRESETS)), default=None,
              help="A published network instead of a SPEC (--list-presets describes them).")
@click.option("--list-presets", is_flag=True, help="List the presets with their variants and published totals.")
@click.option("--explain", is_flag=True,
              help="Show the arithmetic of every row (and where the course's LeNet-5 table differs).")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="Batch size for the activation memory.")
@click.option("--dtype", type=click.Choice(list(DTYPES)), default="float32", show_default=True,
              help="Number format for the memory figures.")
@click.option("--run", is_flag=True,
              help="Build random weights and push a random input through numba conv / pool / fc kernels: "
                   "confirms every shape and times every layer.")
@max_memory_option
@click.option("--format", "output_format", type=click.Choice(["auto", "table", "csv", "json"]), default="auto",
              show_default=True, help="auto: a table on a terminal, else CSV (one row per layer).")
@quiet_option
def command(spec, preset, list_presets, explain, batch, dtype, run, max_memory, output_format, quiet):
    """Output shape, parameters, multiply-adds and receptive field of every layer of a conv net.

    Course: C4W1 "Convolutional neural networks" (padding, strided convolutions, CNN example).

    The course's arithmetic: n_out = floor((n + 2p - f)/s) + 1 ('same' padding with stride > 1 by
    TensorFlow's rule), conv parameters (f*f*n_C_prev + 1)*n_C, multiply-adds per output value
    f*f*n_C_prev. Layers are separated by '|' (or new lines in a file):

    \b
      32x32x3 | conv f=5 c=6 | pool f=2 s=2 | conv f=5 c=16 | pool f=2 s=2 | fc 120 | fc 84 | softmax 10
    Layers: conv (f, c, s, p=N|same|valid, d, g=N|dw, bias=0|1), pool / maxpool / avgpool (f, s, p, ceil),
    fc N, softmax N, flatten, gap, bn, dropout, relu / tanh / sigmoid / ...; blocks
    add[ main ; shortcut ] (empty branch: identity) and concat[ branch ; branch ; ... ].

    \b
    Examples:
      dltool conv-shape --preset vgg16
      dltool conv-shape --preset lenet5 --explain
      dltool conv-shape "28x28x192 | conv f=5 c=32 p=same"
      dltool conv-shape "28x28x192 | conv f=1 c=16 | conv f=5 c=32 p=same" --format json
      dltool conv-shape --preset resnet18 --batch 32 --dtype float16
      dltool conv-shape --preset lenet5 --run
    """
    from dltool.core.convshape import analyze

    if list_presets:
        _list_presets(output_format)
        return
    if (spec is None) == (preset is None):
        raise InputError("give a SPEC (text, file or '-') or --preset NAME (see --list-presets)")
    network = load_spec(preset or spec)
    summary = analyze(network)
    memory = {"batch": batch, "dtype": dtype, "activation_bytes": summary.activation_bytes(batch, dtype),
              "parameter_bytes": summary.param_bytes(dtype)}
    timings = None
    if run:
        from dltool.core.convrun import RUN_DTYPE, run_network
        from dltool.core.memory import check_memory

        # Every activation and weight at once, in the run's float64: an upper bound, as the
        # run keeps only a few activations alive at a time.
        check_memory(summary.activation_bytes(1, RUN_DTYPE) + summary.param_bytes(RUN_DTYPE),
                     "--run of this network", max_memory)

        timings = run_network(network, summary, seed=0)
        note(quiet, f"conv-shape: --run pushed a random input through "
                    f"{len(timings)} layers in {sum(t['seconds'] for t in timings) * 1000:.1f} ms: every shape "
                    "matches the table")
    fmt = resolve_format(output_format, "csv")
    if fmt == "json":
        write_json(sys.stdout, _as_json(summary, memory, timings, preset or spec))
    elif fmt == "csv":
        columns, rows = _rows(summary, timings)
        write_delimited(sys.stdout, columns, rows)
    else:
        _print(summary, memory, timings, preset or "spec", explain)


def _list_presets(output_format):
    rows = [[name, f"{p.params:,}", p.description] for name, p in PRESETS.items()]
    if resolve_format(output_format, "csv") == "table":
        print_table(["preset", "parameters", "variant"], rows, title="conv-shape presets")
    elif resolve_format(output_format, "csv") == "json":
        write_json(sys.stdout, [{"name": n, "parameters": p.params, "description": p.description}
                                for n, p in PRESETS.items()])
    else:
        write_delimited(sys.stdout, ["name", "parameters", "description"],
                        [[n, p.params, p.description] for n, p in PRESETS.items()])


def _shape(row):
    from dltool.core.convshape import format_shape

    return format_shape(row.shape)


def _rows(summary, timings):
    by_number = {t["number"]: t for t in timings or []}
    columns = ["number", "name", "kind", "spec", "shape", "size", "weights", "biases", "params", "macs",
               "receptive_field", "jump", "notes"] + (["seconds"] if timings else [])
    rows = []
    for r in summary.rows:
        row = [r.number, r.name, r.kind, r.text, _shape(r), r.size, r.weights, r.biases, r.params, r.macs,
               "" if r.rf is None else r.rf, "" if r.jump is None else r.jump, "; ".join(r.notes)]
        if timings:
            row.append(by_number[r.number]["seconds"] if r.number in by_number else "")
        rows.append(row)
    return columns, rows


def _as_json(summary, memory, timings, name):
    by_number = {t["number"]: t for t in timings or []}
    t = summary.totals
    return {
        "network": name, "input": list(summary.input_shape), "output": list(summary.output_shape),
        "layers": [{"number": r.number, "name": r.name, "kind": r.kind, "spec": r.text, "shape": list(r.shape),
                    "size": r.size, "weights": r.weights, "biases": r.biases, "params": r.params,
                    "non_trainable": r.non_trainable, "macs": r.macs, "receptive_field": r.rf, "jump": r.jump,
                    "padding": list(r.padding) if r.padding else None, "parent": r.parent, "branch": r.branch,
                    "notes": r.notes, "explain": r.explain, "course": r.course_note,
                    **({"seconds": by_number[r.number]["seconds"]} if r.number in by_number else {})}
                   for r in summary.rows],
        "totals": {"params": t.params, "weights": t.weights, "biases": t.biases, "non_trainable": t.non_trainable,
                   "macs": t.macs, "activations": t.activations},
        "memory": memory,
    }


def _print(summary, memory, timings, name, explain):
    by_number = {t["number"]: t for t in timings or []}
    t = summary.totals
    columns = ["#", "layer", "output", "size", "params", "MACs", "RF", "jump"] + (["ms"] if timings else [])
    rows = []
    for r in summary.rows:
        label = ("  " * r.depth) + r.name
        row = [r.number, label, _shape(r), f"{r.size:,}", f"{r.params:,}", f"{r.macs:,}",
               "all" if r.rf is None else r.rf, "-" if r.jump is None else r.jump]
        if timings:
            row.append(f"{by_number[r.number]['seconds'] * 1000:.2f}" if r.number in by_number else "")
        rows.append(row)
    rows.append(["", "total", "", f"{t.activations:,}", f"{t.params:,}", f"{t.macs:,}", "", ""]
                + ([""] if timings else []))
    print_table(columns, rows, title=f"conv-shape {name}: {t.params:,} parameters, {t.macs:,} multiply-adds")
    mib = 1024 * 1024
    click.echo(f"memory ({memory['dtype']}): activations {memory['activation_bytes'] / mib:,.1f} MiB for a batch of "
               f"{memory['batch']}, parameters {memory['parameter_bytes'] / mib:,.1f} MiB")
    notes = [(r, n) for r in summary.rows for n in r.notes]
    for r, n in notes:
        click.echo(f"note: {r.name}: {n}")
    if explain:
        for r in summary.rows:
            if r.explain:
                click.echo(f"\n{r.name} ({r.text}):")
                for line in r.explain:  # the course's count, where it differs, is among these lines
                    click.echo(f"  {line}")
