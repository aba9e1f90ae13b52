"""Exit codes and the error types that carry them.

Every failure a user can cause is a :class:`DltoolError`; the CLI entry wrapper prints its
message as one ``Error: ...`` line and exits with its code. Anything else that escapes is an
internal error (exit 3).
"""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CHECK_FAILED = 1  # a check ran and failed (gradcheck over tolerance, a --fail-* threshold)
    BAD_INPUT = 2  # bad usage or bad input
    INTERNAL = 3  # a bug in dltool
    INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT
    TERMINATED = 143  # SIGTERM, as a shell reports it


class DltoolError(Exception):
    """A failure caused by the user's input or usage; exit code 2 unless a subclass says otherwise."""

    exit_code = ExitCode.BAD_INPUT


class InputError(DltoolError, ValueError):
    """Bad input data. ``where`` is ``file``, ``file:line`` or ``file: item 3`` and leads the message.

    It is also a ValueError so that library callers of ``dltool.core`` can catch it the usual way.
    """

    def __init__(self, message: str, where: str | None = None):
        self.where = where
        self.reason = message
        super().__init__(f"{where}: {message}" if where else message)

    def located(self, where: str) -> "InputError":
        """The same error, placed at ``where`` (used when a core check fails on data read from a file)."""
        return InputError(self.reason, where)


class UserCodeError(DltoolError):
    """The user's own code (a function given to ``dltool gradcheck``) raised: their traceback is
    shown, since it is their code, and the run exits 2."""

    def __init__(self, message: str, user_traceback: str):
        self.user_traceback = user_traceback
        super().__init__(message)


class CheckFailed(DltoolError):
    """A check ran to completion and failed: exit 1."""

    exit_code = ExitCode.CHECK_FAILED
