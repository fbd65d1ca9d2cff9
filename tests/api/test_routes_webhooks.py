"""Webhooks through the API: `?webhook=` checked at submit (SSRF rules, events), the per-key
secret, and deliveries of the result object by the loop `serve` runs — verified with the SDK."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from opendream.api.webhook_delivery import delivery_loop
from opendream.client.webhooks import verify_webhook
from tests.webhooks.receiver import Receiver

from .conftest import EDIT, SEQUENTIAL, data_uri, png_bytes
from .fixture_worker import FixtureEngine, RunningWorker
from .server import SECRET, ApiServer

LOOPBACK = ["127.0.0.0/8", "::1/128"]


def submit(c: httpx.Client, body: dict, **params: str) -> httpx.Response:
    return c.post(f"/v1/models/{SEQUENTIAL}", json=body, params=params)


# submit-time checks -------------------------------------------------------------------------
def test_a_webhook_to_a_private_address_is_422_naming_webhook(client: httpx.Client) -> None:
    r = submit(client, {"text": "x"}, webhook="https://127.0.0.1/hook")
    assert r.status_code == 422
    (problem,) = r.json()["detail"]
    assert problem["loc"] == ["query", "webhook"]
    assert problem["type"] == "fetch_refused_address"
    assert "not a public internet address" in problem["msg"]


@pytest.mark.parametrize(
    ("params", "field", "kind"),
    [
        ({"webhook": "ftp://hooks.example.com/x"}, "webhook", "fetch_scheme"),
        ({"webhook": "http://hooks.example.com/x"}, "webhook", "fetch_scheme"),  # https only
        ({"webhook": "https://user:pw@hooks.example.com/x"}, "webhook", "fetch_url"),
        ({"webhook": "https://" + "a" * 2100}, "webhook", "webhook_url"),
        ({"webhook_events": "completed"}, "webhook_events", "missing"),
        (
            {"webhook": "https://hooks.example.com/x", "webhook_events": "started,logs"},
            "webhook_events",
            "webhook_events",
        ),
    ],
)
def test_webhook_params_are_checked(
    client: httpx.Client, params: dict[str, str], field: str, kind: str
) -> None:
    r = submit(client, {"text": "x"}, **params)
    assert r.status_code == 422, r.text
    problems = r.json()["detail"]
    assert {"loc": ["query", field], "type": kind} in [
        {"loc": p["loc"], "type": p["type"]} for p in problems
    ]


def test_webhook_problems_come_with_the_input_problems(client: httpx.Client) -> None:
    r = client.post(
        f"/v1/models/{EDIT}",
        json={"prompt": "x", "images": [data_uri(png_bytes(10, 100))]},
        params={"webhook": "https://10.1.2.3/h"},
    )
    assert r.status_code == 422
    locs = [p["loc"][:2] for p in r.json()["detail"]]
    assert locs[-1] == ["query", "webhook"] and set(map(tuple, locs[:-1])) == {("body", "images")}


def test_an_accepted_webhook_is_armed_and_shown_in_the_result(make_server) -> None:  # type: ignore[no-untyped-def]
    s = make_server(allow_http=True, fetch_allow_list=LOOPBACK)
    with s.client() as c:
        r = submit(
            c,
            {"text": "x"},
            webhook="http://127.0.0.1:9/hook",
            webhook_events="started, progress",
        )
        assert r.status_code == 200, r.text
        result = c.get(f"/v1/requests/{r.json()['request_id']}/result").json()
    assert result["webhook"] == {
        "url": "http://127.0.0.1:9/hook",
        "events": ["started", "progress", "completed"],
        "deliveries": [],
        "pending": 0,
    }
    assert s.call(s.store.due_webhooks(datetime.now(UTC))) == [r.json()["request_id"]]


# the secret ------------------------------------------------------------------------------------
def test_the_secret_is_made_once_per_key(server: ApiServer) -> None:
    with server.client() as c:
        first = c.get("/v1/webhooks/secret")
        again = c.get("/v1/webhooks/secret")
    assert first.status_code == 200 and first.json() == again.json()
    assert first.json()["secret"].startswith("whsec_")
    other, _ = server.create_key("other-key")
    with server.client(token=other) as c:
        assert c.get("/v1/webhooks/secret").json() != first.json()
    with server.client(token="od_bad") as c:
        assert c.get("/v1/webhooks/secret").status_code == 401


# deliveries ------------------------------------------------------------------------------------
@pytest.fixture
def delivering(make_server) -> Iterator[ApiServer]:  # type: ignore[no-untyped-def]
    """A server with a worker (fixture engine) and the delivery loop `serve` runs."""
    s = make_server(allow_http=True, fetch_allow_list=LOOPBACK, webhook_backoff_s=0.1)
    worker = RunningWorker(s, FixtureEngine()).start()
    loop = delivery_loop(s.settings, s.store, s.blobs, blob_secret=SECRET)

    async def make_stop() -> asyncio.Event:
        return asyncio.Event()

    stop = s.call(make_stop())
    running = asyncio.run_coroutine_threadsafe(loop.run(stop), s._loop)
    yield s
    s._loop.call_soon_threadsafe(stop.set)
    running.result(20)
    worker.stop()


def test_the_result_object_is_delivered_signed(delivering: ApiServer) -> None:
    s = delivering
    with Receiver([200, 502]) as receiver, s.client() as c:
        secret = c.get("/v1/webhooks/secret").json()["secret"]
        request_id = submit(
            c,
            {"text": "Generate 2 images of a bird", "sequential_image_generation_options": 2},
            webhook=receiver.url(),
            webhook_events="started",
        ).json()["request_id"]
        deliveries = receiver.wait_for(3)  # started, completed (502), completed again
        for _ in range(200):
            result = c.get(f"/v1/requests/{request_id}/result").json()
            if len(result["webhook"]["deliveries"]) == 3:
                break
            time.sleep(0.05)
    bodies = [verify_webhook(d.headers, d.body, secret) for d in deliveries]
    assert [b["event"] for b in bodies] == ["started", "completed", "completed"]
    assert deliveries[1].body == deliveries[2].body  # a retry sends the very same message
    assert deliveries[1].headers["webhook-id"] == deliveries[2].headers["webhook-id"]
    completed = bodies[-1]
    assert completed["request_id"] == request_id and completed["status"] == "succeeded"
    assert len(completed["output"]["images"]) == 2 and "webhook" not in completed
    assert set(completed) == (set(result) - {"webhook"}) | {"event"}  # the result object
    shown = result["webhook"]
    assert [(d["event"], d["attempt"], d["status"]) for d in shown["deliveries"]] == [
        ("started", 1, 200),
        ("completed", 1, 502),
        ("completed", 2, 200),
    ]
    assert shown["pending"] == 0
    assert json.loads(deliveries[0].body)["status"] == "in_progress"
