"""`Prefer: wait=N` on submit: the header's grammar, and the answer with and without a result in
time (a real worker with a fixture engine)."""

from __future__ import annotations

import time

import pytest

from opendream.api.prefer import MAX_WAIT_S, prefer_wait

from .conftest import EDIT, SEQUENTIAL, data_uri, png_bytes
from .fixture_worker import FixtureEngine, RunningWorker


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        (None, None),
        ("", None),
        ("wait=5", 5),
        ("respond-async, wait=10", 10),
        ("WAIT = 7", 7),
        ('wait="3"', 3),
        ("wait=600", MAX_WAIT_S),
        ("wait", MAX_WAIT_S),
        ("wait=0", None),
        ("wait=-1", None),
        ("wait=soon", None),
        ("return=minimal", None),
        ("wait=2;foo=bar", 2),
    ],
)
def test_header_grammar(header: str | None, wait: int | None) -> None:
    assert prefer_wait(header) == wait


def test_the_result_comes_back_when_ready_in_time(make_server) -> None:  # type: ignore[no-untyped-def]
    server = make_server()
    worker = RunningWorker(server, FixtureEngine()).start()
    try:
        with server.client() as c:
            r = c.post(
                f"/v1/models/{EDIT}",
                json={"prompt": "p", "images": [data_uri(png_bytes(64, 64))], "resolution": "1K"},
                headers={"Prefer": "wait=30"},
            )
    finally:
        worker.stop()
    assert r.status_code == 200 and r.headers["Preference-Applied"] == "wait=30"
    body = r.json()
    assert body["status"] == "succeeded" and body["output"]["image"].startswith("http")
    assert body["result_url"].endswith(f"/v1/requests/{body['request_id']}/result")


def test_the_usual_answer_when_not_ready_in_time(make_server) -> None:  # type: ignore[no-untyped-def]
    server = make_server()  # no worker: nothing finishes
    started = time.monotonic()
    with server.client() as c:
        r = c.post(f"/v1/models/{SEQUENTIAL}", json={"text": "x"}, headers={"Prefer": "wait=1"})
    assert time.monotonic() - started >= 1.0  # it did hold the answer
    assert r.status_code == 200 and r.headers["Preference-Applied"] == "wait=1"
    assert set(r.json()) == {"request_id", "status_url", "result_url", "cancel_url"}


def test_no_header_no_wait(make_server) -> None:  # type: ignore[no-untyped-def]
    server = make_server()
    with server.client() as c:
        r = c.post(f"/v1/models/{SEQUENTIAL}", json={"text": "x"})
    assert "Preference-Applied" not in r.headers
    assert set(r.json()) == {"request_id", "status_url", "result_url", "cancel_url"}
