"""``dltool cache``: where the compiled numba kernels live, and compiling them ahead of time."""

import importlib
import json
import os
import shutil
import time

import click

from dltool.errors import InputError
from dltool.cli.output import note
from dltool.cli.options import quiet_option
from dltool.cli.progress import progress_bar


@click.group("cache", context_settings={"help_option_names": ["-h", "--help"]})
def command():
    """Where dltool's compiled numba kernels are cached; compile them ahead of time, or clear them.

    The cache is NUMBA_CACHE_DIR if set, else $XDG_CACHE_HOME/dltool/numba (~/.cache/dltool/numba),
    never inside the installed package. Where no folder is writable, kernels compile in memory
    for each run. A first run compiles the kernels it needs (a few seconds, said on stderr at a
    terminal); later runs load them.

    \b
    Examples:
      dltool cache dir
      dltool cache info
      dltool cache warm
      dltool cache purge
    """


def _files(folder):
    """(count, bytes) of the files below ``folder``."""
    count = size = 0
    for root, _, names in os.walk(folder or ""):
        for name in names:
            count += 1
            size += os.path.getsize(os.path.join(root, name))
    return count, size


@command.command("dir")
def dir_():
    """Print the folder that holds dltool's compiled kernels.

    \b
    Example:
      dltool cache dir
    """
    from dltool.core import jit

    folder = jit.kernel_folder()
    click.echo(folder if folder else "(none: no cache directory; kernels compile in memory)")


@command.command("info")
@click.option("--format", "output_format", type=click.Choice(("auto", "text", "json")), default="auto",
              show_default=True, help="Output format. auto: text.")
def info(output_format):
    """Show where the kernel cache is, whether it is writable, and how many files it holds.

    \b
    Example:
      dltool cache info --format json
    """
    from dltool.core import jit

    folder = jit.kernel_folder()
    count, size = _files(folder) if folder and os.path.isdir(folder) else (0, 0)
    report = {"folder": folder, "source": "NUMBA_CACHE_DIR" if os.environ.get("NUMBA_CACHE_DIR") else "user cache",
              "writable": bool(folder) and jit.cache_enabled(), "files": count, "bytes": size}
    if output_format == "json":
        click.echo(json.dumps(report))
        return
    for key, value in report.items():
        click.echo(f"{key}: {value}")


@command.command("purge")
@quiet_option
def purge(quiet):
    """Delete dltool's compiled kernels (the next run of each command compiles them again).

    Only dltool's own folder is removed, also when NUMBA_CACHE_DIR is shared with other projects.

    \b
    Example:
      dltool cache purge
    """
    from dltool.core import jit

    folder = jit.kernel_folder()
    count, size = _files(folder) if folder and os.path.isdir(folder) else (0, 0)
    if count:
        shutil.rmtree(folder)
    note(quiet, f"cache: removed {count} files ({size / 1e6:.1f} MB) from {folder}")


@command.command("warm")
@quiet_option
def warm(quiet):
    """Compile every numba kernel now, so that no later run waits for the compiler.

    For container images and CI caches: run it once after installing (about 10-20 s on a 2-core
    machine; a second call only loads what is cached, about a second). Kernels compile into the
    cache folder (`dltool cache dir`).

    \b
    Example:
      dltool cache warm
    """
    from dltool.core import jit

    if not jit.cache_enabled():
        raise InputError("no writable cache directory: set NUMBA_CACHE_DIR to a writable folder, "
                         "then run `dltool cache warm` again")
    start = time.perf_counter()
    with progress_bar(quiet) as update:
        for k, name in enumerate(jit.KERNEL_MODULES):
            update("compiling kernels", k, len(jit.KERNEL_MODULES), name.rsplit(".", 1)[-1])
            importlib.import_module(name).warm()
        update("compiling kernels", len(jit.KERNEL_MODULES), len(jit.KERNEL_MODULES), "")
    count, size = _files(jit.kernel_folder())
    note(quiet, f"cache: {len(jit.KERNEL_MODULES)} kernel modules ready in {jit.kernel_folder()} "
                f"({count} files, {size / 1e6:.1f} MB, {time.perf_counter() - start:.1f} s)")

