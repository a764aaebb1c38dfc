"""Exceptions raised by hashret.

Every error a user can cause is a :class:`HashretError` whose message names the problem and
the fix in one line. The CLI prints that line on stderr and exits with :attr:`exit_code`
(2 for usage mistakes, 1 for runtime failures); library users catch the classes below.
"""


class HashretError(Exception):
    """A problem the user can fix; the message says what is wrong and how to fix it."""

    exit_code = 1


class UsageError(HashretError):
    """Wrong or inconsistent arguments (exit code 2)."""

    exit_code = 2


class CorpusError(HashretError):
    """A corpus that cannot be read: missing, empty, corrupt or of an unknown layout."""


class BundleError(HashretError):
    """An index bundle that is missing, incomplete, corrupt or from an incompatible version."""
