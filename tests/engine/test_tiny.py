"""make_tiny: real classes, real geometry, reproducible, idempotent, loadable offline."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from opendream.engine.tiny import make_tiny


def digests(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_klein_uses_the_real_classes(klein_dir: Path):
    index = json.loads((klein_dir / "model_index.json").read_text())

    assert index["_class_name"] == "Flux2KleinPipeline"
    assert index["transformer"] == ["diffusers", "Flux2Transformer2DModel"]
    assert index["vae"] == ["diffusers", "AutoencoderKLFlux2"]
    assert index["text_encoder"] == ["transformers", "Qwen3ForCausalLM"]
    assert index["scheduler"] == ["diffusers", "FlowMatchEulerDiscreteScheduler"]
    assert index["is_distilled"] is True


def test_dev_uses_the_real_model_classes(dev_dir: Path):
    index = json.loads((dev_dir / "model_index.json").read_text())

    assert index["_class_name"] == "Flux2Pipeline"
    assert index["text_encoder"] == ["transformers", "Mistral3ForConditionalGeneration"]
    assert index["transformer"] == ["diffusers", "Flux2Transformer2DModel"]


def test_the_real_downsampling_geometry_is_kept(klein_engine):
    pipe = klein_engine.backend.pipe

    assert len(pipe.vae.config.block_out_channels) == 4  # x8, like FLUX.2's VAE
    assert pipe.vae_scale_factor == 8
    assert klein_engine.capabilities.pixel_multiple == 16  # x8 VAE, 2x2 patches
    assert pipe.transformer.config.in_channels == 4 * pipe.vae.config.latent_channels


def test_a_second_call_leaves_the_directory_alone(klein_dir: Path):
    before = {p: p.stat().st_mtime_ns for p in klein_dir.rglob("*") if p.is_file()}

    assert make_tiny(klein_dir, "flux2-klein") == klein_dir

    assert {p: p.stat().st_mtime_ns for p in klein_dir.rglob("*") if p.is_file()} == before


def test_two_builds_are_byte_identical(klein_dir: Path, tmp_path: Path):
    again = make_tiny(tmp_path / "again", "flux2-klein")

    assert digests(again) == digests(klein_dir)


def test_an_unknown_family_is_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="flux2-klein, flux2-klein-kv, flux2-dev, qwen-image"):
        make_tiny(tmp_path, "sdxl")
