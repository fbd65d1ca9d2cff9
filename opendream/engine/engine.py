"""`Engine`: load a backend once, then plan requests and turn plans into images.

    engine = Engine.load(EngineConfig(model_dir=Path("models/klein")))
    plan = engine.plan(request)
    result = engine.generate(plan, on_progress=print)

Importing this module does not import torch; loading does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opendream.engine.backends import backend_class
from opendream.engine.config import EngineConfig
from opendream.engine.errors import EngineLoadError, GenerationError
from opendream.engine.references import at_least, decode_reference, describe, references_for
from opendream.engine.types import GenerationRequest, GenerationResult, Plan, Progress

if TYPE_CHECKING:
    from PIL import Image

    from opendream.engine.backends.base import Backend, PipelineCall
    from opendream.engine.capabilities import BackendCapabilities
    from opendream.engine.rewriter import LLMRewriter
    from opendream.engine.types import ImagePlan
    from opendream.engine.upscale import Upscaler

__all__ = ["Engine", "EngineConfig", "EngineLoadError"]

ProgressCallback = Callable[[Progress], None]
ImageCallback = Callable[[int, "Image.Image"], None]


class Engine:
    def __init__(
        self,
        config: EngineConfig,
        backend: Backend,
        upscaler: Upscaler,
        rewriter: LLMRewriter | None,
    ):
        self.config = config
        self.backend = backend
        self.upscaler = upscaler
        self.rewriter = rewriter

    @classmethod
    def load(cls, config: EngineConfig) -> Engine:
        """Load the configured backend. Every failure is an EngineLoadError with one message."""
        from opendream.engine.upscale import load_upscaler

        backend = backend_class(config.backend).load(config)
        upscaler = load_upscaler(config.upscaler_dir, config.device)
        return cls(config, backend, upscaler, _make_rewriter(config, backend))

    @property
    def capabilities(self) -> BackendCapabilities:
        return self.backend.capabilities

    def plan(self, request: GenerationRequest) -> Plan:
        from opendream.engine.planner import make_plan

        plan = make_plan(
            request,
            self.capabilities,
            rewriter=self.rewriter,
            steps=self.config.steps,
            guidance=self.config.guidance,
        )
        if request.optimize == "standard":
            plan.metadata["prompt_rewriter"] = self.rewriter.name if self.rewriter else None
        return plan

    def pipeline_call(
        self, plan: Plan, image_plan: ImagePlan, references: list[Image.Image]
    ) -> PipelineCall:
        """Exactly what `generate` passes to the pipeline for one image (minus the progress
        callback): public so the equivalence with a direct diffusers call can be checked."""
        import torch

        return self.backend.pipeline_call(
            prompt=image_plan.prompt,
            images=references,
            width=plan.run_width,
            height=plan.run_height,
            steps=plan.steps,
            guidance=plan.guidance,
            # A CPU generator: the same seed gives the same noise on every device.
            generator=torch.Generator(device="cpu").manual_seed(image_plan.seed),
        )

    def generate(
        self,
        plan: Plan,
        on_progress: ProgressCallback | None = None,
        on_image: ImageCallback | None = None,
    ) -> GenerationResult:
        """Make every image of the plan, in order. Image k may be conditioned on earlier ones
        (the run-size originals, before any upscaling), so the series is sequential."""
        _check_plan(plan)
        user_images = [decode_reference(r, i) for i, r in enumerate(plan.request.references)]
        generated: list[Image.Image] = []
        delivered: list[Image.Image] = []
        per_image_ms: list[int] = []
        methods: list[str] = []
        total = len(plan.images)
        started = time.perf_counter()
        for position, image_plan in enumerate(plan.images):
            refs = [
                at_least(image, self.backend.min_reference_side)
                for image in references_for(image_plan, user_images, generated)
            ]
            call = self.pipeline_call(plan, image_plan, refs)
            kwargs = dict(call.kwargs)
            if on_progress is not None:
                kwargs["callback_on_step_end"] = _step_callback(
                    on_progress, plan.steps, position + 1, total
                )
            t0 = time.perf_counter()
            output = call.pipeline(**kwargs)
            image = output.images[0]
            generated.append(image)
            result = self.upscaler.deliver(image, plan.width, plan.height)
            per_image_ms.append(round((time.perf_counter() - t0) * 1000))
            methods.append(result.method)
            delivered.append(result.image)
            if on_image is not None:
                on_image(image_plan.index, result.image)
        metadata = {
            **plan.metadata,
            **self._metadata(plan, methods, per_image_ms),
            "inference_ms": round((time.perf_counter() - started) * 1000),
        }
        return GenerationResult(images=delivered, metadata=metadata)

    def _metadata(self, plan: Plan, methods: list[str], per_image_ms: list[int]) -> dict[str, Any]:
        caps = self.capabilities
        upscale: dict[str, Any] = {
            "method": _summary(methods),
            "from": [plan.run_width, plan.run_height],
            "to": [plan.width, plan.height],
        }
        if self.upscaler.note and any(m != "none" for m in methods):
            upscale["note"] = self.upscaler.note
        return {
            "backend": caps.name,
            "dtype": caps.dtype,
            "device": self.config.device,
            "steps": plan.steps,
            "guidance": plan.guidance,
            "seeds": [p.seed for p in plan.images],
            "run_size": [plan.run_width, plan.run_height],
            "delivered_size": [plan.width, plan.height],
            "upscale": upscale,
            "image_references": [[describe(s) for s in p.references] for p in plan.images],
            "per_image_ms": per_image_ms,
        }


def _summary(methods: list[str]) -> str:
    distinct = sorted(set(methods))
    return distinct[0] if len(distinct) == 1 else ",".join(distinct)


def _step_callback(
    on_progress: ProgressCallback, steps: int, image: int, images: int
) -> Callable[..., dict[str, Any]]:
    def callback(_pipe: Any, step: int, _timestep: Any, _tensors: dict[str, Any]) -> dict[str, Any]:
        on_progress(Progress(step=step + 1, steps=steps, image=image, images=images))
        # Returning nothing changed: the pipeline keeps its own latents.
        return {}

    return callback


def _check_plan(plan: Plan) -> None:
    if not plan.images:
        raise GenerationError("the plan has no images")
    if plan.width < 1 or plan.height < 1 or plan.run_width < 1 or plan.run_height < 1:
        raise GenerationError(
            f"plan sizes must be positive (size {plan.width}x{plan.height}, "
            f"run size {plan.run_width}x{plan.run_height})"
        )
    if plan.steps < 1:
        raise GenerationError(f"plan steps must be at least 1, got {plan.steps}")


def _make_rewriter(config: EngineConfig, backend: Backend) -> LLMRewriter | None:
    from opendream.engine.rewriter import LLMRewriter, load_prompt_llm

    chat = backend.chat_model()
    if chat is None and config.prompt_llm_dir is not None:
        from opendream.engine.devices import resolve_dtype_name, torch_dtype

        dtype = torch_dtype(resolve_dtype_name(config.device, config.dtype))
        chat = load_prompt_llm(config.prompt_llm_dir, config.device, dtype)
    return LLMRewriter(chat) if chat is not None else None
