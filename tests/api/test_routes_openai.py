"""The OpenAI Images API door, driven by the official `openai` client against a real server on
loopback, with a real worker and a fixture engine (solid images of the exact planned size)."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai import OpenAI
from PIL import Image

from .conftest import EDIT, EDIT_SEQUENTIAL, SEQUENTIAL, png_bytes
from .fixture_worker import FixtureEngine
from .server import ApiServer


@pytest.fixture
def server(served: tuple[ApiServer, FixtureEngine]) -> Iterator[ApiServer]:
    s, engine = served
    yield s
    engine.reset()


@pytest.fixture
def engine(served: tuple[ApiServer, FixtureEngine]) -> FixtureEngine:
    return served[1]


def client(server: ApiServer, token: str | None = None) -> OpenAI:
    return OpenAI(
        base_url=f"{server.base_url}/v1",
        api_key=token or server.token,
        max_retries=0,
        http_client=httpx.Client(trust_env=False),
    )


def decoded(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def newest_row(server: ApiServer):  # type: ignore[no-untyped-def]
    return server.call(server.store.list_for_owner(server.key_id, limit=1))[0]


def test_generate_answers_b64_json_of_the_exact_size(
    server: ApiServer, engine: FixtureEngine
) -> None:
    result = client(server).images.generate(
        model="gpt-image-1", prompt="a lighthouse", size="1536x1024", quality="high"
    )
    assert len(result.data) == 1 and result.size == "1536x1024"
    assert decoded(result.data[0].b64_json).size == (1536, 1024)  # type: ignore[arg-type]
    assert result.data[0].revised_prompt == "a lighthouse (image 1)"
    assert result.output_format == "png"
    assert result.usage is not None and result.usage.output_tokens == 1536 * 1024 // 256
    assert result.usage.input_tokens_details.text_tokens >= 1
    row = newest_row(server)
    assert row.model_id == SEQUENTIAL and row.status == "succeeded"
    assert row.input["sequential_image_generation"] == "disabled"
    assert row.extra["door"] == "openai" and row.extra["openai"]["model"] == "gpt-image-1"
    assert engine.requests[-1].max_images == 1


def test_generate_n_urls_and_auto_size_and_jpeg(server: ApiServer, engine: FixtureEngine) -> None:
    result = client(server).images.generate(
        prompt="a kite", n=2, size="auto", response_format="url", output_format="jpeg"
    )
    assert len(result.data) == 2 and result.size == "1024x1024"
    for item in result.data:
        r = httpx.get(item.url, timeout=30)  # type: ignore[arg-type]
        assert r.status_code == 200 and r.content[:3] == b"\xff\xd8\xff"  # JPEG, as asked
    assert engine.requests[-1].max_images == 2 and engine.requests[-1].mode == "sequential"
    assert result.output_format == "jpeg"


def test_edit_with_several_images(server: ApiServer, engine: FixtureEngine) -> None:
    files = [
        ("a.png", png_bytes(300, 200), "image/png"),
        ("b.jpg", png_bytes(64, 64, fmt="JPEG"), "image/jpeg"),
    ]
    result = client(server).images.edit(image=files, prompt="put them together")
    assert len(result.data) == 1 and result.size == "1248x832"  # 1 MP at the first's 3:2
    request = engine.requests[-1]
    assert request.mode == "edit" and [r.format for r in request.references] == ["png", "jpeg"]
    row = newest_row(server)
    assert row.model_id == EDIT and len(row.input_blobs) == 2
    assert row.extra["openai"]["image_tokens"] == (300 * 200 + 64 * 64) // 256
    series = client(server).images.edit(image=files[0], prompt="a series", n=2, size="1024x1024")
    assert len(series.data) == 2 and newest_row(server).model_id == EDIT_SEQUENTIAL


def test_edit_refuses_more_images_than_the_model_takes(server: ApiServer) -> None:
    files = [(f"{i}.png", png_bytes(32, 32), "image/png") for i in range(11)]
    with pytest.raises(openai.BadRequestError) as info:
        client(server).images.edit(image=files, prompt="too many")
    assert info.value.body["param"] == "image"  # type: ignore[index]
    assert "At most 10" in info.value.body["message"]  # type: ignore[index]


def test_edit_image_problems_name_the_image(server: ApiServer) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client(server).images.edit(image=("x.png", b"not an image", "image/png"), prompt="x")
    body = info.value.body
    assert body["param"] == "image" and body["code"] == "invalid_image"  # type: ignore[index]
    assert body["type"] == "invalid_request_error"  # type: ignore[index]


def test_edit_without_multipart_or_with_a_mask_is_400(server: ApiServer) -> None:
    with server.client() as c:
        r = c.post("/v1/images/edits", json={"prompt": "x"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_content_type"
        r = c.post(
            "/v1/images/edits",
            data={"prompt": "x"},
            files={
                "image": ("a.png", png_bytes(), "image/png"),
                "mask": ("m.png", png_bytes(), "image/png"),
            },
        )
        assert r.status_code == 400 and r.json()["error"]["param"] == "mask"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "prompt"),
        ({"prompt": "x", "n": 11}, "n"),
        ({"prompt": "x", "n": 0}, "n"),
        ({"prompt": "x", "size": "huge"}, "size"),
        ({"prompt": "x", "size": "8192x8192"}, "size"),
        ({"prompt": "x", "size": "32x32"}, "size"),
        ({"prompt": "x", "response_format": "png"}, "response_format"),
        ({"prompt": "x", "output_format": "gif"}, "output_format"),
        ({"prompt": "x", "stream": True}, "stream"),
    ],
)
def test_invalid_parameters_are_400_in_openais_envelope(
    server: ApiServer, body: dict, param: str
) -> None:
    with server.client() as c:
        r = c.post("/v1/images/generations", json=body)
    assert r.status_code == 400
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["param"] == param


def test_bad_token_is_openais_401(server: ApiServer) -> None:
    with pytest.raises(openai.AuthenticationError) as info:
        client(server, token="od_nope").images.generate(prompt="x")
    assert info.value.status_code == 401
    assert info.value.body == {  # type: ignore[comparison-overlap]
        "message": "Invalid or revoked API token.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }


def test_failure_is_500_and_not_retried(server: ApiServer, engine: FixtureEngine) -> None:
    engine.fail_after = 0
    count = len(server.call(server.store.list_for_owner(server.key_id, limit=500)))
    retrying = OpenAI(
        base_url=f"{server.base_url}/v1",
        api_key=server.token,
        max_retries=2,
        http_client=httpx.Client(trust_env=False),
    )
    with pytest.raises(openai.InternalServerError) as info:
        retrying.images.generate(prompt="x", size="1024x1024")
    assert info.value.body["code"] == "generation_failed"  # type: ignore[index]
    assert "fixture engine failure" in info.value.body["message"]  # type: ignore[index]
    assert info.value.response.headers["x-should-retry"] == "false"
    assert len(server.call(server.store.list_for_owner(server.key_id, limit=500))) == count + 1


def test_idempotency_key_on_edits_compares_the_files(server: ApiServer) -> None:
    key = {"Idempotency-Key": f"oa-{time.time()}"}
    c = client(server)
    first = c.images.edit(image=("a.png", png_bytes(), "image/png"), prompt="x", extra_headers=key)
    again = c.images.edit(image=("a.png", png_bytes(), "image/png"), prompt="x", extra_headers=key)
    assert first.data[0].b64_json == again.data[0].b64_json
    with pytest.raises(openai.UnprocessableEntityError) as info:
        c.images.edit(
            image=("a.png", png_bytes(color="blue"), "image/png"), prompt="x", extra_headers=key
        )
    assert info.value.body["code"] == "idempotency_key_reused"  # type: ignore[index]


def test_queue_limit_is_openais_429(make_server) -> None:  # type: ignore[no-untyped-def]
    s = make_server(max_queued_per_key=1, sync_timeout_s=0.2)
    with s.client() as c:
        assert c.post("/v1/images/generations", json={"prompt": "x"}).status_code == 504
        r = c.post("/v1/images/generations", json={"prompt": "x"})
    assert r.status_code == 429
    assert r.json()["error"]["type"] == "requests"
    assert r.json()["error"]["code"] == "rate_limit_exceeded"
