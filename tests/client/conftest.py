"""One real `opendream serve` (tiny model, loopback) shared by the module's tests: starting one
costs seconds, and the tests here only add requests under their own key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import ServerProcess, link_demo_model


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, tiny_klein_dir: Path
) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("client-server")
    link_demo_model(data_dir, tiny_klein_dir)
    process = ServerProcess(data_dir=data_dir)
    process.start()
    try:
        yield process
    finally:
        process.stop()
