"""Fetching one `http(s)://` reference without letting it reach anything internal.

Each hop (the URL, then every redirect) is parsed strictly, resolved once, and every resolved
address is checked before a socket is opened; the connection then goes to that checked address,
while the Host header and the TLS name stay the URL's host. Redirects are followed by hand."""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from opendream.inputs import http1
from opendream.inputs.addresses import (
    AllowList,
    IPAddress,
    ends_in_number,
    is_public,
    parse_address,
    parse_ipv4_loose,
)
from opendream.inputs.errors import FetchError
from opendream.inputs.types import FetchPolicy

# host, port -> the addresses the host resolves to, as strings. Tests inject their own to make
# names resolve to private addresses without a DNS server.
Resolver = Callable[[str, int], Awaitable[list[str]]]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_OK = frozenset({200, 203})
_MAX_URL_CHARS = 8192
_MAX_HOST_CHARS = 253
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class ParsedUrl:
    scheme: str
    host: str  # IDNA, lower case, no brackets; an IP literal in canonical form
    port: int
    path: str  # path and query, percent-encoded, for the request line
    literal: IPAddress | None  # set when the host is an IP literal (no resolving)


def parse_url(url: str, *, allow_http: bool) -> ParsedUrl:
    """Strict parsing: anything ambiguous is refused rather than guessed at."""
    if len(url) > _MAX_URL_CHARS:
        raise FetchError("fetch_url", f"The URL is longer than {_MAX_URL_CHARS} characters.")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url) or "\\" in url:
        raise FetchError(
            "fetch_url", "The URL contains whitespace, control characters or backslashes."
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError("fetch_url", f"The URL is malformed: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and allow_http):
        accepted = "https:// or http://" if allow_http else "https://"
        raise FetchError(
            "fetch_scheme",
            f"URLs must start with {accepted}; {scheme + ':' if scheme else 'no scheme'} is "
            "not accepted.",
        )
    if "@" in parts.netloc:
        raise FetchError("fetch_url", "URLs with user names or passwords are not accepted.")
    hostname = parts.hostname
    if not hostname:
        raise FetchError("fetch_url", "The URL has no host.")
    if port == 0:
        raise FetchError("fetch_url", "The URL's port must be between 1 and 65535.")
    port = port or (443 if scheme == "https" else 80)

    literal: IPAddress | None = None
    if parts.netloc.startswith("["):
        try:
            literal = parse_address(hostname)
        except ValueError:
            raise FetchError("fetch_url", f"[{hostname}] is not a valid IPv6 address.") from None
        if literal.version != 6:
            raise FetchError("fetch_url", f"[{hostname}] is not a valid IPv6 address.")
        host = literal.compressed
    elif ends_in_number(hostname):
        literal = parse_ipv4_loose(hostname)
        if literal is None:
            raise FetchError("fetch_url", f"{hostname} is neither a host name nor an IPv4 address.")
        host = str(literal)
    else:
        host = _ascii_host(hostname)

    path = quote(parts.path, safe=_PATH_SAFE) or "/"
    if parts.query:
        path += "?" + quote(parts.query, safe=_QUERY_SAFE)
    return ParsedUrl(scheme=scheme, host=host, port=port, path=path, literal=literal)


def _ascii_host(hostname: str) -> str:
    try:
        host = hostname.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise FetchError("fetch_url", "The URL's host name is not a valid domain name.") from None
    # The root label's dot changes nothing we rely on and must not reach SNI (RFC 6066).
    host = host[:-1] if host.endswith(".") else host
    labels = host.split(".")
    if (
        not host
        or len(host) > _MAX_HOST_CHARS
        or not set(host) <= _HOST_CHARS
        or any(not label or len(label) > 63 for label in labels)
    ):
        raise FetchError("fetch_url", "The URL's host name is not a valid domain name.")
    return host


@functools.lru_cache(maxsize=8)
def tls_context(ca_file: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    return ctx


async def resolve_checked(
    url: ParsedUrl, allow: AllowList, resolver: Resolver, timeout_s: float
) -> list[str]:
    """The addresses to connect to; refuses if any address of the host is not allowed."""
    if url.literal is not None:
        addresses = [url.literal]
    else:
        try:
            async with asyncio.timeout(timeout_s):
                raw = await resolver(url.host, url.port)
        except TimeoutError:
            raise FetchError(
                "fetch_dns", f"Resolving {url.host} timed out after {timeout_s:g} s."
            ) from None
        except (OSError, UnicodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise FetchError("fetch_dns", f"Could not resolve {url.host}: {reason}.") from None
        try:
            addresses = list(dict.fromkeys(parse_address(a) for a in raw))
        except ValueError:
            raise FetchError(
                "fetch_dns", f"Resolving {url.host} gave an invalid address."
            ) from None
        if not addresses:
            raise FetchError("fetch_dns", f"{url.host} has no address.")
    trusted_name = url.literal is None and allow.allows_host(url.host)
    for addr in addresses:
        if not (trusted_name or is_public(addr) or allow.allows_address(addr)):
            said = url.host if url.literal is None else "The URL"
            raise FetchError(
                "fetch_refused_address",
                f"{said} points to {addr}, which is not a public internet address; "
                "fetching from it is refused.",
            )
    return [str(a) for a in addresses]


async def fetch_url(
    url: str,
    policy: FetchPolicy,
    *,
    allow: AllowList | None = None,
    resolver: Resolver | None = None,
    too_large: str = "",
) -> bytes:
    """The body of `url` after at most `policy.max_redirects` redirects; raises `FetchError`.

    `too_large` is the sentence that opens a "too large" message (the schema's own wording)."""
    allow = allow if allow is not None else AllowList.parse(policy.allow_list)
    resolver = resolver or system_resolver
    current = url
    for hop in range(policy.max_redirects + 1):
        try:
            response = await _one_hop(current, policy, allow, resolver, too_large)
        except FetchError as exc:
            if not hop:
                raise
            raise FetchError(
                exc.type, f"After a redirect to {_shorten(current)}: {exc.msg}"
            ) from None
        if response.status in _REDIRECTS:
            location = response.header("location")
            if not location:
                raise FetchError(
                    "fetch_http_status",
                    f"The server answered HTTP {response.status} without a Location to follow.",
                )
            current = urljoin(current, location.strip())
            continue
        if response.status not in _OK:
            where = f" (after a redirect to {_shorten(current)})" if hop else ""
            raise FetchError(
                "fetch_http_status",
                f"The server answered HTTP {response.status} instead of the image{where}.",
            )
        return response.body
    raise FetchError(
        "fetch_redirects",
        f"The URL redirects more than {policy.max_redirects} times; the last hop was to "
        f"{_shorten(current)}.",
    )


async def _one_hop(
    url: str, policy: FetchPolicy, allow: AllowList, resolver: Resolver, too_large: str
) -> http1.Response:
    parsed = parse_url(url, allow_http=policy.allow_http)
    addresses = await resolve_checked(parsed, allow, resolver, policy.connect_timeout_s)
    ctx = tls_context(policy.ca_file) if parsed.scheme == "https" else None
    failure: FetchError | None = None
    for address in addresses:
        target = http1.Target(parsed.scheme, parsed.host, parsed.port, parsed.path, address)
        try:
            conn = await http1.connect(target, ctx, policy.connect_timeout_s)
        except FetchError as exc:
            if exc.type != "fetch_connect":
                raise
            failure = exc  # try the host's next address
            continue
        try:
            return await http1.get(
                conn,
                target,
                read_timeout_s=policy.read_timeout_s,
                max_bytes=policy.max_bytes,
                too_large=too_large,
            )
        finally:
            conn.abort()
    assert failure is not None
    raise failure


def _shorten(url: str, limit: int = 200) -> str:
    return url if len(url) <= limit else url[: limit - 1] + "…"
