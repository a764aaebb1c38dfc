"""``hashret serve`` in a child process on a free loopback port, for the length of a
``with`` block: what the browser test, the load test and the screenshots start."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(paths, timeout: float = 60.0, extra_args=()):
    """Yield the base URL of ``hashret serve PATHS`` once it answers ``/healthz``; stop it
    after the block."""
    port = free_port()
    # its output goes to a file, not a pipe nobody reads (a full pipe would stop it)
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "hashret.cli", "serve", *map(str, paths),
                             "--port", str(port), *extra_args],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.time() + timeout
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.time() > end:
                    log.seek(0)
                    out = log.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"hashret serve did not start: {out}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
