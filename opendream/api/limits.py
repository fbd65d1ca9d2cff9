"""Per-key limits on submissions: requests per minute and requests waiting in the queue.

Both are counted in the request table, so every API replica of a fleet sees the same numbers.
Counting and inserting are not one transaction: two submits racing at the limit can both pass.
That overshoot is bounded by the number of concurrent submits and harmless for a quota.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from opendream.api.errors import RATE_LIMITED, ApiError
from opendream.jobs.base import RequestStore

WINDOW_S = 60
QUEUE_RETRY_AFTER_S = 10


async def check_limits(
    store: RequestStore, owner: str, *, per_minute: int, max_queued: int
) -> None:
    """Raises 429/429001 with `Retry-After` (seconds) when `owner` is over a limit; a limit <= 0
    is off."""
    now = datetime.now(UTC)
    if per_minute > 0:
        since = now - timedelta(seconds=WINDOW_S)
        recent = await store.count_recent(owner, since)
        if recent >= per_minute:
            retry = await _rate_retry_after(store, owner, per_minute, now)
            raise ApiError(
                429,
                RATE_LIMITED,
                f"Rate limit: at most {per_minute} requests per minute per key; "
                f"retry in {retry} s.",
                detail={"limit": "requests_per_minute", "max": per_minute, "current": recent},
                headers={"Retry-After": str(retry)},
            )
    if max_queued > 0:
        queued = await store.count_queued(owner)
        if queued >= max_queued:
            raise ApiError(
                429,
                RATE_LIMITED,
                f"Queue limit: at most {max_queued} queued requests per key; wait for some to "
                "start or cancel them.",
                detail={"limit": "queued_requests", "max": max_queued, "current": queued},
                headers={"Retry-After": str(QUEUE_RETRY_AFTER_S)},
            )


async def _rate_retry_after(store: RequestStore, owner: str, per_minute: int, now: datetime) -> int:
    """Seconds until the window holds fewer than `per_minute` requests: when the per_minute-th
    newest request leaves it."""
    rows = await store.list_for_owner(owner, limit=per_minute)
    times = sorted((_aware(r.created_at) for r in rows), reverse=True)
    if len(times) < per_minute:
        return WINDOW_S
    leaves_at = times[per_minute - 1] + timedelta(seconds=WINDOW_S)
    return max(1, min(WINDOW_S, math.ceil((leaves_at - now).total_seconds())))


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)
