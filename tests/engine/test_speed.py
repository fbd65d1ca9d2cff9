"""Speed options are applied to the real pipeline where that is cheap to check on a CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from opendream.engine import Engine, EngineConfig, EngineLoadError
from opendream.engine.speed import SpeedOptions, place_and_tune


@pytest.fixture
def pipe(klein_dir: Path):
    from diffusers import Flux2KleinPipeline

    return Flux2KleinPipeline.from_pretrained(str(klein_dir), local_files_only=True)


def test_nothing_requested_only_places_the_pipeline(pipe):
    assert place_and_tune(pipe, SpeedOptions()) == {"device": "cpu", "cpu_offload": False}
    assert not pipe.vae.use_tiling


def test_vae_tiling(pipe):
    applied = place_and_tune(pipe, SpeedOptions(vae_tiling=True))

    assert applied["vae_tiling"] is True
    assert pipe.vae.use_tiling


def test_attention_backend_reaches_every_attention_processor(pipe):
    from diffusers.models.attention_dispatch import AttentionBackendName

    applied = place_and_tune(pipe, SpeedOptions(attention_backend="_native_math"))

    assert applied["attention_backend"] == "_native_math"
    backends = {
        m.processor._attention_backend
        for m in pipe.transformer.modules()
        if hasattr(getattr(m, "processor", None), "_attention_backend")
    }
    assert backends == {AttentionBackendName("_native_math")}


def test_an_unknown_attention_backend_is_a_load_error(pipe):
    with pytest.raises(EngineLoadError, match="attention_backend 'warp-drive' cannot be used"):
        place_and_tune(pipe, SpeedOptions(attention_backend="warp-drive"))


def test_compile_wraps_the_repeated_blocks_without_compiling_yet(pipe):
    applied = place_and_tune(pipe, SpeedOptions(compile=True))

    assert applied["compile"] == "repeated_blocks"
    blocks = [*pipe.transformer.transformer_blocks, *pipe.transformer.single_transformer_blocks]
    assert all(block._compiled_call_impl is not None for block in blocks)


def test_cpu_offload_is_not_applied_on_the_cpu(pipe):
    assert place_and_tune(pipe, SpeedOptions(cpu_offload=True))["cpu_offload"] is False


def test_the_engine_applies_its_config(klein_dir: Path):
    engine = Engine.load(
        EngineConfig(model_dir=klein_dir, vae_tiling=True, attention_backend="native")
    )

    assert engine.backend.applied["vae_tiling"] is True
    assert engine.backend.applied["attention_backend"] == "native"
    assert engine.backend.pipe.vae.use_tiling
