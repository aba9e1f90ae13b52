"""Shared helpers of the CLI tests: paths, and running ``dltool`` in-process with CliRunner."""

import pathlib

from click.testing import CliRunner

from dltool.cli import cli

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
DATA = pathlib.Path(__file__).resolve().parent / "data" / "cli"


def run(*args, input=None):
    """Invoke ``dltool ARGS``; the entry wrapper turns every outcome into an exit code, so
    nothing but SystemExit may escape it."""
    result = CliRunner().invoke(cli, [str(a) for a in args], input=input, prog_name="dltool")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def ok(*args, input=None):
    """``run``, asserting exit code 0."""
    result = run(*args, input=input)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result
