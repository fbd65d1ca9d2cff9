"""Placeholder until the Qwen-Image backend lands."""

from __future__ import annotations

from opendream.engine.backends.base import Backend
from opendream.engine.errors import EngineLoadError


class QwenImageBackend(Backend):
    name = "qwen-image"

    @classmethod
    def load(cls, config):  # type: ignore[no-untyped-def]
        raise EngineLoadError("qwen-image is not available yet")
