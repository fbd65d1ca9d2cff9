"""Holding a synchronous door's answer until its request finishes.

The official Seedream and OpenAI APIs answer a generation synchronously; here the request goes
through the queue like any other and the door waits for it in-process (notifications, plus a
slow poll). The wait is bounded by `sync_timeout_s`. A client that goes away while its request is
still queued gets it cancelled: nobody is left to receive the images. One already running is left
to finish; its result stays in the history and under `/v1/requests/{id}/result`.
"""

from __future__ import annotations

import logging

from starlette.requests import Request

from opendream.api.context import AppContext
from opendream.api.watch import wait_finished
from opendream.jobs.base import RequestRow

log = logging.getLogger("opendream.api")

DISCONNECT_CHECK_S = 1.0


class ClientGone(Exception):
    pass


async def wait_for_result(
    ctx: AppContext, request: Request, request_id: str, owner: str, timeout_s: float | None = None
) -> RequestRow | None:
    """The finished row; the unfinished row when the wait timed out; None when the client went
    away (its request cancelled if it was still queued) or the row is gone."""

    async def check_client() -> None:
        if await request.is_disconnected():
            raise ClientGone

    try:
        return await wait_finished(
            ctx.store,
            request_id,
            owner,
            timeout_s=ctx.settings.sync_timeout_s if timeout_s is None else timeout_s,
            poll_s=min(ctx.settings.stream_poll_s, DISCONNECT_CHECK_S),
            tick=check_client,
        )
    except ClientGone:
        await cancel_if_queued(ctx, request_id, owner)
        return None


async def cancel_if_queued(ctx: AppContext, request_id: str, owner: str) -> None:
    cancelled, _ = await ctx.store.cancel(request_id, owner)
    if cancelled:
        log.info(
            "request %s cancelled: its synchronous client went away while it was queued", request_id
        )
