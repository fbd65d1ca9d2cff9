from __future__ import annotations

from .conftest import SEQUENTIAL


def test_requests_per_minute(make_server):
    s = make_server(rate_limit_per_minute=3, max_queued_per_key=100)
    with s.client() as c:
        codes = [
            c.post(f"/v1/models/{SEQUENTIAL}", json={"text": "x"}).status_code for _ in range(3)
        ]
        assert codes == [200, 200, 200]
        r = c.post(f"/v1/models/{SEQUENTIAL}", json={"text": "x"})
        assert r.status_code == 429
        body = r.json()
        assert body["error_code"] == 429001
        assert body["detail"]["limit"] == "requests_per_minute"
        retry = int(r.headers["retry-after"])
        assert 1 <= retry <= 60
        # the limit is per key: another key still gets through
        other, _ = s.create_key("other")
        with s.client(other) as c2:
            assert c2.post(f"/v1/models/{SEQUENTIAL}", json={"text": "x"}).status_code == 200
    assert len(s.call(s.store.list_for_owner(s.key_id))) == 3


def test_max_queued(make_server):
    s = make_server(rate_limit_per_minute=0, max_queued_per_key=2)
    with s.client() as c:
        ids = [
            c.post(f"/v1/models/{SEQUENTIAL}", json={"text": "x"}).json()["request_id"]
            for _ in range(2)
        ]
        r = c.post(f"/v1/models/{SEQUENTIAL}", json={"text": "x"})
        assert r.status_code == 429
        assert r.json()["error_code"] == 429001
        assert r.json()["detail"]["limit"] == "queued_requests"
        assert int(r.headers["retry-after"]) > 0
        # cancelling one frees a slot
        assert c.post(f"/v1/requests/{ids[0]}/cancel").json()["outcome"] == "cancelled"
        assert c.post(f"/v1/models/{SEQUENTIAL}", json={"text": "x"}).status_code == 200


def test_limits_are_checked_before_reading_images(make_server):
    """Over the limit, even a body whose images would fail answers 429: no fetch happens."""
    s = make_server(rate_limit_per_minute=1, max_queued_per_key=100)
    with s.client() as c:
        assert c.post(f"/v1/models/{SEQUENTIAL}", json={"text": "x"}).status_code == 200
        body = {"prompt": "p", "images": ["https://192.0.2.1/never-fetched.png"]}
        r = c.post("/v1/models/bytedance/seedream-4-0/edit", json=body)
    assert r.status_code == 429
