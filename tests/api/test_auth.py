from __future__ import annotations

import pytest

from opendream.api.auth import hash_token, new_token, parse_bearer

from .conftest import SEQUENTIAL
from .server import ApiServer


def test_new_token_is_long_random_and_prefixed():
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50
    for t in tokens:
        assert t.startswith("od_")
        assert len(t) >= 3 + 43  # 32 bytes in URL-safe base64
        assert all(c.isalnum() or c in "-_" for c in t[3:])


def test_hash_token_is_sha256_hex_and_not_the_token():
    t = new_token()
    h = hash_token(t)
    assert len(h) == 64 and int(h, 16) >= 0
    assert t not in h
    assert hash_token(t) == h
    assert hash_token(t + "x") != h


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("Bearer   abc  ", "abc"),
        (None, None),
        ("", None),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer a b", None),
        ("abc", None),
        ("Bearer " + "x" * 600, None),
    ],
)
def test_parse_bearer(header, token):
    assert parse_bearer(header) == token


PROTECTED = [
    ("POST", f"/v1/models/{SEQUENTIAL}"),
    ("GET", "/v1/requests/x/status"),
    ("GET", "/v1/requests/x/result"),
    ("POST", "/v1/requests/x/cancel"),
    ("POST", "/v1/files"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    "header",
    [None, "Bearer od_not_a_real_token", "Basic dXNlcjpwYXNz", "Bearer"],
)
def test_missing_or_bad_token_is_401(server: ApiServer, method, path, header):
    with server.client() as c:
        headers = {"Authorization": header} if header else {}
        if header is None:
            c.headers.pop("Authorization")
        r = c.request(method, path, headers=headers, json={"text": "x"})
    assert r.status_code == 401
    body = r.json()
    assert body["error_code"] == 400004
    assert (
        "token" in body["error_message"].lower() or "authorization" in body["error_message"].lower()
    )
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_revoked_key_is_refused(server: ApiServer):
    token, key_id = server.create_key("short-lived")
    with server.client(token) as c:
        ok = c.post(f"/v1/models/{SEQUENTIAL}", json={"text": "x"})
        assert ok.status_code == 200
        assert server.call(server.store.revoke_key(key_id))
        r = c.get(f"/v1/requests/{ok.json()['request_id']}/status")
    assert r.status_code == 401
    assert r.json()["error_code"] == 400004
