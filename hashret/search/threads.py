"""The thread pool that runs the search kernels.

Every kernel is serial and releases the GIL (``nogil``); parallel work is split across a
Python thread pool by :func:`parallel_map`. numba's own threading layers are avoided on
purpose: the default one aborts when two Python threads call a parallel kernel at once,
and concurrent searches on one loaded index must be safe.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..fileio import usable_cores


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def num_threads() -> int:
    return usable_cores()


def parallel_map(fn, tasks):
    """Run ``fn`` over ``tasks`` on a shared thread pool (kernels release the GIL)."""
    global _POOL
    tasks = list(tasks)
    if len(tasks) <= 1:
        return [fn(t) for t in tasks]
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(num_threads(), thread_name_prefix="hashret-search")
    return list(_POOL.map(fn, tasks))


def splits(n: int, parts: int):
    edges = np.linspace(0, n, parts + 1).astype(np.int64)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def query_spans(m: int):
    """Spans of ``m`` queries, one per thread; a single query is run where it is asked."""
    return [(0, m)] if m <= 1 else splits(m, min(num_threads(), m))

