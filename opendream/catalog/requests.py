"""How a validated model input becomes the engine's `GenerationRequest`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, cast

from opendream.catalog.models import get_model
from opendream.engine.types import (
    GenerationRequest,
    OptimizeMode,
    ReferenceImage,
    ResolutionClass,
    SizeRequest,
)

# "2560:1440 (16:9)" (sequential models) and "2560x1440 (16:9)" (edit): the pixel size is W x H.
_EXACT_SIZE = re.compile(r"^\s*(\d+)\s*[:x]\s*(\d+)\b")
_RESOLUTION_CLASSES = ("1K", "2K", "4K")


def parse_size(value: str) -> SizeRequest:
    """Raises ValueError for a string that is neither a class nor `W:H`/`WxH`."""
    if value in _RESOLUTION_CLASSES:
        return SizeRequest(resolution_class=cast(ResolutionClass, value))
    match = _EXACT_SIZE.match(value)
    if not match:
        raise ValueError(f"not a size: {value!r}")
    return SizeRequest(width=int(match.group(1)), height=int(match.group(2)))


def to_generation_request(
    model_id: str, clean_input: dict[str, Any], references: Sequence[ReferenceImage] = ()
) -> GenerationRequest:
    """`clean_input` is the first value `validate_input` returned (defaults applied);
    `references` are the fetched `images`, in order."""
    spec = get_model(model_id)
    size_value = clean_input.get(spec.size_field)
    size = parse_size(size_value) if isinstance(size_value, str) else SizeRequest()
    # edit makes one image; `disabled` is the official API's "no series".
    if spec.mode == "edit" or clean_input.get("sequential_image_generation") == "disabled":
        max_images = 1
    else:
        max_images = int(clean_input.get("sequential_image_generation_options", 3))
    seed = clean_input.get("seed")
    return GenerationRequest(
        mode=spec.mode,
        prompt=str(clean_input.get(spec.prompt_field, "")),
        references=tuple(references),
        size=size,
        max_images=max_images,
        # -1 is the official API's "random"; the engine draws one when given None.
        seed=None if seed is None or seed == -1 else int(seed),
        optimize=cast(OptimizeMode, clean_input.get("optimize_prompt_options", "fast")),
    )


def delivered_pixels(size_value: str, references: Sequence[Any]) -> tuple[int, int]:
    """The exact pixel size a size string delivers: `WxH` as given, or a `1K`/`2K`/`4K` class at
    the first reference's aspect ratio — the engine's own rule, so the doors that must name the
    size before generating (Ark, OpenAI) agree with what is delivered. `references` need only
    `width` and `height`."""
    from opendream.engine.planner.sizes import delivered_size

    size = delivered_size(parse_size(size_value), references)
    return size.width, size.height
