"""FLUX.2 [klein] (`Flux2KleinPipeline`): Qwen3 text encoder, text-to-image and multi-reference
editing in one model. The 4B/9B distilled checkpoints run in 4 steps without guidance; the
`-base` checkpoints (config `is_distilled: false`) want ~50 steps with CFG.

The KV variant (FLUX.2-klein-9b-kv, saved as a `Flux2KleinKVPipeline`) is served by the same
backend: it computes the reference images' keys and values on the first step only and reuses them
on the others, ~2x faster with 4 references at 1024x1024 by BFL's measurements. Its call takes no
guidance (it is distilled)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from opendream.engine.backends.base import PipelineCall
from opendream.engine.backends.flux2_base import Flux2Backend
from opendream.engine.capabilities import BackendCapabilities
from opendream.engine.devices import check_device, resolve_dtype_name, torch_dtype
from opendream.engine.errors import EngineLoadError
from opendream.engine.loading import load_pipeline, read_model_index
from opendream.engine.speed import place_and_tune

if TYPE_CHECKING:
    from opendream.engine.config import EngineConfig
    from opendream.engine.rewriter import ChatModel


class Flux2KleinBackend(Flux2Backend):
    name: ClassVar[str] = "flux2-klein"
    # BFL documents up to 4 reference images for klein.
    max_references: ClassVar[int] = 4

    @classmethod
    def load(cls, config: EngineConfig) -> Flux2KleinBackend:
        from diffusers import Flux2KleinKVPipeline, Flux2KleinPipeline

        check_device(config.device)
        dtype = resolve_dtype_name(config.device, config.dtype)
        classes = {c.__name__: c for c in (Flux2KleinPipeline, Flux2KleinKVPipeline)}
        saved_as = _saved_class(config.model_dir)
        pipe = load_pipeline(
            classes.get(saved_as, Flux2KleinPipeline),
            config.model_dir,
            tuple(classes),
            torch_dtype(dtype),
        )
        applied = place_and_tune(pipe, cls.speed_options(config))
        distilled = bool(pipe.config.get("is_distilled", False))
        capabilities = BackendCapabilities(
            name=cls.name,
            max_references=cls.max_references,
            pixel_multiple=pipe.vae_scale_factor * 2,
            min_pixels=cls.min_pixels,
            max_pixels=cls.max_pixels,
            default_steps=4 if distilled else 50,
            default_guidance=1.0 if distilled else 4.0,
            dtype=dtype,
            can_generate_text=_has_lm_head(pipe.text_encoder),
        )
        if isinstance(pipe, Flux2KleinKVPipeline):
            applied = {**applied, "kv_cached_references": True}
        return cls(pipe, capabilities, applied)

    def pipeline_call(self, **kwargs: Any) -> PipelineCall:
        call = super().pipeline_call(**kwargs)
        if self.applied.get("kv_cached_references"):
            call.kwargs.pop("guidance_scale", None)
        return call

    def chat_model(self) -> ChatModel | None:
        from opendream.engine.rewriter import CausalChatModel

        if not self.capabilities.can_generate_text:
            return None
        # Qwen3 chat template; thinking off so the answer is the answer.
        return CausalChatModel(
            self.pipe.text_encoder, self.pipe.tokenizer, template_kwargs={"enable_thinking": False}
        )


def _saved_class(model_dir: Path) -> str | None:
    """The pipeline class the directory was saved as; None when it cannot be read (the load
    that follows says why)."""
    try:
        return read_model_index(model_dir).get("_class_name")
    except EngineLoadError:
        return None


def _has_lm_head(model: Any) -> bool:
    return hasattr(model, "generate") and getattr(model, "lm_head", None) is not None
