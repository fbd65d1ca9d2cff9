"""Exceptions the SDK raises. Every server error keeps the protocol's envelope fields, so callers
can branch on `error_code` and show `detail` (a 422 lists each problem with its `loc`)."""

from __future__ import annotations

from typing import Any


class OpendreamError(Exception):
    """Base of every SDK error. `status_code` is the HTTP status (None when no response came)."""

    def __init__(
        self,
        error_message: str,
        *,
        error_code: int | None = None,
        detail: Any = None,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(error_message)
        self.error_message = error_message
        self.error_code = error_code
        self.detail = detail
        self.status_code = status_code
        self.request_id = request_id

    def __str__(self) -> str:
        parts = [self.error_message]
        if self.error_code is not None:
            parts.insert(0, f"[{self.error_code}]")
        if self.status_code is not None:
            parts.insert(0, f"HTTP {self.status_code}")
        return " ".join(parts)


class BadRequest(OpendreamError):
    """400: a malformed resource id, such as an unknown model."""


class AuthenticationError(OpendreamError):
    """401: missing, invalid, expired or revoked token."""


class PermissionDenied(OpendreamError):
    """403: the resource belongs to someone else."""


class NotFound(OpendreamError):
    """404: unknown, deleted or expired request id."""


class Conflict(OpendreamError):
    """409: the request conflicts with the resource's state."""


class ValidationError(OpendreamError):
    """422: the input does not match the model's schema; `detail` lists every problem."""

    @property
    def problems(self) -> list[dict[str, Any]]:
        if isinstance(self.detail, list):
            return [p for p in self.detail if isinstance(p, dict)]
        return []


class RateLimited(OpendreamError):
    """429: rate limit or quota. `retry_after` is the server's hint in seconds, if any."""

    def __init__(self, error_message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(error_message, **kw)
        self.retry_after = retry_after


class ServerError(OpendreamError):
    """5xx: the server failed; reads were retried before this was raised."""


class TransportError(OpendreamError):
    """No HTTP response: connection refused, reset, or the socket timed out."""


class RequestTimeout(OpendreamError):
    """The client-side deadline passed before the request finished. `request_id` lets the caller
    pick the request up again later; `cancelled` says whether a cancel was sent and took effect."""

    def __init__(self, error_message: str, *, request_id: str, cancelled: bool = False) -> None:
        super().__init__(error_message, request_id=request_id)
        self.cancelled = cancelled


class RequestFailed(OpendreamError):
    """The request finished with status `failed`; `error_message` is the server's reason and
    `result` the full result object."""

    def __init__(self, error_message: str, *, request_id: str, result: Any = None) -> None:
        super().__init__(error_message, request_id=request_id)
        self.result = result


class RequestCancelled(OpendreamError):
    """The request was cancelled before it ran."""

    def __init__(self, error_message: str, *, request_id: str, result: Any = None) -> None:
        super().__init__(error_message, request_id=request_id)
        self.result = result


class WebhookVerificationError(OpendreamError):
    """A webhook's signature or timestamp did not verify."""


_BY_STATUS: dict[int, type[OpendreamError]] = {
    400: BadRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    422: ValidationError,
    429: RateLimited,
}

# RunComfy sometimes answers HTTP 200 with an error envelope; its codes say what kind it is.
_BY_CODE_PREFIX: dict[str, int] = {
    "400001": 400,
    "400002": 400,
    "400004": 401,
    "401001": 401,
    "403001": 403,
    "404001": 404,
    "422001": 422,
    "429001": 429,
    "500001": 500,
}


def error_class(status_code: int | None, error_code: int | None) -> type[OpendreamError]:
    """The exception class for an HTTP status, or, when the status says success, for the code."""
    status = status_code
    if (status is None or status < 400) and error_code is not None:
        status = _BY_CODE_PREFIX.get(str(error_code), 400)
    if status is None:
        return OpendreamError
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return OpendreamError


def error_from_body(
    status_code: int,
    body: Any,
    *,
    text: str = "",
    retry_after: float | None = None,
) -> OpendreamError:
    """Builds the exception for an error response. Accepts the RunComfy envelope, FastAPI's bare
    `{"detail": …}`, and non-JSON bodies (a proxy's HTML page), so nothing is lost."""
    code: int | None = None
    message = ""
    detail: Any = None
    if isinstance(body, dict):
        raw_code = body.get("error_code")
        if raw_code is not None:
            try:
                code = int(raw_code)
            except (TypeError, ValueError):
                code = None
        raw_message = body.get("error_message") or body.get("message")
        error_obj = body.get("error")
        if not raw_message and isinstance(error_obj, dict):
            raw_message = error_obj.get("message")
        elif not raw_message and isinstance(error_obj, str):
            raw_message = error_obj
        message = str(raw_message) if raw_message else ""
        detail = body.get("detail")
        if not message and isinstance(detail, str):
            message = detail
    if not message:
        snippet = text.strip()[:200]
        message = snippet or f"HTTP {status_code}"
    cls = error_class(status_code, code)
    shown_status = status_code
    kwargs: dict[str, Any] = {"error_code": code, "detail": detail, "status_code": shown_status}
    if cls is RateLimited:
        return RateLimited(message, retry_after=retry_after, **kwargs)
    return cls(message, **kwargs)
