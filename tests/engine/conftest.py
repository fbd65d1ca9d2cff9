"""Tiny pipelines, built once per test session and loaded through the real path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def one_torch_thread() -> None:
    """The tiny models have nothing to parallelise, and on a shared 2-core CI box two torch
    threads spin against other processes: one thread measured 10x faster there."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def klein_dir(tmp_path_factory: pytest.TempPathFactory, one_torch_thread: None) -> Path:
    from opendream.engine.tiny import make_tiny

    return make_tiny(tmp_path_factory.mktemp("tiny") / "flux2-klein", "flux2-klein")


@pytest.fixture(scope="session")
def dev_dir(tmp_path_factory: pytest.TempPathFactory, one_torch_thread: None) -> Path:
    from opendream.engine.tiny import make_tiny

    return make_tiny(tmp_path_factory.mktemp("tiny") / "flux2-dev", "flux2-dev")


@pytest.fixture(scope="session")
def klein_engine(klein_dir: Path):
    from opendream.engine import Engine, EngineConfig

    return Engine.load(EngineConfig(model_dir=klein_dir))


@pytest.fixture(scope="session")
def dev_engine(dev_dir: Path):
    from opendream.engine import Engine, EngineConfig

    return Engine.load(EngineConfig(backend="flux2-dev", model_dir=dev_dir))
