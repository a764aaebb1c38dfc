"""Exceptions raised by hashret.

Every error a user can cause is a :class:`HashretError` whose message names the problem and
the fix in one line. The CLI prints that line on stderr and exits with :attr:`exit_code`:
2 when the command line is wrong (an unknown, missing or out-of-range option, options that
do not go together, a path that does not exist, an id not in the index, a query the index's
modality cannot answer); 1 when what it names is (a corpus or index that is empty, damaged,
unreadable or from another version, a model that cannot be fitted). Library users catch the
classes below.

A message names the options it concerns as data, not as command-line flags: a placeholder
``{name}`` (or ``{name:value}``) for each, ``name`` one of :data:`OPTIONS`, the keyword of
the Python API. ``str(error)`` spells them as that API does (``epochs``, ``model='semi'``);
the CLI spells them as its flags (``--epochs``, ``--model semi``) through
:meth:`HashretError.render`. ``error.option`` is the option the error is about, if one.
"""

from __future__ import annotations

import re

# The options a message may name: keyword arguments of the library's functions.
OPTIONS = frozenset({
    "bits", "model", "noise", "labels_fraction", "mirror", "rotation", "epochs", "device",
    "seed", "limit", "index", "index_params", "out", "dataset", "text_column",
    "label_column", "id_column", "embedding_column", "image_column", "text", "file", "image",
    "vector", "item_id", "k", "radius", "features", "text_encoder", "prompt", "spark_master",
    "shards",
    "rerank", "baselines", "queries", "steps", "code", "sample", "interpolate", "verify",
})

_PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([^{}]*))?\}")


def python_spelling(name: str, value: str | None) -> str:
    """An option as the Python API names it: ``epochs``, ``model='semi'``."""
    if value is None:
        return name
    return f"{name}={value}" if value.lstrip("-").replace(".", "", 1).isdigit() \
        else f"{name}={value!r}"


class HashretError(Exception):
    """A problem the user can fix; the message says what is wrong and how to fix it."""

    exit_code = 1

    def __init__(self, message: str = "", option: str | None = None):
        super().__init__(message)
        self.template = message
        self.option = option

    def render(self, spell=python_spelling) -> str:
        """The message with each option placeholder spelt by ``spell(name, value)``."""
        def sub(m):
            if m.group(1) not in OPTIONS:
                return m.group(0)
            return spell(m.group(1), m.group(2))
        return _PLACEHOLDER.sub(sub, self.template)

    def __str__(self) -> str:
        return self.render()


class UsageError(HashretError):
    """Wrong or inconsistent arguments (exit code 2)."""

    exit_code = 2


class CorpusError(HashretError):
    """A corpus that cannot be read: missing, empty, corrupt or of an unknown layout."""


class BundleError(HashretError):
    """An index bundle that is missing, incomplete, corrupt or from an incompatible version."""


class MissingBundleError(UsageError, BundleError):
    """No index where the command line says (exit code 2: the path is wrong)."""


class MissingCorpusError(UsageError, CorpusError):
    """No corpus or input where the command line says (exit code 2: the path is wrong)."""


def plain_reason(e: Exception) -> str:
    """What is wrong with a file that failed to decode, in plain words rather than the
    codec's own text."""
    import json
    if isinstance(e, UnicodeDecodeError):
        return f"not UTF-8 text (a byte that cannot be read at position {e.start})"
    if isinstance(e, json.JSONDecodeError):
        return f"not valid JSON (line {e.lineno}, column {e.colno})"
    return str(e)[:80]
