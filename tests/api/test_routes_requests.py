from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from opendream.jobs.base import StoreUnavailable

from .conftest import EDIT, EDIT_SEQUENTIAL, SEQUENTIAL, data_uri, png_bytes
from .server import ApiServer

WORKER = "test-worker"


def submit(c: httpx.Client, model_id: str, body: dict, **kw) -> httpx.Response:
    return c.post(f"/v1/models/{model_id}", json=body, **kw)


def claim(server: ApiServer, model_id: str):
    row = server.call(server.store.claim(WORKER, [model_id], 60))
    assert row is not None
    return row


def drain(server: ApiServer) -> None:
    """Cancels every queued request of the test key so queue positions start from zero."""
    with server.client() as c:
        for row in server.call(server.store.list_for_owner(server.key_id, limit=500)):
            if row.status == "in_queue":
                c.post(f"/v1/requests/{row.id}/cancel")


# submit -----------------------------------------------------------------------------------------
def test_submit_answers_absolute_urls(make_server):
    s = make_server(public_base_url="https://images.example.com/base/")
    with s.client() as c:
        r = submit(c, SEQUENTIAL, {"text": "Generate 2 images of cats"})
    assert r.status_code == 200
    body = r.json()
    rid = body["request_id"]
    assert set(body) == {"request_id", "status_url", "result_url", "cancel_url"}
    base = f"https://images.example.com/base/v1/requests/{rid}"
    assert body["status_url"] == f"{base}/status"
    assert body["result_url"] == f"{base}/result"
    assert body["cancel_url"] == f"{base}/cancel"
    row = s.call(s.store.get(rid))
    assert row.status == "in_queue"
    assert row.owner == s.key_id
    assert row.input["sequential_image_generation_options"] == 3  # defaults applied
    assert row.input_blobs == []


def test_unknown_model_is_400001(client: httpx.Client):
    r = submit(client, "bytedance/seedream-4-0/nope", {"text": "x"})
    assert r.status_code == 400
    body = r.json()
    assert body["error_code"] == 400001
    assert SEQUENTIAL in body["error_message"]


