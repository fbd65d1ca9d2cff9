"""The delivery stage: exact sizes, Lanczos by default, an SR model through spandrel if present."""

from __future__ import annotations

import sys
import types
from importlib.machinery import ModuleSpec
from pathlib import Path

import pytest
from PIL import Image

from opendream.engine import EngineLoadError
from opendream.engine.upscale import Upscaler, load_upscaler


def test_same_size_is_left_alone():
    image = Image.new("RGB", (64, 48))

    delivery = Upscaler().deliver(image, 64, 48)

    assert delivery.image is image and delivery.method == "none"


@pytest.mark.parametrize("size", [(200, 150), (30, 20), (65, 47)])
def test_lanczos_gives_exactly_the_size(size: tuple[int, int]):
    delivery = Upscaler().deliver(Image.new("RGB", (64, 48), (10, 200, 30)), *size)

    assert delivery.image.size == size and delivery.method == "lanczos"
    assert delivery.image.getpixel((size[0] // 2, size[1] // 2)) == (10, 200, 30)


def test_no_directory_means_lanczos():
    assert load_upscaler(None).method_name == "lanczos"


def test_a_missing_directory_is_a_load_error(tmp_path: Path):
    with pytest.raises(EngineLoadError, match="does not exist"):
        load_upscaler(tmp_path / "nope")


def test_a_directory_without_a_model_is_a_load_error(tmp_path: Path):
    with pytest.raises(EngineLoadError, match="holds no model file"):
        load_upscaler(tmp_path)


def test_without_spandrel_the_reason_is_noted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delitem(sys.modules, "spandrel", raising=False)
    (tmp_path / "4x.safetensors").write_bytes(b"weights")

    upscaler = load_upscaler(tmp_path)

    assert upscaler.method_name == "lanczos"
    assert "spandrel is not installed" in (upscaler.note or "")


def test_a_spandrel_model_enlarges_then_lanczos_fits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """spandrel cannot be installed here (it pulls a CUDA torch); a stand-in module with its
    API (ModelLoader().load_from_file() -> a callable descriptor) checks the wiring."""
    import torch

    class Descriptor:
        device = torch.device("cpu")
        dtype = torch.float32
        scale = 2

        def eval(self) -> Descriptor:
            return self

        def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.interpolate(tensor, scale_factor=2, mode="nearest")

    loaded: list[str] = []

    class ModelLoader:
        def __init__(self, device: str):
            self.device = device

        def load_from_file(self, path: str) -> Descriptor:
            loaded.append(path)
            return Descriptor()

    fake = types.ModuleType("spandrel")
    fake.__spec__ = ModuleSpec("spandrel", None)
    fake.ModelLoader = ModelLoader  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "spandrel", fake)
    (tmp_path / "2x.pth").write_bytes(b"weights")

    upscaler = load_upscaler(tmp_path)
    exact = upscaler.deliver(Image.new("RGB", (32, 24), (255, 0, 0)), 64, 48)
    fitted = upscaler.deliver(Image.new("RGB", (32, 24), (255, 0, 0)), 70, 50)
    smaller = upscaler.deliver(Image.new("RGB", (32, 24), (255, 0, 0)), 16, 12)

    assert loaded == [str(tmp_path / "2x.pth")]
    assert (exact.image.size, exact.method) == ((64, 48), "sr:2x.pth")
    assert (fitted.image.size, fitted.method) == ((70, 50), "sr:2x.pth+lanczos")
    assert (smaller.image.size, smaller.method) == ((16, 12), "lanczos")
    assert exact.image.getpixel((10, 10)) == (255, 0, 0)
