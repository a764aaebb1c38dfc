"""The ``hashret`` command line: a thin click layer over the library, one module per
command family. Each command parses its options, calls one library function and formats
what it returns; errors print one line on stderr and exit with 2 (the command line is
wrong) or 1 (the data or an index is)."""

from . import build, decode, evaluate, export, info, query, serve  # noqa: F401  (registers them)
from .app import cli, main

__all__ = ["cli", "main"]
