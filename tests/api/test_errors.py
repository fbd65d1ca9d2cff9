"""The error envelope for everything that can go wrong at the HTTP level."""

from __future__ import annotations

import socket

import httpx
import pytest

from .conftest import SEQUENTIAL


def envelope(r: httpx.Response) -> dict:
    body = r.json()
    assert set(body) == {"error_code", "error_message", "detail"}
    assert isinstance(body["error_code"], int) and 100000 <= body["error_code"] <= 999999
    assert body["error_message"]
    return body


def test_unknown_route_is_404_envelope(client: httpx.Client):
    r = client.get("/v1/nothing/here")
    assert r.status_code == 404
    assert envelope(r)["error_code"] == 404002


def test_wrong_method_is_405_envelope(client: httpx.Client):
    r = client.delete("/v1/requests/abc/status")
    assert r.status_code == 405
    assert envelope(r)["error_code"] == 405001


def test_body_over_the_cap_by_content_length_is_413(make_server):
    s = make_server(max_body_bytes=1000)
    with s.client() as c:
        r = c.post(f"/v1/models/{SEQUENTIAL}", json={"text": "x" * 2000})
        assert r.status_code == 413
        assert envelope(r)["error_code"] == 413001
        # under the cap still works on the same server
        assert c.post(f"/v1/models/{SEQUENTIAL}", json={"text": "x"}).status_code == 200


def test_streamed_body_over_the_cap_is_413(make_server):
    """A chunked body has no Content-Length: the cap is enforced while it streams in."""
    s = make_server(max_body_bytes=10_000)

    def chunks():
        yield b'{"text": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    with s.client() as c:
        r = c.post(
            f"/v1/models/{SEQUENTIAL}",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
    assert r.status_code == 413
    assert envelope(r)["error_code"] == 413001
    assert s.call(s.store.list_for_owner(s.key_id)) == []


def test_oversized_upload_is_413(make_server):
    s = make_server(max_body_bytes=50_000)
    with s.client() as c:
        r = c.post("/v1/files", files={"file": ("a.png", b"\x89PNG" + b"0" * 100_000, "image/png")})
    assert r.status_code == 413
    assert envelope(r)["error_code"] == 413001
    assert not (s.data_dir / "blobs" / "files").exists() or not list(
        (s.data_dir / "blobs" / "files").iterdir()
    )


def test_unexpected_exception_is_500_without_traceback(make_server):
    s = make_server()

    async def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail /etc/passwd")

    s.store.get = broken  # type: ignore[method-assign]
    s.store.status_view = broken  # type: ignore[method-assign] # status reads this
    with s.client() as c:
        r = c.get("/v1/requests/abc/status")
    assert r.status_code == 500
    body = envelope(r)
    assert body["error_code"] == 500001
    assert "secret" not in r.text and "Traceback" not in r.text


@pytest.mark.postgres
def test_dead_database_is_503001(make_server):
    """A store pointed at a PostgreSQL port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    s = make_server(
        database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{port}/nothing", start_store=False
    )
    with s.client("od_any_token") as c:
        r = c.get("/v1/requests/abc/status")
        ready = c.get("/readyz")
    assert r.status_code == 503
    body = envelope(r)
    assert body["error_code"] == 503001
    assert "database" in body["error_message"].lower()
    assert ready.status_code == 503
    assert ready.json()["database"] is False
