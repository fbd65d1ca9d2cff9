from __future__ import annotations

import httpx

from .server import ApiServer


def test_healthz(make_server):
    s = make_server()
    r = httpx.get(f"{s.base_url}/healthz", trust_env=False)
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_needs_a_live_worker(make_server):
    s: ApiServer = make_server()
    r = httpx.get(f"{s.base_url}/readyz", trust_env=False)
    assert r.status_code == 503
    body = r.json()
    assert body["ready"] is False and body["database"] is True and body["workers"] == 0
    assert "worker" in body["detail"]
    s.call(s.store.worker_beat("w1", {"backend": "tiny"}))
    r = httpx.get(f"{s.base_url}/readyz", trust_env=False)
    assert r.status_code == 200
    assert r.json() == {"ready": True, "database": True, "workers": 1}
