"""Each door's error envelope, whatever raised the error."""

from __future__ import annotations

import httpx
import pytest

from opendream.api.envelopes import door_for, translate

from .server import ApiServer


def test_doors_by_path() -> None:
    assert door_for("/api/v3/images/generations") == "ark"
    assert door_for("/v1/images/edits") == "openai"
    assert door_for("/v1/models/x") == "runcomfy" and door_for("/v1/imagesx") == "runcomfy"


@pytest.mark.parametrize(
    ("status", "shown", "code", "kind"),
    [
        (401, 401, "AuthenticationError", "Unauthorized"),
        (422, 400, "InvalidParameter", "BadRequest"),
        (415, 400, "InvalidParameter", "BadRequest"),
        (413, 400, "InvalidParameter", "BadRequest"),
        (429, 429, "RateLimitExceeded", "TooManyRequests"),
        (500, 500, "InternalServiceError", "InternalServerError"),
        (503, 503, "ServiceUnavailable", "ServiceUnavailable"),
        (418, 418, "InvalidParameter", "BadRequest"),
    ],
)
def test_ark_translation(status: int, shown: int, code: str, kind: str) -> None:
    detail = [{"loc": ["body", "image", 2], "msg": "m", "type": "t"}]
    got_status, body = translate("ark", status, "message", detail)
    assert got_status == shown
    assert body == {"error": {"code": code, "message": "message", "param": "image", "type": kind}}


@pytest.mark.parametrize(
    ("status", "shown", "kind", "code"),
    [
        (401, 401, "invalid_request_error", "invalid_api_key"),
        (422, 400, "invalid_request_error", "invalid_value"),
        (413, 413, "invalid_request_error", "request_too_large"),
        (429, 429, "requests", "rate_limit_exceeded"),
        (500, 500, "server_error", None),
    ],
)
def test_openai_translation(status: int, shown: int, kind: str, code: str | None) -> None:
    got_status, body = translate("openai", status, "message", None)
    assert got_status == shown
    assert body == {"error": {"message": "message", "type": kind, "param": None, "code": code}}


def test_shared_errors_reach_each_door_in_its_envelope(make_server) -> None:  # type: ignore[no-untyped-def]
    s: ApiServer = make_server(max_body_bytes=200)
    with httpx.Client(base_url=s.base_url, trust_env=False) as anonymous:
        ark = anonymous.post("/api/v3/images/generations", json={})
        oai = anonymous.post("/v1/images/generations", json={})
        rc = anonymous.post("/v1/models/bytedance/seedream-4-0/edit", json={})
    assert ark.status_code == oai.status_code == rc.status_code == 401
    assert ark.json()["error"]["code"] == "AuthenticationError"
    assert oai.json()["error"]["code"] == "invalid_api_key"
    assert rc.json()["error_code"] == 400004
    with s.client() as c:
        big = c.post("/api/v3/images/generations", json={"prompt": "x" * 500})
        assert big.status_code == 400 and big.json()["error"]["code"] == "InvalidParameter"
        assert "too large" in big.json()["error"]["message"]
        nowhere = c.get("/v1/images/nothing")
        assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "not_found"
        wrong = c.get("/api/v3/images/generations")
        assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "MethodNotAllowed"
