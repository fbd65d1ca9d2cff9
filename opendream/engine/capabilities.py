"""What a backend can do; the planner plans within it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BackendCapabilities:
    name: str  # "flux2-klein", "flux2-dev", "qwen-image"
    max_references: int  # conditioning images one pipeline call accepts
    pixel_multiple: int  # run sizes are multiples of this (VAE factor x patch size)
    min_pixels: int
    max_pixels: int  # above this the delivered size comes from the upscaler stage
    default_steps: int
    default_guidance: float
    dtype: str  # "bf16" | "fp16" | "fp32", as loaded
    can_generate_text: bool  # its text encoder can rewrite prompts (standard optimize mode)
