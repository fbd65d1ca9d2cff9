"""Qwen-Image: the full backend needs torchvision; the text-to-image half of the tiny model
does not, so its configuration is exercised here either way."""

from __future__ import annotations

from pathlib import Path

import pytest

from opendream.engine import EngineLoadError
from opendream.engine.backends.qwen_image import (
    NEGATIVE_PROMPT,
    build_tiny_qwen_t2i,
    torchvision_missing_message,
)

MISSING = torchvision_missing_message()


def test_the_tiny_text_to_image_half_runs_with_true_cfg(tmp_path: Path, one_torch_thread: None):
    import torch
    from diffusers import QwenImagePipeline

    build_tiny_qwen_t2i(tmp_path)
    pipe = QwenImagePipeline.from_pretrained(str(tmp_path), local_files_only=True)
    pipe.set_progress_bar_config(disable=True)

    image = pipe(
        prompt="a fox in the snow",
        negative_prompt=NEGATIVE_PROMPT,
        true_cfg_scale=4.0,
        width=256,
        height=192,
        num_inference_steps=2,
        generator=torch.Generator("cpu").manual_seed(0),
    ).images[0]

    assert pipe.vae_scale_factor == 8  # the real x8 geometry
    assert image.size == (256, 192)


@pytest.mark.skipif(MISSING is None, reason="torchvision is installed here")
def test_make_tiny_says_torchvision_is_needed(tmp_path: Path):
    from opendream.engine.tiny import make_tiny

    with pytest.raises(EngineLoadError, match=r"^qwen-image needs torchvision"):
        make_tiny(tmp_path, "qwen-image")


@pytest.mark.skipif(MISSING is not None, reason=MISSING or "")
def test_the_backend_generates_and_edits(tmp_path: Path, one_torch_thread: None):
    from opendream.engine import Engine, EngineConfig, ImagePlan, Plan, RefSource
    from opendream.engine.tiny import make_tiny
    from opendream.engine.types import GenerationRequest
    from tests.engine.images import reference

    engine = Engine.load(
        EngineConfig(backend="qwen-image", model_dir=make_tiny(tmp_path, "qwen-image"))
    )
    request = GenerationRequest(mode="edit", prompt="x", references=(reference(96, 64, (1, 2, 3)),))
    plan = Plan(
        request=request,
        images=(
            ImagePlan(0, "make it red", 1, (RefSource("user", (0,)),)),
            ImagePlan(1, "a cat", 2),
        ),
        width=128,
        height=96,
        run_width=128,
        run_height=96,
        steps=2,
        guidance=4.0,
        seed=1,
    )

    result = engine.generate(plan)

    assert [im.size for im in result.images] == [(128, 96), (128, 96)]
    assert engine.capabilities.max_references == 3
