""":class:`ShardedIndex`: several :class:`~hashret.search.index.BinaryCodeIndex` shards that
answer as one index over their codes laid end to end.

Each shard answers a query on its own and the answers are merged. Shards are searched one
after the other by default: each shard's scan already runs on every core
(:mod:`hashret.search.threads`), and shards in threads of their own only crowd the cores
(docs/BENCHMARKS.md, "Spark and shards"); ``threads`` > 1 searches that many at once, for
shards whose kernels are serial or on a machine with cores to spare.

A single index orders hits by (distance, insertion position); every shard orders its own
hits so, and the merge takes them in shard order with a stable sort on distance, so ties
come out as one index over the same codes would give them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import UsageError
from .index import BinaryCodeIndex, check_codes


def split_rows(n: int, shards: int) -> list[tuple[int, int]]:
    """``shards`` contiguous (start, stop) blocks covering ``n`` rows, sizes within one."""
    if not isinstance(shards, (int, np.integer)) or shards < 1:
        raise UsageError(f"{{shards:{shards}}} must be a whole number of at least 1",
                         option="shards")
    edges = np.linspace(0, n, int(shards) + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


class ShardedIndex:
    """Shards searched as one index.

    >>> index = ShardedIndex.build(codes, shards=4)       # ids 0..n-1, in four blocks
    >>> dist, ids = index.search(query_codes, k=10)       # as BinaryCodeIndex.search
    """

    def __init__(self, shards: list[BinaryCodeIndex], threads: int = 1):
        if not shards:
            raise UsageError("a sharded index needs at least one shard")
        bits = {s.bits for s in shards}
        kinds = {s.kind for s in shards}
        if len(bits) != 1 or len(kinds) != 1:
            raise UsageError("the shards of one index must share one code length and kind")
        self.shards = list(shards)
        self.bits = bits.pop()
        self.kind = kinds.pop()
        self.params = dict(shards[0].params)
        self.threads = max(1, min(len(shards), int(threads)))

    @classmethod
    def build(cls, codes, ids=None, kind: str = "flat", shards: int = 2,
              **params) -> "ShardedIndex":
        """Shards of contiguous blocks of ``codes`` (ids default to the row numbers)."""
        codes = check_codes(codes)
        ids = np.arange(len(codes), dtype=np.int64) if ids is None else \
            np.ascontiguousarray(ids, dtype=np.int64).ravel()
        if len(ids) != len(codes):
            raise UsageError(f"{len(ids)} ids for {len(codes)} codes")
        parts = [BinaryCodeIndex.build(codes[a:b], ids[a:b], kind, **params)
                 for a, b in split_rows(len(codes), shards)]
        index = cls(parts)
        index.requested_kind = getattr(parts[0], "requested_kind", kind)
        return index

    # --- what an index says about itself -------------------------------------------------
    @property
    def ntotal(self) -> int:
        return sum(s.ntotal for s in self.shards)

    def __len__(self) -> int:
        return self.ntotal

    @property
    def ids(self) -> np.ndarray:
        return np.concatenate([s.ids for s in self.shards])

    @property
    def exact(self) -> bool:
        return self.shards[0].exact

    def describe(self) -> dict:
        d = self.shards[0].describe()
        d.update(ntotal=self.ntotal, shards=len(self.shards))
        return d

    def warm_up(self) -> None:
        for s in self.shards:
            if s.ntotal:
                s.warm_up()
                return

    def _each(self, call):
        """``call(shard)`` for every shard, in shard order (in ``threads`` threads)."""
        if self.threads == 1 or len(self.shards) == 1:
            return [call(s) for s in self.shards]
        with ThreadPoolExecutor(self.threads) as pool:
            return list(pool.map(call, self.shards))

    # --- searches --------------------------------------------------------------------------
    def search(self, query_codes, k: int):
        """As :meth:`BinaryCodeIndex.search`: each shard's ``k`` nearest, merged."""
        q = check_codes(query_codes, self.bits)
        answers = self._each(lambda s: s.search(q, k))
        dist = np.concatenate([d for d, _ in answers], axis=1)
        ids = np.concatenate([i for _, i in answers], axis=1)
        # stable: equal distances keep shard order, and each shard's own position order
        order = np.argsort(dist, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(dist, order, 1), np.take_along_axis(ids, order, 1)

    def range_search(self, query_codes, radius: int):
        """As :meth:`BinaryCodeIndex.range_search`, the shards' hits merged per query."""
        q = check_codes(query_codes, self.bits)
        answers = self._each(lambda s: s.range_search(q, radius))
        out = []
        for per_shard in zip(*answers):
            d = np.concatenate([a for a, _ in per_shard])
            i = np.concatenate([b for _, b in per_shard])
            order = np.argsort(d, kind="stable")
            out.append((d[order], i[order]))
        return out

    def reconstruct(self, ids) -> np.ndarray:
        """The stored codes of ``ids``, from whichever shard holds each."""
        ids = np.asarray(ids, dtype=np.int64).ravel()
        out = np.zeros((len(ids), self.bits // 8), np.uint8)
        found = np.zeros(len(ids), bool)
        for s in self.shards:
            here = np.isin(ids, s.ids) & ~found
            if here.any():
                out[here] = s.reconstruct(ids[here])
                found |= here
        if not found.all():
            raise UsageError(f"id {int(ids[~found][0])} is not in the index")
        return out

    # --- writes -------------------------------------------------------------------------------
    def add(self, codes, ids=None) -> None:
        """New codes go to the end of the last shard, as they go to the end of one index
        (ids default to numbers after the largest)."""
        if ids is None:
            top = max((int(s.ids.max()) for s in self.shards if s.ntotal), default=-1)
            ids = np.arange(top + 1, top + 1 + len(codes), dtype=np.int64)
        self.shards[-1].add(codes, ids)

    def remove(self, ids) -> int:
        return sum(s.remove(ids) for s in self.shards)


def build_in_shards(codes, kind: str = "flat", shards: int = 1, **params):
    """An index over ``codes`` (ids the row numbers): one :class:`BinaryCodeIndex`, or a
    :class:`ShardedIndex` of ``shards`` > 1."""
    if shards > 1:
        return ShardedIndex.build(codes, kind=kind, shards=shards, **params)
    return BinaryCodeIndex.build(codes, kind=kind, **params)


def build_like(index, codes: np.ndarray):
    """A new index over ``codes`` (ids the row numbers) of ``index``'s kind, parameters and
    shard count: what adding to or removing from a bundle writes."""
    params = {k: v for k, v in index.params.items() if k != "gpu"}
    return build_in_shards(codes, index.kind, len(getattr(index, "shards", [index])), **params)
