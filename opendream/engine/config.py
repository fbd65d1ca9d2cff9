"""What the engine is told to load and how: one plain dataclass, filled from Settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opendream.engine.errors import EngineLoadError

BACKENDS = ("flux2-klein", "flux2-dev", "qwen-image")


@dataclass(kw_only=True)
class EngineConfig:
    backend: str = "flux2-klein"
    model_dir: Path
    # qwen-image only: the Qwen-Image-Edit-Plus directory used when a call has references.
    edit_model_dir: Path | None = None
    device: str = "cpu"
    dtype: str | None = None  # "bf16" | "fp16" | "fp32"; None: bf16 on an accelerator, fp32 on CPU
    compile: bool = False
    attention_backend: str | None = None
    cpu_offload: bool = False
    vae_tiling: bool = False
    # Override the backend's default steps / guidance for every plan.
    steps: int | None = None
    guidance: float | None = None
    upscaler_dir: Path | None = None
    prompt_llm_dir: Path | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> EngineConfig:
        """From `opendream.config.Settings` (or anything with the same attribute names)."""
        if getattr(settings, "model_dir", None) is None:
            raise EngineLoadError(
                "no model directory is configured: set --model-dir or OPENDREAM_MODEL_DIR "
                "(for a quick start build a tiny one: `opendream models make-tiny DIR`)"
            )
        names = [f for f in cls.__dataclass_fields__ if hasattr(settings, f)]
        return cls(**{name: getattr(settings, name) for name in names})
