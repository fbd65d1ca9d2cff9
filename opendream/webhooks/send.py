"""One webhook POST, under the SSRF rules of image fetching.

The URL is parsed strictly and resolved once; every address is checked (public, or allow-listed)
and the connection goes to that checked address, while the Host header and the TLS server name
stay the URL's host. No redirects are followed, no environment proxy applies, and a fresh
connection is used each time (a pooled one could carry another host's TLS name).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import httpx

from opendream.inputs.addresses import AllowList
from opendream.inputs.errors import FetchError
from opendream.inputs.fetch import (
    Resolver,
    parse_url,
    resolve_checked,
    system_resolver,
    tls_context,
)
from opendream.inputs.types import FetchPolicy

USER_AGENT = "opendream-webhooks/1"
MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the receiver's HTTP status; None when none came back
    error: str | None  # why it did not count as delivered (None for a 2xx)


def check_target(url: str, policy: FetchPolicy) -> None:
    """Raises `FetchError` when `url` is not an acceptable webhook URL (scheme, syntax)."""
    parse_url(url, allow_http=policy.allow_http)


async def checked_addresses(
    url: str, policy: FetchPolicy, resolver: Resolver | None = None
) -> list[str]:
    """The addresses `url` may be delivered to; raises `FetchError` (e.g. fetch_refused_address)."""
    parsed = parse_url(url, allow_http=policy.allow_http)
    return await resolve_checked(
        parsed,
        AllowList.parse(policy.allow_list),
        resolver or system_resolver,
        policy.connect_timeout_s,
    )


async def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    policy: FetchPolicy,
    timeout_s: float,
    resolver: Resolver | None = None,
) -> Outcome:
    try:
        parsed = parse_url(url, allow_http=policy.allow_http)
        addresses = await checked_addresses(url, policy, resolver)
    except FetchError as exc:
        return Outcome(None, exc.msg)
    verify: ssl.SSLContext | bool = (
        tls_context(policy.ca_file) if parsed.scheme == "https" else False
    )
    default_port = 443 if parsed.scheme == "https" else 80
    host_header = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    if parsed.port != default_port:
        host_header = f"{host_header}:{parsed.port}"
    last_error = "no address to deliver to"
    for address in addresses:
        literal = f"[{address}]" if ":" in address else address
        target = f"{parsed.scheme}://{literal}:{parsed.port}{parsed.path}"
        extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
        try:
            async with httpx.AsyncClient(
                verify=verify, trust_env=False, follow_redirects=False, timeout=timeout_s
            ) as client:
                request = client.build_request(
                    "POST",
                    target,
                    content=body,
                    headers={
                        **headers,
                        "Host": host_header,
                        "Content-Type": "application/json",
                        "User-Agent": USER_AGENT,
                    },
                    extensions=extensions,
                )
                response = await client.send(request, stream=True)
                try:
                    await _drain(response)
                finally:
                    await response.aclose()
        except httpx.ConnectError as exc:
            last_error = f"could not connect to {parsed.host}: {_reason(exc)}"
            continue  # the host's next address
        except httpx.TimeoutException:
            return Outcome(None, f"no answer within {timeout_s:g} s")
        except httpx.HTTPError as exc:
            return Outcome(None, f"delivery failed: {_reason(exc)}")
        if 200 <= response.status_code < 300:
            return Outcome(response.status_code, None)
        return Outcome(response.status_code, f"the receiver answered HTTP {response.status_code}")
    return Outcome(None, last_error)


async def _drain(response: httpx.Response) -> None:
    """Reads (and drops) a little of the answer so the receiver is not cut off mid-write."""
    seen = 0
    async for chunk in response.aiter_raw():
        seen += len(chunk)
        if seen >= MAX_ANSWER_BYTES:
            return


def _reason(exc: Exception) -> str:
    return str(exc).strip() or type(exc).__name__
