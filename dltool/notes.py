"""Notes from the library for the person running dltool (``compiling numba kernels...``).

Library code calls :func:`note`. Unless the caller asked otherwise, a note goes to the standard
``logging`` logger named after its source, as a library's should: silent by default for info,
warnings on stderr. An application that shows notes its own way (the CLI prefixes them with the
command, shows info only at a terminal, and silences them with ``-q``) sets :data:`SINK` for the
length of a call. The CLI does not route them through ``logging``: importing it costs ~3 ms of
every run, and only runs that load numba (0.3 s) ever write a note.

:data:`SINK` is a context variable, so its value belongs to the call that set it. A thread sees
it only when it runs in a copy of that caller's context: ``dltool.core.threads`` runs its chunks
so, since numba may compile a kernel (and say so) on a worker thread.
"""

import contextvars

#: Where notes go in the current context: a callable ``sink(level, message)``; None: ``logging``.
SINK = contextvars.ContextVar("dltool_notes_sink", default=None)


def note(level: str, message: str, source: str = "dltool") -> None:
    """Say ``message`` at ``level`` ("info" or "warning"); ``source`` names the logger."""
    sink = SINK.get()
    if sink is not None:
        sink(level, message)
        return
    import logging

    logging.getLogger(source).log(logging.WARNING if level == "warning" else logging.INFO, message)
