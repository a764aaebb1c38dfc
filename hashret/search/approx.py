"""``hnsw`` / ``ivf``: faiss' approximate binary indexes."""

from __future__ import annotations

import math
import threading

import numpy as np

from .scan import sort_rows


class FaissApprox:
    """``hnsw`` / ``ivf``: faiss' approximate binary indexes over positions."""

    def __init__(self, codes, words, params, kind=None, index=None):
        import faiss
        self.kind = kind
        self.lock = threading.Lock()       # faiss' graph/lists are not safe to grow mid-search
        n, nb = codes.shape
        bits = nb * 8
        self.params = dict(params)
        if index is not None:
            self.index = index
        elif self.kind == "hnsw":
            self.index = faiss.IndexBinaryHNSW(bits, self.params.get("M", 32))
            self.index.hnsw.efConstruction = self.params.get("ef_construction", 64)
            self.index.add(np.ascontiguousarray(codes))
        else:
            nlist = self.params.get("nlist", max(1, min(65536, int(4 * math.sqrt(n)))))
            nlist = min(nlist, n)
            self.params["nlist"] = nlist
            self._quantizer = faiss.IndexBinaryFlat(bits)     # kept alive: not owned
            self.index = faiss.IndexBinaryIVF(self._quantizer, bits, nlist)
            sample = codes if n <= 32 * nlist else \
                codes[np.random.default_rng(0).choice(n, 32 * nlist, replace=False)]
            self.index.train(np.ascontiguousarray(sample))
            self.index.add(np.ascontiguousarray(codes))
        self._tune()

    def _tune(self):
        if self.kind == "hnsw":
            self.index.hnsw.efSearch = self.params.get("ef_search", 128)
        else:
            self.index.nprobe = self.params.get("nprobe", 16)

    def effective_params(self):
        if self.kind == "hnsw":
            return {"M": int(self.index.hnsw.nb_neighbors(1)),
                    "ef_search": int(self.index.hnsw.efSearch),
                    "ef_construction": int(self.index.hnsw.efConstruction)}
        return {"nlist": int(self.index.nlist), "nprobe": int(self.index.nprobe)}

    def knn(self, st, qw, k):
        if self.kind == "hnsw":
            self.index.hnsw.efSearch = max(self.params.get("ef_search", 128), k)
        q = np.ascontiguousarray(qw).view(np.uint8).reshape(len(qw), -1)
        with self.lock:
            dist, pos = self.index.search(q, k)
        return sort_rows(dist, pos)

    def add(self, codes, words, offset):
        with self.lock:
            self.index.add(np.ascontiguousarray(codes))
        return self

    def serialize(self) -> bytes:
        import faiss
        return faiss.serialize_index_binary(self.index).tobytes()

    @classmethod
    def deserialize(cls, kind, blob: bytes, params):
        import faiss
        index = faiss.deserialize_index_binary(np.frombuffer(blob, np.uint8))
        expected = faiss.IndexBinaryHNSW if kind == "hnsw" else faiss.IndexBinaryIVF
        if not isinstance(index, expected):
            raise RuntimeError("wrong faiss index type")
        return cls(np.zeros((0, index.code_size), np.uint8), None, params, kind, index)

