"""Server-sent events: framing, keep-alive comments, and the streaming response."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import StreamingResponse

KEEPALIVE = b": keep-alive\n\n"
_END = object()


def frame(data: Any, *, event: str | None = None, id: str | None = None) -> bytes:
    """One event. `data` is sent as is when a string, else as compact JSON (one line)."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    lines = []
    if id is not None:
        lines.append(f"id: {id}")
    if event is not None:
        lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in text.split("\n"))
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def retry_hint(ms: int) -> bytes:
    """How long a client's EventSource waits before reconnecting."""
    return f"retry: {ms}\n\n".encode()


async def with_keepalive(events: AsyncIterator[bytes], every_s: float) -> AsyncIterator[bytes]:
    """`events`, with a comment line whenever nothing was sent for `every_s` (proxies close idle
    connections). The producer runs in its own task so waiting never cancels it midway."""
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=16)

    async def produce() -> None:
        try:
            async for chunk in events:
                await queue.put(chunk)
        except Exception as exc:  # handed to the consumer, which re-raises it
            await queue.put(exc)
            return
        await queue.put(_END)

    task = asyncio.create_task(produce())
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), every_s)
            except TimeoutError:
                yield KEEPALIVE
                continue
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()


def event_stream(
    chunks: AsyncIterator[bytes], headers: dict[str, str] | None = None
) -> StreamingResponse:
    return StreamingResponse(
        chunks,
        media_type="text/event-stream",
        headers={
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # nginx: pass events through as they come
            **(headers or {}),
        },
    )
