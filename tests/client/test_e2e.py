"""The SDK against a real `opendream serve` on loopback with the tiny model: run, download,
upload, cancel, timeouts with and without cancel, the error classes, history."""

from __future__ import annotations

import io
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
    RequestStatus,
    RequestTimeout,
    ValidationError,
)
from tests.e2e.server import ServerProcess

SEQUENTIAL = "bytedance/seedream-4-0/sequential"
EDIT = "bytedance/seedream-4-0/edit"
SQUARE = "2048:2048 (1:1)"


def client_for(server: ServerProcess) -> Client:
    return Client(server.base_url, server.token, poll_interval=0.05, max_poll_interval=0.5)


def busy_body(images: int = 3) -> dict[str, object]:
    """A request that keeps the single worker busy for a while, so the next one stays queued."""
    return {
        "text": f"Generate {images} images of a lighthouse",
        "sequential_image_generation_options": images,
    }


def test_run_reports_progress_and_downloads_images_of_the_requested_size(
    server: ServerProcess, tmp_path: Path
) -> None:
    seen: list[RequestStatus] = []
    with client_for(server) as client:
        result = client.run(
            SEQUENTIAL,
            {"text": "Generate 2 images of a red fox", "image_size": SQUARE, "seed": 99},
            timeout=300,
            on_update=seen.append,
        )
        paths = client.download(result, tmp_path)
        history = client.history(limit=50)
    assert result.status == "succeeded"
    assert len(result.urls) == 2
    assert result.metadata.get("seed") == 99
    assert result.created_at is not None and result.finished_at is not None
    assert seen and seen[-1].status == "completed"
    assert {s.status for s in seen} <= {"in_queue", "in_progress", "completed"}
    assert [p.name for p in paths] == [f"{result.request_id}_0.png", f"{result.request_id}_1.png"]
    for path in paths:
        with Image.open(path) as image:
            assert image.size == (2048, 2048)
    assert result.request_id in [r["request_id"] for r in history]


async def test_the_async_client_runs_and_downloads(server: ServerProcess, tmp_path: Path) -> None:
    updates: list[str] = []
    async with AsyncClient(
        server.base_url, server.token, poll_interval=0.05, max_poll_interval=0.5
    ) as client:
        result = await client.run(
            SEQUENTIAL,
            {"text": "Generate 1 image of a teapot", "image_size": "2304:1728 (4:3)"},
            timeout=300,
            on_update=lambda s: updates.append(s.status),
        )
        paths = await client.download(result, tmp_path)
    assert result.status == "succeeded" and updates[-1] == "completed"
    with Image.open(paths[0]) as image:
        assert image.size == (2304, 1728)


def test_an_uploaded_image_can_be_edited(server: ServerProcess, tmp_path: Path) -> None:
    source = tmp_path / "ref.png"
    buf = io.BytesIO()
    Image.new("RGB", (96, 64), "orange").save(buf, format="PNG")
    source.write_bytes(buf.getvalue())
    with client_for(server) as client:
        uri = client.upload(source)
        result = client.run(
            EDIT, {"prompt": "Make it blue.", "images": [uri], "resolution": "1K"}, timeout=300
        )
        (path,) = client.download(result, tmp_path / "out")
    assert uri.startswith("opendream://") or uri.startswith("http")
    assert result.output is not None and isinstance(result.output.get("image"), str)
    with Image.open(path) as image:
        width, height = image.size
    assert abs(width / height - 96 / 64) < 0.05  # 1K follows the reference's aspect ratio


def test_cancel_of_a_queued_request_and_of_a_finished_one(server: ServerProcess) -> None:
    with client_for(server) as client:
        busy = client.submit(SEQUENTIAL, busy_body())
        queued = client.submit(SEQUENTIAL, {"text": "Generate 1 image of a boat"})
        answer = client.cancel(queued.request_id)
        assert answer.cancelled and answer.outcome == "cancelled"
        assert client.status(queued.request_id).status == "cancelled"
        with pytest.raises(RequestCancelled):
            client.wait(queued.request_id, timeout=30)
        client.wait(busy.request_id, timeout=300)
        late = client.cancel(busy.request_id)
    assert not late.cancelled and late.outcome == "not_cancellable"


def test_a_client_timeout_cancels_the_queued_request_when_asked(server: ServerProcess) -> None:
    with client_for(server) as client:
        busy = client.submit(SEQUENTIAL, busy_body())
        with pytest.raises(RequestTimeout) as info:
            client.run(
                SEQUENTIAL,
                {"text": "Generate 1 image of a kite"},
                timeout=0.2,
                cancel_on_timeout=True,
            )
        assert info.value.cancelled is True
        request_id = info.value.request_id
        assert request_id and request_id != busy.request_id
        assert client.status(request_id).status == "cancelled"
        assert client.result(request_id).status == "cancelled"
        client.wait(busy.request_id, timeout=300)


def test_a_client_timeout_without_cancel_leaves_a_request_that_can_be_picked_up_later(
    server: ServerProcess,
) -> None:
    with client_for(server) as client:
        with pytest.raises(RequestTimeout) as info:
            client.run(
                SEQUENTIAL,
                {"text": "Generate 1 image of a kite", "image_size": SQUARE},
                timeout=0.01,
            )
        assert info.value.cancelled is False
        result = client.wait(info.value.request_id, timeout=300)
    assert result.status == "succeeded" and len(result.urls) == 1


def test_idempotency_key_is_sent_and_a_keyed_submit_succeeds(server: ServerProcess) -> None:
    key = str(uuid.uuid4())
    with client_for(server) as client:
        first = client.submit(
            SEQUENTIAL, {"text": "Generate 1 image of a fern"}, idempotency_key=key
        )
        client.wait(first.request_id, timeout=300)
    assert first.request_id


def test_server_errors_arrive_as_typed_exceptions(server: ServerProcess) -> None:
    with client_for(server) as client:
        with pytest.raises(BadRequest) as unknown_model:
            client.submit("bytedance/seedream-9", {"text": "x"})
        with pytest.raises(NotFound) as unknown_id:
            client.status("no-such-request")
        with pytest.raises(ValidationError) as invalid:
            client.submit(SEQUENTIAL, {"text": "x" * 601, "image_size": "5:4"})
    with (
        Client(server.base_url, "wrong-token") as stranger,
        pytest.raises(AuthenticationError) as bad_token,
    ):
        stranger.status("no-such-request")
    assert unknown_model.value.error_code == 400001 and unknown_model.value.status_code == 400
    assert unknown_id.value.error_code == 404001
    assert bad_token.value.error_code == 400004 and bad_token.value.status_code == 401
    assert invalid.value.error_code == 422001
    locs = [tuple(p["loc"]) for p in invalid.value.problems]
    assert ("body", "text") in locs and ("body", "image_size") in locs


def test_models_and_schemas_are_the_published_ones(server: ServerProcess) -> None:
    with client_for(server) as client:
        ids = [m["model_id"] for m in client.models()]
        schema = client.schema(EDIT)
    assert ids == [SEQUENTIAL, EDIT, "bytedance/seedream-4-0/edit-sequential"]
    assert schema.model_id == EDIT
    assert schema.input["properties"] == schema_properties(EDIT)
