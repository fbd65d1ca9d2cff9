"""The official Seedream API door, driven by the official SDK (`byteplus-python-sdk-v2`) against a
real server on loopback, with a real worker and a fixture engine (solid images, exact sizes)."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from byteplussdkarkruntime import Ark
from byteplussdkarkruntime._exceptions import (
    ArkAuthenticationError,
    ArkBadRequestError,
    ArkInternalServerError,
    ArkUnprocessableEntityError,
)
from byteplussdkarkruntime.types.images import (
    OptimizePromptOptions,
    SequentialImageGenerationOptions,
)
from PIL import Image

from .conftest import EDIT, EDIT_SEQUENTIAL, SEQUENTIAL, data_uri, png_bytes
from .fixture_worker import FixtureEngine
from .server import ApiServer

MODEL = "seedream-4-0-250828"
PATH = "/api/v3/images/generations"


@pytest.fixture
def server(served: tuple[ApiServer, FixtureEngine]) -> Iterator[ApiServer]:
    s, engine = served
    yield s
    engine.reset()


@pytest.fixture
def engine(served: tuple[ApiServer, FixtureEngine]) -> FixtureEngine:
    return served[1]


def ark(server: ApiServer, token: str | None = None) -> Ark:
    return Ark(base_url=f"{server.base_url}/api/v3", api_key=token or server.token, max_retries=0)


def image_of(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def row_of(server: ApiServer, request_id: str):  # type: ignore[no-untyped-def]
    row = server.call(server.store.get(request_id))
    assert row is not None
    return row


# the synchronous answer ----------------------------------------------------------------------
def test_text_to_image_answers_a_url_of_the_exact_size(server: ApiServer) -> None:
    with httpx.Client(trust_env=False) as raw:
        r = raw.post(
            f"{server.base_url}{PATH}",
            headers={"Authorization": f"Bearer {server.token}"},
            json={"model": MODEL, "prompt": "a lighthouse", "size": "1280x960", "seed": 7},
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"model", "created", "data", "usage"}
    assert body["model"] == MODEL and abs(body["created"] - time.time()) < 600
    assert len(body["data"]) == 1 and body["data"][0]["size"] == "1280x960"
    assert body["usage"] == {
        "generated_images": 1,
        "output_tokens": 1280 * 960 // 256,
        "total_tokens": 1280 * 960 // 256,
    }
    image = httpx.get(body["data"][0]["url"], timeout=30)  # a signed link: no token
    assert image.status_code == 200 and image_of(image.content).size == (1280, 960)
    # the same request table as every door: queued, run and kept like a RunComfy request
    row = row_of(server, r.headers["X-Request-Id"])
    assert row.status == "succeeded" and row.model_id == SEQUENTIAL and row.owner == server.key_id
    assert row.input["sequential_image_generation"] == "disabled"
    assert row.input["image_size"] == "1280x960" and row.input["seed"] == 7
    assert row.extra["door"] == "ark" and row.extra["ark"]["watermark"] is True
    with server.client() as c:
        result = c.get(f"/v1/requests/{row.id}/result").json()
    assert result["status"] == "succeeded" and len(result["output"]["images"]) == 1


def test_official_sdk_b64_json_and_the_volcengine_alias(server: ApiServer) -> None:
    response = ark(server).images.generate(
        model="doubao-seedream-4-0-250828",
        prompt="a red fox",
        size="1K",
        response_format="b64_json",
        watermark=False,
    )
    assert response.model == "doubao-seedream-4-0-250828"
    assert len(response.data) == 1 and response.data[0].size == "1024x1024"
    assert image_of(base64.b64decode(response.data[0].b64_json)).size == (1024, 1024)
    assert response.usage.generated_images == 1 and response.usage.output_tokens == 4096


def test_auto_makes_a_series_up_to_max_images(server: ApiServer, engine: FixtureEngine) -> None:
    response = ark(server).images.generate(
        model=MODEL,
        prompt="Generate 2 images of a cat",
        size="1024x1024",
        sequential_image_generation="auto",
        sequential_image_generation_options=SequentialImageGenerationOptions(max_images=2),
        optimize_prompt_options=OptimizePromptOptions(mode="fast"),
    )
    assert [d.size for d in response.data] == ["1024x1024", "1024x1024"]
    assert response.usage.generated_images == 2 and response.usage.total_tokens == 2 * 4096
    request = engine.requests[-1]
    assert request.mode == "sequential" and request.max_images == 2
    assert request.optimize == "fast"


def test_references_map_onto_the_edit_models(server: ApiServer, engine: FixtureEngine) -> None:
    ref = data_uri(png_bytes(300, 200))
    one = ark(server).images.generate(model=MODEL, prompt="make it blue", image=ref, size="2K")
    assert one.data[0].size == "2512x1680"  # 2K at the reference's 3:2, sides multiples of 16
    assert engine.requests[-1].mode == "edit" and len(engine.requests[-1].references) == 1
    series = ark(server).images.generate(
        model=MODEL,
        prompt="Generate 2 images of this",
        image=[ref, ref],
        size="1280x720",
        sequential_image_generation="auto",
        sequential_image_generation_options=SequentialImageGenerationOptions(max_images=2),
    )
    assert len(series.data) == 2
    request = engine.requests[-1]
    assert request.mode == "edit-sequential" and len(request.references) == 2
    # the row keeps a short note instead of the data URIs, and the blobs hold the bytes
    rows = server.call(server.store.list_for_owner(server.key_id, limit=2))
    assert rows[0].model_id == EDIT_SEQUENTIAL and rows[1].model_id == EDIT
    assert all("stored as requests/" in uri for uri in rows[0].input["images"])
    assert len(rows[0].input_blobs) == 2


# streaming -------------------------------------------------------------------------------------
def test_sdk_stream_sends_each_image_then_completed(server: ApiServer) -> None:
    stream = ark(server).images.generate(
        model=MODEL,
        prompt="Generate 3 images of a kite",
        size="1024x1024",
        sequential_image_generation="auto",
        sequential_image_generation_options=SequentialImageGenerationOptions(max_images=3),
        optimize_prompt_options=OptimizePromptOptions(mode="fast"),
        stream=True,
    )
    events = list(stream)
    kinds = [e.type for e in events]
    assert kinds == ["image_generation.partial_succeeded"] * 3 + ["image_generation.completed"]
    assert [e.image_index for e in events[:3]] == [0, 1, 2]
    assert all(e.size == "1024x1024" and e.url.startswith("http") for e in events[:3])
    # The SDK's event union has no literal discriminator: `completed` parses as its first
    # member, which leaves `usage` a plain dict.
    assert events[-1].usage == {
        "generated_images": 3,
        "output_tokens": 3 * 4096,
        "total_tokens": 3 * 4096,
    }


def sse(text: str) -> list[tuple[str | None, str]]:
    events = []
    for block in text.strip().split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        if data:
            events.append((name, "\n".join(data)))
    return events


def test_stream_each_image_leaves_before_the_next_is_made(
    server: ApiServer, engine: FixtureEngine
) -> None:
    """The first image is on the wire while the second is still held back by the engine."""
    gate = threading.Event()
    engine.gate = gate
    gate.set()  # image 0 may go...
    engine.count = lambda r: 2
    seen: list[str] = []
    with (
        httpx.Client(trust_env=False, timeout=60) as raw,
        raw.stream(
            "POST",
            f"{server.base_url}{PATH}",
            headers={"Authorization": f"Bearer {server.token}"},
            json={
                "model": MODEL,
                "prompt": "two",
                "size": "1K",
                "stream": True,
                "sequential_image_generation": "auto",
            },
        ) as r,
    ):
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event: "):
                seen.append(line[7:])
                if len(seen) == 1:
                    # ...image 1 only once image 0 arrived here
                    gate.clear()
                    time.sleep(0.05)
                    gate.set()
            if line == "data: [DONE]":
                seen.append("[DONE]")
    assert seen == [
        "image_generation.partial_succeeded",
        "image_generation.partial_succeeded",
        "image_generation.completed",
        "[DONE]",
    ]


def test_stream_reports_a_failure_as_partial_failed(
    server: ApiServer, engine: FixtureEngine
) -> None:
    engine.count = lambda r: 3
    engine.fail_after = 1
    with httpx.Client(trust_env=False, timeout=60) as raw:
        r = raw.post(
            f"{server.base_url}{PATH}",
            headers={"Authorization": f"Bearer {server.token}"},
            json={
                "model": MODEL,
                "prompt": "x",
                "size": "1K",
                "stream": True,
                "response_format": "b64_json",
                "sequential_image_generation": "auto",
            },
        )
    events = sse(r.text)
    names = [n for n, _ in events]
    assert names == [
        "image_generation.partial_succeeded",
        "image_generation.partial_failed",
        "image_generation.completed",
        None,
    ]
    first, failed, completed = (json.loads(d) for _, d in events[:3])
    assert first["image_index"] == 0 and image_of(base64.b64decode(first["b64_json"])).size
    assert failed["image_index"] == 1 and failed["error"]["code"] == "InternalServiceError"
    assert "fixture engine failure" in failed["error"]["message"]
    assert completed["usage"]["generated_images"] == 1
    assert events[-1][1] == "[DONE]"


# errors ----------------------------------------------------------------------------------------
def test_failure_is_500_and_tells_sdks_not_to_retry(
    server: ApiServer, engine: FixtureEngine
) -> None:
    engine.fail_after = 0
    before = len(server.call(server.store.list_for_owner(server.key_id, limit=500)))
    client = Ark(base_url=f"{server.base_url}/api/v3", api_key=server.token, max_retries=2)
    with pytest.raises(ArkInternalServerError) as info:
        client.images.generate(model=MODEL, prompt="x", size="1K")
    assert info.value.status_code == 500
    assert info.value.response.headers["x-should-retry"] == "false"
    body = info.value.body
    assert isinstance(body, dict) and body["code"] == "InternalServiceError"
    after = len(server.call(server.store.list_for_owner(server.key_id, limit=500)))
    assert after == before + 1  # the SDK did not submit it again


def test_partial_failure_answers_the_images_made_and_an_error_item(
    server: ApiServer, engine: FixtureEngine
) -> None:
    engine.count, engine.fail_after = (lambda r: 3), 2
    with httpx.Client(trust_env=False, timeout=60) as raw:
        r = raw.post(
            f"{server.base_url}{PATH}",
            headers={"Authorization": f"Bearer {server.token}"},
            json={
                "model": MODEL,
                "prompt": "x",
                "size": "1K",
                "sequential_image_generation": "auto",
            },
        )
    assert r.status_code == 200
    data = r.json()["data"]
    assert [("url" in d, "error" in d) for d in data] == [
        (True, False),
        (True, False),
        (False, True),
    ]
    assert data[2]["error"]["code"] == "InternalServiceError"
    assert r.json()["usage"]["generated_images"] == 2


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"size": "640x480"}, "size"),  # under 1280x720 pixels
        ({"size": "4097x4097"}, "size"),
        ({"size": "5000x300"}, "size"),  # aspect over 16
        ({"size": "big"}, "size"),
        ({"model": "seedream-3-0-t2i-250415"}, "model"),
        ({"prompt": ""}, "prompt"),
        ({"image": ["https://example.com/a.png"] * 11}, "image"),
        ({"image": []}, "image"),
        ({"sequential_image_generation": "always"}, "sequential_image_generation"),
        (
            {"sequential_image_generation_options": {"max_images": 16}},
            "sequential_image_generation_options.max_images",
        ),
        ({"optimize_prompt_options": {"mode": "slow"}}, "optimize_prompt_options.mode"),
        ({"seed": -2}, "seed"),
        ({"seed": True}, "seed"),
        ({"response_format": "png"}, "response_format"),
        ({"watermark": "yes"}, "watermark"),
        ({"stream": 1}, "stream"),
    ],
)
def test_invalid_parameters_are_400_invalid_parameter(
    server: ApiServer, change: dict[str, Any], param: str
) -> None:
    body = {"model": MODEL, "prompt": "x", "size": "1K", **change}
    # the SDK takes its own option objects
    if "sequential_image_generation_options" in body:
        body["sequential_image_generation_options"] = SequentialImageGenerationOptions(
            **body["sequential_image_generation_options"]
        )
    if "optimize_prompt_options" in body:
        body["optimize_prompt_options"] = OptimizePromptOptions(**body["optimize_prompt_options"])
    with pytest.raises(ArkBadRequestError) as info:
        ark(server).images.generate(**body)
    error = info.value.body
    assert isinstance(error, dict)
    assert error["code"] == "InvalidParameter" and error["type"] == "BadRequest"
    assert error["param"] == param and f"`{param}`" in error["message"]


def test_a_reference_that_breaks_the_rules_is_400_naming_image(server: ApiServer) -> None:
    tall = data_uri(png_bytes(20, 200))  # aspect 1:10
    fine = data_uri(png_bytes(64, 64))
    inputs = sorted((server.data_dir / "blobs").glob("requests/*/inputs/*"))
    with pytest.raises(ArkBadRequestError) as info:
        ark(server).images.generate(model=MODEL, prompt="x", image=[fine, tall, "ftp://x/a.png"])
    error = info.value.body
    assert error["param"] == "image"  # type: ignore[index]
    assert error["message"].startswith(  # type: ignore[index]
        "The parameter `image` specified in the request is not valid: image 1: "
    )
    assert "1 more problem" in error["message"]  # type: ignore[index]
    # a rejected request leaves nothing behind
    assert sorted((server.data_dir / "blobs").glob("requests/*/inputs/*")) == inputs


def test_bad_token_is_401_authentication_error(server: ApiServer) -> None:
    with pytest.raises(ArkAuthenticationError) as info:
        ark(server, token="od_nope").images.generate(model=MODEL, prompt="x")
    assert info.value.status_code == 401
    assert info.value.body == {
        "code": "AuthenticationError",
        "message": "Invalid or revoked API token.",
        "param": "",
        "type": "Unauthorized",
    }


def test_malformed_json_is_400_in_the_ark_envelope(server: ApiServer) -> None:
    with server.client() as c:
        r = c.post(PATH, content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "InvalidParameter"
    assert r.json()["error"]["type"] == "BadRequest"


def test_rate_limit_is_429_in_the_ark_envelope(make_server) -> None:  # type: ignore[no-untyped-def]
    s = make_server(rate_limit_per_minute=1, sync_timeout_s=0.2)
    with s.client() as c:
        first = c.post(PATH, json={"model": MODEL, "prompt": "x"})
        second = c.post(PATH, json={"model": MODEL, "prompt": "x"})
    assert first.status_code == 504  # no worker: the bounded wait ran out
    assert second.status_code == 429 and "Retry-After" in second.headers
    assert second.json()["error"]["code"] == "RateLimitExceeded"
    assert second.json()["error"]["type"] == "TooManyRequests"


def test_timeout_is_504_with_the_request_id_and_no_retry(make_server) -> None:  # type: ignore[no-untyped-def]
    s = make_server(sync_timeout_s=0.3)
    with s.client() as c:
        r = c.post(PATH, json={"model": MODEL, "prompt": "x"})
    assert r.status_code == 504 and r.headers["x-should-retry"] == "false"
    assert r.json()["error"]["code"] == "Timeout"
    request_id = r.headers["X-Request-Id"]
    assert request_id in r.json()["error"]["message"]
    assert s.call(s.store.get(request_id)).status == "in_queue"  # kept: its result will come


def test_a_client_that_leaves_gets_its_queued_request_cancelled(make_server) -> None:  # type: ignore[no-untyped-def]
    s = make_server()
    headers = {"Authorization": f"Bearer {s.token}"}
    with httpx.Client(trust_env=False, timeout=0.5) as c, pytest.raises(httpx.ReadTimeout):
        c.post(f"{s.base_url}{PATH}", json={"model": MODEL, "prompt": "x"}, headers=headers)
    rows = s.call(s.store.list_for_owner(s.key_id))
    assert len(rows) == 1
    for _ in range(100):
        if s.call(s.store.get(rows[0].id)).status == "cancelled":
            break
        time.sleep(0.05)
    assert s.call(s.store.get(rows[0].id)).status == "cancelled"


# idempotency -----------------------------------------------------------------------------------
def test_idempotency_key_returns_the_same_request(server: ApiServer) -> None:
    client = ark(server)
    body = {"model": MODEL, "prompt": "idempotent fox", "size": "1K"}
    headers = {"Idempotency-Key": f"ark-{time.time()}"}

    def count() -> int:
        return len(server.call(server.store.list_for_owner(server.key_id, limit=500)))

    before = count()
    first = client.images.generate(**body, extra_headers=headers)
    again = client.images.generate(**body, extra_headers=headers)
    assert count() == before + 1  # one request, answered twice
    assert first.data[0].url.split("?")[0] == again.data[0].url.split("?")[0]
    with pytest.raises(ArkUnprocessableEntityError) as info:
        client.images.generate(**{**body, "prompt": "another fox"}, extra_headers=headers)
    error = info.value.body
    assert error["code"] == "IdempotencyKeyReused"  # type: ignore[index]
    assert error["param"] == "Idempotency-Key"  # type: ignore[index]
    assert count() == before + 1
