"""How dltool compiles its numba kernels: one decorator, one cache place.

Every kernel module decorates with :func:`njit` from here instead of ``numba.njit``. It decides
where numba's cache lives, so that compiled kernels never land inside the installed package
(where ``pip uninstall`` would leave them behind, and a read-only site-packages would fail):

1. ``NUMBA_CACHE_DIR``, if the user set it;
2. else the user cache: ``$XDG_CACHE_HOME/dltool/numba``, or ``~/.cache/dltool/numba``;
3. where none of these is writable, no disk cache at all: kernels compile in memory for this run
   only, and the ``dltool.jit`` logger says so once.

Importing this module does not import numba; decorating does (kernel modules are imported only
by the code paths that need them).
"""

import functools
import logging
import os
import tempfile

log = logging.getLogger("dltool.jit")

#: numba keeps its files below this sub-folder of the user cache (``dltool cache dir``).
CACHE_SUBDIR = os.path.join("dltool", "numba")


def default_cache_dir() -> str | None:
    """Where kernels are cached when the user set nothing: the XDG user cache, or None."""
    root = os.environ.get("XDG_CACHE_HOME") or ""
    if not os.path.isabs(root):  # the XDG spec: a relative value is invalid and ignored
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        root = os.path.join(home, ".cache")
    return os.path.join(root, CACHE_SUBDIR)


def cache_dir() -> str | None:
    """The directory numba caches dltool's kernels in: ``NUMBA_CACHE_DIR`` or :func:`default_cache_dir`."""
    return os.environ.get("NUMBA_CACHE_DIR") or default_cache_dir()


def _writable(folder: str) -> bool:
    """Can numba create ``folder`` and write files there? (Tried, not guessed from mode bits:
    root, read-only mounts and ACLs all defeat ``os.access``.)"""
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return False
    return True


@functools.lru_cache(maxsize=None)
def _configure() -> bool:
    """Point numba's cache at :func:`cache_dir`, once per process; True if kernels can be cached.

    When it returns False, kernels must not ask for ``cache=True``: numba would fall back to a
    ``__pycache__`` beside the source, inside the installed package.
    """
    from numba.core import config, event

    event.install_listener("numba:compile", _CompileNotice())
    folder = cache_dir()
    if folder and _writable(folder):
        config.CACHE_DIR = folder
        return True
    log.warning("no writable cache directory (tried %s): numba kernels compile in memory for "
                "this run only - set NUMBA_CACHE_DIR to a writable folder to keep them",
                folder or "$XDG_CACHE_HOME and ~/.cache")
    return False


class _CompileNotice:
    """A numba event listener that logs, once per process, that kernels are being compiled.

    numba fires ``numba:compile`` only on a cache miss, so a warm run says nothing.
    """

    def __init__(self):
        self.said = False

    def on_start(self, event):
        if not self.said:
            self.said = True
            log.info("compiling numba kernels, first run only")

    def on_end(self, event):
        pass

    # numba's Listener protocol calls notify(); keep to the two hooks above.
    def notify(self, event):
        if event.is_start:
            self.on_start(event)
        elif event.is_end:
            self.on_end(event)


def njit(*args, **options):
    """``numba.njit`` with dltool's cache placement: cached where a cache folder is writable, in
    memory otherwise. Use as ``@njit`` or ``@njit(nogil=True)``."""
    import numba

    options["cache"] = _configure()
    return numba.njit(*args, **options)
