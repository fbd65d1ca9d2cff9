"""A real `opendream serve` process on a loopback port (adapted from tests/e2e/server.py, so
the benchmarks do not import the test suite)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.loopback import free_port


@dataclass
class ServiceProcess:
    data_dir: Path
    token: str = field(default_factory=lambda: "od_bench_" + secrets.token_hex(20))
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    # /readyz needs a live worker; an API-only server (--no-worker) is ready when it answers.
    ready_path: str = "/readyz"
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def start(self, timeout_s: float = 180.0) -> ServiceProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "OPENDREAM_DATA_DIR": str(self.data_dir),
            "OPENDREAM_ADMIN_TOKEN": self.token,
            "OPENDREAM_ALLOW_HTTP": "true",
            "OPENDREAM_FETCH_ALLOW_LIST": json.dumps(["127.0.0.0/8"]),
            # Benchmarks submit far faster than a person: per-key quotas off (<= 0).
            "OPENDREAM_RATE_LIMIT_PER_MINUTE": "0",
            "OPENDREAM_MAX_QUEUED_PER_KEY": "0",
            **self.env,
        }
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        cmd = [sys.executable, "-m", "opendream", "serve", "--host", "127.0.0.1"]
        self.proc = subprocess.Popen(
            [*cmd, "--port", str(self.port), *self.args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(
                    f"opendream serve exited with {code}:\n{self.read_log()[-4000:]}"
                )
            try:
                if httpx.get(f"{self.base_url}{self.ready_path}", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"opendream serve not ready after {timeout_s}s:\n{self.read_log()[-4000:]}"
        )

    def stop(self, timeout_s: float = 30.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def read_log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, timeout_s: float = 120.0) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=self.headers, timeout=timeout_s)

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def link_model(data_dir: Path, model_dir: Path) -> None:
    """Puts an already built tiny model where `serve` looks for its demo model, so a benchmark
    does not rebuild it."""
    target = data_dir / "demo-model" / "flux2-klein"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.symlink_to(model_dir.resolve(), target_is_directory=True)
