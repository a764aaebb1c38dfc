"""The HTTP API, through an in-process client: answers equal the library's, bad requests get
a 4xx with a JSON message, the key is enforced, and a rebuilt index is picked up whole."""
import base64
import io
import shutil
import threading

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from hashret import Retriever, build_index
from hashret.data import limit_rows
from hashret.serve import create_app


@pytest.fixture(scope="module")
def client(reuters_index, fashion_index):
    return TestClient(create_app([reuters_index[0], fashion_index[0]]),
                      raise_server_exceptions=False)


@pytest.fixture(scope="module")
def png(fashion_index):
    buf = io.BytesIO()
    Image.fromarray(np.asarray(fashion_index[1].take([7])[0]).squeeze()).save(buf, "PNG")
    return buf.getvalue()


def _ids(hits):
    return [h["id"] for h in hits]


def test_indexes_are_listed_by_folder_name(client):
    assert client.get("/healthz").json() == {"status": "ok", "indexes": 2}
    listed = {ix["name"]: ix for ix in client.get("/v1/indexes").json()["indexes"]}
    assert listed["reuters"]["modality"] == "text" and listed["reuters"]["bits"] == 16
    assert listed["fm"]["modality"] == "image" and listed["fm"]["items"] == 600
    assert listed["fm"]["labels"] is True


def test_answers_are_the_librarys(client, reuters_index, fashion_index, png, tmp_path):
    r = client.post("/v1/indexes/reuters/search", json={"text": "oil prices opec", "k": 7})
    assert r.status_code == 200 and r.json()["took_ms"] >= 0
    want = Retriever.load(reuters_index[0]).query("oil prices opec", k=7)
    assert _ids(r.json()["hits"]) == [h.id for h in want]
    assert [h["score"] for h in r.json()["hits"]] == [h.score for h in want]
    first = fashion_index[1].ids[3]
    hits = client.post("/v1/indexes/fm/search", json={"id": first, "k": 5}).json()["hits"]
    assert hits[0]["id"] == first and hits[0]["distance"] == 0
    # an image as base64, as an upload, and as a file through the library: one answer
    (tmp_path / "q.png").write_bytes(png)
    want = [h.id for h in Retriever.load(fashion_index[0]).query(tmp_path / "q.png", k=6)]
    b64 = client.post("/v1/indexes/fm/search",
                      json={"image": base64.b64encode(png).decode(), "k": 6}).json()
    up = client.post("/v1/indexes/fm/search/image", files={"image": ("q.png", png)},
                     data={"k": "6"}).json()
    assert _ids(b64["hits"]) == _ids(up["hits"]) == want
    # a code, and a radius around it
    code = client.get(f"/v1/indexes/fm/items/{first}").json()["code"]
    near = client.post("/v1/indexes/fm/search", json={"code": code, "radius": 2}).json()
    assert first in _ids(near["hits"]) and all(h["distance"] <= 2 for h in near["hits"])
    by_code = client.post("/v1/indexes/fm/search", json={"code": code, "k": 5}).json()
    batch = client.post("/v1/indexes/fm/search",
                        json={"queries": [{"id": first, "k": 5}, {"code": code, "k": 5}]})
    assert [_ids(r["hits"]) for r in batch.json()["results"]] == \
        [_ids(hits), _ids(by_code["hits"])]


def test_items_and_their_images(client, fashion_index, reuters_index):
    corpus = fashion_index[1]
    item_id = corpus.ids[11]
    item = client.get(f"/v1/indexes/fm/items/{item_id}").json()
    assert item["labels"] == list(corpus.labels[11]) and len(item["code"]) == 8
    png = client.get(f"/v1/indexes/fm/items/{item_id}/image.png")
    assert png.headers["content-type"] == "image/png"
    shown = np.asarray(Image.open(io.BytesIO(png.content)))
    assert np.array_equal(shown, np.asarray(corpus.take([11])[0]).squeeze())
    doc_id = reuters_index[1].ids[0]
    doc = client.get(f"/v1/indexes/reuters/items/{doc_id}").json()
    assert doc["snippet"][:40] == str(reuters_index[1].items[0])[:40]
    assert client.get(f"/v1/indexes/reuters/items/{doc_id}/image.png").status_code == 404


