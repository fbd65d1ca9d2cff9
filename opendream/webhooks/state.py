"""The delivery state of one request's webhook, as kept in `extra["webhook"]` (plain JSON):

    {"url": ..., "events": ["started", "completed"],
     "enqueued": ["started"],                 # events already turned into messages
     "progress": {"sig": [image, step, stored], "at": 1757...},  # the last progress message
     "pending": [{"id", "event", "payload", "attempt", "first_at", "next_at"}],
     "deliveries": [{"id", "event", "attempt", "status", "at", "error"}],  # newest last, capped
     "done": false}

Which events a row owes is computed from the row itself, so a loop that crashed mid-way (or a
notification that never came) loses nothing: the next look finds the same debt. Message ids are
derived from the request and the event, so a repeated delivery carries the same `webhook-id` and
receivers can drop duplicates. Times are Unix seconds.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opendream.jobs.base import FINISHED, RequestRow

EVENTS = ("started", "progress", "completed")
MAX_LOG = 50


@dataclass(frozen=True)
class RetryPolicy:
    backoff_s: float = 5.0  # the first retry's delay; doubles per attempt
    backoff_max_s: float = 900.0
    window_s: float = 2 * 3600.0  # no retries once this long has passed since the first try
    jitter: float = 0.2  # +-20 %, so a recovering receiver is not hit by every retry at once

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds before retry number `attempt` (1 = the first retry)."""
        base = min(self.backoff_s * 2 ** max(0, attempt - 1), self.backoff_max_s)
        return base * (1 + self.jitter * (2 * rand() - 1))


def new_state(url: str, events: list[str]) -> dict[str, Any]:
    """`completed` is always delivered; the other events only when chosen."""
    chosen = {*events, "completed"}
    return {
        "url": url,
        "events": [e for e in EVENTS if e in chosen],
        "enqueued": [],
        "progress": None,
        "pending": [],
        "deliveries": [],
        "done": False,
    }


def owed(row: RequestRow, state: dict[str, Any], now: float, progress_every_s: float) -> list[str]:
    """The events the row's state calls for that have no message yet, in order."""
    if state.get("done"):
        return []
    events, enqueued = state["events"], state["enqueued"]
    debt: list[str] = []
    if "started" in events and "started" not in enqueued and row.started_at is not None:
        debt.append("started")
    if "progress" in events and row.status == "in_progress":
        sig = progress_signature(row)
        last = state.get("progress") or {}
        fresh = sig is not None and sig != last.get("sig")
        if fresh and now - float(last.get("at", 0.0)) >= progress_every_s:
            debt.append("progress")
    if row.status in FINISHED and "completed" not in enqueued:
        debt.append("completed")
    return debt


def progress_signature(row: RequestRow) -> list[int] | None:
    p = row.progress or {}
    step, image = p.get("step"), p.get("image")
    if not isinstance(step, int) or not isinstance(image, int):
        return None
    stored = p.get("stored")
    return [image, step, len(stored) if isinstance(stored, list) else 0]


def message_id(request_id: str, event: str, row: RequestRow) -> str:
    if event == "progress":
        sig = progress_signature(row) or [0, 0, 0]
        return f"{request_id}.progress.{sig[0]}.{sig[1]}"
    return f"{request_id}.{event}"


def enqueue(state: dict[str, Any], row: RequestRow, event: str, payload: Any, now: float) -> None:
    pending = state["pending"]
    if event in ("progress", "completed"):
        # Progress is a state: a newer one (or the end) makes an undelivered one pointless.
        pending[:] = [m for m in pending if m["event"] != "progress"]
    if event == "progress":
        state["progress"] = {"sig": progress_signature(row), "at": now}
    else:
        state["enqueued"].append(event)
    pending.append(
        {
            "id": message_id(row.id, event, row),
            "event": event,
            "payload": payload,
            "attempt": 0,
            "first_at": None,
            "next_at": now,
        }
    )


def due(state: dict[str, Any], now: float) -> list[dict[str, Any]]:
    return sorted((m for m in state["pending"] if m["next_at"] <= now), key=lambda m: m["next_at"])


def record(
    state: dict[str, Any],
    message: dict[str, Any],
    *,
    status: int | None,
    error: str | None,
    now: float,
    policy: RetryPolicy,
) -> None:
    """Logs one attempt at `message`, then drops it (delivered, or out of retries) or schedules
    its next try."""
    message["attempt"] += 1
    if message["first_at"] is None:
        message["first_at"] = now
    delivered = status is not None and 200 <= status < 300 and error is None
    entry: dict[str, Any] = {
        "id": message["id"],
        "event": message["event"],
        "attempt": message["attempt"],
        "status": status,
        "at": _iso(now),
        "error": error,
    }
    if delivered:
        _drop(state, message)
    elif now - message["first_at"] >= policy.window_s:
        entry["gave_up"] = True
        _drop(state, message)
    else:
        message["next_at"] = now + policy.delay(message["attempt"])
        entry["next_at"] = _iso(message["next_at"])
    log = state["deliveries"]
    log.append(entry)
    del log[:-MAX_LOG]
    state["done"] = "completed" in state["enqueued"] and not state["pending"]


def next_look(
    state: dict[str, Any], row: RequestRow, now: float, recheck_s: float, progress_every_s: float
) -> float | None:
    """When a loop should look at the row again; None once everything is delivered (or given
    up): the row is then disarmed. An unfinished request is looked at every `recheck_s` even
    without news, for the changes no notification reported."""
    if state.get("done"):
        return None
    times = [m["next_at"] for m in state["pending"]]
    if row.status not in FINISHED or "completed" not in state["enqueued"]:
        times.append(now + recheck_s)
        last = state.get("progress") or {}
        if "progress" in state["events"] and row.status == "in_progress" and last:
            times.append(float(last["at"]) + progress_every_s)
    return max(now, min(times)) if times else None


def public_view(state: dict[str, Any]) -> dict[str, Any]:
    """What a result shows of its webhook: where, which events, every attempt so far."""
    return {
        "url": state.get("url"),
        "events": state.get("events", []),
        "deliveries": [dict(d) for d in state.get("deliveries", [])],
        "pending": len(state.get("pending", [])),
    }


def _drop(state: dict[str, Any], message: dict[str, Any]) -> None:
    state["pending"][:] = [m for m in state["pending"] if m["id"] != message["id"]]


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
