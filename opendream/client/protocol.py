"""The parts of talking to the service that do not depend on sync or async I/O: URLs, headers,
reading a response into JSON or an exception, the polling schedule, and download file names.
`Client` and `AsyncClient` are thin loops around these."""

from __future__ import annotations

import json
import mimetypes
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from opendream import __version__
from opendream.client.errors import (
    OpendreamError,
    RequestCancelled,
    RequestFailed,
    error_from_body,
)
from opendream.client.retry import parse_retry_after
from opendream.client.types import RequestResult

DEFAULT_BASE_URL = "https://model-api.runcomfy.net"
ENV_URL = "OPENDREAM_URL"
ENV_TOKEN = "OPENDREAM_TOKEN"
USER_AGENT = f"opendream-python/{__version__}"

_IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".mp4", ".webm"}
_UPLOAD_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def resolve_base_url(base_url: str | None) -> str:
    return (base_url or os.environ.get(ENV_URL) or DEFAULT_BASE_URL).rstrip("/")


def resolve_token(token: str | None) -> str | None:
    return token or os.environ.get(ENV_TOKEN) or None


def auth_headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def model_path(model_id: str) -> str:
    # Model ids contain slashes that are part of the route, so only each segment is quoted.
    segments = [quote(s, safe="") for s in model_id.strip("/").split("/")]
    return "/v1/models/" + "/".join(segments)


def request_path(request_id: str, action: str) -> str:
    if not request_id:
        raise ValueError("request_id must not be empty")
    return f"/v1/requests/{quote(request_id, safe='')}/{action}"


def same_origin(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def parse_response(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a successful call, or the matching `OpendreamError`. A 200 whose body
    carries `error_code` is an error too (RunComfy answers some errors that way)."""
    text = response.text
    body: Any
    try:
        body = response.json() if text else {}
    except (json.JSONDecodeError, ValueError):
        body = None
    status = response.status_code
    if status >= 400:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise error_from_body(status, body, text=text, retry_after=retry_after)
    if isinstance(body, dict) and body.get("error_code") not in (None, 0, "0", ""):
        raise error_from_body(status, body, text=text)
    if not isinstance(body, dict):
        raise OpendreamError(
            f"expected a JSON object from {response.request.url}, got: {text[:200]!r}",
            status_code=status,
        )
    return body


def poll_intervals(first: float, maximum: float, factor: float = 1.5) -> Iterator[float]:
    """Short waits first, so quick jobs return quickly; longer ones later, so long jobs do not
    hammer the server."""
    delay = max(0.0, first)
    while True:
        yield delay
        delay = min(maximum, max(delay * factor, 0.05))


def output_filename(request_id: str, index: int, url: str, content_type: str | None) -> str:
    suffix = Path(urlsplit(url).path).suffix.lower()
    if suffix not in _IMAGE_EXTENSIONS:
        guessed = mimetypes.guess_extension((content_type or "").split(";")[0].strip()) or ""
        suffix = ".jpg" if guessed in (".jpe", ".jpeg") else guessed or ".bin"
    safe_id = "".join(c if c.isalnum() or c in "-_" else "_" for c in request_id) or "request"
    return f"{safe_id}_{index}{suffix}"


def upload_content_type(path: Path) -> str:
    return (
        _UPLOAD_TYPES.get(path.suffix.lower())
        or mimetypes.guess_type(path.name)[0]
        or "application/octet-stream"
    )


def timeout_message(request_id: str, timeout: float, cancelled: bool) -> str:
    if cancelled:
        return f"request {request_id} did not finish within {timeout:g}s and was cancelled"
    return (
        f"request {request_id} did not finish within {timeout:g}s; it may still complete, "
        f"fetch it later with result({request_id!r})"
    )


def finished_or_raise(result: RequestResult) -> RequestResult:
    if result.status == "failed":
        raise RequestFailed(
            result.error or "the request failed", request_id=result.request_id, result=result
        )
    if result.status == "cancelled":
        raise RequestCancelled(
            "the request was cancelled", request_id=result.request_id, result=result
        )
    return result


def output_urls_or_raise(result: RequestResult) -> list[str]:
    urls = result.urls
    if not urls:
        why = f"status {result.status}" + (f": {result.error}" if result.error else "")
        raise OpendreamError(
            f"request {result.request_id} has no output files ({why})", request_id=result.request_id
        )
    return urls
