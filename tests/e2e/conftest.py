from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import ServerProcess, link_demo_model


@pytest.fixture
def server_factory(tmp_path: Path, tiny_klein_dir: Path) -> Iterator:
    started: list[ServerProcess] = []

    def make(**kwargs) -> ServerProcess:  # type: ignore[no-untyped-def]
        data_dir = kwargs.pop("data_dir", tmp_path / f"data{len(started)}")
        data_dir.mkdir(parents=True, exist_ok=True)
        link_demo_model(data_dir, tiny_klein_dir)
        server = ServerProcess(data_dir=data_dir, **kwargs)
        started.append(server)
        return server

    yield make
    for server in started:
        if server.proc is not None:
            server.stop()


@pytest.fixture
def running_server(server_factory) -> ServerProcess:  # type: ignore[no-untyped-def]
    """A started `opendream serve` with the tiny model: `.base_url`, `.token`, `.client()`."""
    server = server_factory()
    server.start()
    return server
