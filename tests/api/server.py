"""A real API server on a loopback port, for tests: uvicorn in a thread with its own event loop, a
real `SqlRequestStore` (a SQLite file unless told otherwise) and a real local blob store. No
worker: requests stay queued unless a test drives the store itself (`server.call(...)`)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn

from opendream.api.app import create_app, serving_app
from opendream.api.auth import hash_token, new_token
from opendream.config import Settings
from opendream.jobs.base import RequestStore
from opendream.jobs.store import SqlRequestStore
from opendream.storage.base import BlobStore
from opendream.storage.factory import open_blob_store

T = TypeVar("T")
SECRET = b"test-blob-secret"


@dataclass
class ApiServer:
    data_dir: Path
    database_url: str | None = None
    start_store: bool = True  # False: a store that was never started (e.g. a dead database)
    settings_overrides: dict[str, Any] = field(default_factory=dict)

    settings: Settings = field(init=False)
    store: RequestStore = field(init=False)
    blobs: BlobStore = field(init=False)
    port: int = field(init=False)
    token: str = field(init=False, default="")
    key_id: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: uvicorn.Server | None = None
        self._serving: asyncio.Future[None] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # lifecycle --------------------------------------------------------------------------------
    def start(self) -> ApiServer:
        self._thread.start()
        self.call(self._start())
        if self.start_store:
            self.token, self.key_id = self.create_key("test")
        return self

    async def _start(self) -> None:
        self.settings = Settings(
            data_dir=self.data_dir,
            host="127.0.0.1",
            port=self.port,
            database_url=self.database_url,
            **self.settings_overrides,
        )
        self.store = SqlRequestStore(self.settings.resolved_database_url)
        if self.start_store:
            await self.store.start()
        self.blobs = open_blob_store(
            f"file://{(self.data_dir / 'blobs').resolve()}",
            public_base_url=self.settings.resolved_public_base_url,
            secret=SECRET,
        )
        app = create_app(self.settings, self.store, self.blobs, blob_secret=SECRET)
        config = uvicorn.Config(
            serving_app(app),
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._serving = asyncio.ensure_future(self._server.serve(sockets=[self._sock]))
        for _ in range(500):
            if self._server.started or self._serving.done():
                break
            await asyncio.sleep(0.01)
        if self._serving.done():
            self._serving.result()
        assert self._server.started, "uvicorn did not start"

    def stop(self) -> None:
        async def _stop() -> None:
            if self._server is not None and self._serving is not None:
                self._server.should_exit = True
                await asyncio.wait_for(self._serving, 10)
            await self.store.close()

        try:
            self.call(_stop(), timeout=20)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._sock.close()

    # helpers ----------------------------------------------------------------------------------
    def call(self, coro: Awaitable[T], timeout: float = 30) -> T:
        """Runs a coroutine on the server's loop (the store is bound to it) and returns its
        result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)  # type: ignore[arg-type]

    def run(self, fn: Callable[[RequestStore], Awaitable[T]]) -> T:
        return self.call(fn(self.store))

    def create_key(self, name: str) -> tuple[str, str]:
        """(token, key id) of a fresh key."""
        token = new_token()
        key = self.call(self.store.create_key(name, hash_token(token)))
        return token, key.id

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token if token is not None else self.token}"}
        options: dict[str, Any] = {"timeout": 30, "trust_env": False, **kwargs}
        return httpx.Client(base_url=self.base_url, headers=headers, **options)
