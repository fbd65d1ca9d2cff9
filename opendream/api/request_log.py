"""Binds the request id to every log record written while the API handles a call about one
request, uvicorn's access line included (it is written from inside the call).

Calls that name a request in their path (`/v1/requests/{id}/...`) are bound here, before any
route code runs; a submit binds the id it has just made with `bind_submitted`. The binding ends
with the HTTP call (each call runs in its own context, so it never leaks into the next one).
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from opendream.observability.logging import request_id_var

# ids are uuids here, but anything path-safe up to 128 characters is bound: the value only
# labels log lines, and an unknown id still deserves a label on its 404
_REQUEST_PATH = re.compile(r"^/v1/requests/([A-Za-z0-9_.:-]{1,128})(?:/|$)")


def request_id_from_path(path: str) -> str | None:
    match = _REQUEST_PATH.match(path)
    return match.group(1) if match else None


def bind_submitted(request_id: str) -> None:
    """Labels the rest of this HTTP call's log lines with a request id made during the call.
    Only inside a call wrapped by `RequestLogContext`, which undoes it when the call ends."""
    request_id_var.set(request_id)


class RequestLogContext:
    """ASGI middleware: scopes `request_id_var` to one HTTP call."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = request_id_var.set(request_id_from_path(scope.get("path", "")))
        try:
            await self.app(scope, receive, send)
        finally:
            request_id_var.reset(token)
