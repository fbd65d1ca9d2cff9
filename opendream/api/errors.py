"""The error envelope `{error_code, error_message, detail}` and the handlers that put every failure
into it. No exception ever reaches a client as a traceback or a bare 500 page.

Codes are the protocol's (400001, 400004, 404001, 422001, 429001, 500001) plus, for what the
protocol does not name: 400002 (malformed request), 403002 (bad blob signature), 404002 (no such
route), 405001, 413001, 415001, 503001 (database unavailable); other statuses s: s * 1000 + 1.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opendream.api.envelopes import DoorError, door_for, translate
from opendream.api.idempotency import IdempotencyProblem, problem_response
from opendream.jobs.base import StoreUnavailable

log = logging.getLogger("opendream.api")

UNKNOWN_MODEL = 400001
MALFORMED = 400002
BAD_TOKEN = 400004
NOT_FOUND = 404001
NO_ROUTE = 404002
INVALID_INPUT = 422001
RATE_LIMITED = 429001
INTERNAL = 500001
UNAVAILABLE = 503001


class ErrorBody(BaseModel):
    """Every error answer has this shape."""

    error_code: int
    error_message: str
    detail: Any = None


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        detail: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.headers = dict(headers or {})


def invalid_input(problems: list[dict[str, Any]], message: str | None = None) -> ApiError:
    if message is not None:
        return ApiError(422, INVALID_INPUT, message, detail=problems)
    n = len(problems)
    fields = ", ".join(dict.fromkeys(_loc_name(p.get("loc", [])) for p in problems))
    message = (
        f"The input does not match the model's schema ({n} problem{'s' * (n != 1)}: {fields})."
    )
    return ApiError(422, INVALID_INPUT, message, detail=problems)


def not_found(request_id: str | None = None) -> ApiError:
    what = f"request {request_id!r}" if request_id else "request"
    return ApiError(404, NOT_FOUND, f"No {what}: it is unknown, deleted or expired.")


def envelope(status: int, code: int, message: str, detail: Any = None) -> JSONResponse:
    body = {"error_code": code, "error_message": message, "detail": detail}
    return JSONResponse(body, status_code=status)


def error_body(
    path: str, status: int, code: int, message: str, detail: Any = None
) -> tuple[int, Any]:
    """(status, body) of an error in the envelope of the door that `path` belongs to."""
    door = door_for(path)
    if door == "runcomfy":
        return status, {"error_code": code, "error_message": message, "detail": detail}
    return translate(door, status, message, detail)


def respond(
    request: Request,
    status: int,
    code: int,
    message: str,
    detail: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    shown, body = error_body(request.url.path, status, code, message, detail)
    response = JSONResponse(body, status_code=shown)
    if headers:
        response.headers.update(headers)
    return response


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(DoorError, _door_error)  # type: ignore[arg-type]
    app.add_exception_handler(IdempotencyProblem, _idempotency_problem)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(StoreUnavailable, _store_unavailable)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _internal_error)


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return respond(request, exc.status, exc.code, exc.message, exc.detail, exc.headers)


async def _door_error(_: Request, exc: DoorError) -> JSONResponse:
    response = JSONResponse(exc.body(), status_code=exc.status)
    response.headers.update(exc.headers)
    return response


async def _idempotency_problem(request: Request, exc: IdempotencyProblem) -> JSONResponse:
    return problem_response(door_for(request.url.path), exc)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [
        {
            "loc": list(e.get("loc", [])),
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
            "input": _jsonable(e.get("input")),
        }
        for e in exc.errors()
    ]
    return await _api_error(request, invalid_input(problems))


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    custom = exc.detail if isinstance(exc.detail, str) else None
    status = exc.status_code
    if status == 404:
        # Starlette's own "Not Found" means no route matched; a route's own 404 keeps its text.
        message = custom if custom and custom != "Not Found" else None
        code, text = NO_ROUTE, message or f"No route {request.method} {request.url.path}."
    elif status == 405:
        code, text = 405001, f"Method {request.method} is not allowed on {request.url.path}."
    elif status == 400:
        # e.g. FastAPI's "There was an error parsing the body"; 400001 means an unknown model.
        code, text = MALFORMED, custom or "Malformed request."
    else:
        code, text = status * 1000 + 1, custom or "HTTP error."
    return respond(request, status, code, text, headers=exc.headers)


async def _store_unavailable(request: Request, exc: StoreUnavailable) -> JSONResponse:
    log.warning("request table unavailable: %s", exc)
    message = "The service's database is unavailable right now; retry in a few seconds."
    return respond(request, 503, UNAVAILABLE, message, headers={"Retry-After": "5"})


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return respond(request, 500, INTERNAL, "Internal error; it has been logged.")


def _loc_name(loc: list[Any]) -> str:
    parts = [str(p) for p in loc[1:]] if loc[:1] == ["body"] else [str(p) for p in loc]
    return ".".join(parts[:1]) or "body"


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)[:200]
    return value


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Caps request bodies at `max_bytes`: by `Content-Length` up front, and by counting bytes as
    they stream in (chunked uploads or a lying header). When the cap is crossed mid-stream the app
    sees an exception from `receive`; whatever it then tries to answer is replaced by the 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._reject(send, scope.get("path", ""))
            return

        seen = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the 413 below answers instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._reject(send, scope.get("path", ""))

    async def _reject(self, send: Send, path: str) -> None:
        status, answer = error_body(
            path,
            413,
            413001,
            f"Request body too large: the limit is {self.max_bytes} bytes.",
            {"max_bytes": self.max_bytes},
        )
        body = json.dumps(answer).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
