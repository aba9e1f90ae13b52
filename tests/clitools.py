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


def assert_error(result, *contains, notes=None):
    """Exit 2, nothing on stdout, exactly one ``Error: `` line on stderr (the last), no traceback.

    ``notes``: a prefix the lines before the error may have (notes printed before the failure);
    without it, stderr is that one line."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    assert lines[-1] == errors[0], result.stderr
    if notes:
        assert all(line.startswith(notes) for line in lines[:-1]), result.stderr
    else:
        assert len(lines) == 1, result.stderr
    for text in contains:
        assert text in errors[0], (text, errors[0])
    return errors[0]


def help_text(command: str) -> str:
    """``dltool COMMAND --help``, which must succeed with nothing on stderr."""
    result = ok(command, "--help")
    assert result.stderr == ""
    return result.stdout


def examples(text: str) -> list:
    """The command lines of a help text's "Examples:" section."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "Examples:")
    found = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        found.append(line.strip())
    return found


def option_docs(command: str) -> dict:
    """{parameter name: (click.Option, its --help line)} for every option of ``dltool COMMAND``,
    asserting on the way that each option appears in --help and has a help text."""
    import click

    cmd = cli.get_command(click.Context(cli), command)
    ctx = click.Context(cmd, info_name=command, parent=click.Context(cli, info_name="dltool"))
    text = help_text(command)
    docs = {}
    for param in cmd.params:
        if isinstance(param, click.Option):
            name, doc = param.get_help_record(ctx)
            assert param.opts[-1] in text
            assert param.help, f"{name} has no help"
            docs[param.name] = (param, doc)
    return docs
