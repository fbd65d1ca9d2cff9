"""`Prefer: wait=N` (RFC 7240) on submit: hold the answer up to N seconds for the result."""

from __future__ import annotations

MAX_WAIT_S = 60


def prefer_wait(header: str | None) -> int | None:
    """Seconds to wait (capped at MAX_WAIT_S; a bare `wait` is the cap), or None when the header
    asks for no wait. Other
    preferences (`respond-async`, ...) are ignored, as are malformed ones, as RFC 7240 says."""
    if not header:
        return None
    wait: int | None = None
    for item in header.split(","):
        name, equals, value = item.strip().partition("=")
        if name.strip().lower() != "wait":
            continue
        if not equals:  # a bare `wait`, as Replicate takes it: the longest wait
            wait = MAX_WAIT_S
            continue
        value = value.split(";", 1)[0].strip().strip('"')
        if not value.isdigit():
            return None
        wait = min(int(value), MAX_WAIT_S)
    return wait if wait else None
