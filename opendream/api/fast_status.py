"""The status poll's fast path: `GET /v1/requests/{id}/status` answered in front of the FastAPI
app (`serving_app` puts it there), before its middleware, routing, dependency solving and
exception layers, which cost several times the database read itself on a call that clients make
every few hundred milliseconds.

Only the successful answer is made here, with the same checks and the same body as the route
(`status_answer`); anything else (no or bad token, unknown or foreign id, a database error)
is handed to the app unchanged, whose route answers it with the usual envelope. A refused call
thus costs a second lookup; a refused call is rare and cheap next to the polls it speeds up."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from opendream.api.auth import active_key, parse_bearer
from opendream.api.context import AppContext
from opendream.jobs.base import StatusView
from opendream.observability.logging import request_id_var

# FastAPI's `{request_id}` path parameter: one non-empty segment (the path is already decoded)
_STATUS_PATH = re.compile(r"^/v1/requests/([^/]+)/status$")
ANSWERS_KEPT = 4096  # encoded answers kept (see FastStatus._bodies)
# the bytes Starlette's JSONResponse makes of a body, as the route answers
_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def protocol_status(internal: str) -> Any:
    """The status call's vocabulary: a finished request is `completed` whether it succeeded or
    failed; its result tells which."""
    return "completed" if internal in ("succeeded", "failed") else internal


def status_answer(base_url: str, view: StatusView) -> dict[str, Any]:
    """What `StatusResponse` (the documented shape) dumps to with `exclude_none`."""
    from opendream.api.responses import ProgressInfo

    base = f"{base_url}/v1/requests/{view.id}"
    answer: dict[str, Any] = {"request_id": view.id, "status": protocol_status(view.status)}
    if view.status == "in_queue":
        answer["queue_position"] = view.queue_position
    elif view.status == "in_progress" and view.progress:
        progress = ProgressInfo.model_validate(view.progress)
        answer["progress"] = progress.model_dump(exclude_none=True)
    answer["status_url"] = f"{base}/status"
    answer["result_url"] = f"{base}/result"
    return answer


class FastStatus:
    """The ASGI application uvicorn serves: see the module doc."""

    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx
        # A store may hand out the same view object while the request does not change (SQLite
        # does): its encoded answer is then reused. Keyed by identity, holding the view so the
        # identity stays its own; emptied when full.
        self._bodies: dict[int, tuple[StatusView, bytes]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            match = _STATUS_PATH.match(scope["path"])
            if match is not None:
                body = await self._answer(scope, match.group(1))
                if body is not None:
                    # the log lines of this call (uvicorn's access line) carry the request id,
                    # as RequestLogContext gives every other call about a request
                    bound = request_id_var.set(match.group(1))
                    try:
                        await send(
                            {
                                "type": "http.response.start",
                                "status": 200,
                                "headers": [
                                    (b"content-length", str(len(body)).encode()),
                                    (b"content-type", b"application/json"),
                                ],
                            }
                        )
                        await send({"type": "http.response.body", "body": body})
                    finally:
                        request_id_var.reset(bound)
                    return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, request_id: str) -> bytes | None:
        header = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        token = parse_bearer(header)
        if token is None:
            return None
        try:
            key = await active_key(self.ctx.store, token)  # the same check as require_key
            if key is None:
                return None
            view = await self.ctx.store.status_view(request_id, key.id)
            if view is None:
                return None
            known = self._bodies.get(id(view))
            if known is not None and known[0] is view:
                return known[1]
            body = _JSON.encode(status_answer(self.ctx.base_url, view)).encode()
            if len(self._bodies) >= ANSWERS_KEPT:
                self._bodies.clear()
            self._bodies[id(view)] = (view, body)
            return body
        except Exception:
            return None  # the route meets the same error and answers it with its envelope
