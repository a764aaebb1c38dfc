"""Request counts, errors and latency per endpoint, in Prometheus' text exposition format."""

from __future__ import annotations

import threading
from collections import defaultdict

# upper bounds of the latency histogram's buckets, in seconds
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self):
        self._lock = threading.Lock()
        self.requests = defaultdict(int)           # (endpoint, status) -> count
        self.buckets = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self.sums = defaultdict(float)

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[endpoint, status] += 1
            counts = self.buckets[endpoint]
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            counts[-1] += 1
            self.sums[endpoint] += seconds

    def text(self, index_items: dict[str, int], reload_failures: int) -> str:
        out = ["# HELP hashret_requests_total Requests answered, by endpoint and status.",
               "# TYPE hashret_requests_total counter"]
        with self._lock:
            for (ep, status), n in sorted(self.requests.items()):
                out.append(f'hashret_requests_total{{endpoint="{ep}",status="{status}"}} {n}')
            out += ["# HELP hashret_request_errors_total Requests answered with a 4xx or 5xx.",
                    "# TYPE hashret_request_errors_total counter"]
            errors = defaultdict(int)
            for (ep, status), n in self.requests.items():
                if status >= 400:
                    errors[ep] += n
            for ep, n in sorted(errors.items()):
                out.append(f'hashret_request_errors_total{{endpoint="{ep}"}} {n}')
            out += ["# HELP hashret_request_seconds Time to answer a request.",
                    "# TYPE hashret_request_seconds histogram"]
            for ep, counts in sorted(self.buckets.items()):
                for bound, n in zip(BUCKETS, counts):
                    out.append(f'hashret_request_seconds_bucket{{endpoint="{ep}",le="{bound}"}} {n}')
                out.append(f'hashret_request_seconds_bucket{{endpoint="{ep}",le="+Inf"}} {counts[-1]}')
                out.append(f'hashret_request_seconds_sum{{endpoint="{ep}"}} {self.sums[ep]:.6f}')
                out.append(f'hashret_request_seconds_count{{endpoint="{ep}"}} {counts[-1]}')
        out += ["# HELP hashret_index_items Items in each served index.",
                "# TYPE hashret_index_items gauge"]
        out += [f'hashret_index_items{{index="{n}"}} {c}' for n, c in sorted(index_items.items())]
        out += ["# HELP hashret_index_reload_failures_total Replaced indexes that did not open.",
                "# TYPE hashret_index_reload_failures_total counter",
                f"hashret_index_reload_failures_total {reload_failures}"]
        return "\n".join(out) + "\n"
