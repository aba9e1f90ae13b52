"""The ``dltool`` command group and the entry wrapper that turns every outcome into an exit code.

Subcommand modules are imported only when needed, and none imports numba at module level:
``dltool --help`` stays fast.
"""

import contextlib
import errno
import gc
import importlib
import io
import os
import signal
import sys

import click

from dltool import __version__
from dltool.errors import DltoolError, ExitCode
from dltool.notes import SINK

#: subcommand -> module defining ``command`` (one small module per tool).
COMMANDS = {
    "anchors-kmeans": "dltool.cli.anchors",
    "cache": "dltool.cli.cache",
    "conv-shape": "dltool.cli.conv_shape",
    "gradcheck": "dltool.cli.gradcheck",
    "gram-style": "dltool.cli.gram_style",
    "init": "dltool.cli.init",
    "iou": "dltool.cli.iou",
    "map": "dltool.cli.map",
    "nms": "dltool.cli.nms",
    "predict": "dltool.cli.predict",
    "train-logreg": "dltool.cli.train_logreg",
}


class ReaderGone(Exception):
    """stdout's reader went away (``dltool ... | head``). Not an OSError: click's own EPIPE
    handler would turn that into exit 1 before the wrapper saw it."""


class Terminated(BaseException):
    """SIGTERM arrived (``kill``, ``timeout``, a CI runner or a container stopping). A
    BaseException like KeyboardInterrupt, so that the same clean-up runs: temporary output files
    are removed and an existing output is left as it was."""


class ClosedStream(io.TextIOBase):
    """Stands in for a standard stream the shell closed (``dltool ... >&-``): writing to it fails
    like writing to a closed descriptor, so a command that needs stdout reports it, and one that
    writes only ``-o`` files runs as usual."""

    def isatty(self):
        return False

    def write(self, text):
        raise OSError(errno.EBADF, "standard output is closed")


class RunSettings:
    """Per-invocation settings the entry wrapper needs: set by eager options, read after the
    command has run or failed."""

    def __init__(self):
        self.traceback = False
        self.quiet = False
        self.command = None


class NoteSink:
    """Notes of the library (:mod:`dltool.notes`) as ``command: message`` lines on stderr.

    Informational notes (``compiling numba kernels...``) are for a person waiting at a terminal;
    warnings show in pipes too. ``-q`` silences both.
    """

    def __init__(self, settings: RunSettings):
        self.settings = settings

    def __call__(self, level: str, message: str):
        if self.settings.quiet:
            return
        if level != "warning" and not (sys.stderr and sys.stderr.isatty()):
            return
        prefix = self.settings.command or "dltool"
        click.echo(f"{prefix}: {message}", err=True)


@contextlib.contextmanager
def library_notes(settings: RunSettings):
    """Route the library's notes to :class:`NoteSink` for one invocation."""
    token = SINK.set(NoteSink(settings))
    try:
        yield
    finally:
        SINK.reset(token)


def _raise_terminated(signum, frame):
    raise Terminated()


@contextlib.contextmanager
def sigterm_as_exception():
    """SIGTERM raises :class:`Terminated` in the main thread for the length of the block."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread (an embedding application): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class DltoolGroup(click.Group):
    """Lazy subcommands, plus the mapping from outcomes to exit codes (docs/SPEC.md §2)."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        return importlib.import_module(COMMANDS[name]).command

    def resolve_command(self, ctx, args):
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(ctx.obj, RunSettings):
            ctx.obj.command = name  # notes are prefixed with it
        return name, command, rest

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError as e:
            raise ReaderGone() from e

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        settings = extra.pop("obj", None) or RunSettings()
        if sys.stdout is None:
            sys.stdout = ClosedStream()
        try:
            with library_notes(settings), sigterm_as_exception():
                rv = super().main(args, prog_name or "dltool", complete_var, standalone_mode=False,
                                  obj=settings, **extra)
                code = rv if isinstance(rv, int) else ExitCode.OK
                sys.stdout.flush()  # a reader that went away shows up here, inside the handlers below
        except DltoolError as e:
            if getattr(e, "user_traceback", None):
                click.echo(e.user_traceback.rstrip("\n"), err=True)
            click.echo(f"Error: {e}", err=True)
            code = e.exit_code
        except click.UsageError as e:
            # One line, as every other error (SPEC: errors), with the way to the help instead of
            # click's two lines of usage before it.
            where = f" - see '{e.ctx.command_path} --help'" if e.ctx is not None else ""
            click.echo(f"Error: {e.format_message().rstrip('.')}{where}", err=True)
            code = ExitCode.BAD_INPUT
        except click.ClickException as e:
            e.show()
            # click's plain ClickException exits 1, which means "a check failed" here.
            code = ExitCode.BAD_INPUT if e.exit_code in (1, 2) else e.exit_code
        except (click.Abort, KeyboardInterrupt):
            code = ExitCode.INTERRUPTED
        except Terminated:
            code = ExitCode.TERMINATED
        except (BrokenPipeError, ReaderGone):
            # The reader (`| head`) has gone: stop quietly.
            _silence_stdout()
            code = ExitCode.OK
        except OSError as e:
            # Readers and -o files turn their own failures into InputError: what escapes is stdout
            # (`> /dev/full`, a closed stdout). Not a bug in dltool: say which and stop.
            _silence_stdout()
            fix = "free some space, or write elsewhere" if e.errno == errno.ENOSPC else \
                "redirect it to a file or a pipe"
            click.echo(f"Error: {e.filename or 'standard output'}: cannot write: {e.strerror or e} - {fix}",
                       err=True)
            code = ExitCode.BAD_INPUT
        except Exception as e:  # a bug: say so in one line, the traceback on request
            if settings.traceback:
                import traceback  # here, not at the top: only a bug needs it

                traceback.print_exc()
            click.echo(f"Error: internal error: {type(e).__name__}: {e} - this is a bug in dltool; "
                       "re-run with `dltool --traceback ...` to see where, and report it", err=True)
            code = ExitCode.INTERNAL
        if standalone_mode:
            sys.exit(int(code))
        return int(code)


def _silence_stdout():
    """Point stdout at devnull, so that the interpreter's final flush of what could not be written
    does not fail a second time (and turn the exit code into 120)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _set_traceback(ctx, param, value):
    if value:
        ctx.ensure_object(RunSettings).traceback = True


@click.group(cls=DltoolGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="dltool")
@click.option("--traceback", is_flag=True, expose_value=False, is_eager=True, callback=_set_traceback,
              help="Show the Python traceback of an internal error (exit code 3).")
def cli():
    """The working parts of a first deep-learning course, as fast command-line tools.

    Data goes to stdout (a table on a terminal, CSV or JSON in a pipe), everything else to stderr.
    Exit codes: 0 ok, 1 a check failed, 2 bad usage or input, 3 internal error, 130 interrupted,
    143 terminated.
    """


def main():
    """Console-script entry point (and ``python -m dltool``).

    The command has finished and closed its outputs when ``cli.main`` returns; what is left is
    the interpreter's teardown. Its garbage collections walk every object of numpy, click and
    dltool's modules (~10 ms of a 100 ms run, measured), only to free memory the operating system
    takes back anyway. Frozen, the collector skips them; atexit handlers, thread joins and the
    flush of the standard streams still run as usual.
    """
    code = cli.main(standalone_mode=False)
    gc.freeze()
    sys.exit(code)
