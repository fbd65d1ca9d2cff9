"""`GET /v1/requests/{id}/stream`: live progress as server-sent events (an opendream extension).

Events: `queued` {queue_position}, `started`, `progress` {step, steps, image, images}, `image`
{index, url} as each image is stored, then one of `succeeded` / `failed` / `cancelled` carrying
the result object, after which the stream ends. Reconnect with `Last-Event-ID` (or
`?last_event_id=`) to resume: see `stream_events` for how ids are made.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from opendream.api.auth import require_key
from opendream.api.context import AppContext, context
from opendream.api.errors import ErrorBody, not_found
from opendream.api.routes_requests import build_result
from opendream.api.sse import event_stream, frame, retry_hint, with_keepalive
from opendream.api.stream_events import Key, events_for, parse_event_id
from opendream.api.watch import watch
from opendream.jobs.base import FINISHED, ApiKey, RequestRow

router = APIRouter(tags=["requests"])

KEEPALIVE_S = 15.0
RECONNECT_MS = 2000
QUEUE_REFRESH_S = 1.0

STREAM_DOC = {
    200: {
        "description": "`text/event-stream`: queued, started, progress, image, then succeeded | "
        "failed | cancelled (the result object).",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    401: {"model": ErrorBody},
    404: {"model": ErrorBody},
}


@router.get(
    "/v1/requests/{request_id}/stream",
    response_class=StreamingResponse,
    responses=STREAM_DOC,  # type: ignore[arg-type]
    summary="Live progress of a request (server-sent events)",
)
async def stream(
    request_id: str,
    request: Request,
    last_event_id: Annotated[
        str | None, Query(description="Resume after this event id (or send `Last-Event-ID`).")
    ] = None,
    key: ApiKey = Depends(require_key),
    ctx: AppContext = Depends(context),
) -> StreamingResponse:
    row = await ctx.store.get(request_id, owner=key.id)
    if row is None:
        raise not_found(request_id)
    resume = parse_event_id(request.headers.get("last-event-id") or last_event_id)
    return event_stream(with_keepalive(request_events(ctx, row.id, key.id, resume), KEEPALIVE_S))


async def request_events(
    ctx: AppContext, request_id: str, owner: str, resume: Key | None
) -> AsyncIterator[bytes]:
    """The framed events of one request from `resume` on, until its final event."""
    yield retry_hint(RECONNECT_MS)
    last = resume
    last_position: int | None = None
    rows = watch(
        ctx.store,
        request_id,
        owner,
        poll_s=ctx.settings.stream_poll_s,
        queued_every_s=QUEUE_REFRESH_S,
    )
    try:
        async for row in rows:
            position = await ctx.store.queue_position(row) if row.status == "in_queue" else None
            for event in events_for(
                row,
                queue_position=position,
                image_url=lambda k: ctx.blobs.url_for(k, ctx.settings.url_ttl_s),
                final=lambda r: _result(ctx, r),
            ):
                newer = last is None or event.key > last
                moved = event.name == "queued" and position != last_position
                if not (newer or moved):
                    continue
                yield frame(event.data, event=event.name, id=event.id)
                if newer:
                    last = event.key
                if event.name == "queued":
                    last_position = position
            if row.status in FINISHED:
                return
    finally:
        await rows.aclose()  # type: ignore[attr-defined]


def _result(ctx: AppContext, row: RequestRow) -> dict[str, Any]:
    return build_result(ctx, row).model_dump(exclude_none=True)
