"""Retries against a scripted loopback server: which calls are retried on what, and how long the
client waits (recorded, not slept)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from opendream.client import (
    AsyncClient,
    Client,
    NotFound,
    RateLimited,
    RetryPolicy,
    ServerError,
    TransportError,
)
from opendream.client.retry import may_retry_status, parse_retry_after
from tests.client.loopback import DROP, Canned, loopback_server

STATUS_PATH = "/v1/requests/r1/status"
SUBMIT_PATH = "/v1/models/bytedance/seedream-4-0/sequential"
QUEUED = Canned(200, {"request_id": "r1", "status": "in_queue", "queue_position": 2})
SUBMITTED = Canned(
    200, {"request_id": "r1", "status_url": "s", "result_url": "r", "cancel_url": "c"}
)
UNAVAILABLE = Canned(503, {"error_code": 500001, "error_message": "busy", "detail": None})
FAST = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.002)


def recording_client(base_url: str, policy: RetryPolicy = FAST) -> tuple[Client, list[float]]:
    client = Client(base_url, "tok", retry=policy)
    pauses: list[float] = []
    client._retry_sleep = pauses.append
    return client, pauses


def test_a_read_is_retried_after_503_and_succeeds() -> None:
    with loopback_server() as (url, script):
        script.on("GET", STATUS_PATH, UNAVAILABLE, QUEUED)
        client, pauses = recording_client(url)
        with client:
            status = client.status("r1")
        assert status.status == "in_queue" and status.queue_position == 2
        assert script.count("GET", STATUS_PATH) == 2
        assert len(pauses) == 1
        assert script.hits[0].headers["Authorization"] == "Bearer tok"


def test_a_read_gives_up_after_max_attempts_with_the_server_error() -> None:
    with loopback_server() as (url, script):
        script.on("GET", STATUS_PATH, UNAVAILABLE)
        client, _ = recording_client(url)
        with client, pytest.raises(ServerError) as info:
            client.status("r1")
        assert script.count("GET", STATUS_PATH) == FAST.max_attempts
        assert info.value.status_code == 503
        assert info.value.error_code == 500001
        assert info.value.error_message == "busy"


def test_a_dropped_connection_is_retried_for_reads() -> None:
    with loopback_server() as (url, script):
        script.on("GET", STATUS_PATH, DROP, QUEUED)
        client, _ = recording_client(url)
        with client:
            assert client.status("r1").status == "in_queue"
        assert script.count("GET", STATUS_PATH) == 2


def test_429_honours_retry_after_seconds() -> None:
    limited = Canned(
        429, {"error_code": 429001, "error_message": "slow down"}, {"Retry-After": "7"}
    )
    with loopback_server() as (url, script):
        script.on("GET", STATUS_PATH, limited, QUEUED)
        client, pauses = recording_client(url)
        with client:
            client.status("r1")
        assert pauses == [7.0]


def test_429_after_the_last_attempt_raises_rate_limited_with_the_hint() -> None:
    limited = Canned(
        429, {"error_code": 429001, "error_message": "slow down"}, {"Retry-After": "3"}
    )
    with loopback_server() as (url, script):
        script.on("GET", STATUS_PATH, limited)
        client, pauses = recording_client(url)
        with client, pytest.raises(RateLimited) as info:
            client.status("r1")
        assert info.value.retry_after == 3.0
        assert pauses == [3.0] * (FAST.max_attempts - 1)


def test_a_submit_without_idempotency_key_is_not_retried_after_503() -> None:
    with loopback_server() as (url, script):
        script.on("POST", SUBMIT_PATH, UNAVAILABLE, SUBMITTED)
        client, _ = recording_client(url)
        with client, pytest.raises(ServerError):
            client.submit("bytedance/seedream-4-0/sequential", {"text": "a fox"})
        assert script.count("POST", SUBMIT_PATH) == 1


def test_a_submit_without_idempotency_key_is_not_retried_after_a_dropped_connection() -> None:
    with loopback_server() as (url, script):
        script.on("POST", SUBMIT_PATH, DROP, SUBMITTED)
        client, _ = recording_client(url)
        with client, pytest.raises(TransportError):
            client.submit("bytedance/seedream-4-0/sequential", {"text": "a fox"})
        assert script.count("POST", SUBMIT_PATH) == 1


def test_a_submit_with_idempotency_key_is_retried_with_the_same_key() -> None:
    with loopback_server() as (url, script):
        script.on("POST", SUBMIT_PATH, UNAVAILABLE, DROP, SUBMITTED)
        client, _ = recording_client(url)
        with client:
            submitted = client.submit(
                "bytedance/seedream-4-0/sequential", {"text": "a fox"}, idempotency_key="k-1"
            )
        assert submitted.request_id == "r1"
        hits = [h for h in script.hits if h.path == SUBMIT_PATH]
        assert len(hits) == 3
        assert {h.headers.get("Idempotency-Key") for h in hits} == {"k-1"}
        assert {h.body for h in hits} == {b'{"text":"a fox"}'}


def test_a_submit_is_retried_after_429_since_nothing_was_accepted() -> None:
    limited = Canned(
        429, {"error_code": 429001, "error_message": "queue full"}, {"Retry-After": "0"}
    )
    with loopback_server() as (url, script):
        script.on("POST", SUBMIT_PATH, limited, SUBMITTED)
        client, pauses = recording_client(url)
        with client:
            assert (
                client.submit("bytedance/seedream-4-0/sequential", {"text": "x"}).request_id == "r1"
            )
        assert pauses == [0.0]
        assert script.count("POST", SUBMIT_PATH) == 2


def test_a_4xx_is_never_retried() -> None:
    missing = Canned(
        404, {"error_code": 404001, "error_message": "unknown request", "detail": None}
    )
    with loopback_server() as (url, script):
        script.on("GET", STATUS_PATH, missing, QUEUED)
        client, _ = recording_client(url)
        with client, pytest.raises(NotFound):
            client.status("r1")
        assert script.count("GET", STATUS_PATH) == 1


def test_a_refused_connection_is_retried_then_raises_transport_error() -> None:
    with loopback_server() as (url, _):
        pass  # closed: the port now refuses connections
    client, pauses = recording_client(url)
    with client, pytest.raises(TransportError):
        client.status("r1")
    assert len(pauses) == FAST.max_attempts - 1


async def test_the_async_client_retries_503_then_succeeds() -> None:
    with loopback_server() as (url, script):
        script.on("GET", STATUS_PATH, UNAVAILABLE, UNAVAILABLE, QUEUED)
        pauses: list[float] = []

        async def record(seconds: float) -> None:
            pauses.append(seconds)

        async with AsyncClient(url, "tok", retry=FAST) as client:
            client._retry_sleep = record
            status = await client.status("r1")
        assert status.queue_position == 2
        assert script.count("GET", STATUS_PATH) == 3
        assert len(pauses) == 2


async def test_the_async_client_does_not_retry_an_unkeyed_submit() -> None:
    with loopback_server() as (url, script):
        script.on("POST", SUBMIT_PATH, UNAVAILABLE, SUBMITTED)
        async with AsyncClient(url, "tok", retry=FAST) as client:
            with pytest.raises(ServerError):
                await client.submit("bytedance/seedream-4-0/sequential", {"text": "x"})
        assert script.count("POST", SUBMIT_PATH) == 1


def test_backoff_grows_exponentially_within_its_ceiling() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    rng = random.Random(7)
    for retry_index, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (6, 4.0)]:
        samples = [policy.delay(retry_index, rng=rng) for _ in range(200)]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling / 2  # jitter spreads over the window, not stuck at 0


def test_retry_after_is_capped() -> None:
    assert RetryPolicy(max_retry_after=30).delay(0, retry_after=3600) == 30


def test_parse_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("12") == 12.0
    assert (
        parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now)
        == 90.0
    )
    assert (
        parse_retry_after(format_datetime(now - timedelta(seconds=90), usegmt=True), now=now) == 0.0
    )
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_which_statuses_may_be_retried() -> None:
    assert may_retry_status(429, replay_safe=False)
    assert may_retry_status(503, replay_safe=True)
    assert not may_retry_status(503, replay_safe=False)
    assert not may_retry_status(400, replay_safe=True)
    assert not may_retry_status(422, replay_safe=True)
