"""The HTTP API and the web page (FastAPI, served by uvicorn).

Every error is a 4xx (or, for an index that cannot be read, a 503) with a JSON body
``{"error": "..."}``; no request gets a traceback. Ids and index names are looked up, never
used as paths.
"""

import base64
import binascii
import io
import os
import tempfile
import time
from importlib import resources
from pathlib import Path

import numpy as np
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..applications import parse_code
from ..errors import BundleError, CorpusError, HashretError, UsageError
from ..retriever import HOLDS, QUERY_OPTIONS
from .indexes import IndexSet, Served
from .metrics import Metrics

MAX_BODY_BYTES = 8 << 20          # a request (an image as base64 or a batch) at most
MAX_K = 1000
MAX_BATCH = 256
STATIC = resources.files("hashret.serve") / "static"


class Query(BaseModel):
    text: str | None = Field(None, description="a document (document indexes)")
    id: str | int | None = Field(None, description="an item already in the index")
    code: str | None = Field(None, description="a code, hex, as exported")
    image: str | None = Field(None, description="an image file, base64 (image indexes)")
    vector: list[float] | None = Field(None, max_length=65_536,
                                       description="an embedding (vector indexes)")
    k: int = Field(10, ge=1, le=MAX_K)
    radius: int | None = Field(None, ge=0, le=256)
    rerank: bool = True


class Search(Query):
    queries: list[Query] | None = Field(None, max_length=MAX_BATCH,
                                        description="several queries at once")


QUERY_FIELDS = ("text", "id", "code", "image", "vector")


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _spell(name: str, value) -> str:
    """A library option in an API message: the JSON field it came from."""
    field = {"item_id": "id", "file": "image"}.get(name, name)
    return f'"{field}"' if value is None else f'"{field}": {value}'


def create_app(paths, api_key: str | None = None):
    """The ASGI app answering from the indexes at ``paths`` (named by their folders)."""
    indexes = IndexSet(paths)
    metrics = Metrics()
    app = FastAPI(title="hashret", version=_version(), docs_url=None, redoc_url=None,
                  description="Semantic hashing search: nearest items by Hamming distance.")

    @app.middleware("http")
    async def guard(request: Request, call_next):
        started = time.perf_counter()
        endpoint = _endpoint(request.url.path)
        try:
            length = int(request.headers.get("content-length") or 0)
        except ValueError:
            length = MAX_BODY_BYTES + 1
        if length > MAX_BODY_BYTES:
            response = _error(413, f"the request has {length:,} bytes; at most "
                                   f"{MAX_BODY_BYTES:,} are read")
        elif api_key and request.url.path.startswith("/v1/") and \
                _given_key(request) != api_key:
            response = _error(401, "this server needs its API key: send it as the X-API-Key "
                                   "header (or ?api_key= for an image link)")
        else:
            response = await call_next(request)
        metrics.observe(endpoint, response.status_code, time.perf_counter() - started)
        return response

    @app.exception_handler(ApiError)
    async def api_error(request, e: ApiError):
        return _error(e.status, e.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, e: StarletteHTTPException):
        message = "no such page or endpoint; GET /docs lists the API" if e.status_code == 404 \
            else str(e.detail)
        return _error(e.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request, e: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(x) for x in err['loc'][1:]) or 'body'}: "
                             f"{err['msg']}" for err in e.errors()[:3])
        return _error(422, f"the request is not understood: {problems}")

    @app.exception_handler(Exception)
    async def unexpected(request, e: Exception):
        return _error(500, f"the server failed on this request ({type(e).__name__}); "
                           "its log says more")

    def served(name: str) -> Served:
        try:
            return indexes.get(name)
        except LookupError:
            raise ApiError(404, f"no index named {name!r}; GET /v1/indexes lists them") \
                from None

    def answer(s: Served, q) -> list[dict]:
        r = s.retriever
        try:
            given = [f for f in QUERY_FIELDS if getattr(q, f) is not None]
            if len(given) != 1:
                raise ApiError(400, 'give exactly one of "text", "id", "code", "image" or '
                                    f'"vector" (got {", ".join(given) or "none"})')
            if q.code is not None:
                code = parse_code(q.code, r.bundle.bits)
                hits = r.range(code, q.radius) if q.radius is not None else \
                    r.search_codes(code, q.k)[0]
            elif q.image is not None:
                hits, _ = r.query_by(file=_image_file(q.image), k=q.k, radius=q.radius,
                                     rerank=q.rerank)
            else:
                hits, _ = r.query_by(text=q.text, item_id=q.id, vector=q.vector, k=q.k,
                                     radius=q.radius, rerank=q.rerank)
        except UsageError as e:
            if e.option == "item_id":
                raise ApiError(404, f"no item {q.id!r} in index {s.name}") from None
            if e.option in ("text", "image", "file", "vector"):
                m = s.bundle.modality
                raise ApiError(400, f"index {s.name} holds {HOLDS[m]}; query it with "
                                    f'"{QUERY_OPTIONS[m][0]}", "code" or "id"') from None
            raise ApiError(400, _private(e.render(_spell), s)) from None
        except CorpusError as e:
            if q.vector is not None:
                raise ApiError(400, f'"vector": {e}') from None
            raise ApiError(400, '"image" is not an image file hashret reads (PNG, JPEG, '
                                "GIF, BMP, TIFF, WebP ...), or is damaged") from None
        except BundleError as e:
            raise ApiError(503, _private(f"index {s.name} cannot be read: {e}", s)) from None
        return [h.public() for h in hits]

    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "indexes": len(indexes.names)}

    @app.get("/v1/indexes")
    def list_indexes():
        return {"indexes": [s.describe() for s in indexes.all()]}

    @app.post("/v1/indexes/{name}/search")
    def search(name: str, body: Search):
        s = served(name)
        t = time.perf_counter()
        if body.queries is not None:
            results = [{"hits": answer(s, q)} for q in body.queries]
            return {"results": results, "took_ms": _ms(t)}
        return {"hits": answer(s, body), "took_ms": _ms(t)}

    @app.post("/v1/indexes/{name}/search/image")
    def search_image(name: str, image: UploadFile = File(...), k: int = Form(10, ge=1,
                                                                               le=MAX_K),
                     rerank: bool = Form(True)):
        s = served(name)
        t = time.perf_counter()
        data = image.file.read(MAX_BODY_BYTES + 1)
        q = Query(image=base64.b64encode(data).decode(), k=k, rerank=rerank)
        return {"hits": answer(s, q), "took_ms": _ms(t)}

    @app.get("/v1/indexes/{name}/items/{item_id}")
    def item(name: str, item_id: str):
        s = served(name)
        row = _row(s, item_id)
        b = s.bundle
        out = {"id": b.items.column("id")[row].as_py(),
               "labels": b.items.column("labels")[row].as_py(),
               "title": b.items.column("title")[row].as_py(),
               "code": b.codes[row].tobytes().hex()}
        if b.modality == "text":
            corpus = s.items_read_again()
            if corpus is not None:
                text = str(corpus.take([row])[0])
                out["snippet"] = text[:600] + ("..." if len(text) > 600 else "")
        return out

    @app.get("/v1/indexes/{name}/items/{item_id}/image.png")
    def item_image(name: str, item_id: str):
        s = served(name)
        row = _row(s, item_id)
        if s.bundle.modality != "image":
            raise ApiError(404, f"index {name} holds {HOLDS[s.bundle.modality]}, not images")
        corpus = s.items_read_again()
        if corpus is None:
            raise ApiError(404, f"the images of index {name} are no longer where it was "
                                "built from")
        return Response(_png(corpus.take([row])[0]), media_type="image/png",
                        headers={"Cache-Control": "max-age=3600"})

    @app.get("/metrics")
    def prometheus():
        items = {s.name: len(s.bundle.items) for s in indexes.all()}
        return PlainTextResponse(metrics.text(items, indexes.reload_failures),
                                 media_type="text/plain; version=0.0.4")

    @app.get("/", response_class=HTMLResponse)
    def page():
        return HTMLResponse((STATIC / "index.html").read_text())

    @app.get("/docs", response_class=HTMLResponse)
    def docs():
        return HTMLResponse((STATIC / "docs.html").read_text())

    @app.get("/static/{name}")
    def static(name: str):
        kinds = {".js": "text/javascript", ".css": "text/css"}
        suffix = Path(name).suffix
        if suffix not in kinds or "/" in name or name.startswith("."):
            raise ApiError(404, f"no file {name!r}")
        f = STATIC / name
        if not f.is_file():
            raise ApiError(404, f"no file {name!r}")
        return Response(f.read_text(), media_type=kinds[suffix])

    app.state.indexes = indexes
    return app


