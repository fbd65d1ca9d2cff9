"""`GET /v1/requests/{id}/stream` over real HTTP: a real worker with a fixture engine, a real
request table; resuming with `Last-Event-ID`, on this replica or another one."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from opendream.jobs.notify import Signals
from opendream.jobs.testing import drop_database, fresh_postgres_url, postgres_problem

from .conftest import SEQUENTIAL
from .fixture_worker import FixtureEngine, RunningWorker
from .server import ApiServer
from .sse_client import Event, events, key

SERIES = {"text": "Generate 2 images of a boat", "sequential_image_generation_options": 2}


@pytest.fixture
def served(make_server) -> Iterator[tuple[ApiServer, FixtureEngine]]:  # type: ignore[no-untyped-def]
    s = make_server()
    engine = FixtureEngine(gate=threading.Event())
    worker = RunningWorker(s, engine).start()
    yield s, engine
    engine.gate.set()  # type: ignore[union-attr]
    worker.stop()


def submit(c: httpx.Client, body: dict = SERIES) -> str:
    r = c.post(f"/v1/models/{SEQUENTIAL}", json=body)
    assert r.status_code == 200, r.text
    return r.json()["request_id"]


def read_all(server: ApiServer, request_id: str, **headers: str) -> list[Event]:
    with (
        server.client(timeout=60) as c,
        c.stream("GET", f"/v1/requests/{request_id}/stream", headers=headers) as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        return list(events(r))


def wait_status(server: ApiServer, request_id: str, status: str) -> None:
    for _ in range(400):
        if server.call(server.store.get(request_id)).status == status:
            return
        time.sleep(0.025)
    raise AssertionError(f"{request_id} never became {status}")


def test_every_event_in_order_then_the_result(served: tuple[ApiServer, FixtureEngine]) -> None:
    server, engine = served
    with server.client() as c:
        blocker = submit(c, {"text": "one", "sequential_image_generation": "disabled"})
        wait_status(server, blocker, "in_progress")  # the worker is held at the gate
        request_id = submit(c)
    seen: list[Event] = []
    with server.client(timeout=60) as c, c.stream("GET", f"/v1/requests/{request_id}/stream") as r:
        for event in events(r):
            seen.append(event)
            if len(seen) == 1:
                assert event.name == "queued" and event.json["queue_position"] == 0
                engine.gate.set()  # type: ignore[union-attr]
    names = [e.name for e in seen]
    assert names[0] == "queued" and names[1] == "started" and names[-1] == "succeeded"
    assert names.count("image") == 2 and "progress" in names
    # images leave as they are stored: image 0 before image 2's progress
    assert names.index("image") < max(i for i, n in enumerate(names) if n == "progress")
    keys = [key(e.id) for e in seen]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    images = [e.json for e in seen if e.name == "image"]
    assert [i["index"] for i in images] == [0, 1]
    assert httpx.get(images[1]["url"], timeout=30).status_code == 200
    final = seen[-1].json
    assert final["status"] == "succeeded" and final["request_id"] == request_id
    assert len(final["output"]["images"]) == 2
    progress = [e.json for e in seen if e.name == "progress"]
    assert all(p["steps"] == 2 and p["images"] == 2 for p in progress)


def test_resuming_sends_only_what_was_missed(served: tuple[ApiServer, FixtureEngine]) -> None:
    server, engine = served
    engine.gate.set()  # type: ignore[union-attr]
    with server.client() as c:
        request_id = submit(c)
    wait_status(server, request_id, "succeeded")
    everything = read_all(server, request_id)
    assert [e.name for e in everything] == ["started", "image", "image", "succeeded"]
    first_image = next(e for e in everything if e.name == "image")
    after = read_all(server, request_id, **{"Last-Event-ID": first_image.id or ""})
    assert [e.name for e in after] == ["image", "succeeded"]
    assert after[0].json["index"] == 1
    # EventSource cannot set headers on its first connection: the query parameter does the same
    with (
        server.client() as c,
        c.stream(
            "GET", f"/v1/requests/{request_id}/stream", params={"last_event_id": everything[-1].id}
        ) as r,
    ):
        assert list(events(r)) == []
    assert [e.name for e in read_all(server, request_id, **{"Last-Event-ID": "junk"})] == [
        e.name for e in everything
    ]


def test_a_failed_request_ends_with_failed(served: tuple[ApiServer, FixtureEngine]) -> None:
    server, engine = served
    engine.fail_after = 1
    engine.gate.set()  # type: ignore[union-attr]
    with server.client() as c:
        request_id = submit(c)
    seen = read_all(server, request_id)
    names = [e.name for e in seen]
    assert names[-1] == "failed" and names.count("image") == 1  # what was made before failing
    assert "fixture engine failure" in seen[-1].json["error"]


def test_a_cancelled_request_ends_with_cancelled(make_server) -> None:  # type: ignore[no-untyped-def]
    server = make_server()  # no worker: the request stays queued
    with server.client() as c:
        request_id = submit(c)
    seen: list[Event] = []

    def read() -> None:
        with (
            server.client(timeout=60) as c,
            c.stream("GET", f"/v1/requests/{request_id}/stream") as r,
        ):
            for event in events(r):
                seen.append(event)

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(400):
        if seen:
            break
        time.sleep(0.02)
    with server.client() as c:
        assert c.post(f"/v1/requests/{request_id}/cancel").json()["outcome"] == "cancelled"
    reader.join(30)
    assert [e.name for e in seen] == ["queued", "cancelled"]
    assert seen[-1].json["status"] == "cancelled"


def test_queue_position_moves(make_server) -> None:  # type: ignore[no-untyped-def]
    server = make_server()
    with server.client() as c:
        ahead = submit(c)
        request_id = submit(c)
    positions: list[int] = []
    with server.client(timeout=60) as c, c.stream("GET", f"/v1/requests/{request_id}/stream") as r:
        for event in events(r):
            if event.name == "queued":
                positions.append(event.json["queue_position"])
                if positions == [1]:
                    with server.client() as other:
                        other.post(f"/v1/requests/{ahead}/cancel")
                elif positions == [1, 0]:
                    with server.client() as other:
                        other.post(f"/v1/requests/{request_id}/cancel")
    assert positions == [1, 0]


def test_unknown_or_foreign_request_is_404(served: tuple[ApiServer, FixtureEngine]) -> None:
    server, _ = served
    with server.client() as c:
        request_id = submit(c, {"text": "mine"})
    other_token, _ = server.create_key("other")
    with server.client(token=other_token) as c:
        r = c.get(f"/v1/requests/{request_id}/stream")
        assert r.status_code == 404 and r.json()["error_code"] == 404001
        assert c.get("/v1/requests/nope/stream").status_code == 404
    with server.client(token="od_bad") as c:
        assert c.get(f"/v1/requests/{request_id}/stream").status_code == 401


def test_another_process_on_sqlite_is_followed_by_polling(make_server) -> None:  # type: ignore[no-untyped-def]
    """SQLite notifications stay in their process: a worker elsewhere is seen by the poll."""
    api = make_server(stream_poll_s=0.2)
    worker_side = ApiServer(api.data_dir, settings_overrides={}).start()
    try:
        worker_side.store._signals = Signals()  # type: ignore[attr-defined]  # another process
        engine = FixtureEngine()
        worker = RunningWorker(worker_side, engine).start()
        try:
            with api.client() as c:
                request_id = submit(c)
            names = [e.name for e in read_all(api, request_id)]
        finally:
            worker.stop()
    finally:
        worker_side.stop()
    assert names[-1] == "succeeded" and names.count("image") == 2


@pytest.mark.postgres
def test_replicas_on_postgres_stream_and_resume(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A fleet: the worker writes through one replica's store, another replica streams (woken by
    NOTIFY), and a third resumes the stream from an id the second sent."""
    problem = asyncio.run(postgres_problem())
    if problem is not None:
        if os.environ.get("CI") or os.environ.get("OPENDREAM_REQUIRE_POSTGRES") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    url = asyncio.run(fresh_postgres_url())
    big_poll = {"stream_poll_s": 30.0}  # only NOTIFY can make these streams move in time
    replicas = [
        ApiServer(tmp_path, database_url=url, settings_overrides=big_poll).start() for _ in range(3)
    ]
    try:
        engine = FixtureEngine()
        worker = RunningWorker(replicas[0], engine).start()
        try:
            token, streamer, resumer = replicas[0].token, replicas[1], replicas[2]
            with replicas[0].client() as c:
                request_id = submit(c)
            with (
                httpx.Client(
                    base_url=streamer.base_url,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=20,
                    trust_env=False,
                ) as c,
                c.stream("GET", f"/v1/requests/{request_id}/stream") as r,
            ):
                seen = list(events(r))
            assert seen[-1].name == "succeeded"
            image = next(e for e in seen if e.name == "image")
            with (
                httpx.Client(
                    base_url=resumer.base_url,
                    headers={"Authorization": f"Bearer {token}", "Last-Event-ID": image.id or ""},
                    timeout=20,
                    trust_env=False,
                ) as c,
                c.stream("GET", f"/v1/requests/{request_id}/stream") as r,
            ):
                resumed = list(events(r))
            assert [e.name for e in resumed] == ["image", "succeeded"]
            assert resumed[0].json["index"] == image.json["index"] + 1
        finally:
            worker.stop()
    finally:
        for s in replicas:
            s.stop()
        asyncio.run(drop_database(url))
