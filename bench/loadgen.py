"""A small closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending its next
request as soon as the previous answer is read, for a bounded time.

Raw asyncio streams rather than an HTTP client library, so the generator costs the client side
as little as possible and the server is what saturates (both sides share one machine)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

# (client index, sequence number within that client) -> the raw request bytes
RequestFactory = Callable[[int, int], bytes]


@dataclass
class LoadResult:
    duration_s: float
    latencies_s: list[float] = field(default_factory=list)  # answers within the window
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0  # connection failures

    @property
    def rate(self) -> float:
        return len(self.latencies_s) / self.duration_s if self.duration_s else 0.0

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)


def get_request(path: str, headers: dict[str, str] | None = None) -> bytes:
    return _request("GET", path, headers or {}, b"")


def post_request(path: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    h = {"Content-Type": "application/json", **(headers or {})}
    return _request("POST", path, h, body)


def _request(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    length: int | None = None
    chunked = False
    for line in header_lines:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        return status, b"".join(parts)
    return status, await reader.readexactly(length or 0)


async def run_load(
    port: int,
    make_request: RequestFactory,
    *,
    concurrency: int,
    duration_s: float,
    warmup_s: float = 0.5,
) -> LoadResult:
    """Closed loop for `warmup_s + duration_s`; only answers received in the last `duration_s`
    count."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    window_start = start + warmup_s
    end = window_start + duration_s
    result = LoadResult(duration_s=duration_s)

    async def client(index: int) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            result.errors += 1
            return
        seq = 0
        try:
            while loop.time() < end:
                payload = make_request(index, seq)
                seq += 1
                sent = time.perf_counter()
                writer.write(payload)
                status, _ = await read_response(reader)
                done = time.perf_counter()
                if loop.time() >= window_start and loop.time() <= end:
                    result.latencies_s.append(done - sent)
                    result.statuses[status] += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            result.errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(client(i) for i in range(concurrency)))
    return result


def run_load_sync(port: int, make_request: RequestFactory, **kwargs: float) -> LoadResult:
    """`run_load` in a fresh event loop (uvloop when installed, like the servers it measures)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(run_load(port, make_request, **kwargs))  # type: ignore[arg-type]
    return uvloop.run(run_load(port, make_request, **kwargs))  # type: ignore[arg-type]
