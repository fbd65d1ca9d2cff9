"""The backend interface: a loaded diffusers pipeline (or two) and how to call it for one image."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from opendream.engine.capabilities import BackendCapabilities
from opendream.engine.speed import SpeedOptions

if TYPE_CHECKING:
    from PIL import Image

    from opendream.engine.config import EngineConfig
    from opendream.engine.rewriter import ChatModel

MEGAPIXEL = 1024 * 1024


@dataclass(frozen=True)
class PipelineCall:
    """One pipeline invocation: which pipeline object, and the keyword arguments it gets.

    The engine adds only `callback_on_step_end` (which observes and never changes a tensor), so
    calling `pipeline(**kwargs)` yourself reproduces the engine's image bit for bit.
    """

    pipeline: Any
    kwargs: dict[str, Any] = field(default_factory=dict)


class Backend(ABC):
    name: ClassVar[str]
    # References smaller than this (either side) are enlarged before the call.
    min_reference_side: ClassVar[int] = 1

    def __init__(self, capabilities: BackendCapabilities, applied: dict[str, Any]):
        self.capabilities = capabilities
        # What placement/speed options were actually applied (reported in metadata).
        self.applied = applied

    @classmethod
    @abstractmethod
    def load(cls, config: EngineConfig) -> Backend:
        """Load from config.model_dir (raise EngineLoadError with one clear message)."""

    @abstractmethod
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
        """The call that makes one image of width x height (a supported run size)."""

    def chat_model(self) -> ChatModel | None:
        """The backend's own text encoder as a chat model, when it has a language-model head."""
        return None

    @staticmethod
    def speed_options(config: EngineConfig) -> SpeedOptions:
        return SpeedOptions(
            device=config.device,
            compile=config.compile,
            attention_backend=config.attention_backend,
            cpu_offload=config.cpu_offload,
            vae_tiling=config.vae_tiling,
        )
