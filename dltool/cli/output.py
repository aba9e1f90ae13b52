"""Putting results where they go: stdout (table / CSV / JSON by ``--format``) or an ``-o`` file.

The ``auto`` format follows ``sys.stdout.isatty()`` (not rich's terminal detection, which obeys
FORCE_COLOR): a person at a terminal gets a table, a pipe gets the machine format.
"""

import sys

import click

from dltool.io.streams import atomic_output
from dltool.io.formats import ROW_FORMATS, output_format as output_format_of
from dltool.io.tabular import write_delimited, write_json, write_jsonl


def resolve_format(requested: str, machine: str) -> str:
    if requested != "auto":
        return requested
    return "table" if sys.stdout.isatty() else machine


def note(quiet: bool, message: str) -> None:
    """A remark for the person at the terminal: stderr, silenced by -q."""
    if not quiet:
        click.echo(message, err=True)


def print_table(columns, rows, title: str | None = None, caption: str | None = None) -> None:
    """A rich table on stdout (rich is imported only here: pipes never pay for it)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, caption=caption, header_style="bold")
    for c in columns:
        table.add_column(str(c), overflow="fold")
    for row in rows:
        table.add_row(*[_short(v) for v in row])
    Console(file=sys.stdout).print(table)


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.6g}"
    return str(value)


def write_rows(fmt: str, columns, rows, records, stream) -> None:
    """Rows in a machine format; ``records`` (a list of dicts or a callable making it) for JSON."""
    if fmt in ("csv", "tsv"):
        write_delimited(stream, columns, rows, "\t" if fmt == "tsv" else ",")
    elif fmt == "json":
        write_json(stream, records() if callable(records) else records)
    elif fmt == "jsonl":
        write_jsonl(stream, records() if callable(records) else records)
    else:
        raise ValueError(f"not a row format: {fmt}")


def emit_rows(output_format: str, output: str | None, columns, rows, records, title=None, machine="csv"):
    """Send rows to ``output`` (atomically, format from its extension) or to stdout."""
    if output:
        fmt = output_format_of(output, ROW_FORMATS) if output_format in ("auto", "table") else output_format
        with atomic_output(output) as f:
            write_rows(fmt, columns, rows, records, f)
        return
    fmt = resolve_format(output_format, machine)
    if fmt == "table":
        print_table(columns, rows, title=title)
    else:
        write_rows(fmt, columns, rows, records, sys.stdout)
