from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.api.fixture_worker import FixtureEngine, RunningWorker
from tests.api.server import ApiServer

SEQUENTIAL = "bytedance/seedream-4-0/sequential"
EDIT = "bytedance/seedream-4-0/edit"
EDIT_SEQUENTIAL = "bytedance/seedream-4-0/edit-sequential"


def png_bytes(width: int = 64, height: int = 48, color: str = "red", fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format=fmt)
    return buf.getvalue()


def data_uri(data: bytes, media: str = "image/png") -> str:
    return f"data:{media};base64," + base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """One server per test module, default settings, generous limits."""
    s = ApiServer(
        tmp_path_factory.mktemp("api"),
        settings_overrides={"rate_limit_per_minute": 10_000, "max_queued_per_key": 10_000},
    ).start()
    yield s
    s.stop()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., ApiServer]]:
    """A fresh server with its own settings: `make_server(rate_limit_per_minute=2)`."""
    started: list[ApiServer] = []

    def make(
        database_url: str | None = None, start_store: bool = True, **overrides: Any
    ) -> ApiServer:
        s = ApiServer(
            tmp_path / f"s{len(started)}",
            database_url=database_url,
            start_store=start_store,
            settings_overrides=overrides,
        )
        started.append(s)
        return s.start()

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def client(server: ApiServer) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiServer, FixtureEngine]]:
    """One server per test module with generous limits and a fixture worker behind it."""
    s = ApiServer(
        tmp_path_factory.mktemp("served"),
        settings_overrides={"rate_limit_per_minute": 10_000, "max_queued_per_key": 10_000},
    ).start()
    engine = FixtureEngine()
    worker = RunningWorker(s, engine).start()
    yield s, engine
    worker.stop()
    s.stop()
