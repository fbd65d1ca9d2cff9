"""Timing helpers shared by the suites."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def time_calls(fn: Callable[[], Any], n: int, warmup: int = 1) -> list[float]:
    """Seconds per call of `fn`, `n` times after `warmup` unmeasured calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def interleaved(
    first: Callable[[], Any], second: Callable[[], Any], n: int
) -> tuple[list[float], list[float]]:
    """Seconds per call of `first` and of `second`, alternating, `n` each: a measured value and
    its baseline see the same machine load drift (a shared CPU's neighbours come and go)."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(n):
        for fn, out in ((first, a), (second, b)):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return a, b
