"""Progress on stderr: a rich bar when stderr is a terminal and not --quiet, otherwise nothing."""

import contextlib
import sys


@contextlib.contextmanager
def progress_bar(quiet: bool):
    """Yield ``update(description, completed, total, status)``; a no-op off a terminal.

    rich is imported only when a bar is really shown.
    """
    if quiet or not sys.stderr.isatty():
        yield lambda *args: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                  console=Console(file=sys.stderr), transient=True) as bar:
        tasks = {}

        def update(description, completed, total, status=""):
            if description not in tasks:
                tasks[description] = bar.add_task(description, total=total, status="")
            bar.update(tasks[description], completed=completed, total=total, status=status)

        yield update
