"""Real `opendream serve` processes (loopback, tiny model) shared by the package's tests: starting
one costs seconds, and the tests only add requests under their own key.

- `server`: API and worker, for everything that makes images.
- `queue_server`: API only (`--no-worker`), so requests stay queued as long as a test needs:
  cancel, queue positions and client timeouts are then deterministic, and cost no generation.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from opendream.client import Client, RequestResult
from tests.client.bodies import EDIT, small_edit
from tests.e2e.server import ServerProcess, link_demo_model


class QueueOnlyServer(ServerProcess):
    """`/readyz` stays 503 without a worker, so readiness is `/healthz` answering."""

    def start(self, timeout_s: float = 60.0) -> None:
        if "--no-worker" not in self.args:
            self.args.append("--no-worker")
        with contextlib.suppress(RuntimeError):
            super().start(timeout_s=0)  # launches the process; a zero wait gives up at once
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}:\n{self.read_log()[-4000:]}"
                )
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not healthy after {timeout_s}s:\n{self.read_log()[-4000:]}")


@pytest.fixture(scope="package")
def server(
    tmp_path_factory: pytest.TempPathFactory, tiny_klein_dir: Path
) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("client-server")
    link_demo_model(data_dir, tiny_klein_dir)
    # Two denoising steps: progress still moves step by step, at half the CPU time.
    process = ServerProcess(data_dir=data_dir, env={"OPENDREAM_STEPS": "2"})
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="package")
def queue_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = QueueOnlyServer(data_dir=tmp_path_factory.mktemp("client-queue-server"))
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="package")
def finished(server: ServerProcess) -> RequestResult:
    """A request that has succeeded."""
    with Client(server.base_url, server.token, poll_interval=0.05) as client:
        return client.run(EDIT, small_edit(), timeout=300)
