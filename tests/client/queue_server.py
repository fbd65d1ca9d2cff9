"""An `opendream serve --no-worker` process: every request stays queued for as long as a test
needs, so cancel, queue positions and client timeouts are deterministic and cost no generation."""

from __future__ import annotations

import contextlib
import time

import httpx

from tests.e2e.server import ServerProcess


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
