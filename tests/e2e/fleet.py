"""A fleet on one machine for end-to-end and chaos tests: `opendream serve --no-worker` and
`opendream worker` as real processes on loopback, sharing one PostgreSQL database, one blob store
(a local directory or an S3 bucket) and one URL-signing secret, like separate hosts would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from tests.e2e.images import png_data_uri
from tests.e2e.server import free_port

EDIT = "bytedance/seedream-4-0/edit"
TOKEN = "od_fleet_" + "f" * 40
FINISHED = ("succeeded", "failed", "cancelled")


def edit_body(i: int) -> dict[str, Any]:
    """The cheapest real request with the tiny model (measured): one 1024x1024 edit of a small
    reference sent inline, so no fetch is involved."""
    color = (40 + (i * 37) % 200, 90, 200 - (i * 13) % 150)
    return {
        "prompt": f"paint boat {i} red",
        "images": [png_data_uri(32, 32, color)],
        "resolution": "1K",
    }


def wait_until(check: Callable[[], Any], timeout_s: float, what: str, every_s: float = 0.1) -> Any:
    """Polls `check` until it returns something truthy; AssertionError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
        except (httpx.TransportError, OSError) as exc:
            last_error = exc
        else:
            if value:
                return value
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what} ({last_error})")


def prometheus_samples(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


@dataclass
class Service:
    """One `opendream` process, its output appended to a log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        assert self.proc is None or self.proc.poll() is not None, f"{self.name} is running"
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "opendream", *self.argv],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(
                f"{self.name} exited with {self.proc.returncode}:\n{self.read_log()[-4000:]}"
            )

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, like a lost host or an OOM kill."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout_s`."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        return self.proc.returncode

    def read_log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def json_logs(self) -> list[dict[str, Any]]:
        """The process's JSON log records (the fleet runs with OPENDREAM_LOG_FORMAT=json)."""
        records = []
        for line in self.read_log().splitlines():
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    records.append(json.loads(line))
        return records


@dataclass
class Fleet:
    root: Path
    database_url: str
    model_dir: Path
    storage_url: str | None = None  # default: a local directory under root
    env: dict[str, str] = field(default_factory=dict)  # for every process
    port: int = field(default_factory=free_port)
    api: Service | None = None
    workers: dict[str, Service] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.storage_url is None:
            self.storage_url = f"file://{self.blob_dir}"

    @property
    def blob_dir(self) -> Path:
        return self.root / "blobs"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self, data_dir: Path, **extra: str) -> dict[str, str]:
        data_dir.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "OPENDREAM_LOG_FORMAT": "json",
            "OPENDREAM_DATA_DIR": str(data_dir),  # per process: nothing shared through it
            "OPENDREAM_DATABASE_URL": self.database_url,
            "OPENDREAM_STORAGE_URL": str(self.storage_url),
            "OPENDREAM_BLOB_SECRET": "fleet-test-secret",
            "OPENDREAM_PUBLIC_BASE_URL": self.base_url,
            "OPENDREAM_LEASE_S": "4",
            "OPENDREAM_HEARTBEAT_S": "0.5",
            "OPENDREAM_STEPS": "2",
            "OPENDREAM_RATE_LIMIT_PER_MINUTE": "100000",
            "OPENDREAM_MAX_QUEUED_PER_KEY": "100000",
            **self.env,
            **extra,
        }

    # processes --------------------------------------------------------------------------------
    def start_api(self, wait_s: float = 60.0) -> Service:
        if self.api is None:
            env = self._env(
                self.root / "api",
                OPENDREAM_ADMIN_TOKEN=TOKEN,
                OPENDREAM_ACCESS_LOG="true",
            )
            argv = ["serve", "--no-worker", "--host", "127.0.0.1", "--port", str(self.port)]
            self.api = Service("api", argv, env, self.root / "api.log")
        self.api.start()
        api = self.api

        def healthy() -> bool:
            api.check_alive()
            return httpx.get(f"{self.base_url}/healthz", timeout=2, trust_env=False).is_success

        wait_until(healthy, wait_s, "the API to answer /healthz")
        return api

    def start_worker(self, worker_id: str, log_name: str | None = None) -> Service:
        """Starts `opendream worker` as `worker_id` (a restart reuses the id when asked to)."""
        env = self._env(
            self.root / f"worker-{worker_id}",
            OPENDREAM_WORKER_ID=worker_id,
            OPENDREAM_MODEL_DIR=str(self.model_dir),
            # two workers and the API share this machine's few cores; a GPU host would not
            OMP_NUM_THREADS="1",
        )
        log_path = self.root / f"{log_name or 'worker-' + worker_id}.log"
        service = Service(worker_id, ["worker"], env, log_path).start()
        self.workers[worker_id] = service
        return service

    def wait_workers_alive(self, worker_ids: Iterable[str], since: float, timeout_s: float) -> None:
        """Until each worker has beaten its heart after `since` (unix time), seen in /metrics."""
        ids = list(worker_ids)

        def all_beating() -> bool:
            for wid in ids:
                self.workers[wid].check_alive()
            samples = self.metrics()
            return all(
                samples.get(f'opendream_worker_last_seen_timestamp_seconds{{worker="{wid}"}}', 0)
                > since
                for wid in ids
            )

        wait_until(all_beating, timeout_s, f"workers {ids} to heartbeat", every_s=0.25)

    def stop_all(self) -> None:
        for service in [*self.workers.values(), *([self.api] if self.api else [])]:
            if service.alive:
                service.stop(timeout_s=10)

    def db(self, sql: str, *args: object) -> list[asyncpg.Record]:
        """The test's own view of the request table, straight from PostgreSQL."""
        dsn = make_url(self.database_url).set(drivername="postgresql").render_as_string(False)

        async def run() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(dsn, timeout=5)
            try:
                return await conn.fetch(sql, *args)
            finally:
                await conn.close()

        return asyncio.run(run())

    def running_on(self, worker_id: str) -> list[str]:
        """Ids of the requests the table says this worker is running."""
        rows = self.db(
            "SELECT id FROM requests WHERE worker_id = $1 AND status = 'in_progress'", worker_id
        )
        return [row["id"] for row in rows]

    # HTTP -------------------------------------------------------------------------------------
    def client(self, timeout_s: float = 30.0) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=timeout_s,
            trust_env=False,
        )

    def metrics(self) -> dict[str, float]:
        r = httpx.get(f"{self.base_url}/metrics", timeout=5, trust_env=False)
        r.raise_for_status()
        return prometheus_samples(r.text)

    def statuses(self, client: httpx.Client) -> dict[str, str]:
        """request id -> internal status, for this token's latest 100 requests, in one call."""
        r = client.get("/v1/requests", params={"limit": 100})
        r.raise_for_status()
        return {row["request_id"]: row["status"] for row in r.json()["requests"]}

    def wait_all_finished(
        self, client: httpx.Client, ids: list[str], timeout_s: float, during: Callable[[], None]
    ) -> dict[str, str]:
        """Polls until every id is finished; calls `during()` each round (chaos goes there)."""
        assert len(ids) <= 100

        def finished() -> dict[str, str] | None:
            during()
            statuses = self.statuses(client)
            if all(statuses.get(i) in FINISHED for i in ids):
                return statuses
            return None

        return wait_until(finished, timeout_s, f"{len(ids)} requests to finish", every_s=0.2)

    def output_blobs(self, request_id: str) -> list[str]:
        """Output files under `requests/<id>/outputs/` in the local blob directory."""
        folder = self.blob_dir / "requests" / request_id / "outputs"
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []
