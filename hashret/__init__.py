"""hashret: semantic hashing for similarity search.

An autoencoder learns a K-bit binary code for every item of a corpus (documents or images);
the codes go into a Faiss binary index and a query by example returns its nearest
neighbours by Hamming distance.

>>> from hashret import build_index, Retriever
>>> build_index(load_dataset("reuters"), "indexes/reuters", bits=64)
>>> Retriever.load("indexes/reuters").query("oil prices fall", k=5)
"""

import logging

__version__ = "0.1.0"

logging.getLogger("hashret").addHandler(logging.NullHandler())

from .errors import BundleError, CorpusError, HashretError, UsageError  # noqa: E402

# The rest is imported when first used, so `hashret --help` and `hashret info` do not wait
# for torch to load.
_LAZY = {"as_corpus": "data", "load_dataset": "data", "read_corpus": "data", "HashModel": "models",
         "ModelConfig": "models", "BinaryCodeIndex": "search.index", "Bundle": "bundle",
         "add_to_index": "build", "build_index": "build", "remove_from_index": "build",
         "Hit": "retriever", "Retriever": "retriever"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hashret' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))


__all__ = ["HashModel", "ModelConfig", "BinaryCodeIndex", "Bundle", "Retriever", "Hit",
           "build_index", "add_to_index", "remove_from_index", "load_dataset", "read_corpus",
           "HashretError", "UsageError", "CorpusError", "BundleError", "__version__"]
