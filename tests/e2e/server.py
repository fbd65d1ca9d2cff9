"""A real `opendream serve` process on a loopback port, for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServerProcess:
    data_dir: Path
    token: str = "od_test_" + "x" * 40
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def start(self, timeout_s: float = 120.0) -> None:
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "OPENDREAM_DATA_DIR": str(self.data_dir),
            "OPENDREAM_ADMIN_TOKEN": self.token,
            "OPENDREAM_ALLOW_HTTP": "true",
            "OPENDREAM_FETCH_ALLOW_LIST": json.dumps(["127.0.0.0/8", "::1/128"]),
            "OPENDREAM_LEASE_S": "4",
            "OPENDREAM_HEARTBEAT_S": "1",
            # Two denoising steps instead of klein's four: the plumbing is the same, CI is faster.
            "OPENDREAM_STEPS": "2",
            **self.env,
        }
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "opendream",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *self.args,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}:\n{self.read_log()[-4000:]}"
                )
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout_s}s:\n{self.read_log()[-4000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def read_log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=30.0,
        )


def link_demo_model(data_dir: Path, tiny_dir: Path) -> None:
    """Puts an already built tiny model where `serve` looks for its demo model, so each test
    does not rebuild it (the build itself is tested once)."""
    target = data_dir / "demo-model" / "flux2-klein"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.symlink_to(tiny_dir, target_is_directory=True)


@contextmanager
def running(server: ServerProcess) -> Iterator[ServerProcess]:
    """Started for the `with` block, stopped after it, whatever happens."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


def demo_server(data_dir: Path, tiny_dir: Path) -> ServerProcess:
    """A server whose demo model is the already built tiny one."""
    link_demo_model(data_dir, tiny_dir)
    return ServerProcess(data_dir=data_dir)
