"""Retention: after the TTL a finished request's files are deleted, its URLs answer 404 and its
result says the files have expired."""

from __future__ import annotations

import time

import httpx

from tests.e2e.server import ServerProcess
from tests.e2e.test_protocol import SEQ, wait_finished


def test_outputs_expire_after_the_retention_ttl(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(env={"OPENDREAM_RETENTION_S": "3"})
    server.start()
    with server.client() as client:
        request_id = client.post(
            f"/v1/models/{SEQ}", json={"text": "Generate 1 image of a kite"}
        ).json()["request_id"]
        wait_finished(client, request_id)
        url = client.get(f"/v1/requests/{request_id}/result").json()["output"]["images"][0]
        assert httpx.get(url).status_code == 200
        deadline = time.monotonic() + 30
        result = client.get(f"/v1/requests/{request_id}/result").json()
        while not result.get("expired"):
            assert time.monotonic() < deadline, result
            time.sleep(0.3)
            result = client.get(f"/v1/requests/{request_id}/result").json()
    assert result["status"] == "succeeded" and "output" not in result
    assert "expired" in result["error"]
    gone = httpx.get(url)
    assert gone.status_code == 404 and gone.json()["error_code"] == 404001
    assert not list((server.data_dir / "blobs" / "requests" / request_id).rglob("*.png"))
