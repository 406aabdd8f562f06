"""The exception for misuse of the library API: an argument no call could accept.

Problems in what a user wrote (a ``.seg`` file, a schema, a rule) are diagnostics,
returned as values. A :class:`UsageError` is for the caller's mistakes instead: a
segment name that is not in the files loaded, an unknown SQL dialect or output form, an
as-of that is no date. The command line reports it as a usage error (exit status 2).
"""

from __future__ import annotations


class UsageError(ValueError):
    """A call the API cannot carry out as asked. ``param`` names the argument at fault
    (``"segment"``, ``"target"``, ``"as_of"`` ...), or is ``None``."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
