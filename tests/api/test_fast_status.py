"""The status poll's fast path answers exactly what the documented `StatusResponse` dumps to,
and leaves every refusal to the route (same envelopes as before)."""

from __future__ import annotations

from opendream.api.fast_status import status_answer
from opendream.api.responses import ProgressInfo, StatusResponse

from .conftest import SEQUENTIAL
from .server import ApiServer

WORKER = "test-worker"


def test_answers_match_the_documented_shape(make_server) -> None:  # type: ignore[no-untyped-def]
    s: ApiServer = make_server()
    with s.client() as c:
        first = c.post(f"/v1/models/{SEQUENTIAL}", json={"text": "x"}).json()["request_id"]
        second = c.post(f"/v1/models/{SEQUENTIAL}", json={"text": "y"}).json()["request_id"]
        queued = c.get(f"/v1/requests/{second}/status")
        assert queued.status_code == 200
        assert queued.headers["content-type"] == "application/json"
        row = s.call(s.store.claim(WORKER, [SEQUENTIAL], 60))
        assert row is not None and row.id == first
        progress = {"step": 2, "steps": 4, "image": 1, "images": None, "eta": 9}
        assert s.call(s.store.set_progress(first, WORKER, progress))
        running = c.get(f"/v1/requests/{first}/status").json()
    expected_queued = StatusResponse(
        request_id=second,
        status="in_queue",
        queue_position=1,  # the first request is ahead of it
        status_url=queued.json()["status_url"],
        result_url=queued.json()["result_url"],
    ).model_dump(exclude_none=True)
    assert queued.json() == expected_queued
    assert running["status"] == "in_progress" and "queue_position" not in running
    assert running["progress"] == {"step": 2, "steps": 4, "image": 1}  # None and extras dropped
    assert running["status_url"].endswith(f"/v1/requests/{first}/status")


def test_status_answer_for_each_state() -> None:
    from opendream.jobs.base import StatusView

    for status, shown in [
        ("in_queue", "in_queue"),
        ("in_progress", "in_progress"),
        ("succeeded", "completed"),
        ("failed", "completed"),
        ("cancelled", "cancelled"),
    ]:
        answer = status_answer("http://h", StatusView("r1", "k", status, {"step": 1}, 3))
        model = StatusResponse(
            request_id="r1",
            status=shown,
            queue_position=3 if status == "in_queue" else None,
            progress=ProgressInfo(step=1) if status == "in_progress" else None,
            status_url="http://h/v1/requests/r1/status",
            result_url="http://h/v1/requests/r1/result",
        )
        assert answer == model.model_dump(exclude_none=True), status


def test_refusals_keep_their_envelopes(make_server) -> None:  # type: ignore[no-untyped-def]
    s: ApiServer = make_server()
    token, key_id = s.create_key("other")
    with s.client() as c:
        rid = c.post(f"/v1/models/{SEQUENTIAL}", json={"text": "x"}).json()["request_id"]
    with s.client(token) as other:
        foreign = other.get(f"/v1/requests/{rid}/status")
        assert foreign.status_code == 404 and foreign.json()["error_code"] == 404001
        assert s.call(s.store.revoke_key(key_id))
        revoked = other.get(f"/v1/requests/{rid}/status")
    assert revoked.status_code == 401 and revoked.json()["error_code"] == 400004
    with s.client() as c:
        c.headers.pop("Authorization")
        missing = c.get(f"/v1/requests/{rid}/status")
    assert missing.status_code == 401 and missing.json()["error_code"] == 400004


def test_an_unchanged_view_reuses_its_encoded_answer(make_server) -> None:  # type: ignore[no-untyped-def]
    s: ApiServer = make_server()
    with s.client() as c:
        rid = c.post(f"/v1/models/{SEQUENTIAL}", json={"text": "x"}).json()["request_id"]
        first = c.get(f"/v1/requests/{rid}/status")
        again = c.get(f"/v1/requests/{rid}/status")
        assert first.content == again.content
        assert s.call(s.store.cancel(rid, s.key_id))[0]
        changed = c.get(f"/v1/requests/{rid}/status")
    assert first.json()["status"] == "in_queue"
    assert changed.json()["status"] == "cancelled" and "queue_position" not in changed.json()
