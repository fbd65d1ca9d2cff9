"""Real `opendream serve` processes (loopback, tiny model) shared by the package's tests: starting
one costs seconds, and the tests only add requests under their own key.

- `server`: API and worker, for everything that makes images.
- `queue_server`: API only (`--no-worker`), so requests stay queued as long as a test needs:
  cancel, queue positions and client timeouts are then deterministic, and cost no generation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opendream.client import Client, RequestResult
from tests.client.bodies import EDIT, small_edit
from tests.client.queue_server import QueueOnlyServer
from tests.e2e.server import ServerProcess, demo_server, running


@pytest.fixture(scope="package")
def server(
    tmp_path_factory: pytest.TempPathFactory, tiny_klein_dir: Path
) -> Iterator[ServerProcess]:
    with running(demo_server(tmp_path_factory.mktemp("client-server"), tiny_klein_dir)) as s:
        yield s


@pytest.fixture(scope="package")
def queue_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running(QueueOnlyServer(data_dir=tmp_path_factory.mktemp("client-queue-server"))) as s:
        yield s


@pytest.fixture(scope="package")
def finished(server: ServerProcess) -> RequestResult:
    """A request that has succeeded."""
    with Client(server.base_url, server.token, poll_interval=0.05) as client:
        return client.run(EDIT, small_edit(), timeout=300)
