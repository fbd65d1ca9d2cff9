"""When to retry a call and how long to wait: exponential backoff with full jitter, bounded, and
the server's `Retry-After` honoured on 429 and 503."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Statuses that say "try again later" rather than "your call is wrong".
RETRYABLE_STATUSES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """`max_attempts` counts the first try. The n-th retry waits a random time in
    [0, min(max_delay, base_delay * 2**n)], or the server's Retry-After when it is given (capped
    by `max_retry_after`, so a server cannot park a client for an hour)."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def delay(
        self, retry_index: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * (2**retry_index))
        return (rng or random).uniform(0, ceiling)


NO_RETRY = RetryPolicy(max_attempts=1)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def may_retry_status(status: int, *, replay_safe: bool) -> bool:
    """A 429 means the server accepted nothing, so it is retried for any call; the other
    retryable statuses only for calls that are safe to replay (reads, cancel, keyed submits)."""
    if status == 429:
        return True
    return replay_safe and status in RETRYABLE_STATUSES
