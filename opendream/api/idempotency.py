"""`Idempotency-Key` on every submit door: the same key and body return the first request; the
same key with another body is refused (422), never silently answered with the first request.

A request's fingerprint is a SHA-256 over the door, its target (model id or route) and the body
in canonical form (JSON with sorted keys; uploaded files by their own digests). It is kept in the
row's `extra["idempotency"]`. Rows stored before fingerprints existed carry none and match any
body (nothing to compare with).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi.responses import JSONResponse

from opendream.api.envelopes import ArkError, Door, OpenAIError
from opendream.jobs.base import RequestRow

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 256  # the request table's column


class IdempotencyProblem(Exception):
    """A bad use of the header; answered in the envelope of the door it came in by."""

    status = 400
    kind = "idempotency_key_invalid"

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class IdempotencyConflict(IdempotencyProblem):
    status = 422
    kind = "idempotency_key_reused"

    def __init__(self, key: str, request_id: str) -> None:
        self.request_id = request_id
        super().__init__(
            key,
            f"{HEADER} {key!r} was already used with a different request body (for request "
            f"{request_id}); send a new key for a new request, or the same body to get the "
            "earlier one.",
        )


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(door: Door, target: str, body: Any) -> str:
    """`body`: anything JSON-serialisable (bytes already reduced to digests)."""
    text = canonical({"door": door, "target": target, "body": body})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def extra_for(fp: str | None) -> dict[str, Any]:
    return {"idempotency": {"sha256": fp}} if fp else {}


def check_same_body(row: RequestRow, key: str, fp: str) -> RequestRow:
    """`row` (the request that first used `key`) when `fp` matches its fingerprint."""
    stored = (row.extra or {}).get("idempotency", {}).get("sha256")
    if stored is not None and stored != fp:
        raise IdempotencyConflict(key, row.id)
    return row


def problem_response(door: Door, exc: IdempotencyProblem) -> JSONResponse:
    message = str(exc)
    body: dict[str, Any]
    if door == "ark":
        code = "".join(w.capitalize() for w in exc.kind.split("_"))  # IdempotencyKeyReused
        body = ArkError(exc.status, message, code=code, type="BadRequest", param=HEADER).body()
    elif door == "openai":
        body = OpenAIError(
            exc.status, message, code=exc.kind, type="invalid_request_error", param=HEADER
        ).body()
    else:
        problem = {"loc": ["header", HEADER], "msg": message, "type": exc.kind, "input": exc.key}
        code = 422001 if exc.status == 422 else 400002
        body = {"error_code": code, "error_message": message, "detail": [problem]}
    return JSONResponse(body, status_code=exc.status)


def key_from(headers: Any) -> str | None:
    """The header's value, or None when absent or blank."""
    value = headers.get(HEADER.lower())
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > MAX_KEY_CHARS:
        raise IdempotencyProblem(
            value[:40] + "…", f"{HEADER} is longer than {MAX_KEY_CHARS} characters."
        )
    return value