def _version() -> str:
    from .. import __version__
    return __version__


def _endpoint(path: str) -> str:
    """A request path with its index name and item id taken out, for the metrics."""
    parts = path.strip("/").split("/")
    if len(parts) >= 3 and parts[:2] == ["v1", "indexes"]:
        parts[2] = "{name}"
        if len(parts) >= 5 and parts[3] == "items":
            parts[4] = "{id}"
    return "/" + "/".join(parts)


def _given_key(request) -> str | None:
    auth = request.headers.get("authorization", "")
    return request.headers.get("x-api-key") or \
        (auth[7:] if auth.lower().startswith("bearer ") else None) or \
        request.query_params.get("api_key")


def _error(status: int, message: str):
    return JSONResponse({"error": message}, status_code=status)


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 3)


def _private(message: str, s: Served) -> str:
    """A message with the index's folder named by the index's name (paths stay private)."""
    return message.replace(str(s.path), s.name)


def _row(s: Served, item_id: str) -> int:
    try:
        return s.bundle.row_of(item_id)
    except UsageError:
        raise ApiError(404, f"no item {item_id!r} in index {s.name}") from None


def _image_file(b64: str):
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, '"image" is not valid base64') from None
    if not data:
        raise ApiError(400, '"image" is empty')
    return _TempImage(data)


class _TempImage(os.PathLike):
    """An uploaded image, read by the same code as an image file (``Retriever.load_example``
    takes a path): written to a private temporary folder removed with this object."""

    def __init__(self, data: bytes):
        self._dir = tempfile.TemporaryDirectory(prefix="hashret-upload-")
        self.path = Path(self._dir.name) / "upload.png"
        self.path.write_bytes(data)

    def __fspath__(self):
        return str(self.path)


def _png(image) -> bytes:
    from PIL import Image
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8) if a.dtype.kind == "f" else \
            a.astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()


__all__ = ["create_app", "ApiError", "HashretError"]
