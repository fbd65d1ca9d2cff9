from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx

from opendream.storage.signing import signed_blob_url

from .conftest import png_bytes
from .server import SECRET, ApiServer


def put(server: ApiServer, key: str, data: bytes) -> str:
    server.call(server.blobs.put(key, data, "image/png"))
    return server.blobs.url_for(key, 600)


def test_signed_url_downloads(server: ApiServer):
    data = png_bytes()
    url = put(server, "requests/r1/outputs/0.png", data)
    r = httpx.get(url, trust_env=False)
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["content-type"] == "image/png"
    assert "max-age" in r.headers["cache-control"]
    head = httpx.head(url, trust_env=False)
    assert head.status_code == 200


def test_tampered_or_missing_signature_is_403(server: ApiServer):
    url = put(server, "requests/r2/outputs/0.png", png_bytes())
    parts = urlsplit(url)
    q = parse_qs(parts.query)
    bad_sig = f"{server.base_url}{parts.path}?expires={q['expires'][0]}&sig={'0' * 64}"
    other_key = url.replace("/r2/", "/r1/")
    later = f"{server.base_url}{parts.path}?expires={int(q['expires'][0]) + 1}&sig={q['sig'][0]}"
    for u in (bad_sig, other_key, later, f"{server.base_url}{parts.path}"):
        r = httpx.get(u, trust_env=False)
        assert r.status_code == 403, u
        assert r.json()["error_code"] == 403002


def test_expired_link_is_404(server: ApiServer):
    key = "requests/r3/outputs/0.png"
    server.call(server.blobs.put(key, png_bytes(), "image/png"))
    url = signed_blob_url(server.base_url, key, SECRET, int(time.time()) - 5)
    r = httpx.get(url, trust_env=False)
    assert r.status_code == 404
    assert r.json()["error_code"] == 404001


def test_deleted_blob_is_404(server: ApiServer):
    url = put(server, "requests/r4/outputs/0.png", png_bytes())
    server.call(server.blobs.delete_prefix("requests/r4/"))
    r = httpx.get(url, trust_env=False)
    assert r.status_code == 404
    assert r.json()["error_code"] == 404001


def test_upload_blob_served_with_sniffed_type(server: ApiServer):
    url = put(server, "files/file_abc", png_bytes(fmt="JPEG"))
    r = httpx.get(url, trust_env=False)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/jpeg"
