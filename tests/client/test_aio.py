"""`AsyncClient` against the scripted loopback server: the same behaviour as `Client`."""

from __future__ import annotations

from pathlib import Path

import pytest

from opendream.client import AsyncClient, RequestFailed, RequestStatus, RequestTimeout, RetryPolicy
from tests.client.loopback import Canned, loopback_server

RID = "r-2"
STATUS = f"/v1/requests/{RID}/status"
RESULT = f"/v1/requests/{RID}/result"
SUBMIT = "/v1/models/bytedance/seedream-4-0/edit"
SUBMITTED = Canned(
    200, {"request_id": RID, "status_url": "s", "result_url": "r", "cancel_url": "c"}
)


def fast_client(url: str) -> AsyncClient:
    return AsyncClient(
        url, "tok", retry=RetryPolicy(max_attempts=2, base_delay=0.001), poll_interval=0.005
    )


async def test_run_awaits_an_async_on_update_and_downloads(tmp_path: Path) -> None:
    with loopback_server() as (url, script):
        script.on("POST", SUBMIT, SUBMITTED)
        script.on(
            "GET",
            STATUS,
            Canned(
                200,
                {
                    "request_id": RID,
                    "status": "in_progress",
                    "progress": {"step": 1, "steps": 2, "image": 1, "images": 1},
                },
            ),
            Canned(200, {"request_id": RID, "status": "completed"}),
        )
        script.on(
            "GET",
            RESULT,
            Canned(
                200,
                {"request_id": RID, "status": "succeeded", "output": {"image": f"{url}/o.webp"}},
            ),
        )
        script.on(
            "GET",
            "/o.webp",
            Canned(200, raw=b"RIFF....WEBP", headers={"Content-Type": "image/webp"}),
        )
        seen: list[RequestStatus] = []

        async def on_update(status: RequestStatus) -> None:
            seen.append(status)

        async with fast_client(url) as client:
            result = await client.run(
                "bytedance/seedream-4-0/edit", {"prompt": "x", "images": ["u"]}, on_update=on_update
            )
            paths = await client.download(result, tmp_path)
    assert [s.status for s in seen] == ["in_progress", "completed"]
    assert result.urls == [f"{url}/o.webp"]
    assert [p.name for p in paths] == [f"{RID}_0.webp"]
    assert paths[0].read_bytes() == b"RIFF....WEBP"


async def test_timeout_cancels_and_carries_the_request_id() -> None:
    with loopback_server() as (url, script):
        script.on("POST", SUBMIT, SUBMITTED)
        script.on(
            "GET",
            STATUS,
            Canned(200, {"request_id": RID, "status": "in_queue", "queue_position": 3}),
        )
        script.on(
            "POST",
            f"/v1/requests/{RID}/cancel",
            Canned(202, {"request_id": RID, "status": "in_progress", "outcome": "not_cancellable"}),
        )
        async with fast_client(url) as client:
            with pytest.raises(RequestTimeout) as info:
                await client.run(
                    "bytedance/seedream-4-0/edit",
                    {"prompt": "x"},
                    timeout=0.03,
                    cancel_on_timeout=True,
                )
    assert info.value.request_id == RID
    assert info.value.cancelled is False  # the server said not_cancellable: the request goes on


async def test_failed_raises() -> None:
    with loopback_server() as (url, script):
        script.on("GET", STATUS, Canned(200, {"request_id": RID, "status": "completed"}))
        script.on(
            "GET",
            RESULT,
            Canned(200, {"request_id": RID, "status": "failed", "error": {"message": "bad seed"}}),
        )
        async with fast_client(url) as client:
            with pytest.raises(RequestFailed, match="bad seed"):
                await client.wait(RID)
