"""Live-progress events from a row alone: order, ids, and what a resumed stream gets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from opendream.api.stream_events import events_for, parse_event_id
from opendream.jobs.base import RequestRow

T = datetime(2025, 1, 1, tzinfo=UTC)


def row(status: str, attempts: int = 1, **kw: Any) -> RequestRow:
    return RequestRow(
        id="r",
        owner="k",
        model_id="m",
        status=status,  # type: ignore[arg-type]
        input={},
        input_blobs=[],
        created_at=T,
        started_at=T if attempts else None,
        attempts=attempts,
        **kw,
    )


def names(r: RequestRow, position: int | None = None) -> list[tuple[str, str]]:
    evs = events_for(
        r, queue_position=position, image_url=lambda k: "u/" + k, final=lambda x: {"s": x.status}
    )
    return [(e.name, e.id) for e in evs]


def test_queued() -> None:
    evs = events_for(
        row("in_queue", attempts=0),
        queue_position=3,
        image_url=str,
        final=lambda r: {},
    )
    assert [(e.name, e.id, e.data["queue_position"]) for e in evs] == [("queued", "0.0.0.0.0", 3)]


def test_running_with_one_image_stored() -> None:
    progress = {"step": 3, "steps": 4, "image": 2, "images": 3, "stored": ["k0"]}
    assert names(row("in_progress", progress=progress)) == [
        ("started", "1.1.0.0.0"),
        ("image", "1.2.1.1.0"),
        ("progress", "1.2.2.0.3"),
    ]


def test_succeeded_sends_every_image_then_the_result() -> None:
    r = row("succeeded", outputs=["k0", "k1"], progress={"step": 4, "image": 2, "stored": ["k0"]})
    assert names(r) == [
        ("started", "1.1.0.0.0"),
        ("image", "1.2.1.1.0"),
        ("image", "1.2.2.1.0"),
        ("succeeded", "1.3.0.0.0"),
    ]
    evs = events_for(r, queue_position=None, image_url=lambda k: "u/" + k, final=lambda x: {})
    assert evs[2].data == {"request_id": "r", "index": 1, "url": "u/k1"}


def test_expired_and_cancelled() -> None:
    assert names(row("succeeded", outputs=["k0"], expired=True)) == [
        ("started", "1.1.0.0.0"),
        ("succeeded", "1.3.0.0.0"),
    ]
    assert names(row("cancelled", attempts=0)) == [("cancelled", "0.3.0.0.0")]


def test_a_retried_attempt_sorts_after_the_first() -> None:
    first = [
        parse_event_id(i)
        for _, i in names(
            row("in_progress", attempts=1, progress={"step": 4, "image": 3, "stored": ["a", "b"]})
        )
    ]
    second = [
        parse_event_id(i)
        for _, i in names(row("in_progress", attempts=2, progress={"step": 1, "image": 1}))
    ]
    assert max(first) < min(second)  # type: ignore[type-var]


def test_parse_event_id() -> None:
    assert parse_event_id("1.2.3.4.5") == (1, 2, 3, 4, 5)
    for bad in (None, "", "1.2.3", "a.b.c.d.e", "1.2.3.4.-5", "1.2.3.4.99999999999"):
        assert parse_event_id(bad) is None


def test_a_failed_request_still_shows_what_it_made() -> None:
    r = row("failed", progress={"step": 2, "image": 2, "stored": ["k0"]}, error="boom")
    assert names(r) == [("started", "1.1.0.0.0"), ("image", "1.2.1.1.0"), ("failed", "1.3.0.0.0")]
