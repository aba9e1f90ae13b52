"""Memory estimates checked before a big allocation: refuse what cannot fit, saying how much it
would take and what the limit is, instead of swapping for minutes or being killed.

A command whose memory grows with sizes the user types (``init --layers``, ``gradcheck
--layers``, ``conv-shape --run``) estimates its need first and calls :func:`check_memory`; its
``--max-memory GB`` option raises the limit.
"""

import os

from dltool.errors import InputError

#: Share of the machine's physical memory a run may plan to use by default.
DEFAULT_SHARE = 0.5
GIB = 1 << 30


def physical_memory() -> int | None:
    """Bytes of physical memory, or None where the platform does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def default_limit() -> int:
    """Half the physical memory (8 GiB where it is unknown)."""
    total = physical_memory()
    return int(total * DEFAULT_SHARE) if total else 8 * GIB


def check_memory(nbytes: float, what: str, limit_gb: float | None = None) -> None:
    """Raise InputError if ``nbytes`` exceed the limit (``limit_gb`` GiB, or :func:`default_limit`)."""
    limit = default_limit() if limit_gb is None else limit_gb * GIB
    if nbytes > limit:
        raise InputError(f"{what} would need about {nbytes / GIB:,.1f} GiB of memory, over the limit of "
                         f"{limit / GIB:,.1f} GiB - use smaller sizes, or raise the limit with --max-memory GB")
