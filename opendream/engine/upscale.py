"""The delivery stage: bring each generated image from the run size to exactly the requested size.

Above the backend's native maximum the model runs smaller and the image is enlarged here: with a
super-resolution model (any architecture `spandrel` can load, from `upscaler_dir`) when one is
configured and spandrel is installed, else with Lanczos resampling. What was used is recorded.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opendream.engine.errors import EngineLoadError
from opendream.engine.resample import lanczos

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

_MODEL_SUFFIXES = (".safetensors", ".pth", ".pt", ".ckpt", ".bin")


@dataclass
class Delivery:
    image: Image.Image
    method: str  # "none" | "lanczos" | "sr:<model file>+lanczos" | "sr:<model file>"


class Upscaler:
    """Lanczos only, unless a spandrel model was loaded."""

    def __init__(self, model: Any = None, model_name: str | None = None, note: str | None = None):
        self._model = model
        self._model_name = model_name
        # Why a configured SR model is not in use (reported in metadata), if it is not.
        self.note = note

    @property
    def method_name(self) -> str:
        return f"sr:{self._model_name}" if self._model is not None else "lanczos"

    def deliver(self, image: Image.Image, width: int, height: int) -> Delivery:
        if image.size == (width, height):
            return Delivery(image, "none")
        enlarging = width > image.width or height > image.height
        if self._model is None or not enlarging:
            return Delivery(lanczos(image, width, height), "lanczos")
        enlarged = self._super_resolve(image)
        if enlarged.size == (width, height):
            return Delivery(enlarged, f"sr:{self._model_name}")
        return Delivery(lanczos(enlarged, width, height), f"sr:{self._model_name}+lanczos")

    def _super_resolve(self, image: Image.Image) -> Image.Image:
        import numpy as np
        import torch
        from PIL import Image

        model = self._model
        array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
        tensor = torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0)
        tensor = tensor.to(device=model.device, dtype=getattr(model, "dtype", torch.float32))
        with torch.inference_mode():
            out = model(tensor)
        out = out.squeeze(0).clamp(0, 1).permute(1, 2, 0).float().cpu().numpy()
        return Image.fromarray((out * 255.0).round().astype(np.uint8))


def load_upscaler(upscaler_dir: Path | None, device: str = "cpu") -> Upscaler:
    """The configured SR model if it can be used, else Lanczos with the reason noted.

    A configured directory that is missing or holds no model file is a configuration error
    (EngineLoadError); spandrel not being installed is not — it is an optional extra, and
    resampling still delivers the exact size.
    """
    if upscaler_dir is None:
        return Upscaler()
    path = _model_file(Path(upscaler_dir))
    if importlib.util.find_spec("spandrel") is None:
        note = "spandrel is not installed (pip install 'opendream[upscale]'); using Lanczos"
        log.warning("upscaler %s not used: %s", path, note)
        return Upscaler(note=note)
    import spandrel

    try:
        descriptor = spandrel.ModelLoader(device=device).load_from_file(str(path))
    except Exception as e:  # spandrel raises many kinds for unsupported files
        raise EngineLoadError(f"could not load upscaler {path}: {type(e).__name__}: {e}") from None
    descriptor.eval()
    return Upscaler(model=descriptor, model_name=path.name)


def _model_file(upscaler_dir: Path) -> Path:
    if upscaler_dir.is_file() and upscaler_dir.suffix in _MODEL_SUFFIXES:
        return upscaler_dir
    if not upscaler_dir.is_dir():
        raise EngineLoadError(f"upscaler directory {upscaler_dir} does not exist")
    files = sorted(p for p in upscaler_dir.iterdir() if p.suffix in _MODEL_SUFFIXES)
    if not files:
        raise EngineLoadError(
            f"upscaler directory {upscaler_dir} holds no model file "
            f"({', '.join('*' + s for s in _MODEL_SUFFIXES)})"
        )
    return files[0]
