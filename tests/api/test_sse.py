"""Server-sent event framing and keep-alives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from opendream.api.sse import KEEPALIVE, frame, retry_hint, with_keepalive


def test_frames() -> None:
    assert frame({"a": 1}, event="x", id="1.2") == b'id: 1.2\nevent: x\ndata: {"a":1}\n\n'
    assert frame("[DONE]") == b"data: [DONE]\n\n"
    assert frame("two\nlines") == b"data: two\ndata: lines\n\n"
    assert retry_hint(2000) == b"retry: 2000\n\n"


async def test_keepalives_fill_the_silence_and_the_source_is_closed() -> None:
    release = asyncio.Event()
    closed = asyncio.Event()

    async def source() -> AsyncIterator[bytes]:
        try:
            yield b"first"
            await release.wait()
            yield b"second"
        finally:
            closed.set()

    out = with_keepalive(source(), every_s=0.01)
    assert await anext(out) == b"first"
    assert await anext(out) == KEEPALIVE
    release.set()
    rest = [chunk async for chunk in out]
    assert rest[-1] == b"second" and set(rest[:-1]) <= {KEEPALIVE}
    assert closed.is_set()


async def test_a_failing_source_fails_the_stream() -> None:
    async def source() -> AsyncIterator[bytes]:
        yield b"ok"
        raise RuntimeError("boom")

    out = with_keepalive(source(), every_s=5)
    assert await anext(out) == b"ok"
    with pytest.raises(RuntimeError, match="boom"):
        await anext(out)


async def test_closing_the_stream_stops_the_source() -> None:
    stopped = asyncio.Event()

    async def source() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"x"
                await asyncio.sleep(0.01)
        finally:
            stopped.set()

    out = with_keepalive(source(), every_s=5)
    assert await anext(out) == b"x"
    await out.aclose()  # type: ignore[attr-defined]
    assert stopped.is_set()
