"""The fetcher against real loopback servers (HTTP and HTTPS) that behave and misbehave."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from opendream.inputs import FetchPolicy
from opendream.inputs.errors import FetchError
from opendream.inputs.fetch import Resolver, fetch_url
from tests.inputs.images import jpeg, png
from tests.inputs.servers import ImageServer, Route, TLSFiles, make_tls

IMAGE = png(64, 48)


async def fetch_error(url: str, policy: FetchPolicy, **kwargs: object) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await fetch_url(url, policy, **kwargs)  # type: ignore[arg-type]
    return caught.value


def resolving_to(*addresses: str, calls: list[str] | None = None) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        return list(addresses)

    return resolve


async def test_http_image_is_fetched(http_server: ImageServer, policy: FetchPolicy) -> None:
    url = http_server.image("/a.png", IMAGE)
    assert await fetch_url(url, policy) == IMAGE
    seen = http_server.requests[-1]
    assert seen.headers["host"] == f"127.0.0.1:{http_server.port}"
    assert seen.headers["accept-encoding"] == "identity"


async def test_https_image_is_fetched_by_name_with_the_certificate_checked(
    https_server: ImageServer, policy: FetchPolicy
) -> None:
    url = https_server.image("/a.jpg", jpeg(), "image/jpeg")
    assert url.startswith("https://localhost:")
    assert await fetch_url(url, policy) == jpeg()
    assert https_server.requests[-1].headers["host"] == f"localhost:{https_server.port}"


async def test_https_connects_to_the_pinned_address_keeping_the_name(
    tmp_path: Path, policy: FetchPolicy
) -> None:
    """The name is resolved once (by our resolver) and the TLS name and Host header stay the
    name: a certificate for images.test is accepted on 127.0.0.1."""
    tls = make_tls(tmp_path, names=("images.test",))
    calls: list[str] = []
    with ImageServer(tls=tls) as server:
        server.image("/a.png", IMAGE)
        url = server.url("/a.png", host="images.test")
        got = await fetch_url(
            url,
            replace(policy, ca_file=tls.ca_file),
            resolver=resolving_to("127.0.0.1", calls=calls),
        )
        assert got == IMAGE
        assert calls == ["images.test"]
        assert server.requests[-1].headers["host"] == f"images.test:{server.port}"


async def test_a_certificate_for_another_name_is_refused(
    https_server: ImageServer, policy: FetchPolicy
) -> None:
    https_server.image("/a.png", IMAGE)
    url = https_server.url("/a.png", host="other.test")
    error = await fetch_error(url, policy, resolver=resolving_to("127.0.0.1"))
    assert error.type == "fetch_tls"
    assert "other.test" in error.msg


async def test_an_untrusted_certificate_is_refused(
    https_server: ImageServer, policy: FetchPolicy
) -> None:
    url = https_server.image("/a.png", IMAGE)
    error = await fetch_error(url, replace(policy, ca_file=None))
    assert error.type == "fetch_tls"


async def test_plain_http_only_when_allowed(http_server: ImageServer, policy: FetchPolicy) -> None:
    url = http_server.image("/a.png", IMAGE)
    error = await fetch_error(url, replace(policy, allow_http=False))
    assert error.type == "fetch_scheme"
    assert http_server.requests == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_followed(
    http_server: ImageServer, policy: FetchPolicy, status: int
) -> None:
    http_server.image("/final.png", IMAGE)
    url = http_server.redirect("/start", "/final.png", status=status)
    assert await fetch_url(url, policy) == IMAGE


async def test_three_redirects_are_followed_four_are_not(
    https_server: ImageServer, policy: FetchPolicy
) -> None:
    https_server.image("/final.png", IMAGE)
    assert await fetch_url(https_server.redirect_chain("/three", 3, "/final.png"), policy) == IMAGE
    error = await fetch_error(https_server.redirect_chain("/four", 4, "/final.png"), policy)
    assert error.type == "fetch_redirects"
    assert "more than 3" in error.msg
    assert not any(r.path == "/final.png" for r in https_server.requests[4:])


async def test_a_redirect_loop_ends(http_server: ImageServer, policy: FetchPolicy) -> None:
    http_server.redirect("/a", "/b")
    url = http_server.redirect("/b", "/a")
    assert (await fetch_error(url, policy)).type == "fetch_redirects"
    assert len(http_server.requests) == 4


async def test_redirects_across_servers_and_schemes(
    http_server: ImageServer, https_server: ImageServer, policy: FetchPolicy
) -> None:
    secure = https_server.image("/a.png", IMAGE)
    assert await fetch_url(http_server.redirect("/up", secure), policy) == IMAGE
    plain = http_server.image("/a.png", IMAGE)
    down = https_server.redirect("/down", plain)
    error = await fetch_error(down, replace(policy, allow_http=False))
    assert error.type == "fetch_scheme"
    assert "redirect" in error.msg


@pytest.mark.parametrize("status", [204, 206, 304, 403, 404, 500, 503])
async def test_other_statuses_are_named(
    http_server: ImageServer, policy: FetchPolicy, status: int
) -> None:
    url = http_server.route("/x", Route(status=status, body=b"" if status in (204, 304) else b"no"))
    error = await fetch_error(url, policy)
    assert error.type == "fetch_http_status"
    assert str(status) in error.msg


async def test_a_redirect_without_location_is_a_status_problem(
    http_server: ImageServer, policy: FetchPolicy
) -> None:
    url = http_server.route("/x", Route(status=302))
    assert (await fetch_error(url, policy)).type == "fetch_http_status"


async def test_a_large_content_length_is_refused_before_the_body(
    http_server: ImageServer, policy: FetchPolicy
) -> None:
    # The body never ends: refusing it at all proves it was never read.
    url = http_server.endless("/big", with_length=50_000_000)
    error = await fetch_error(url, replace(policy, max_bytes=10_000), too_large="Too big.")
    assert error.type == "fetch_too_large"
    assert error.msg.startswith("Too big.")
    assert "50000000" in error.msg


async def test_an_endless_body_stops_at_the_cap(
    https_server: ImageServer, policy: FetchPolicy
) -> None:
    url = https_server.endless("/endless")
    error = await fetch_error(url, replace(policy, max_bytes=300_000))
    assert error.type == "fetch_too_large"


async def test_a_chunked_body_is_read_and_capped(
    http_server: ImageServer, policy: FetchPolicy
) -> None:
    big = png(600, 600)
    url = http_server.chunked("/c.png", big)
    assert await fetch_url(url, policy) == big
    error = await fetch_error(url, replace(policy, max_bytes=len(big) - 1))
    assert error.type == "fetch_too_large"


async def test_a_body_shorter_than_its_content_length_is_truncated(
    http_server: ImageServer, policy: FetchPolicy
) -> None:
    url = http_server.lying_length("/liar", IMAGE, announced=len(IMAGE) + 500)
    error = await fetch_error(url, policy)
    assert error.type == "fetch_truncated"
    assert f"{len(IMAGE)} of the {len(IMAGE) + 500}" in error.msg


async def test_a_body_longer_than_its_content_length_is_cut_at_the_length(
    http_server: ImageServer, policy: FetchPolicy
) -> None:
    url = http_server.lying_length("/liar", IMAGE, announced=100)
    assert await fetch_url(url, policy) == IMAGE[:100]


async def test_a_body_without_length_is_read_to_the_end(
    http_server: ImageServer, policy: FetchPolicy
) -> None:
    url = http_server.route("/eof", Route(body=IMAGE, content_length=None))
    assert await fetch_url(url, policy) == IMAGE


async def test_a_quiet_server_hits_the_read_timeout(
    http_server: ImageServer, policy: FetchPolicy
) -> None:
    url = http_server.slow("/slow", IMAGE, byte_interval_s=1.0)
    error = await fetch_error(url, replace(policy, read_timeout_s=0.2))
    assert error.type == "fetch_timeout"
    assert "read timeout" in error.msg


async def test_nothing_listening_is_a_connect_problem(policy: FetchPolicy) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        error = await fetch_error(f"http://127.0.0.1:{port}/a.png", policy)
    assert error.type == "fetch_connect"


async def test_an_unresolvable_name_is_a_dns_problem(policy: FetchPolicy) -> None:
    async def fail(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    error = await fetch_error("https://images.example/a.png", policy, resolver=fail)
    assert error.type == "fetch_dns"
    assert "images.example" in error.msg


async def test_a_hanging_resolver_is_a_dns_timeout(policy: FetchPolicy) -> None:
    async def hang(host: str, port: int) -> list[str]:
        await asyncio.sleep(3600)
        return []

    error = await fetch_error(
        "https://images.example/a.png", replace(policy, connect_timeout_s=0.1), resolver=hang
    )
    assert error.type == "fetch_dns"


@pytest.fixture
async def raw_server() -> AsyncIterator[tuple[list[bytes], asyncio.Server]]:
    """A TCP server that answers whatever bytes the test puts in the list."""
    answers: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answers[0])
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield answers, server
    server.close()


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "fetch_protocol"),
        (b"HTTP/1.1 200 OK\r\nbad header line\r\n\r\n", "fetch_protocol"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", "fetch_protocol"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
            "fetch_protocol",
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", "fetch_protocol"),
        (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\nxx", "fetch_protocol"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "fetch_protocol"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "fetch_protocol"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", "fetch_truncated"),
        (b"HTTP/1.1 200 OK\r\n", "fetch_protocol"),
        (b"", "fetch_protocol"),
    ],
)
async def test_malformed_answers_are_named(
    raw_server: tuple[list[bytes], asyncio.Server], policy: FetchPolicy, answer: bytes, kind: str
) -> None:
    answers, server = raw_server
    answers.append(answer)
    port = server.sockets[0].getsockname()[1]
    assert (await fetch_error(f"http://127.0.0.1:{port}/x", policy)).type == kind


async def test_interim_answers_are_skipped(
    raw_server: tuple[list[bytes], asyncio.Server], policy: FetchPolicy
) -> None:
    answers, server = raw_server
    answers.append(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    )
    port = server.sockets[0].getsockname()[1]
    assert await fetch_url(f"http://127.0.0.1:{port}/x", policy) == b"hello"


async def test_ipv6_loopback_server(tls: TLSFiles, policy: FetchPolicy) -> None:
    try:
        server = ImageServer(host="::1", tls=tls).start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        url = server.image("/a.png", IMAGE)
        assert url.startswith("https://[::1]:")
        assert await fetch_url(url, policy) == IMAGE
        assert server.requests[-1].headers["host"] == f"[::1]:{server.port}"
        refused = await fetch_error(url, replace(policy, allow_list=("127.0.0.0/8",)))
        assert refused.type == "fetch_refused_address"
    finally:
        server.stop()


async def test_proxies_from_the_environment_are_ignored(
    http_server: ImageServer, policy: FetchPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9/")  # nothing there
    url = http_server.image("/a.png", IMAGE)
    assert await fetch_url(url, policy) == IMAGE


async def test_a_server_that_never_finishes_the_tls_handshake_times_out(
    policy: FetchPolicy,
) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accept TCP, never speak TLS

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        error = await fetch_error(
            f"https://localhost:{port}/a.png", replace(policy, connect_timeout_s=0.3)
        )
    finally:
        server.close()
    assert error.type == "fetch_timeout"
    assert "Connecting" in error.msg
