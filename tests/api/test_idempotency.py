"""`Idempotency-Key` on the RunComfy submit: same key and body -> the same request; same key,
another body -> 422 that says so; keys are per token; concurrent retries make one request."""

from __future__ import annotations

import concurrent.futures

import httpx

from opendream.api.idempotency import canonical, fingerprint

from .conftest import EDIT, SEQUENTIAL, data_uri, png_bytes
from .server import ApiServer


def submit(c: httpx.Client, body: dict, key: str, model: str = SEQUENTIAL, **params: str):
    return c.post(f"/v1/models/{model}", json=body, headers={"Idempotency-Key": key}, params=params)


def test_fingerprints_ignore_key_order_but_not_values() -> None:
    a = fingerprint("runcomfy", SEQUENTIAL, {"text": "x", "seed": 1})
    assert a == fingerprint("runcomfy", SEQUENTIAL, {"seed": 1, "text": "x"})
    assert a != fingerprint("runcomfy", SEQUENTIAL, {"text": "x", "seed": 2})
    assert a != fingerprint("runcomfy", EDIT, {"text": "x", "seed": 1})
    assert a != fingerprint("ark", SEQUENTIAL, {"text": "x", "seed": 1})
    assert canonical({"b": "é", "a": [1]}) == '{"a":[1],"b":"é"}'


def test_same_key_and_body_return_the_first_request(client: httpx.Client, server: ApiServer):
    body = {"text": "Generate 2 images of a fox", "seed": 3}
    first = submit(client, body, "same-1")
    again = submit(client, {"seed": 3, "text": "Generate 2 images of a fox"}, "same-1")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    row = server.call(server.store.get(first.json()["request_id"]))
    assert row.idempotency_key == "same-1" and "sha256" in row.extra["idempotency"]


def test_same_key_with_another_body_is_422(client: httpx.Client, server: ApiServer):
    first = submit(client, {"text": "a fox"}, "changed-1").json()["request_id"]
    r = submit(client, {"text": "a wolf"}, "changed-1")
    assert r.status_code == 422
    body = r.json()
    assert body["error_code"] == 422001
    assert "already used with a different request body" in body["error_message"]
    assert first in body["error_message"]
    assert body["detail"] == [
        {
            "loc": ["header", "Idempotency-Key"],
            "msg": body["error_message"],
            "type": "idempotency_key_reused",
            "input": "changed-1",
        }
    ]
    # another model or another webhook is another body too
    assert submit(client, {"text": "a fox"}, "changed-1", model=EDIT).status_code == 422
    r = submit(client, {"text": "a fox"}, "changed-1", webhook="https://hooks.example.com/x")
    assert r.status_code == 422


def test_keys_belong_to_one_token(server: ApiServer, client: httpx.Client):
    other_token, _ = server.create_key("other")
    mine = submit(client, {"text": "a"}, "shared-name").json()["request_id"]
    with server.client(token=other_token) as other:
        theirs = submit(other, {"text": "b"}, "shared-name")
    assert theirs.status_code == 200 and theirs.json()["request_id"] != mine


def test_a_replay_is_not_counted_by_the_limits(make_server):
    s = make_server(rate_limit_per_minute=1)
    with s.client() as c:
        first = submit(c, {"text": "a"}, "limited")
        again = submit(c, {"text": "a"}, "limited")
        other = submit(c, {"text": "a"}, "another-key")
    assert first.status_code == again.status_code == 200
    assert other.status_code == 429


def test_concurrent_retries_make_one_request(server: ApiServer):
    ref = data_uri(png_bytes(80, 80))
    body = {"prompt": "p", "images": [ref]}

    def post() -> str:
        with server.client() as c:
            r = submit(c, body, "racing", model=EDIT)
            assert r.status_code == 200, r.text
            return r.json()["request_id"]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        ids = set(pool.map(lambda _: post(), range(4)))
    assert len(ids) == 1
    (request_id,) = ids
    # the losers' reference blobs were deleted: only the winner's remain
    stored = {p.parent.parent.name for p in (server.data_dir / "blobs").glob("requests/*/inputs/*")}
    rows = server.call(server.store.list_for_owner(server.key_id, limit=500))
    assert request_id in stored and stored <= {r.id for r in rows}


def test_an_over_long_key_is_400(client: httpx.Client):
    r = submit(client, {"text": "a"}, "k" * 300)
    assert r.status_code == 400 and r.json()["error_code"] == 400002
    assert "longer than 256" in r.json()["error_message"]
