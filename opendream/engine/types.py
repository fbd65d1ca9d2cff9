"""The engine's public vocabulary: plain dataclasses, importable without torch.

`catalog` builds a `GenerationRequest` from a validated model input; the planner turns it into a
`Plan`; `Engine.generate(plan, on_progress)` turns the plan into images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["sequential", "edit", "edit-sequential"]
OptimizeMode = Literal["fast", "standard"]
ResolutionClass = Literal["1K", "2K", "4K"]


@dataclass(frozen=True)
class SizeRequest:
    """What the client asked for: an exact size, or a megapixel class at the first reference's
    aspect ratio (edit `resolution` of `1K`/`2K`/`4K`)."""

    width: int | None = None
    height: int | None = None
    resolution_class: ResolutionClass | None = None


@dataclass(frozen=True)
class ReferenceImage:
    """A validated reference: the original bytes (png or jpeg) and its oriented pixel size."""

    data: bytes
    width: int
    height: int
    format: Literal["png", "jpeg"]


@dataclass(frozen=True)
class GenerationRequest:
    mode: Mode
    prompt: str
    references: tuple[ReferenceImage, ...] = ()
    size: SizeRequest = field(default_factory=SizeRequest)
    # The schema's `sequential_image_generation_options`; 1 for `edit`.
    max_images: int = 1
    seed: int | None = None
    optimize: OptimizeMode = "fast"


@dataclass(frozen=True)
class RefSource:
    """Where one conditioning image of one generated image comes from."""

    kind: Literal["user", "generated", "contact_sheet"]
    # user: index into request.references; generated: index of an earlier output image;
    # contact_sheet: indices into request.references combined into one image.
    indices: tuple[int, ...]


@dataclass(frozen=True)
class ImagePlan:
    index: int
    prompt: str
    seed: int
    references: tuple[RefSource, ...] = ()


@dataclass(frozen=True)
class Plan:
    request: GenerationRequest
    images: tuple[ImagePlan, ...]
    # Delivered size (exactly what the request asked for).
    width: int
    height: int
    # Size the backend runs at (nearest supported); upscaled/resampled to width x height after.
    run_width: int
    run_height: int
    steps: int
    guidance: float
    seed: int
    # JSON-serialisable facts for the result's metadata: count {requested, stated, produced, why},
    # prompts, optimize {mode, used, fallback_reason}, sizes, ...
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Progress:
    step: int  # 1-based step within the current image
    steps: int
    image: int  # 1-based index of the image being generated
    images: int


@dataclass
class GenerationResult:
    images: list[Any]  # PIL.Image.Image, each exactly plan.width x plan.height
    metadata: dict[str, Any] = field(default_factory=dict)
