"""The delivery state of one webhook: what a row owes, retries with backoff, giving up, progress
coalescing, when to look again. Pure functions, so every case is a few lines."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from opendream.jobs.base import RequestRow
from opendream.webhooks import state as st

POLICY = st.RetryPolicy(backoff_s=5, backoff_max_s=60, window_s=3600, jitter=0)


def row(status: str = "in_queue", progress: dict[str, Any] | None = None) -> RequestRow:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    return RequestRow(
        id="r1",
        owner="k",
        model_id="m",
        status=status,  # type: ignore[arg-type]
        input={},
        input_blobs=[],
        created_at=now,
        started_at=now if status in ("in_progress", "succeeded", "failed") else None,
        progress=progress,
    )


def test_completed_is_always_chosen_and_events_keep_their_order() -> None:
    s = st.new_state("https://x/h", ["progress", "started"])
    assert s["events"] == ["started", "progress", "completed"]
    assert st.new_state("https://x/h", [])["events"] == ["completed"]


def test_a_row_owes_what_its_state_shows_once() -> None:
    s = st.new_state("https://x/h", ["started"])
    assert st.owed(row("in_queue"), s, 0, 1) == []
    assert st.owed(row("in_progress"), s, 0, 1) == ["started"]
    st.enqueue(s, row("in_progress"), "started", {"status": "in_progress"}, 0)
    assert st.owed(row("in_progress"), s, 0, 1) == []
    # a finished row that was never seen running still owes both, in order
    fresh = st.new_state("https://x/h", ["started"])
    assert st.owed(row("succeeded"), fresh, 0, 1) == ["started", "completed"]
    assert st.owed(row("cancelled"), st.new_state("https://x/h", ["started"]), 0, 1) == [
        "completed"
    ]


def test_message_ids_are_stable_per_event() -> None:
    s = st.new_state("https://x/h", ["started"])
    st.enqueue(s, row("succeeded"), "completed", {}, 0)
    assert s["pending"][0]["id"] == "r1.completed"


def test_failures_back_off_exponentially_then_give_up() -> None:
    s = st.new_state("https://x/h", [])
    st.enqueue(s, row("succeeded"), "completed", {"a": 1}, 0)
    (message,) = st.due(s, 0)
    now = 0.0
    waits = []
    while s["pending"]:
        st.record(s, message, status=500, error="HTTP 500", now=now, policy=POLICY)
        if s["pending"]:
            waits.append(message["next_at"] - now)
            now = message["next_at"]
    assert waits[:5] == [5, 10, 20, 40, 60]  # doubling, capped
    assert now >= POLICY.window_s  # retried for the whole window
    last = s["deliveries"][-1]
    assert last["gave_up"] is True and last["status"] == 500
    assert s["done"] is True
    assert len(s["deliveries"]) <= st.MAX_LOG


def test_a_success_ends_the_message_and_logs_the_attempts() -> None:
    s = st.new_state("https://x/h", [])
    st.enqueue(s, row("succeeded"), "completed", {}, 0)
    (message,) = st.due(s, 0)
    st.record(s, message, status=None, error="connection refused", now=0, policy=POLICY)
    assert st.due(s, 4.9) == [] and st.due(s, 5) == [message]
    st.record(s, message, status=204, error=None, now=5, policy=POLICY)
    assert s["pending"] == [] and s["done"] is True
    assert [(d["attempt"], d["status"], d["error"]) for d in s["deliveries"]] == [
        (1, None, "connection refused"),
        (2, 204, None),
    ]
    assert s["deliveries"][0]["at"] == "1970-01-01T00:00:00.000Z"


def test_progress_is_throttled_and_coalesced() -> None:
    s = st.new_state("https://x/h", ["progress"])
    step1 = row("in_progress", {"step": 1, "steps": 4, "image": 1, "images": 1})
    step2 = row("in_progress", {"step": 2, "steps": 4, "image": 1, "images": 1})
    assert st.owed(step1, s, 10.0, 1.0) == ["progress"]
    st.enqueue(s, step1, "progress", {"step": 1}, 10.0)
    assert st.owed(step1, s, 20.0, 1.0) == []  # nothing new
    assert st.owed(step2, s, 10.5, 1.0) == []  # too soon
    assert st.next_look(s, step2, 10.5, 30.0, 1.0) == 10.5  # the pending message: due now
    assert st.owed(step2, s, 11.0, 1.0) == ["progress"]
    st.enqueue(s, step2, "progress", {"step": 2}, 11.0)
    assert [m["id"] for m in s["pending"]] == ["r1.progress.1.2"]  # the older one was dropped
    st.enqueue(s, row("succeeded"), "completed", {}, 12.0)
    assert [m["event"] for m in s["pending"]] == ["completed"]


def test_next_look() -> None:
    s = st.new_state("https://x/h", [])
    running = row("in_progress")
    assert st.next_look(s, running, 100.0, 30.0, 1.0) == 130.0  # the periodic re-check
    st.enqueue(s, row("succeeded"), "completed", {}, 100.0)
    (message,) = st.due(s, 100.0)
    st.record(s, message, status=503, error="HTTP 503", now=100.0, policy=POLICY)
    assert st.next_look(s, row("succeeded"), 100.0, 30.0, 1.0) == 105.0  # the retry
    st.record(s, message, status=200, error=None, now=105.0, policy=POLICY)
    assert st.next_look(s, row("succeeded"), 105.0, 30.0, 1.0) is None  # disarm


def test_public_view() -> None:
    s = st.new_state("https://x/h", ["started"])
    st.enqueue(s, row("succeeded"), "completed", {"big": "payload"}, 0)
    view = st.public_view(s)
    assert view == {
        "url": "https://x/h",
        "events": ["started", "completed"],
        "deliveries": [],
        "pending": 1,
    }


def test_jitter_stays_within_bounds() -> None:
    policy = st.RetryPolicy(backoff_s=10, jitter=0.2)
    assert policy.delay(1, rand=lambda: 0.0) == 8.0
    assert policy.delay(1, rand=lambda: 1.0) == 12.0
    assert policy.delay(3, rand=lambda: 0.5) == 40.0
