"""The diffusers backends, one module each, behind `backends.base.Backend`."""

from __future__ import annotations

from opendream.engine.backends.base import Backend
from opendream.engine.errors import EngineLoadError


def backend_class(name: str) -> type[Backend]:
    # Imported on demand: each module pulls in its own diffusers/transformers classes.
    if name == "flux2-klein":
        from opendream.engine.backends.flux2_klein import Flux2KleinBackend

        return Flux2KleinBackend
    if name == "flux2-dev":
        from opendream.engine.backends.flux2_dev import Flux2DevBackend

        return Flux2DevBackend
    if name == "qwen-image":
        from opendream.engine.backends.qwen_image import QwenImageBackend

        return QwenImageBackend
    raise EngineLoadError(
        f"backend must be one of flux2-klein, flux2-dev, qwen-image; got {name!r}"
    )


__all__ = ["Backend", "backend_class"]
