"""How dltool compiles its numba kernels: one decorator, one cache place.

Every kernel module decorates with :func:`njit` from here instead of ``numba.njit``. It decides
where numba's cache lives, so that compiled kernels never land inside the installed package
(where ``pip uninstall`` would leave them behind, and a read-only site-packages would fail):

1. ``NUMBA_CACHE_DIR``, if the user set it;
2. else the user cache: ``$XDG_CACHE_HOME/dltool/numba``, or ``~/.cache/dltool/numba``;
3. where none of these is writable, no disk cache at all: kernels compile in memory for this run
   only, and a note (:mod:`dltool.notes`, logger ``dltool.jit``) says so once.

Importing this module does not import numba; decorating does (kernel modules are imported only
by the code paths that need them).
"""

import functools
import os
import sys
import tempfile

from dltool.notes import note

#: numba keeps its files below this sub-folder of the user cache (``dltool cache dir``).
CACHE_SUBDIR = os.path.join("dltool", "numba")

#: Every module of numba kernels. Each has a ``warm()`` that compiles its kernels for the argument
#: types its wrappers pass; ``dltool cache warm`` runs them all.
KERNEL_MODULES = (
    "dltool.core.box_kernels",
    "dltool.core.csv_kernels",
    "dltool.core.anchor_kernels",
    "dltool.core.conv_kernels",
    "dltool.core.gradcheck_kernels",
    "dltool.core.logreg_kernels",
    "dltool.core.map_kernels",
)


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


def kernel_folder() -> str | None:
    """The folder below :func:`cache_dir` that holds dltool's compiled kernels (numba names it after
    the source folder, ``dltool/core``), or None where there is no cache directory."""
    folder = cache_dir()
    if not folder:
        return None
    from numba.core.caching import _CacheLocator

    return os.path.join(folder, _CacheLocator.get_suitable_cache_subpath(os.path.abspath(__file__)))


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


def cache_enabled() -> bool:
    """True if kernels are cached on disk in this process (see :func:`_configure`)."""
    return _configure()


@functools.lru_cache(maxsize=None)
def _configure() -> bool:
    """Point numba's cache at :func:`cache_dir`, once per process; True if kernels can be cached.

    When it returns False, kernels must not ask for ``cache=True``: numba would fall back to a
    ``__pycache__`` beside the source, inside the installed package.
    """
    _import_numba_without_scipy()
    from numba.core import config, event

    event.register("numba:compile", _compile_notice())
    folder = cache_dir()
    if folder and _writable(folder):
        config.CACHE_DIR = folder
        return True
    note("warning", f"no writable cache directory (tried {folder or '$XDG_CACHE_HOME and ~/.cache'}): "
         "numba kernels compile in memory for this run only - set NUMBA_CACHE_DIR to a writable folder "
         "to keep them", "dltool.jit")
    return False


def _import_numba_without_scipy() -> None:
    """Import numba and load its implementation registries, with scipy hidden from both.

    numba imports scipy twice on the way: to check its version, and (``scipy.linalg``) to learn
    whether ``np.dot`` and ``np.linalg`` can be compiled inside kernels. No dltool kernel uses them
    (linear algebra runs in numpy, outside the kernels), and the two imports are 0.15-0.2 s of
    every run that loads a kernel: more than numba's own import. A scipy that the process has
    imported already is left alone, and scipy imports normally afterwards.
    """
    hide = "scipy" not in sys.modules
    if hide:
        sys.modules["scipy"] = None  # ``import scipy...`` raises ImportError, which numba expects
    try:
        from numba.core.registry import cpu_target

        cpu_target.target_context.refresh()
    finally:
        if hide and "scipy" in sys.modules and sys.modules["scipy"] is None:
            del sys.modules["scipy"]


def _compile_notice():
    """A numba event listener that notes, once per process, that kernels are being compiled.

    numba fires ``numba:compile`` only on a cache miss, so a warm run says nothing. (The class is
    made here because its base class is numba's, which this module does not import up front.)
    """
    from numba.core import event

    class CompileNotice(event.Listener):
        said = False

        def on_start(self, ev):
            if not self.said:
                self.said = True
                note("info", "compiling numba kernels, first run only (a few seconds)...", "dltool.jit")

        def on_end(self, ev):
            pass

    return CompileNotice()


def numba_module():
    """numba itself, imported the way dltool imports it (see :func:`_configure`): for the few
    names a kernel module needs besides :func:`njit`, such as ``prange``."""
    _configure()
    import numba

    return numba


def njit(*args, **options):
    """``numba.njit`` with dltool's cache placement: cached where a cache folder is writable, in
    memory otherwise. Use as ``@njit`` or ``@njit(nogil=True)``."""
    options["cache"] = _configure()  # imports numba, the first time
    import numba

    return numba.njit(*args, **options)
