"""The status poll's fast path: `GET /v1/requests/{id}/status` answered in an ASGI middleware,
before FastAPI's routing, dependency solving and exception layers, which cost several times the
database read itself on a call that clients make every few hundred milliseconds.

Only the successful answer is made here, with the same checks and the same body as the route
(`status_answer`); anything else (no or bad token, unknown or foreign id, a database error)
is handed to the app unchanged, whose route answers it with the usual envelope. A refused call
thus costs a second lookup; a refused call is rare and cheap next to the polls it speeds up."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from opendream.api.auth import active_key, parse_bearer
from opendream.api.context import AppContext
from opendream.jobs.base import RequestRow

# FastAPI's `{request_id}` path parameter: one non-empty segment (the path is already decoded)
_STATUS_PATH = re.compile(r"^/v1/requests/([^/]+)/status$")


def protocol_status(internal: str) -> Any:
    """The status call's vocabulary: a finished request is `completed` whether it succeeded or
    failed; its result tells which."""
    return "completed" if internal in ("succeeded", "failed") else internal


def status_answer(base_url: str, row: RequestRow, position: int) -> dict[str, Any]:
    """What `StatusResponse` (the documented shape) dumps to with `exclude_none`."""
    from opendream.api.responses import ProgressInfo

    base = f"{base_url}/v1/requests/{row.id}"
    answer: dict[str, Any] = {"request_id": row.id, "status": protocol_status(row.status)}
    if row.status == "in_queue":
        answer["queue_position"] = position
    elif row.status == "in_progress" and row.progress:
        progress = ProgressInfo.model_validate(row.progress)
        answer["progress"] = progress.model_dump(exclude_none=True)
    answer["status_url"] = f"{base}/status"
    answer["result_url"] = f"{base}/result"
    return answer


class FastStatus:
    """ASGI middleware: see the module doc."""

    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            match = _STATUS_PATH.match(scope["path"])
            if match is not None:
                answer = await self._answer(scope, match.group(1))
                if answer is not None:
                    await JSONResponse(answer)(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, request_id: str) -> dict[str, Any] | None:
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
            found = await self.ctx.store.get_with_position(request_id, key.id)
        except Exception:
            return None  # the route meets the same error and answers it with its envelope
        if found is None:
            return None
        return status_answer(self.ctx.base_url, *found)
