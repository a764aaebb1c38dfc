"""``serve``: the query API and the web page over HTTP."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..errors import UsageError
from .app import cli


@cli.command()
@click.argument("index_dirs", metavar="DIR...", nargs=-1, required=True,
                type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default answers this machine only.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port, printed when listening).")
@click.option("--api-key", envvar="HASHRET_API_KEY",
              help="Require this key (the X-API-Key header) on every /v1 request; also read "
                   "from HASHRET_API_KEY.")
def serve(index_dirs, host, port, api_key):
    """Answer queries to the indexes at DIR... over HTTP, each named by its folder.

    \b
    GET  /                  the search page
    GET  /docs              the API (OpenAPI at /openapi.json)
    POST /v1/indexes/NAME/search   {"text"|"id"|"code"|"image": ..., "k": 10}
    GET  /metrics           Prometheus metrics
    An index rebuilt in place is picked up at the next request."""
    try:
        import uvicorn

        from ..serve.app import create_app
    except ImportError:
        raise UsageError("hashret serve needs FastAPI and uvicorn, which installing hashret "
                         "installs: pip install fastapi uvicorn python-multipart") from None
    app = create_app(index_dirs, api_key=api_key or None)
    if port == 0:
        from ..serve.background import free_port
        port = free_port()
    names = ", ".join(app.state.indexes.names)
    click.echo(f"serving {names} on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning",
                limit_concurrency=int(os.environ.get("HASHRET_MAX_CONNECTIONS", "256")))
