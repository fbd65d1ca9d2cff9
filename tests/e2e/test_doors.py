"""The other doors end to end: a real `opendream serve` with the tiny model, driven by the
official Seedream (ModelArk) SDK, the official `openai` client, server-sent events and webhooks
to a loopback receiver. Sizes stay near 1 MP and steps at 2 to keep the CPU time small."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from byteplussdkarkruntime import Ark
from byteplussdkarkruntime.types.images import (
    OptimizePromptOptions,
    SequentialImageGenerationOptions,
)
from openai import OpenAI
from PIL import Image

from opendream.client.webhooks import verify_webhook
from tests.api.sse_client import events
from tests.e2e.images import png_bytes, png_data_uri
from tests.e2e.server import ServerProcess, link_demo_model
from tests.webhooks.receiver import Receiver

EDIT = "bytedance/seedream-4-0/edit"
# ServerProcess already runs two steps; the bare worker process below is told the same.
FAST = {"OPENDREAM_STEPS": "2"}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, tiny_klein_dir: Path
) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("doors")
    link_demo_model(data_dir, tiny_klein_dir)
    process = ServerProcess(data_dir=data_dir, env={"OPENDREAM_WEBHOOK_BACKOFF_S": "0.2"})
    process.start()
    try:
        yield process
    finally:
        process.stop()


def size_of(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def test_official_seedream_sdk_sync_and_stream(server: ServerProcess) -> None:
    ark = Ark(base_url=f"{server.base_url}/api/v3", api_key=server.token, max_retries=0)
    one = ark.images.generate(
        model="seedream-4-0-250828",
        prompt="A lighthouse at dusk",
        size="1024x1024",
        optimize_prompt_options=OptimizePromptOptions(mode="fast"),
    )
    assert len(one.data) == 1 and one.data[0].size == "1024x1024"
    assert size_of(httpx.get(one.data[0].url, timeout=30).content) == (1024, 1024)
    assert one.usage.generated_images == 1 and one.usage.output_tokens == 4096

    stream = ark.images.generate(
        model="seedream-4-0-250828",
        prompt="Generate 2 images of a paper boat",
        image=png_data_uri(96, 64),
        size="1K",
        sequential_image_generation="auto",
        sequential_image_generation_options=SequentialImageGenerationOptions(max_images=2),
        optimize_prompt_options=OptimizePromptOptions(mode="fast"),
        response_format="b64_json",
        stream=True,
    )
    got = list(stream)
    assert [e.type for e in got] == [
        "image_generation.partial_succeeded",
        "image_generation.partial_succeeded",
        "image_generation.completed",
    ]
    assert all(size_of(base64.b64decode(e.b64_json)) == (1248, 832) for e in got[:2])
    assert got[-1].usage["generated_images"] == 2  # a dict: see tests/api/test_routes_ark.py


def test_openai_client_edit(server: ServerProcess) -> None:
    client = OpenAI(
        base_url=f"{server.base_url}/v1",
        api_key=server.token,
        max_retries=0,
        http_client=httpx.Client(trust_env=False, timeout=300),
    )
    result = client.images.edit(
        model="gpt-image-1",
        image=[("ref.png", png_bytes(120, 80, (200, 40, 40)), "image/png")],
        prompt="Make it night",
        size="1024x1024",
    )
    assert len(result.data) == 1 and result.size == "1024x1024"
    assert size_of(base64.b64decode(result.data[0].b64_json or "")) == (1024, 1024)


def test_live_progress_stream_and_resume(server: ServerProcess) -> None:
    with server.client() as c:
        request_id = c.post(
            f"/v1/models/{EDIT}",
            json={"prompt": "a red door", "images": [png_data_uri(96, 64)], "resolution": "1K"},
        ).json()["request_id"]
        with c.stream("GET", f"/v1/requests/{request_id}/stream", timeout=300) as r:
            seen = list(events(r))
        names = [e.name for e in seen]
        assert names[-1] == "succeeded" and "started" in names and names.count("image") == 1
        assert "progress" in names or names[0] != "queued"
        image = next(e for e in seen if e.name == "image")
        assert size_of(httpx.get(image.json["url"], timeout=30).content) == (1248, 832)
        with c.stream(
            "GET", f"/v1/requests/{request_id}/stream", headers={"Last-Event-ID": image.id or ""}
        ) as r:
            assert [e.name for e in events(r)] == ["succeeded"]


def test_prefer_wait_idempotency_and_a_signed_webhook(server: ServerProcess) -> None:
    body = {"prompt": "a blue gate", "images": [png_data_uri(64, 64)], "resolution": "1K"}
    with Receiver([200, 503]) as receiver, server.client() as c:
        secret = c.get("/v1/webhooks/secret").json()["secret"]
        headers = {"Prefer": "wait=60", "Idempotency-Key": "e2e-doors-1"}
        params = {"webhook": receiver.url(), "webhook_events": "started"}
        first = c.post(f"/v1/models/{EDIT}", json=body, headers=headers, params=params, timeout=120)
        assert first.status_code == 200 and first.headers["Preference-Applied"] == "wait=60"
        result = first.json()
        assert result["status"] == "succeeded" and result["output"]["image"]
        again = c.post(f"/v1/models/{EDIT}", json=body, headers=headers, params=params, timeout=120)
        assert again.json()["request_id"] == result["request_id"]
        changed = c.post(
            f"/v1/models/{EDIT}", json={**body, "prompt": "x"}, headers=headers, params=params
        )
        assert changed.status_code == 422
        deliveries = receiver.wait_for(3)  # started, completed (503), completed again
    payloads = [verify_webhook(d.headers, d.body, secret) for d in deliveries]
    assert [p["event"] for p in payloads] == ["started", "completed", "completed"]
    assert payloads[-1]["request_id"] == result["request_id"]
    assert payloads[-1]["output"]["image"].split("?")[0] == result["output"]["image"].split("?")[0]


def test_a_separate_worker_process_on_sqlite(tmp_path: Path, tiny_klein_dir: Path) -> None:
    """`serve --no-worker` and `worker` as two processes on one SQLite file: no notification
    crosses between them, so the stream follows by polling and the worker's own loop delivers
    the webhook."""
    link_demo_model(tmp_path, tiny_klein_dir)
    env = {
        **os.environ,
        **FAST,
        "HF_HUB_OFFLINE": "1",
        "OPENDREAM_DATA_DIR": str(tmp_path),
        "OPENDREAM_ALLOW_HTTP": "true",
        "OPENDREAM_FETCH_ALLOW_LIST": json.dumps(["127.0.0.0/8"]),
        "OPENDREAM_WEBHOOK_DELIVERY": "true",
    }
    log = open(tmp_path / "worker.log", "ab")  # noqa: SIM115 - handed to the child
    worker = subprocess.Popen(
        [sys.executable, "-m", "opendream", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    api = ServerProcess(
        data_dir=tmp_path,
        args=["--no-worker"],
        env={"OPENDREAM_STREAM_POLL_S": "0.5", "OPENDREAM_WEBHOOK_DELIVERY": "false"},
    )
    try:
        api.start()  # ready once the worker process has beaten
        with Receiver() as receiver, api.client() as c:
            request_id = c.post(
                f"/v1/models/{EDIT}",
                json={"prompt": "a door", "images": [png_data_uri(64, 64)], "resolution": "1K"},
                params={"webhook": receiver.url()},
            ).json()["request_id"]
            with c.stream("GET", f"/v1/requests/{request_id}/stream", timeout=300) as r:
                names = [e.name for e in events(r)]
            (delivery,) = receiver.wait_for(1)
        assert names[-1] == "succeeded" and "image" in names
        assert json.loads(delivery.body)["status"] == "succeeded"
    finally:
        api.stop()
        worker.terminate()
        worker.wait(60)
        log.close()
