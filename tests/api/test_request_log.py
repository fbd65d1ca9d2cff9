"""Log lines written while the API handles a call about one request carry its id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from opendream.api.request_log import RequestLogContext, bind_submitted, request_id_from_path
from opendream.observability.logging import configure_logging, request_id_var

from .conftest import SEQUENTIAL
from .server import ApiServer

log = logging.getLogger("opendream.test")


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The service's own log handler (JSON), writing into a buffer for the test."""
    root = logging.getLogger()
    level = root.level
    buf = io.StringIO()
    handler = configure_logging("INFO", "json", stream=buf)
    try:
        yield buf
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _records(buf: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines() if line.startswith("{")]


def test_request_id_from_path() -> None:
    assert request_id_from_path("/v1/requests/abc-123/status") == "abc-123"
    assert request_id_from_path("/v1/requests/abc-123") == "abc-123"
    assert request_id_from_path("/v1/requests/abc/result/extra") == "abc"
    assert request_id_from_path("/v1/requests") is None
    assert request_id_from_path("/v1/requests/") is None
    assert request_id_from_path("/v1/models/bytedance/seedream-4-0/edit") is None
    assert request_id_from_path("/v1/requests/" + "x" * 200 + "/status") is None


async def test_middleware_binds_for_the_call_only(json_logs: io.StringIO) -> None:
    async def status(request: Request) -> PlainTextResponse:
        log.info("inside status")
        return PlainTextResponse("ok")

    async def submit(request: Request) -> PlainTextResponse:
        log.info("before the id exists")
        bind_submitted("fresh-id")
        log.info("after the id exists")
        return PlainTextResponse("ok")

    app = RequestLogContext(
        Starlette(
            routes=[
                Route("/v1/requests/{rid}/status", status),
                Route("/v1/models/m", submit, methods=["POST"]),
            ]
        )
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        assert (await c.get("/v1/requests/r-1/status")).status_code == 200
        assert (await c.post("/v1/models/m")).status_code == 200
    log.info("after both calls")
    by_msg = {r["msg"]: r["request_id"] for r in _records(json_logs)}
    assert by_msg["inside status"] == "r-1"
    assert by_msg["before the id exists"] is None
    assert by_msg["after the id exists"] == "fresh-id"
    assert by_msg["after both calls"] is None
    assert request_id_var.get() is None


def test_submit_and_status_logs_carry_the_id(make_server, json_logs: io.StringIO) -> None:
    s: ApiServer = make_server(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none", start_store=False
    )
    # the database is away: the status call logs a warning, labelled with the id in its path
    rid = "0f0f0f0f-0000-0000-0000-000000000000"
    with s.client(token="od_whatever") as c:
        assert c.get(f"/v1/requests/{rid}/status").status_code == 503
    away = [r for r in _records(json_logs) if "unavailable" in r["msg"]]
    assert away and away[-1]["request_id"] == rid, away
    s2: ApiServer = make_server()
    with s2.client() as c:
        request_id = c.post(f"/v1/models/{SEQUENTIAL}", json={"text": "a kite"}).json()[
            "request_id"
        ]
    queued = [r for r in _records(json_logs) if "queued" in r["msg"]]
    assert queued and queued[-1]["request_id"] == request_id, queued