def test_schema_problems_are_422001_with_every_problem(client: httpx.Client):
    r = submit(client, SEQUENTIAL, {"text": 5, "seed": True, "image_size": "big", "extra": 1})
    assert r.status_code == 422
    body = r.json()
    assert body["error_code"] == 422001
    locs = [p["loc"] for p in body["detail"]]
    assert locs == [["body", "text"], ["body", "image_size"], ["body", "seed"]]
    for p in body["detail"]:
        assert p["msg"] and p["type"]


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"{bad json", {"Content-Type": "application/json"}),
        (b"", {"Content-Type": "application/json"}),
        (b"\xff\xfe{}", {"Content-Type": "application/json"}),
        (b"[" * 100_000, {"Content-Type": "application/json"}),
        (b'"just a string"', {"Content-Type": "application/json"}),
        (b'{"text": "x", "seed": NaN}', {"Content-Type": "application/json"}),
        (b'{"text": "x", "seed": -Infinity}', {"Content-Type": "application/json"}),
    ],
)
def test_malformed_json_is_422(client: httpx.Client, content, headers):
    r = client.post(f"/v1/models/{SEQUENTIAL}", content=content, headers=headers)
    assert r.status_code == 422
    body = r.json()
    assert body["error_code"] == 422001
    assert body["detail"][0]["loc"] == ["body"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_wrong_content_type_is_415(client: httpx.Client, content_type):
    r = client.post(
        f"/v1/models/{SEQUENTIAL}", content=b'{"text": "x"}', headers={"Content-Type": content_type}
    )
    assert r.status_code == 415
    assert r.json()["error_code"] == 415001
    assert "application/json" in r.json()["error_message"]


def test_json_with_charset_and_without_content_type_is_accepted(client: httpx.Client):
    r = client.post(
        f"/v1/models/{SEQUENTIAL}",
        content=b'{"text": "x"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 200
    r = client.post(f"/v1/models/{SEQUENTIAL}", content=b'{"text": "x"}')
    assert r.status_code == 200


def test_edit_with_data_uri_stores_reference_blob(server: ApiServer, client: httpx.Client):
    png = png_bytes(80, 60)
    uri = data_uri(png)
    r = submit(client, EDIT, {"prompt": "make it blue", "images": [uri]})
    assert r.status_code == 200, r.text
    rid = r.json()["request_id"]
    row = server.call(server.store.get(rid))
    assert row.input_blobs == [f"requests/{rid}/inputs/0.png"]
    assert server.call(server.blobs.get(row.input_blobs[0])) == png
    # the row keeps a note, not the 100 KB data URI
    stored = row.input["images"][0]
    assert stored.startswith("data:image/png;base64,…") and len(stored) < 200
    assert row.input["resolution"] == "2048x2048 (1:1)"


def test_image_problems_and_schema_problems_in_one_422(server: ApiServer, client: httpx.Client):
    tiny = data_uri(png_bytes(10, 10))
    wide = data_uri(png_bytes(400, 100))
    good = data_uri(png_bytes(64, 64))
    before = len(server.call(server.store.list_for_owner(server.key_id, limit=1000)))
    blobs_before = set((server.data_dir / "blobs").rglob("*"))
    body = {"text": "x" * 601, "images": [good, tiny, wide, "ftp://example.com/a.png"]}
    r = submit(client, EDIT_SEQUENTIAL, body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert r.json()["error_code"] == 422001
    locs = [p["loc"] for p in detail]
    assert ["body", "text"] in locs
    assert ["body", "images", 1] in locs
    assert ["body", "images", 2] in locs
    assert ["body", "images", 3] in locs
    assert ["body", "images", 0] not in locs
    msgs = {p["msg"] for p in detail}
    assert "The uploaded image width and height must exceed 14 pixels." in msgs
    assert "The aspect ratio range should be 1:3 to 3:1." in msgs
    # nothing left behind: no row, no blob
    after = len(server.call(server.store.list_for_owner(server.key_id, limit=1000)))
    assert after == before
    assert set((server.data_dir / "blobs").rglob("*")) == blobs_before


def test_failure_after_blobs_were_written_leaves_nothing(make_server):
    s = make_server()

    async def broken_insert(**kwargs):
        raise StoreUnavailable("database went away")

    s.store.insert = broken_insert  # type: ignore[method-assign]
    with s.client() as c:
        r = submit(c, EDIT, {"prompt": "p", "images": [data_uri(png_bytes())]})
    assert r.status_code == 503
    assert r.json()["error_code"] == 503001
    assert list((s.data_dir / "blobs").rglob("*.png")) == []


class _ImageHandler(http.server.BaseHTTPRequestHandler):
    png = png_bytes(32, 32, "blue")

    def do_GET(self) -> None:
        if self.path != "/ref.png":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.png)))
        self.end_headers()
        self.wfile.write(self.png)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def image_host() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ImageHandler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_reference_urls_fetched_with_the_configured_policy(make_server, image_host):
    default = make_server()
    with default.client() as c:
        r = submit(c, EDIT, {"prompt": "p", "images": [f"{image_host}/ref.png"]})
    assert r.status_code == 422  # http and loopback are refused by default
    assert r.json()["detail"][0]["loc"] == ["body", "images", 0]

    trusting = make_server(allow_http=True, fetch_allow_list=["127.0.0.0/8"])
    with trusting.client() as c:
        r = submit(c, EDIT, {"prompt": "p", "images": [f"{image_host}/ref.png"]})
        assert r.status_code == 200, r.text
        row = trusting.call(trusting.store.get(r.json()["request_id"]))
        assert trusting.call(trusting.blobs.get(row.input_blobs[0])) == _ImageHandler.png
        r = submit(c, EDIT, {"prompt": "p", "images": [f"{image_host}/missing.png"]})
    assert r.status_code == 422
    assert "404" in r.json()["detail"][0]["msg"]


