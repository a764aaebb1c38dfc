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
from .data import load_dataset, read_corpus  # noqa: E402
from .models import HashModel, ModelConfig  # noqa: E402
from .index import BinaryCodeIndex  # noqa: E402
from .bundle import Bundle  # noqa: E402
from .build import add_to_index, build_index, remove_from_index  # noqa: E402
from .retriever import Hit, Retriever  # noqa: E402

__all__ = ["HashModel", "ModelConfig", "BinaryCodeIndex", "Bundle", "Retriever", "Hit",
           "build_index", "add_to_index", "remove_from_index", "load_dataset", "read_corpus",
           "HashretError", "UsageError", "CorpusError", "BundleError", "__version__"]
