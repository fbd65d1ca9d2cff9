from __future__ import annotations

import pytest

from opendream.engine.capabilities import BackendCapabilities
from opendream.engine.types import ReferenceImage


def make_caps(**overrides: object) -> BackendCapabilities:
    values: dict[str, object] = {
        "name": "flux2-klein",
        "max_references": 4,
        "pixel_multiple": 16,
        "min_pixels": 256 * 256,
        "max_pixels": 2048 * 2048,
        "default_steps": 4,
        "default_guidance": 1.0,
        "dtype": "bf16",
        "can_generate_text": False,
    }
    values.update(overrides)
    return BackendCapabilities(**values)  # type: ignore[arg-type]


def make_refs(count: int, width: int = 1200, height: int = 800) -> tuple[ReferenceImage, ...]:
    return tuple(ReferenceImage(b"img%d" % i, width, height, "png") for i in range(count))


@pytest.fixture
def caps() -> BackendCapabilities:
    return make_caps()
