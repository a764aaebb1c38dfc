"""``hashret serve``: a query service over HTTP and a web page, for one or more indexes.

``indexes`` keeps each index open and reopens it when a build replaces it; ``app`` is the
API and the page (FastAPI); ``metrics`` counts requests in Prometheus' format; ``static``
holds the page's HTML, CSS and JavaScript, shipped in the package (no CDN).
"""


def create_app(paths, api_key=None):
    from .app import create_app as make
    return make(paths, api_key)


__all__ = ["create_app"]
