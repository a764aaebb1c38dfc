#!/usr/bin/env python3
"""A bounded load test of ``hashret serve`` on loopback, driven by wrk (Debian's package).

  python scripts/bench_serve.py --documents indexes/reuters --images indexes/fm64 \\
      --synthetic 1000000 [--duration 10] [--connections 8] [--rebuilds 3]

Starts ``hashret serve`` on a free 127.0.0.1 port with the given indexes (and, with
``--synthetic N``, an index of N random 64-bit codes written first, as
``scripts/bench_open.py`` writes it), then for each kind of query runs wrk for a fixed
duration with a fixed number of connections, each request a POST to
``/v1/indexes/NAME/search`` with the next of 200 bodies (ids and codes of indexed items,
document titles, or Fashion-MNIST images as base64). Prints queries/s, p50 / p99 latency
and the count of failed requests (non-2xx answers and socket errors); for the synthetic
index also codes sent 16 to a request (the API's batch form), counted in queries. With ``--rebuilds R``
it runs the document queries again while the document index is rebuilt in place R times
(``hashret build --epochs 2`` into the same folder, from its own corpus), and counts failed
requests. Client and server share the machine's cores: run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import httpx

BATCH = 16
SCRIPT = """
local bodies = {%s}
local i = 0
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "%s", {["Content-Type"] = "application/json"}, bodies[i])
end
"""


def lua_string(s: str) -> str:
    return "[==[" + s + "]==]"


def wrk(url: str, path: str, bodies: list[str], duration: int, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(SCRIPT % (", ".join(lua_string(b) for b in bodies), path))
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s",
                          "--latency", "-s", f.name, url], capture_output=True, text=True,
                         timeout=duration + 60).stdout
    Path(f.name).unlink()

    def ms(label):
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return None
        v = float(m.group(1))
        return round(v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v,
                     3)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                     out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + \
        (sum(int(g) for g in sock.groups()) if sock else 0)
    return {"qps": float(rps.group(1)) if rps else 0.0,
            "requests": int(total.group(1)) if total else 0,
            "p50_ms": ms("50%"), "p99_ms": ms("99%"), "errors": errors}


def bodies_for(url: str, path: Path, kind: str, rng: random.Random) -> list[str]:
    """200 request bodies of one kind, for items drawn at random from the index at path."""
    from hashret.bundle import Bundle
    b = Bundle.load(path, with_model=False)
    ids = b.items.column("id").to_pylist()
    rows = [rng.randrange(len(ids)) for _ in range(200)]
    if kind == "id":
        return [json.dumps({"id": ids[r], "k": 10}) for r in rows]
    if kind == "code":
        return [json.dumps({"code": b.codes[r].tobytes().hex(), "k": 10}) for r in rows]
    if kind == "code batch":                  # 16 codes a request
        return [json.dumps({"queries": [{"code": b.codes[rows[(i + j) % 200]].tobytes().hex(),
                                         "k": 10} for j in range(BATCH)]})
                for i in range(200)]
    if kind == "text":
        titles = b.items.column("title").to_pylist()
        return [json.dumps({"text": titles[r], "k": 10}) for r in rows]
    name = path.name
    pngs = [httpx.get(f"{url}/v1/indexes/{name}/items/{ids[r]}/image.png").content
            for r in rows]
    return [json.dumps({"image": base64.b64encode(p).decode(), "k": 10}) for p in pngs]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--documents", type=Path)
    ap.add_argument("--images", type=Path)
    ap.add_argument("--synthetic", type=int)
    ap.add_argument("--work", type=Path, default=Path("indexes/bench-serve"))
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--rebuilds", type=int, default=0)
    a = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench_serve needs wrk: apt-get install wrk")
    a.work.mkdir(parents=True, exist_ok=True)
    paths, plan = [], []
    if a.documents:
        live = a.work / "documents"
        if live.exists():
            shutil.rmtree(live)
        shutil.copytree(a.documents, live)
        paths.append(live)
        plan += [(live, "id"), (live, "text")]
    if a.images:
        paths.append(a.images)
        plan += [(a.images, "id"), (a.images, "image")]
    if a.synthetic:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_open import synthetic_index
        big = a.work / f"random-{a.synthetic}"
        if not big.exists():
            synthetic_index(a.synthetic, big)
        paths.append(big)
        plan += [(big, "id"), (big, "code"), (big, "code batch")]
    from hashret.serve.background import serving
    rng = random.Random(0)
    rows = []
    with serving(paths, timeout=600) as url:
        for path, kind in plan:
            bodies = bodies_for(url, path, kind, rng)
            name = path.name
            wrk(url, f"/v1/indexes/{name}/search", bodies[:20], 2, a.connections)  # warm up
            r = wrk(url, f"/v1/indexes/{name}/search", bodies, a.duration, a.connections)
            if kind == "code batch":          # queries, not requests
                r["qps"], r["requests"] = r["qps"] * BATCH, r["requests"] * BATCH
                kind = f"code, {BATCH} a request"
            rows.append({"index": name, "query": kind, **r})
            print(json.dumps(rows[-1]), flush=True)
        if a.rebuilds and a.documents:
            bodies = bodies_for(url, a.work / "documents", "text", rng)
            done = threading.Event()

            def rebuild():
                for _ in range(a.rebuilds):
                    subprocess.run([sys.executable, "-m", "hashret.cli", "--quiet", "build",
                                    "--dataset", "reuters", "--epochs", "2", "--out",
                                    str(a.work / "documents")], check=True,
                                   stdout=subprocess.DEVNULL)
                done.set()
            t = threading.Thread(target=rebuild)
            t.start()
            results = []
            while not done.is_set():
                results.append(wrk(url, "/v1/indexes/documents/search", bodies, 5,
                                   a.connections))
            t.join()
            rows.append({"index": "documents", "query": f"text, during {a.rebuilds} rebuilds",
                         "qps": round(sum(r["qps"] for r in results) / len(results), 1),
                         "requests": sum(r["requests"] for r in results),
                         "p50_ms": max(r["p50_ms"] or 0 for r in results),
                         "p99_ms": max(r["p99_ms"] or 0 for r in results),
                         "errors": sum(r["errors"] for r in results)})
            print(json.dumps(rows[-1]), flush=True)
    print("| index | query | queries/s | p50 ms | p99 ms | requests | failed |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['index']} | {r['query']} | {r['qps']:,.0f} | {r['p50_ms']} | "
              f"{r['p99_ms']} | {r['requests']:,} | {r['errors']} |")


if __name__ == "__main__":
    main()
