"""One webhook POST over real loopback HTTP and HTTPS, under the SSRF rules of image fetching."""

from __future__ import annotations

from pathlib import Path

import pytest

from opendream.inputs.types import FetchPolicy
from opendream.webhooks.send import post
from tests.e2e.server import free_port
from tests.inputs.servers import LOOPBACK, make_tls

from .receiver import Receiver

OPEN = FetchPolicy(allow_http=True, allow_list=LOOPBACK)


async def test_delivers_the_body_and_headers() -> None:
    with Receiver() as receiver:
        outcome = await post(
            receiver.url("/hook?x=1"), b'{"a":1}', {"webhook-id": "m1"}, policy=OPEN, timeout_s=5
        )
    assert (outcome.status, outcome.error) == (200, None)
    (got,) = receiver.deliveries
    assert got.path == "/hook?x=1" and got.body == b'{"a":1}'
    assert got.headers["webhook-id"] == "m1"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["host"] == f"127.0.0.1:{receiver.port}"


@pytest.mark.parametrize("status", [500, 404, 307])
async def test_anything_but_2xx_is_a_failure(status: int) -> None:
    with Receiver([status]) as receiver:
        outcome = await post(receiver.url(), b"{}", {}, policy=OPEN, timeout_s=5)
    assert outcome.status == status and outcome.error == f"the receiver answered HTTP {status}"
    assert len(receiver.deliveries) == 1  # a redirect is not followed


async def test_private_addresses_are_refused_unless_allow_listed() -> None:
    with Receiver() as receiver:
        outcome = await post(
            receiver.url(), b"{}", {}, policy=FetchPolicy(allow_http=True), timeout_s=5
        )
        assert outcome.status is None and "not a public internet address" in (outcome.error or "")
        plain = await post(
            receiver.url(), b"{}", {}, policy=FetchPolicy(allow_list=LOOPBACK), timeout_s=5
        )
        assert plain.status is None and "https://" in (plain.error or "")  # http not allowed
    assert receiver.deliveries == []


async def test_a_name_is_resolved_once_and_its_checked_address_is_used(tmp_path: Path) -> None:
    """https://hooks.test resolves (by the injected resolver) to loopback; the connection goes to
    that address while Host and the TLS name stay the URL's, and the certificate is checked."""
    tls = make_tls(tmp_path / "good", names=("hooks.test",))
    asked: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    policy = FetchPolicy(allow_list=LOOPBACK, ca_file=tls.ca_file)
    with Receiver(tls=tls) as receiver:
        url = receiver.url("/h", host="hooks.test")
        outcome = await post(url, b"{}", {}, policy=policy, timeout_s=5, resolver=resolver)
        assert (outcome.status, outcome.error) == (200, None)
        assert receiver.deliveries[0].headers["host"] == f"hooks.test:{receiver.port}"
        assert asked == ["hooks.test"]
        # a certificate for another name fails, whatever the address
        other = make_tls(tmp_path / "other", names=("elsewhere.test",))
        bad = await post(
            url,
            b"{}",
            {},
            policy=FetchPolicy(allow_list=LOOPBACK, ca_file=other.ca_file),
            timeout_s=5,
            resolver=resolver,
        )
        assert bad.status is None and bad.error
    assert len(receiver.deliveries) == 1


async def test_a_name_pointing_inside_is_refused() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["10.0.0.7"]  # an internal address

    outcome = await post(
        "https://hooks.example.com/h",
        b"{}",
        {},
        policy=FetchPolicy(),
        timeout_s=5,
        resolver=resolver,
    )
    assert outcome.status is None and "10.0.0.7" in (outcome.error or "")


async def test_timeouts_and_refused_connections_are_failures() -> None:
    with Receiver(delay_s=2.0) as slow:
        outcome = await post(slow.url(), b"{}", {}, policy=OPEN, timeout_s=0.3)
    assert outcome.status is None and outcome.error == "no answer within 0.3 s"
    closed = f"http://127.0.0.1:{free_port()}/h"
    outcome = await post(closed, b"{}", {}, policy=OPEN, timeout_s=2)
    assert outcome.status is None and "could not connect" in (outcome.error or "")