def test_every_bad_request_gets_a_4xx_with_a_json_message(client, reuters_index):
    bad = [
        ("post", "/v1/indexes/nope/search", {"json": {"id": 1}}, 404),
        ("post", "/v1/indexes/fm/search", {"json": {"id": "no-such-item"}}, 404),
        ("post", "/v1/indexes/fm/search", {"json": {"text": "a shoe"}}, 400),
        ("post", "/v1/indexes/reuters/search", {"json": {"image": "aGVsbG8="}}, 400),
        ("post", "/v1/indexes/fm/search", {"json": {"image": "%%%not base64"}}, 400),
        ("post", "/v1/indexes/fm/search",
         {"json": {"image": base64.b64encode(b"not an image at all").decode()}}, 400),
        ("post", "/v1/indexes/fm/search", {"json": {"id": 1, "k": 0}}, 422),
        ("post", "/v1/indexes/fm/search", {"json": {"id": 1, "k": 100000}}, 422),
        ("post", "/v1/indexes/fm/search", {"json": {"id": 1, "text": "x"}}, 400),
        ("post", "/v1/indexes/fm/search", {"json": {}}, 400),
        ("post", "/v1/indexes/fm/search", {"json": {"code": "zz"}}, 400),
        ("post", "/v1/indexes/fm/search", {"json": {"code": "00"}}, 400),
        ("post", "/v1/indexes/fm/search",
         {"content": b"{not json", "headers": {"content-type": "application/json"}}, 422),
        ("post", "/v1/indexes/fm/search",
         {"content": b"x" * (9 << 20), "headers": {"content-type": "application/json"}}, 413),
        ("get", "/v1/indexes/fm/items/999999", {}, 404),
        ("get", "/v1/indexes/..%2F..%2Fetc/items/1", {}, 404),
        ("get", "/static/..%2F__init__.py", {}, 404),
    ]
    for method, url, kwargs, status in bad:
        r = getattr(client, method)(url, **kwargs)
        assert r.status_code == status, (url, kwargs.get("json"), r.status_code, r.text)
        message = r.json()["error"]
        assert message and "Traceback" not in message
        assert str(reuters_index[0].parent) not in message           # no server paths


def test_the_api_key_guards_every_v1_request(reuters_index):
    c = TestClient(create_app([reuters_index[0]], api_key="s3cret"))
    assert c.get("/v1/indexes").status_code == 401
    assert c.get("/v1/indexes", headers={"X-API-Key": "wrong"}).status_code == 401
    assert c.get("/v1/indexes", headers={"X-API-Key": "s3cret"}).status_code == 200
    assert c.get("/v1/indexes", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert c.get("/healthz").status_code == 200 and c.get("/").status_code == 200


def test_metrics_count_requests_errors_and_latency(client):
    client.post("/v1/indexes/fm/search", json={"id": "no-such-item"})
    text = client.get("/metrics").text
    assert 'hashret_requests_total{endpoint="/v1/indexes/{name}/search",status="404"}' in text
    assert 'hashret_request_errors_total{endpoint="/v1/indexes/{name}/search"}' in text
    assert 'hashret_request_seconds_bucket{endpoint="/v1/indexes/{name}/search",le="+Inf"}' \
        in text
    assert 'hashret_index_items{index="fm"} 600' in text


def test_the_page_and_its_files_are_served(client):
    page = client.get("/").text
    assert "/static/app.js" in page and "http" not in page.replace("http-equiv", "")
    for f in ("app.js", "style.css", "docs.js"):
        r = client.get(f"/static/{f}")
        assert r.status_code == 200 and "cdn" not in r.text.lower()
    assert client.get("/docs").status_code == 200
    assert "/v1/indexes/{name}/search" in client.get("/openapi.json").json()["paths"]


def test_an_index_rebuilt_in_place_is_picked_up_without_a_failed_request(fashion_index,
                                                                         tmp_path):
    """Requests run throughout two rebuilds of the index they query: every one succeeds,
    each answer comes whole from the old index or the new one, and the new one answers
    once it is in place."""
    path = tmp_path / "live"
    shutil.copytree(fashion_index[0], path)
    c = TestClient(create_app([path]))
    corpus = fashion_index[1]
    item = corpus.ids[0]
    errors, answers, stop = [], [], threading.Event()

    def hammer():
        while not stop.is_set():
            r = c.post("/v1/indexes/live/search", json={"id": item, "k": 3})
            (answers if r.status_code == 200 else errors).append(r.json())

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for bits in (8, 24):
            build_index(limit_rows(corpus, 600), path, bits=bits, model="linear",
                        progress=False)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors and answers
    assert c.get("/v1/indexes").json()["indexes"][0]["bits"] == 24
    hits = c.post("/v1/indexes/live/search", json={"id": item, "k": 3}).json()["hits"]
    assert hits[0]["id"] == item and hits[0]["distance"] == 0
