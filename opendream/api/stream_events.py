"""The live-progress events a request's row implies, with ids derived from the row alone.

An event id is `attempt.phase.image.kind.step` (dot-separated integers) and ids sort in the
order events happen: queued (phase 0) < started (1) < progress and images (2) < final (3);
within phase 2, image i's progress steps (kind 0) come before image i itself (kind 1), which
comes before image i+1's steps. Because an id is a function of the row, any API replica can
resume a stream: a client reconnecting with `Last-Event-ID` is sent every event whose id sorts
after it, and images are never skipped. Progress is a state, not a log: only the latest is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opendream.jobs.base import FINISHED, RequestRow

Key = tuple[int, int, int, int, int]
QUEUED, STARTED, RUNNING, FINAL = 0, 1, 2, 3


@dataclass(frozen=True)
class StreamEvent:
    key: Key
    name: str  # queued | started | progress | image | succeeded | failed | cancelled
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return ".".join(str(part) for part in self.key)


def parse_event_id(text: str | None) -> Key | None:
    """The key of a `Last-Event-ID`; None when absent or not one of ours (start over)."""
    if not text:
        return None
    parts = text.strip().split(".")
    if len(parts) != 5 or not all(p.isdigit() and len(p) <= 9 for p in parts):
        return None
    a, b, c, d, e = (int(p) for p in parts)
    return (a, b, c, d, e)


def stored_outputs(row: RequestRow) -> list[str]:
    """Output keys stored so far: all of them once succeeded, else what progress reports (for
    a failed request: the images it made before failing)."""
    if row.status == "succeeded" and row.outputs is not None:
        return list(row.outputs)
    if row.status in ("in_progress", "failed") and row.progress:
        stored = row.progress.get("stored")
        if isinstance(stored, list):
            return [k for k in stored if isinstance(k, str)]
    return []


def events_for(
    row: RequestRow,
    *,
    queue_position: int | None,
    image_url: Callable[[str], str],
    final: Callable[[RequestRow], dict[str, Any]],
) -> list[StreamEvent]:
    """Every event the row's current state implies, in order."""
    a = row.attempts
    events: list[StreamEvent] = []
    if row.status == "in_queue":
        data = {"request_id": row.id, "status": "in_queue", "queue_position": queue_position or 0}
        events.append(StreamEvent((a, QUEUED, 0, 0, 0), "queued", data))
        return events
    if row.started_at is not None:
        data = {"request_id": row.id, "status": "in_progress", "attempt": a}
        events.append(StreamEvent((a, STARTED, 0, 0, 0), "started", data))
    progress = row.progress or {}
    if row.status == "in_progress" and _int(progress.get("step")) is not None:
        image = _int(progress.get("image")) or 1
        step = _int(progress.get("step")) or 0
        data = {
            "request_id": row.id,
            "step": step,
            "steps": progress.get("steps"),
            "image": image,
            "images": progress.get("images"),
        }
        events.append(StreamEvent((a, RUNNING, image, 0, step), "progress", data))
    if not row.expired:
        for index, key in enumerate(stored_outputs(row)):
            data = {"request_id": row.id, "index": index, "url": image_url(key)}
            events.append(StreamEvent((a, RUNNING, index + 1, 1, 0), "image", data))
    if row.status in FINISHED:
        events.append(StreamEvent((a, FINAL, 0, 0, 0), row.status, final(row)))
    events.sort(key=lambda e: e.key)
    return events


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
