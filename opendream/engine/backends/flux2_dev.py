"""FLUX.2 [dev] (`Flux2Pipeline`): Mistral 3 vision-language text encoder, guidance-distilled
(embedded guidance, no CFG pass), more references than klein, built-in prompt upsampling."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from opendream.engine.backends.flux2_base import Flux2Backend
from opendream.engine.capabilities import BackendCapabilities
from opendream.engine.devices import check_device, resolve_dtype_name, torch_dtype
from opendream.engine.errors import EngineLoadError
from opendream.engine.loading import load_pipeline, read_model_index
from opendream.engine.speed import place_and_tune

if TYPE_CHECKING:
    from opendream.engine.config import EngineConfig
    from opendream.engine.rewriter import ChatModel


class Flux2DevBackend(Flux2Backend):
    # Its built-in prompt upsampling (`caption_upsample_temperature`) is not used: in standard
    # mode the planner's rewriter has already rewritten the prompt and recorded it.
    name: ClassVar[str] = "flux2-dev"
    # BFL: up to 10 reference images for FLUX.2 [dev].
    max_references: ClassVar[int] = 10

    @classmethod
    def load(cls, config: EngineConfig) -> Flux2DevBackend:
        from diffusers import Flux2Pipeline

        check_device(config.device)
        dtype = resolve_dtype_name(config.device, config.dtype)
        _check_processor(config.model_dir)
        pipe = load_pipeline(
            Flux2Pipeline, config.model_dir, ("Flux2Pipeline",), torch_dtype(dtype)
        )
        applied = place_and_tune(pipe, cls.speed_options(config))
        capabilities = BackendCapabilities(
            name=cls.name,
            max_references=cls.max_references,
            pixel_multiple=pipe.vae_scale_factor * 2,
            min_pixels=cls.min_pixels,
            max_pixels=cls.max_pixels,
            default_steps=50,
            default_guidance=4.0,
            dtype=dtype,
            can_generate_text=hasattr(pipe.text_encoder, "generate"),
        )
        return cls(pipe, capabilities, applied)

    def chat_model(self) -> ChatModel | None:
        from opendream.engine.rewriter import ProcessorChatModel

        if not self.capabilities.can_generate_text:
            return None
        return ProcessorChatModel(self.pipe.text_encoder, self.pipe.tokenizer)


def _check_processor(model_dir: Path) -> None:
    """The released checkpoint's `tokenizer` folder is a PixtralProcessor, which transformers
    refuses to build without torchvision; say so up front instead of deep inside loading."""
    index = read_model_index(model_dir)
    entry = index.get("tokenizer")
    uses_processor = isinstance(entry, list) and len(entry) == 2 and "Processor" in str(entry[1])
    if uses_processor and importlib.util.find_spec("torchvision") is None:
        raise EngineLoadError(
            f"flux2-dev needs torchvision: {model_dir}/tokenizer is a {entry[1]}, which "
            "transformers only loads with torchvision installed (install the torchvision build "
            "that matches your torch)"
        )
