"""Suite-wide settings: offline hub, and the session-wide tiny demo model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_klein_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny FLUX.2 [klein] pipeline, built once per test session, offline."""
    from opendream.engine.tiny import make_tiny

    return make_tiny(tmp_path_factory.mktemp("tiny") / "flux2-klein", family="flux2-klein")
