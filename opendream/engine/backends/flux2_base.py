"""What the FLUX.2 pipelines share: one pipeline object for text-to-image and references, the
same call signature and size limits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from opendream.engine.backends.base import MEGAPIXEL, Backend, PipelineCall
from opendream.engine.capabilities import BackendCapabilities

if TYPE_CHECKING:
    from PIL import Image


class Flux2Backend(Backend):
    max_pixels: ClassVar[int] = 4 * MEGAPIXEL
    min_pixels: ClassVar[int] = 256 * 256
    min_reference_side: ClassVar[int] = 64  # Flux2ImageProcessor.check_image_input

    def __init__(self, pipe: Any, capabilities: BackendCapabilities, applied: dict[str, Any]):
        super().__init__(capabilities, applied)
        self.pipe = pipe

    def pipeline_call(
        self,
        *,
        prompt: str,
        images: list[Image.Image],
        width: int,
        height: int,
        steps: int,
        guidance: float,
        generator: Any,
    ) -> PipelineCall:
        return PipelineCall(
            self.pipe,
            {
                "prompt": prompt,
                "image": list(images) if images else None,
                "width": width,
                "height": height,
                "num_inference_steps": steps,
                "guidance_scale": guidance,
                "generator": generator,
                "output_type": "pil",
            },
        )
