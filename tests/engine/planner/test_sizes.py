from __future__ import annotations

import pytest

from opendream.engine.planner.sizes import delivered_size, run_size
from opendream.engine.types import SizeRequest

from .conftest import make_caps, make_refs


def test_exact_size_is_delivered() -> None:
    size = delivered_size(SizeRequest(2560, 1440), make_refs(1))
    assert (size.width, size.height, size.source) == (2560, 1440, "exact")


@pytest.mark.parametrize(("label", "pixels"), [("1K", 1024**2), ("2K", 2048**2), ("4K", 4096**2)])
def test_class_sizes_follow_first_reference_aspect(label: str, pixels: int) -> None:
    size = delivered_size(SizeRequest(resolution_class=label), make_refs(2, 1200, 800))  # type: ignore[arg-type]
    assert size.width % 16 == 0 and size.height % 16 == 0
    assert abs(size.width / size.height - 1.5) < 0.02
    assert abs(size.width * size.height / pixels - 1) < 0.02


def test_class_without_references_is_square() -> None:
    size = delivered_size(SizeRequest(resolution_class="1K"), ())
    assert (size.width, size.height) == (1024, 1024)


def test_nothing_given_defaults_to_2k() -> None:
    size = delivered_size(SizeRequest(), make_refs(1, 800, 800))
    assert (size.width, size.height, size.source) == (2048, 2048, "2K")


def test_supported_size_runs_unchanged() -> None:
    assert run_size(2560, 1440, make_caps(max_pixels=4 * 1024 * 1024)) == (2560, 1440)


def test_too_large_is_clamped_at_same_aspect() -> None:
    w, h = run_size(4096, 4096, make_caps(max_pixels=2048 * 2048))
    assert (w, h) == (2048, 2048)
    w, h = run_size(5024, 3344, make_caps(max_pixels=2048 * 2048))
    assert w * h <= 2048 * 2048 and w % 16 == 0 and h % 16 == 0
    assert abs(w / h - 5024 / 3344) < 0.01


def test_not_a_multiple_is_rounded() -> None:
    w, h = run_size(1000, 750, make_caps(pixel_multiple=16))
    assert w % 16 == 0 and h % 16 == 0
    assert abs(w / h - 4 / 3) < 0.02
    assert abs(w * h / 750_000 - 1) < 0.05


def test_too_small_is_raised_to_min_pixels() -> None:
    w, h = run_size(64, 64, make_caps(min_pixels=512 * 512))
    assert (w, h) == (512, 512)


def test_odd_capabilities_do_not_break() -> None:
    assert run_size(100, 100, make_caps(pixel_multiple=0, min_pixels=0, max_pixels=0)) == (1, 1)
    w, h = run_size(3000, 1000, make_caps(pixel_multiple=64, max_pixels=1024 * 1024))
    assert w % 64 == 0 and h % 64 == 0 and w * h <= 1024 * 1024
