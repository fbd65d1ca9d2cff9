"""A deliberately small HTTP/1.1 client: one GET to an already validated address.

Why not httpx: the address must be the one we validated (no second DNS lookup), the Host header and
TLS server name must stay the URL's name, no environment proxy may apply, the body must stop at a
byte cap, and every read must be bounded in time. A GET with `Connection: close` is a few dozen
lines when written out, and every one of those lines is then ours to reason about."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from opendream.inputs.errors import FetchError

T = TypeVar("T")

_MAX_HEAD_BYTES = 64 * 1024
_MAX_HEADERS = 100
_READ_SIZE = 64 * 1024
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([0-9]{3})(?: [^\r\n]*)?")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


@dataclass(frozen=True)
class Target:
    """Where to send one GET: the validated address and the name the server knows itself by."""

    scheme: str  # "http" | "https"
    host: str  # the URL's host (IDNA, lower case, no brackets): Host header, SNI, certificate
    port: int
    path: str  # path and query, ready for the request line
    address: str  # the validated IP to connect to


@dataclass
class Response:
    status: int
    headers: dict[str, list[str]]  # lower-case names
    body: bytes = b""

    def header(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[0] if values else None


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def abort(self) -> None:
        # Nothing more is wanted from this connection; a graceful TLS close could wait on the peer.
        self.writer.transport.abort()


async def connect(
    target: Target, ssl_context: ssl.SSLContext | None, timeout_s: float
) -> Connection:
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(
                target.address,
                target.port,
                ssl=ssl_context,
                server_hostname=target.host if ssl_context is not None else None,
                ssl_handshake_timeout=timeout_s if ssl_context is not None else None,
                limit=_MAX_HEAD_BYTES,
            )
    except TimeoutError:
        raise FetchError(
            "fetch_timeout", f"Connecting to {_where(target)} timed out after {timeout_s:g} s."
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise FetchError(
            "fetch_tls",
            f"The TLS certificate of {target.host} could not be verified: "
            f"{exc.verify_message or exc.reason or exc}.",
        ) from None
    except ssl.SSLError as exc:
        raise FetchError(
            "fetch_tls", f"The TLS handshake with {target.host} failed: {exc.reason or exc}."
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise FetchError(
            "fetch_connect", f"Could not connect to {_where(target)}: {reason}."
        ) from None
    return Connection(reader, writer)


async def get(
    conn: Connection, target: Target, *, read_timeout_s: float, max_bytes: int, too_large: str
) -> Response:
    """Send the GET, read the head; read the body only for a 2xx answer, never past `max_bytes`."""
    default_port = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    if target.port != default_port:
        host = f"{host}:{target.port}"
    request = (
        f"GET {target.path} HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "User-Agent: opendream-fetch/1\r\n"
        "Accept: image/png, image/jpeg, */*;q=0.1\r\n"
        "Accept-Encoding: identity\r\n"
        "Connection: close\r\n"
        "\r\n"
    )
    reading = _Reader(conn.reader, read_timeout_s, target)
    try:
        conn.writer.write(request.encode("ascii"))
        await reading.bounded(conn.writer.drain())
        response = await _read_head(reading)
        while 100 <= response.status < 200:  # interim answers precede the real one
            response = await _read_head(reading)
        if 200 <= response.status < 300:
            response.body = await _read_body(reading, response, max_bytes, too_large)
        return response
    except (ConnectionError, ssl.SSLError) as exc:
        raise FetchError(
            "fetch_connect", f"The connection to {_where(target)} broke: {exc}."
        ) from None


class _Reader:
    """Each read bounded by the read timeout: a server that goes quiet is given up on."""

    def __init__(self, reader: asyncio.StreamReader, timeout_s: float, target: Target) -> None:
        self.reader = reader
        self.timeout_s = timeout_s
        self.target = target

    async def bounded(self, awaitable: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await awaitable
        except TimeoutError:
            raise FetchError(
                "fetch_timeout",
                f"{_where(self.target)} sent nothing for {self.timeout_s:g} s (read timeout).",
            ) from None

    async def line(self) -> bytes:
        try:
            return await self.bounded(self.reader.readuntil(b"\n"))
        except asyncio.LimitOverrunError:
            raise _protocol(self.target, "a header line is too long") from None
        except asyncio.IncompleteReadError:
            raise _protocol(
                self.target, "the connection closed in the middle of the answer"
            ) from None

    async def some(self, n: int) -> bytes:
        return await self.bounded(self.reader.read(n))


async def _read_head(r: _Reader) -> Response:
    status_line = (await r.line()).rstrip(b"\r\n")
    match = _STATUS_LINE.fullmatch(status_line)
    if match is None:
        raise _protocol(r.target, "the answer is not HTTP/1.x")
    headers: dict[str, list[str]] = {}
    total = len(status_line)
    while True:
        line = await r.line()
        total += len(line)
        if total > _MAX_HEAD_BYTES or len(headers) > _MAX_HEADERS:
            raise _protocol(r.target, "the response headers are too large")
        line = line.rstrip(b"\r\n")
        if not line:
            break
        name, sep, value = line.partition(b":")
        if not sep or not _TOKEN.fullmatch(name):
            raise _protocol(r.target, "a response header is malformed")
        headers.setdefault(name.decode("ascii").lower(), []).append(
            value.strip(b" \t").decode("latin-1")
        )
    return Response(status=int(match.group(1)), headers=headers)


async def _read_body(r: _Reader, response: Response, max_bytes: int, too_large: str) -> bytes:
    encoding = (response.header("content-encoding") or "identity").strip().lower()
    if encoding != "identity":
        raise _protocol(r.target, f"the body is {encoding}-encoded although identity was asked for")
    transfer = ",".join(response.headers.get("transfer-encoding", [])).strip().lower()
    if transfer:
        if transfer != "chunked":
            raise _protocol(r.target, f"unsupported Transfer-Encoding {transfer!r}")
        return await _read_chunked(r, max_bytes, too_large)
    lengths = {v.strip() for v in response.headers.get("content-length", [])}
    if lengths:
        if len(lengths) != 1 or not next(iter(lengths)).isdigit():
            raise _protocol(r.target, "the Content-Length header is invalid")
        length = int(next(iter(lengths)))
        if length > max_bytes:
            raise FetchError(
                "fetch_too_large",
                f"{too_large} The server announced {length} bytes; the limit is {max_bytes}.",
            )
        body = await _read_up_to(r, length, max_bytes, too_large)
        if len(body) < length:
            raise FetchError(
                "fetch_truncated",
                f"The body from {_where(r.target)} ended after {len(body)} of the "
                f"{length} bytes its Content-Length announced.",
            )
        return body
    return await _read_up_to(r, None, max_bytes, too_large)


async def _read_up_to(r: _Reader, length: int | None, max_bytes: int, too_large: str) -> bytes:
    """`length` bytes (or until the peer closes when None), refusing to hold more than the cap."""
    body = bytearray()
    while length is None or len(body) < length:
        want = _READ_SIZE if length is None else min(_READ_SIZE, length - len(body))
        piece = await r.some(want)
        if not piece:
            break
        body += piece
        if len(body) > max_bytes:
            raise FetchError(
                "fetch_too_large", f"{too_large} The download was stopped after {max_bytes} bytes."
            )
    return bytes(body)


async def _read_chunked(r: _Reader, max_bytes: int, too_large: str) -> bytes:
    body = bytearray()
    while True:
        size_line = (await r.line()).rstrip(b"\r\n").split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(size_line):
            raise _protocol(r.target, "a chunk size is malformed")
        size = int(size_line, 16)
        if size == 0:
            return bytes(body)  # trailers are of no interest on a connection we close
        if len(body) + size > max_bytes:
            raise FetchError(
                "fetch_too_large", f"{too_large} The download was stopped after {max_bytes} bytes."
            )
        chunk = await _read_up_to(r, size, max_bytes, too_large)
        if len(chunk) < size:
            raise FetchError(
                "fetch_truncated", f"The chunked body from {_where(r.target)} ended mid-chunk."
            )
        body += chunk
        if (await r.line()).strip(b"\r\n"):
            raise _protocol(r.target, "a chunk is not followed by CRLF")


def _protocol(target: Target, what: str) -> FetchError:
    return FetchError("fetch_protocol", f"Bad HTTP answer from {_where(target)}: {what}.")


def _where(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    return f"{host}:{target.port}"
