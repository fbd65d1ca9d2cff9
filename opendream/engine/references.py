"""Turning an ImagePlan's reference sources into the exact list of PIL images a pipeline gets."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from opendream.engine.contact_sheet import contact_sheet
from opendream.engine.errors import GenerationError
from opendream.engine.types import ImagePlan, ReferenceImage, RefSource

if TYPE_CHECKING:
    from PIL import Image


def decode_reference(reference: ReferenceImage, index: int = 0) -> Image.Image:
    """Bytes -> RGB image, upright: EXIF orientation is applied, as every viewer would show it."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(reference.data)) as opened:
            upright = ImageOps.exif_transpose(opened)
            return upright.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise GenerationError(f"reference image {index} could not be decoded: {e}") from None


def resolve_source(
    source: RefSource, user_images: Sequence[Image.Image], generated: Sequence[Image.Image]
) -> Image.Image:
    if source.kind == "user":
        (index,) = _check(source, len(user_images), "user reference")
        return user_images[index]
    if source.kind == "generated":
        (index,) = _check(source, len(generated), "generated image")
        return generated[index]
    if source.kind == "contact_sheet":
        if not source.indices:
            raise GenerationError("a contact-sheet reference lists no images")
        for i in source.indices:
            _check(RefSource("user", (i,)), len(user_images), "user reference")
        return contact_sheet([user_images[i] for i in source.indices])
    raise GenerationError(f"unknown reference kind {source.kind!r}")


def _check(source: RefSource, available: int, what: str) -> tuple[int, ...]:
    if len(source.indices) != 1:
        raise GenerationError(
            f"a {source.kind} reference names exactly one index, got {source.indices}"
        )
    index = source.indices[0]
    if not 0 <= index < available:
        raise GenerationError(f"plan refers to {what} {index}, but only {available} exist")
    return source.indices


def references_for(
    image_plan: ImagePlan, user_images: Sequence[Image.Image], generated: Sequence[Image.Image]
) -> list[Image.Image]:
    """The conditioning images of one planned image, in the plan's order."""
    return [resolve_source(s, user_images, generated) for s in image_plan.references]


def at_least(image: Image.Image, min_side: int) -> Image.Image:
    """Enlarge (aspect kept) so both sides are at least `min_side`: FLUX.2 rejects references
    under 64 px, while Seedream accepts them from 15 px."""
    from PIL import Image

    short = min(image.size)
    if short >= min_side:
        return image
    scale = min_side / short
    size = (
        max(min_side, math.ceil(image.width * scale)),
        max(min_side, math.ceil(image.height * scale)),
    )
    return image.resize(size, Image.Resampling.LANCZOS)


def describe(source: RefSource) -> str:
    """A short, JSON-friendly label for metadata: "user:0", "generated:1", "sheet:2,3,4"."""
    prefix = {"user": "user", "generated": "generated", "contact_sheet": "sheet"}[source.kind]
    return prefix + ":" + ",".join(str(i) for i in source.indices)
