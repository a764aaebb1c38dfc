"""The indexes a server answers from, by name, each reopened when a build replaces it.

A request takes the index's current :class:`Served` object and uses it to the end; a build
(or ``add`` / ``remove``) that swaps the folder is noticed at the next request by the
manifest's identity (inode, size, modification time), and the new bundle is opened, verified
and made current for later requests. Every part a query reads (codes, items, featurizer,
the numpy encoder or the network) is loaded when the index is opened, so a request that
began on the old bundle finishes on it: none fails and none mixes the two. Should the new
folder not open (a damaged file), the old bundle goes on answering and the failure is
logged and counted.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..bundle import MANIFEST
from ..errors import HashretError, UsageError
from ..retriever import Retriever

log = logging.getLogger("hashret")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass
class Served:
    """One opened index: its retriever and what was opened."""

    name: str
    path: Path
    retriever: Retriever
    stamp: tuple
    corpus: object = None              # the items themselves, read again on first need
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def bundle(self):
        return self.retriever.bundle

    def describe(self) -> dict:
        m = self.bundle.manifest
        return {"name": self.name, "kind": m["model"]["kind"], "modality": self.bundle.modality,
                "bits": m["n_bits"], "items": len(self.bundle.items),
                "index": m["index"]["kind"], "labels": m["counts"]["labelled"] > 0}

    def items_read_again(self):
        """The indexed items (images, documents' text) from the corpus the index was built
        from, read again once (None when it is no longer where the build read it)."""
        with self.lock:
            if self.corpus is None:
                from ..sources import reopen_corpus
                try:
                    self.corpus = reopen_corpus(self.bundle)
                except HashretError as e:
                    log.warning("index %s: its items cannot be read again (%s)", self.name, e)
                    self.corpus = False
            return self.corpus or None


def _stamp(path: Path) -> tuple:
    st = (path / MANIFEST).stat()
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def open_served(name: str, path: Path) -> Served:
    stamp = _stamp(path)
    retriever = Retriever.load(path, with_model=False)
    bundle = retriever.bundle
    # load what a query reads now, not on a first query that may come after a swap (or
    # that many requests would wait on at once)
    if bundle.numpy_encoder() is None:
        bundle.model
    bundle.codes
    if len(bundle.items):
        bundle.row_of(bundle.items.column("id")[0].as_py())
    return Served(name, path, retriever, stamp)


class IndexSet:
    """Indexes by name (their folder's name), each reopened when replaced on disk."""

    def __init__(self, paths):
        self._served: dict[str, Served] = {}
        self._lock = threading.Lock()
        self._failed: dict[str, tuple] = {}       # a replacement that did not open
        self.reload_failures = 0
        for p in paths:
            p = Path(p)
            name = p.resolve().name
            if not NAME.match(name):
                raise UsageError(f"index folder name {name!r} cannot name an index in a URL; "
                                 "use letters, digits, '.', '_' and '-'")
            if name in self._served:
                raise UsageError(f"two indexes are named {name!r}; serve folders of "
                                 "different names")
            self._served[name] = open_served(name, p)

    @property
    def names(self) -> list[str]:
        return list(self._served)

    def get(self, name: str) -> Served:
        """The current index of that name, reopened first if a build replaced it."""
        served = self._served.get(name)
        if served is None:
            raise LookupError(name)
        try:
            stamp = _stamp(served.path)
        except OSError:              # between the two renames of a swap on other systems
            return served
        if stamp != served.stamp and stamp != self._failed.get(name):
            with self._lock:
                served = self._served[name]
                if stamp != served.stamp and stamp != self._failed.get(name):
                    try:
                        served = self._served[name] = open_served(name, served.path)
                        log.info("index %s reopened after it was replaced", name)
                    except (HashretError, OSError) as e:
                        self.reload_failures += 1
                        self._failed[name] = stamp
                        log.warning("index %s was replaced but does not open (%s); still "
                                    "answering from the one opened before", name, e)
        return served

    def all(self) -> list[Served]:
        return [self.get(n) for n in self.names]
