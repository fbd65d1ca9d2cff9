"""Delivered and run sizes.

The delivered size is exactly what the request asked for: an exact `width x height`, or a
megapixel class (1K/2K/4K = 1024², 2048², 4096² pixels) at the first reference's aspect
ratio (square without references), with both sides rounded to multiples of 16. The backend
runs at the nearest size it supports: both sides multiples of `caps.pixel_multiple`, aspect as
close as possible, pixel count clamped to [min_pixels, max_pixels]; the engine resamples or
upscales the result to the delivered size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from opendream.engine.capabilities import BackendCapabilities
from opendream.engine.types import ReferenceImage, SizeRequest

CLASS_SIDES = {"1K": 1024, "2K": 2048, "4K": 4096}
DEFAULT_CLASS = "2K"  # Seedream's edit default is 2048x2048; used when nothing usable is given
CLASS_MULTIPLE = 16
# References are validated to 1:3..3:1; anything wilder is clamped rather than trusted.
_MAX_ASPECT = 16.0
# How much a pixel-count miss weighs against an aspect miss when choosing the run size.
_PIXEL_WEIGHT = 0.25


@dataclass(frozen=True)
class Size:
    width: int
    height: int
    source: str  # "exact" | "1K" | "2K" | "4K"

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


def delivered_size(request: SizeRequest, references: Sequence[ReferenceImage]) -> Size:
    width, height = request.width, request.height
    if _positive_int(width) and _positive_int(height):
        return Size(int(width), int(height), "exact")  # type: ignore[arg-type]
    label = request.resolution_class if request.resolution_class in CLASS_SIDES else DEFAULT_CLASS
    return _class_size(label, _first_aspect(references))


def run_size(width: int, height: int, caps: BackendCapabilities) -> tuple[int, int]:
    """The supported size nearest to `width x height` (see the module docstring)."""
    multiple = max(1, caps.pixel_multiple)
    low = max(multiple * multiple, caps.min_pixels)
    high = max(low, caps.max_pixels)
    target = min(max(width * height, low), high)
    aspect = width / height
    candidates = _candidates(target, aspect, multiple)
    return min(candidates, key=lambda size: _score(size, target, aspect, low, high))


def _candidates(target: float, aspect: float, multiple: int) -> set[tuple[int, int]]:
    ideal_w = math.sqrt(target * aspect) / multiple
    found: set[tuple[int, int]] = set()
    for w_steps in range(math.floor(ideal_w) - 2, math.ceil(ideal_w) + 3):
        if w_steps < 1:
            continue
        ideal_h = target / (w_steps * multiple) / multiple
        for h_steps in range(math.floor(ideal_h) - 2, math.ceil(ideal_h) + 3):
            if h_steps >= 1:
                found.add((w_steps * multiple, h_steps * multiple))
    return found


def _score(
    size: tuple[int, int], target: float, aspect: float, low: int, high: int
) -> tuple[int, float, int, int]:
    w, h = size
    pixels = w * h
    outside = 0 if low <= pixels <= high else 1
    miss = abs(math.log((w / h) / aspect)) + _PIXEL_WEIGHT * abs(math.log(pixels / target))
    # Ties go to the smaller size, then the narrower one: deterministic.
    return (outside, round(miss, 12), pixels, w)


def _class_size(label: str, aspect: float) -> Size:
    side = CLASS_SIDES[label]
    root = math.sqrt(aspect)
    return Size(
        _round_to(side * root, CLASS_MULTIPLE), _round_to(side / root, CLASS_MULTIPLE), label
    )


def _first_aspect(references: Sequence[ReferenceImage]) -> float:
    if not references or references[0].width <= 0 or references[0].height <= 0:
        return 1.0
    aspect = references[0].width / references[0].height
    return min(max(aspect, 1 / _MAX_ASPECT), _MAX_ASPECT)


def _round_to(value: float, multiple: int) -> int:
    return max(multiple, round(value / multiple) * multiple)


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
