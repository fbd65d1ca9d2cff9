"""The SDK against a real `opendream serve` on loopback with the tiny model: run, download,
upload, cancel, timeouts with and without cancel, the error classes, history. One sequential run
makes a two-image 2K series; the others are small 1K edits; queue behaviour uses the worker-less
server."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from PIL import Image

from opendream.catalog.models import schema_properties
from opendream.client import (
    AsyncClient,
    AuthenticationError,
    BadRequest,
    Client,
    NotFound,
    RequestCancelled,
    RequestResult,
    RequestStatus,
    RequestTimeout,
    ValidationError,
)
from tests.client.bodies import EDIT, SEQUENTIAL, png, small_edit
from tests.e2e.server import ServerProcess


def client_for(server: ServerProcess) -> Client:
    return Client(server.base_url, server.token, poll_interval=0.05, max_poll_interval=0.5)


# -- with a worker: images ------------------------------------------------------------------------


def test_run_reports_progress_and_downloads_a_series_of_the_requested_size(
    server: ServerProcess, tmp_path: Path
) -> None:
    seen: list[RequestStatus] = []
    with client_for(server) as client:
        result = client.run(
            SEQUENTIAL,
            {"text": "Generate 2 images of a red fox", "image_size": "2304:1728 (4:3)", "seed": 99},
            timeout=300,
            on_update=seen.append,
        )
        paths = client.download(result, tmp_path)
        history = client.history(limit=50)
    assert result.status == "succeeded"
    assert len(result.urls) == 2
    assert result.seed == 99
    assert result.created_at is not None and result.finished_at is not None
    assert seen and seen[-1].status == "completed"
    assert {s.status for s in seen} <= {"in_queue", "in_progress", "completed"}
    for status in seen:
        if status.progress is not None:  # 1-based image and step within the series
            assert status.progress.images == 2 and 1 <= (status.progress.image or 0) <= 2
    assert [p.name for p in paths] == [f"{result.request_id}_0.png", f"{result.request_id}_1.png"]
    for path in paths:
        with Image.open(path) as image:
            assert image.size == (2304, 1728)
    assert result.request_id in [r["request_id"] for r in history]


async def test_the_async_client_runs_and_downloads(server: ServerProcess, tmp_path: Path) -> None:
    updates: list[str] = []
    async with AsyncClient(server.base_url, server.token, poll_interval=0.05) as client:
        result = await client.run(
            EDIT, small_edit(), timeout=300, on_update=lambda s: updates.append(s.status)
        )
        paths = await client.download(result, tmp_path)
    assert result.status == "succeeded" and updates[-1] == "completed"
    with Image.open(paths[0]) as image:
        width, height = image.size
    assert abs(width / height - 96 / 64) < 0.05  # 1K follows the reference's aspect ratio
    assert 0.8e6 < width * height < 1.3e6


def test_an_uploaded_image_can_be_edited(server: ServerProcess, tmp_path: Path) -> None:
    source = tmp_path / "ref.png"
    source.write_bytes(png(64, 64, "green"))
    with client_for(server) as client:
        uri = client.upload(source)
        result = client.run(
            EDIT, {"prompt": "Add a hat.", "images": [uri], "resolution": "1K"}, timeout=300
        )
        (path,) = client.download(result, tmp_path / "out")
    assert result.output is not None and isinstance(result.output.get("image"), str)
    with Image.open(path) as image:
        assert image.size[0] == image.size[1]


def test_a_timeout_without_cancel_leaves_a_request_that_can_be_picked_up_later(
    server: ServerProcess,
) -> None:
    with client_for(server) as client:
        with pytest.raises(RequestTimeout) as info:
            client.run(EDIT, small_edit("Make it red."), timeout=0.01)
        assert info.value.cancelled is False
        result = client.wait(info.value.request_id, timeout=300)
    assert result.status == "succeeded" and len(result.urls) == 1


def test_a_finished_request_is_not_cancellable(
    server: ServerProcess, finished: RequestResult
) -> None:
    with client_for(server) as client:
        answer = client.cancel(finished.request_id)
        assert client.result(finished.request_id).status == "succeeded"
    assert not answer.cancelled and answer.outcome == "not_cancellable"


# -- without a worker: the queue ------------------------------------------------------------------


def test_queued_requests_report_their_position_and_can_be_cancelled(
    queue_server: ServerProcess,
) -> None:
    with client_for(queue_server) as client:
        first = client.submit(EDIT, small_edit())
        second = client.submit(EDIT, small_edit())
        positions = [client.status(r.request_id).queue_position for r in (first, second)]
        assert positions[1] == (positions[0] or 0) + 1
        answer = client.cancel(first.request_id)
        assert answer.cancelled and answer.outcome == "cancelled"
        assert client.status(first.request_id).status == "cancelled"
        assert client.status(second.request_id).queue_position == positions[0]
        with pytest.raises(RequestCancelled) as info:
            client.wait(first.request_id, timeout=30)
        client.cancel(second.request_id)
    assert info.value.request_id == first.request_id


def test_a_client_timeout_cancels_the_queued_request_when_asked(
    queue_server: ServerProcess,
) -> None:
    seen: list[RequestStatus] = []
    with client_for(queue_server) as client:
        with pytest.raises(RequestTimeout) as info:
            client.run(
                EDIT, small_edit(), timeout=0.3, on_update=seen.append, cancel_on_timeout=True
            )
        request_id = info.value.request_id
        assert info.value.cancelled is True
        assert client.status(request_id).status == "cancelled"
        assert client.result(request_id).status == "cancelled"
    assert seen and all(s.status == "in_queue" and s.request_id == request_id for s in seen)


def test_a_keyed_submit_sends_its_idempotency_key(queue_server: ServerProcess) -> None:
    key = str(uuid.uuid4())
    with client_for(queue_server) as client:
        first = client.submit(EDIT, small_edit(), idempotency_key=key)
        again = client.submit(EDIT, small_edit(), idempotency_key=key)
        for request_id in {first.request_id, again.request_id}:
            client.cancel(request_id)
    # the service answers the same request for the same key and body
    assert again.request_id == first.request_id


def test_server_errors_arrive_as_typed_exceptions(queue_server: ServerProcess) -> None:
    with client_for(queue_server) as client:
        with pytest.raises(BadRequest) as unknown_model:
            client.submit("bytedance/seedream-9", {"text": "x"})
        with pytest.raises(NotFound) as unknown_id:
            client.status("no-such-request")
        with pytest.raises(ValidationError) as invalid:
            client.submit(SEQUENTIAL, {"text": "x" * 601, "image_size": "5:4"})
    with (
        Client(queue_server.base_url, "wrong-token") as stranger,
        pytest.raises(AuthenticationError) as bad,
    ):
        stranger.status("no-such-request")
    assert unknown_model.value.error_code == 400001 and unknown_model.value.status_code == 400
    assert unknown_id.value.error_code == 404001
    assert bad.value.error_code == 400004 and bad.value.status_code == 401
    assert invalid.value.error_code == 422001
    locs = [tuple(p["loc"]) for p in invalid.value.problems]
    assert ("body", "text") in locs and ("body", "image_size") in locs


def test_models_and_schemas_are_the_published_ones(queue_server: ServerProcess) -> None:
    with client_for(queue_server) as client:
        ids = [m["model_id"] for m in client.models()]
        schema = client.schema(EDIT)
    assert ids == [SEQUENTIAL, EDIT, "bytedance/seedream-4-0/edit-sequential"]
    assert schema.model_id == EDIT
    assert schema.input["properties"] == schema_properties(EDIT)
