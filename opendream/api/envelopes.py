"""Error envelopes of the compatible doors. Each door answers errors the way its own clients parse
them, whatever raised them (a door's own check, the shared auth and limits, a database outage):

- RunComfy (every path not listed below): `{error_code, error_message, detail}` (errors.py);
- the official Seedream API (`/api/v3/`): `{"error": {code, message, param, type}}`;
- the OpenAI Images API (`/v1/images/`): `{"error": {message, type, param, code}}`.

A door raises `ArkError` / `OpenAIError` for what it knows best; anything else is translated from
the shared (HTTP status, RunComfy code) pair by `translate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

Door = Literal["runcomfy", "ark", "openai"]

ARK_PREFIX = "/api/v3/"
OPENAI_PREFIX = "/v1/images/"


def door_for(path: str) -> Door:
    if path.startswith(ARK_PREFIX):
        return "ark"
    if path.startswith(OPENAI_PREFIX):
        return "openai"
    return "runcomfy"


class DoorError(Exception):
    """An error a compatible door raises in its own vocabulary."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None,
        type: str,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.type = type
        self.param = param
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        raise NotImplementedError


class ArkError(DoorError):
    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "param": self.param or "",
                "type": self.type,
            }
        }


class OpenAIError(DoorError):
    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def ark_invalid(param: str, reason: str) -> ArkError:
    return ArkError(
        400,
        f"The parameter `{param}` specified in the request is not valid: {reason}",
        code="InvalidParameter",
        type="BadRequest",
        param=param,
    )


def openai_invalid(
    param: str | None, message: str, code: str | None = "invalid_value"
) -> OpenAIError:
    return OpenAIError(400, message, code=code, type="invalid_request_error", param=param)


# status -> (code, type) of the official Seedream API
_ARK: dict[int, tuple[str, str]] = {
    400: ("InvalidParameter", "BadRequest"),
    401: ("AuthenticationError", "Unauthorized"),
    403: ("AccessDenied", "Forbidden"),
    404: ("NotFound", "NotFound"),
    405: ("MethodNotAllowed", "BadRequest"),
    409: ("Conflict", "Conflict"),
    413: ("InvalidParameter", "BadRequest"),
    415: ("InvalidParameter", "BadRequest"),
    422: ("InvalidParameter", "BadRequest"),
    429: ("RateLimitExceeded", "TooManyRequests"),
    500: ("InternalServiceError", "InternalServerError"),
    503: ("ServiceUnavailable", "ServiceUnavailable"),
    504: ("Timeout", "GatewayTimeout"),
}

# status -> (type, code) of the OpenAI API
_OPENAI: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "forbidden"),
    404: ("invalid_request_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    409: ("invalid_request_error", "conflict"),
    413: ("invalid_request_error", "request_too_large"),
    415: ("invalid_request_error", "unsupported_content_type"),
    422: ("invalid_request_error", "invalid_value"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", "service_unavailable"),
    504: ("server_error", "timeout"),
}


def translate(
    door: Door, status: int, message: str, detail: Any = None
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of a shared error in a compatible door's envelope. Validation problems
    (422 on the RunComfy door) are 400s on both compatible doors, as their APIs answer them."""
    param = _first_param(detail)
    if door == "ark":
        shown = 400 if status in (413, 415, 422) else status
        code, kind = _ARK.get(status, _ARK[500] if status >= 500 else _ARK[400])
        return shown, ArkError(shown, message, code=code, type=kind, param=param).body()
    shown = 400 if status in (415, 422) else status
    kind, code = _OPENAI.get(status, _OPENAI[500] if status >= 500 else _OPENAI[400])
    return shown, OpenAIError(shown, message, code=code, type=kind, param=param).body()


def _first_param(detail: Any) -> str | None:
    """The field the first problem names (`["body", "image", 2]` -> `image`)."""
    if not isinstance(detail, list) or not detail or not isinstance(detail[0], dict):
        return None
    loc = [str(p) for p in detail[0].get("loc", [])]
    if loc[:1] in (["body"], ["query"], ["header"]):
        loc = loc[1:]
    return loc[0] if loc else None
