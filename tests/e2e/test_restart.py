"""Nothing lost: `kill -9` of the server while it works, then a restart, completes everything."""

from __future__ import annotations

import signal
import time

from tests.e2e.server import ServerProcess
from tests.e2e.test_protocol import SEQ, download_sizes, wait_finished


def test_kill_9_mid_run_then_restart_completes_all(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory()
    server.start()
    with server.client() as client:
        ids = [
            client.post(
                f"/v1/models/{SEQ}", json={"text": f"Generate 1 image of boat {i}", "seed": i}
            ).json()["request_id"]
            for i in range(3)
        ]
        deadline = time.monotonic() + 120
        while client.get(f"/v1/requests/{ids[0]}/status").json()["status"] != "in_progress":
            assert time.monotonic() < deadline
            time.sleep(0.02)
    server.stop(signal.SIGKILL)

    server.start()  # same data directory, same port
    with server.client() as client:
        for request_id in ids:
            assert wait_finished(client, request_id)[-1] == "completed"
            result = client.get(f"/v1/requests/{request_id}/result").json()
            assert result["status"] == "succeeded", result
            assert download_sizes(result["output"]["images"]) == [(2560, 1440)]
        first = client.get(f"/v1/requests/{ids[0]}/result").json()
        assert first["metadata"]["attempts"] == 2  # it was running when the process died


def test_outputs_stay_downloadable_after_restart(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory()
    server.start()
    with server.client() as client:
        request_id = client.post(
            f"/v1/models/{SEQ}", json={"text": "Generate 1 image of a kite"}
        ).json()["request_id"]
        wait_finished(client, request_id)
        url = client.get(f"/v1/requests/{request_id}/result").json()["output"]["images"][0]
    server.stop()
    server.start()
    assert download_sizes([url]) == [(2560, 1440)]
