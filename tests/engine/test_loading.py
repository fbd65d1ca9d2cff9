"""Engine.load: one clear EngineLoadError naming what is wrong, never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from opendream.engine import Engine, EngineConfig, EngineLoadError


@pytest.fixture
def broken(klein_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny klein model for a test to damage."""
    return Path(shutil.copytree(klein_dir, tmp_path / "model"))


def load_error(**config: object) -> str:
    with pytest.raises(EngineLoadError) as caught:
        Engine.load(EngineConfig(**config))  # type: ignore[arg-type]
    return str(caught.value)


def test_a_missing_directory_is_named(tmp_path: Path):
    assert (
        load_error(model_dir=tmp_path / "nope")
        == f"model directory {tmp_path / 'nope'} does not exist"
    )


def test_a_directory_without_model_index(tmp_path: Path):
    message = load_error(model_dir=tmp_path)

    assert "has no model_index.json" in message and "make-tiny" in message


def test_invalid_model_index(broken: Path):
    (broken / "model_index.json").write_text("{not json")

    assert "model_index.json is not valid JSON" in load_error(model_dir=broken)


def test_missing_component_folders_are_all_named(broken: Path):
    shutil.rmtree(broken / "vae")
    shutil.rmtree(broken / "text_encoder")

    message = load_error(model_dir=broken)

    assert "is incomplete" in message
    assert "vae/ (the AutoencoderKLFlux2 folder) is missing" in message
    assert "text_encoder/ (the Qwen3ForCausalLM folder) is missing" in message


def test_missing_weights(broken: Path):
    (broken / "transformer" / "diffusion_pytorch_model.safetensors").unlink()

    assert "transformer/ has no weights" in load_error(model_dir=broken)


def test_missing_shards_named_by_an_index(broken: Path):
    weights = broken / "transformer" / "diffusion_pytorch_model.safetensors"
    weights.rename(weights.with_name("diffusion_pytorch_model-00001-of-00002.safetensors"))
    index = {
        "weight_map": {
            "a": "diffusion_pytorch_model-00001-of-00002.safetensors",
            "b": "diffusion_pytorch_model-00002-of-00002.safetensors",
        }
    }
    (broken / "transformer" / "diffusion_pytorch_model.safetensors.index.json").write_text(
        json.dumps(index)
    )

    message = load_error(model_dir=broken)

    assert "transformer/ is missing weight shards diffusion_pytorch_model-00002-of-00002" in message


def test_missing_config(broken: Path):
    (broken / "scheduler" / "scheduler_config.json").unlink()

    assert "scheduler/ has no config file" in load_error(model_dir=broken)


def test_corrupt_weights_are_reported_not_raised(broken: Path):
    (broken / "vae" / "diffusion_pytorch_model.safetensors").write_bytes(b"garbage")

    message = load_error(model_dir=broken)

    assert message.startswith(f"could not load Flux2KleinPipeline from {broken}")


def test_a_model_of_another_backend(dev_dir: Path):
    message = load_error(model_dir=dev_dir)

    assert "holds a Flux2Pipeline pipeline, but this backend loads Flux2KleinPipeline" in message


def test_unknown_backend(klein_dir: Path):
    assert "backend must be one of" in load_error(backend="sdxl", model_dir=klein_dir)


def test_unknown_dtype(klein_dir: Path):
    assert "dtype must be one of bf16, fp16, fp32" in load_error(model_dir=klein_dir, dtype="fp8")


def test_a_device_this_machine_lacks(klein_dir: Path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert "no CUDA device" in load_error(model_dir=klein_dir, device="cuda")


def test_a_bad_device_name(klein_dir: Path):
    assert "device must be cpu, cuda" in load_error(model_dir=klein_dir, device="tpu")


def test_qwen_image_without_torchvision_says_so(klein_dir: Path):
    import importlib.util

    if importlib.util.find_spec("torchvision") is not None:
        pytest.skip("torchvision is installed here")
    assert load_error(backend="qwen-image", model_dir=klein_dir).startswith(
        "qwen-image needs torchvision"
    )


def test_settings_without_a_model_dir():
    from opendream.config import Settings

    with pytest.raises(EngineLoadError, match="OPENDREAM_MODEL_DIR"):
        EngineConfig.from_settings(Settings(model_dir=None))


def test_settings_become_a_config(tmp_path: Path):
    from opendream.config import Settings

    config = EngineConfig.from_settings(
        Settings(model_dir=tmp_path, backend="flux2-dev", steps=8, vae_tiling=True)
    )

    assert config.model_dir == tmp_path and config.backend == "flux2-dev"
    assert config.steps == 8 and config.vae_tiling is True and config.dtype is None


def test_bf16_is_loaded_when_asked(klein_dir: Path):
    import torch

    engine = Engine.load(EngineConfig(model_dir=klein_dir, dtype="bf16"))

    assert engine.capabilities.dtype == "bf16"
    assert engine.backend.pipe.transformer.dtype == torch.bfloat16