def test_idempotency_key_returns_the_same_request(client: httpx.Client):
    headers = {"Idempotency-Key": "abc-123"}
    first = submit(client, SEQUENTIAL, {"text": "x"}, headers=headers)
    second = submit(client, SEQUENTIAL, {"text": "x"}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    third = submit(client, SEQUENTIAL, {"text": "x"}, headers={"Idempotency-Key": "other"})
    assert third.json()["request_id"] != first.json()["request_id"]


# status and result ------------------------------------------------------------------------------
def test_queue_positions(server: ApiServer, client: httpx.Client):
    drain(server)
    ids = [submit(client, SEQUENTIAL, {"text": f"n{i}"}).json()["request_id"] for i in range(3)]
    positions = [client.get(f"/v1/requests/{i}/status").json()["queue_position"] for i in ids]
    assert positions == [0, 1, 2]
    client.post(f"/v1/requests/{ids[0]}/cancel")
    assert client.get(f"/v1/requests/{ids[2]}/status").json()["queue_position"] == 1
    drain(server)


def test_lifecycle_succeeded_sequential(server: ApiServer, client: httpx.Client):
    drain(server)
    rid = submit(client, SEQUENTIAL, {"text": "Generate 2 images", "seed": 7}).json()["request_id"]
    status = client.get(f"/v1/requests/{rid}/status").json()
    assert status["status"] == "in_queue" and status["queue_position"] == 0
    assert "progress" not in status
    result = client.get(f"/v1/requests/{rid}/result").json()
    assert result["status"] == "in_queue"
    assert "output" not in result and "started_at" not in result

    row = claim(server, SEQUENTIAL)
    assert row.id == rid
    status = client.get(f"/v1/requests/{rid}/status").json()
    assert status["status"] == "in_progress"
    assert "queue_position" not in status
    progress = {"step": 2, "steps": 4, "image": 1, "images": 2}
    assert server.call(server.store.set_progress(rid, WORKER, progress))
    status = client.get(f"/v1/requests/{rid}/status").json()
    assert status["progress"] == progress
    assert client.get(f"/v1/requests/{rid}/result").json()["status"] == "in_progress"

    images = [png_bytes(32, 16, "green"), png_bytes(32, 16, "blue")]
    keys = [f"requests/{rid}/outputs/{i}.png" for i in range(2)]
    for k, data in zip(keys, images, strict=True):
        server.call(server.blobs.put(k, data, "image/png"))
    meta = {"seed": 7, "backend": "tiny", "inference_ms": 12, "prompts": ["a", "b"]}
    assert server.call(server.store.complete(rid, WORKER, keys, meta))

    status = client.get(f"/v1/requests/{rid}/status").json()
    assert status["status"] == "completed"
    result = client.get(f"/v1/requests/{rid}/result").json()
    assert result["status"] == "succeeded"
    assert set(result["output"]) == {"images"}
    assert len(result["output"]["images"]) == 2
    for url, data in zip(result["output"]["images"], images, strict=True):
        assert url.startswith(server.base_url + "/v1/blobs/")
        got = httpx.get(url, trust_env=False)  # signed: no token needed
        assert got.status_code == 200
        assert got.content == data
        assert got.headers["content-type"] == "image/png"
    for name in ("created_at", "started_at", "finished_at"):
        datetime.strptime(result[name], "%Y-%m-%dT%H:%M:%SZ")
    assert result["metadata"]["seed"] == 7
    assert result["metadata"]["backend"] == "tiny"
    assert result["metadata"]["prompts"] == ["a", "b"]
    assert isinstance(result["metadata"]["queue_ms"], int)
    assert "error" not in result


def test_edit_result_has_one_image(server: ApiServer, client: httpx.Client):
    drain(server)
    rid = submit(client, EDIT, {"prompt": "p", "images": [data_uri(png_bytes())]}).json()[
        "request_id"
    ]
    claim(server, EDIT)
    key = f"requests/{rid}/outputs/0.png"
    server.call(server.blobs.put(key, png_bytes(), "image/png"))
    server.call(server.store.complete(rid, WORKER, [key], {}))
    result = client.get(f"/v1/requests/{rid}/result").json()
    assert result["status"] == "succeeded"
    assert set(result["output"]) == {"image"}
    assert isinstance(result["output"]["image"], str)


def test_failed_request(server: ApiServer, client: httpx.Client):
    drain(server)
    rid = submit(client, SEQUENTIAL, {"text": "x"}).json()["request_id"]
    claim(server, SEQUENTIAL)
    server.call(server.store.fail(rid, WORKER, "Out of memory at 4096x4096; try 2K.", {}))
    assert client.get(f"/v1/requests/{rid}/status").json()["status"] == "completed"
    result = client.get(f"/v1/requests/{rid}/result").json()
    assert result["status"] == "failed"
    assert result["error"] == "Out of memory at 4096x4096; try 2K."
    assert "output" not in result
    assert "finished_at" in result


def test_expired_result_says_so(server: ApiServer, client: httpx.Client):
    drain(server)
    rid = submit(client, SEQUENTIAL, {"text": "x"}).json()["request_id"]
    claim(server, SEQUENTIAL)
    key = f"requests/{rid}/outputs/0.png"
    server.call(server.blobs.put(key, png_bytes(), "image/png"))
    server.call(server.store.complete(rid, WORKER, [key], {}))
    url = client.get(f"/v1/requests/{rid}/result").json()["output"]["images"][0]
    server.call(server.blobs.delete_prefix(f"requests/{rid}/"))
    server.call(server.store.mark_expired(rid))
    result = client.get(f"/v1/requests/{rid}/result").json()
    assert result["status"] == "succeeded"
    assert result["expired"] is True
    assert "expired" in result["error"]
    assert "output" not in result
    gone = httpx.get(url, trust_env=False)
    assert gone.status_code == 404
    assert gone.json()["error_code"] == 404001


# cancel -----------------------------------------------------------------------------------------
def test_cancel_queued_then_finished(server: ApiServer, client: httpx.Client):
    rid = submit(client, SEQUENTIAL, {"text": "x"}).json()["request_id"]
    r = client.post(f"/v1/requests/{rid}/cancel")
    assert r.status_code == 202
    assert r.json() == {"request_id": rid, "status": "cancelled", "outcome": "cancelled"}
    assert client.get(f"/v1/requests/{rid}/status").json()["status"] == "cancelled"
    assert client.get(f"/v1/requests/{rid}/result").json()["status"] == "cancelled"
    again = client.post(f"/v1/requests/{rid}/cancel")
    assert again.status_code == 202
    assert again.json()["outcome"] == "not_cancellable"


def test_cancel_in_progress_is_not_cancellable(server: ApiServer, client: httpx.Client):
    drain(server)
    rid = submit(client, SEQUENTIAL, {"text": "x"}).json()["request_id"]
    claim(server, SEQUENTIAL)
    r = client.post(f"/v1/requests/{rid}/cancel")
    assert r.status_code == 202
    assert r.json() == {"request_id": rid, "status": "in_progress", "outcome": "not_cancellable"}
    server.call(server.store.fail(rid, WORKER, "stopped by test", {}))
    r = client.post(f"/v1/requests/{rid}/cancel")
    assert r.json() == {"request_id": rid, "status": "completed", "outcome": "not_cancellable"}


# isolation --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", "status"), ("GET", "result"), ("POST", "cancel")]
)
def test_unknown_and_foreign_ids_are_404001(
    server: ApiServer, client: httpx.Client, method, suffix
):
    rid = submit(client, SEQUENTIAL, {"text": "x"}).json()["request_id"]
    other_token, _ = server.create_key(f"other-{suffix}")
    with server.client(other_token) as other:
        foreign = other.request(method, f"/v1/requests/{rid}/{suffix}")
        unknown = other.request(method, f"/v1/requests/no-such-id/{suffix}")
    for r in (foreign, unknown):
        assert r.status_code == 404
        assert r.json()["error_code"] == 404001
    # the two answers are indistinguishable apart from the id echoed in the message
    assert foreign.json()["error_message"].replace(rid, "X") == unknown.json()[
        "error_message"
    ].replace("no-such-id", "X")
    # and the foreign cancel did nothing
    assert client.get(f"/v1/requests/{rid}/status").json()["status"] == "in_queue"
    client.post(f"/v1/requests/{rid}/cancel")


def test_request_ids_are_uuid4(client: httpx.Client):
    import uuid

    rid = submit(client, SEQUENTIAL, {"text": "x"}).json()["request_id"]
    assert uuid.UUID(rid).version == 4
    client.post(f"/v1/requests/{rid}/cancel")


def test_store_down_is_503001(make_server):
    s = make_server()
    with s.client() as c:
        rid = submit(c, SEQUENTIAL, {"text": "x"}).json()["request_id"]

        async def down(*args, **kwargs):
            raise StoreUnavailable("connection refused")

        s.store.get = down  # type: ignore[method-assign]
        s.store.status_view = down  # type: ignore[method-assign] # status reads this
        r = c.get(f"/v1/requests/{rid}/status")
    assert r.status_code == 503
    assert r.json()["error_code"] == 503001
    assert "database" in r.json()["error_message"]
    assert r.headers["retry-after"]


def test_submitted_at_is_recent(server: ApiServer, client: httpx.Client):
    rid = submit(client, SEQUENTIAL, {"text": "x"}).json()["request_id"]
    created = client.get(f"/v1/requests/{rid}/result").json()["created_at"]
    t = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - t).total_seconds()) < 3600
    client.post(f"/v1/requests/{rid}/cancel")
