"""GET /metrics: Prometheus text from the request table and worker heartbeats, open unless
OPENDREAM_METRICS_TOKEN is set, 503 (never 500) when the database is away."""

from __future__ import annotations

import httpx

from opendream.catalog.models import MODELS
from opendream.observability.metrics import CONTENT_TYPE, LatencyHistograms

from .conftest import SEQUENTIAL
from .server import ApiServer


def _samples(text: str) -> dict[str, float]:
    """`name{labels}` -> value for every sample line."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def test_metrics_counts_requests_and_workers_without_a_token(make_server):
    s: ApiServer = make_server()
    with s.client() as c:
        ids = [
            c.post(f"/v1/models/{SEQUENTIAL}", json={"text": f"n{i}"}).json()["request_id"]
            for i in range(3)
        ]
        assert c.post(f"/v1/requests/{ids[2]}/cancel").json()["outcome"] == "cancelled"
    row = s.call(s.store.claim("gpu-0", [SEQUENTIAL], 60))
    assert row is not None and row.id == ids[0]
    latency = LatencyHistograms()  # what a worker process observed, published in its beat
    latency.inference.observe(SEQUENTIAL, 2.0)
    beat = {"busy": row.id, "models": [SEQUENTIAL], "latency": latency.to_info()}
    s.call(s.store.worker_beat("gpu-0", beat))
    s.call(s.store.worker_beat("gpu-1", {"busy": None}))

    r = httpx.get(f"{s.base_url}/metrics", trust_env=False)  # no Authorization header at all
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == CONTENT_TYPE
    samples = _samples(r.text)
    assert samples[f'opendream_queue_depth{{model="{SEQUENTIAL}"}}'] == 1
    assert samples[f'opendream_requests{{model="{SEQUENTIAL}",status="in_progress"}}'] == 1
    assert samples[f'opendream_requests{{model="{SEQUENTIAL}",status="cancelled"}}'] == 1
    assert samples[f'opendream_requests{{model="{SEQUENTIAL}",status="succeeded"}}'] == 0
    for model in MODELS:  # every offered model has a series, even with nothing queued
        assert f'opendream_queue_depth{{model="{model}"}}' in samples
    assert samples["opendream_workers"] == 2
    assert samples['opendream_worker_busy{worker="gpu-0"}'] == 1
    assert samples['opendream_worker_busy{worker="gpu-1"}'] == 0
    assert "# TYPE opendream_inference_seconds histogram" in r.text
    inference = f'opendream_inference_seconds_count{{model="{SEQUENTIAL}",worker="gpu-0"}}'
    assert samples[inference] == 1
    assert not any(k.startswith("opendream_inference") and "gpu-1" in k for k in samples)


def test_metrics_token_when_configured(make_server):
    s: ApiServer = make_server(metrics_token="scrape-secret")
    url = f"{s.base_url}/metrics"
    missing = httpx.get(url, trust_env=False)
    assert missing.status_code == 401
    assert missing.json()["error_code"] == 400004
    assert "OPENDREAM_METRICS_TOKEN" in missing.json()["error_message"]
    wrong = httpx.get(url, headers={"Authorization": "Bearer nope"}, trust_env=False)
    assert wrong.status_code == 401
    # an API key is not a scrape token
    api_key = httpx.get(url, headers={"Authorization": f"Bearer {s.token}"}, trust_env=False)
    assert api_key.status_code == 401
    ok = httpx.get(url, headers={"Authorization": "Bearer scrape-secret"}, trust_env=False)
    assert ok.status_code == 200
    assert "opendream_queue_depth" in ok.text


def test_metrics_answer_503_when_the_database_is_away(make_server, tmp_path):
    # a store that was never started on a database that cannot exist: every query fails
    s: ApiServer = make_server(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none", start_store=False
    )
    r = httpx.get(f"{s.base_url}/metrics", trust_env=False)
    assert r.status_code == 503, r.text
    assert r.json()["error_code"] == 503001
