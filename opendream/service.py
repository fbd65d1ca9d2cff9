"""Assembles the layers into running processes: `serve` (API, and a worker unless --no-worker)
and `worker` (a worker only). The only module besides `api` and `worker` that wires layers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from opendream.bootstrap import (
    DEMO_FAMILY,
    FIRST_KEY_FILE,
    blob_secret,
    demo_model_dir,
    ensure_first_key,
)
from opendream.catalog.models import MODELS
from opendream.config import Settings
from opendream.jobs.base import RequestStore, StoreUnavailable
from opendream.storage.base import BlobStore

if TYPE_CHECKING:  # the engine imports torch: loaded only when a worker is built
    from opendream.engine.config import EngineConfig
    from opendream.worker.runner import Worker

log = logging.getLogger("opendream")

DEMO_BANNER = """
************************************************************************************
*  opendream is serving the TINY OFFLINE DEMO MODEL (%s).
*  Its weights are random: every image it makes is NOISE. The API, queue, sizes,
*  seeds and timings are real. Configure real weights with --model-dir or
*  OPENDREAM_MODEL_DIR (a local diffusers directory, e.g. FLUX.2 [klein] 4B).
************************************************************************************"""


def engine_config(settings: Settings) -> EngineConfig:
    """The configured weights, or (none configured) the tiny demo model, built once."""
    from opendream.engine.engine import EngineConfig
    from opendream.engine.tiny import make_tiny

    if settings.model_dir is None:
        demo = demo_model_dir(settings)
        if not (demo / "model_index.json").exists():
            log.warning("no weights configured: building the tiny offline demo model in %s", demo)
            make_tiny(demo, family=DEMO_FAMILY)
        log.warning(DEMO_BANNER, demo)
        settings = settings.model_copy(update={"model_dir": demo, "backend": DEMO_FAMILY})
    return EngineConfig.from_settings(settings)


async def open_state(settings: Settings) -> tuple[RequestStore, BlobStore]:
    from opendream.jobs.store import SqlRequestStore
    from opendream.storage.factory import open_blob_store

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = SqlRequestStore(settings.resolved_database_url)
    await store.start()
    blobs = open_blob_store(
        settings.resolved_storage_url,
        public_base_url=settings.resolved_public_base_url,
        secret=blob_secret(settings),
        proxy=settings.proxy_downloads,
    )
    return store, blobs


def worker_id(settings: Settings) -> str:
    """Stable across restarts of the same data directory (so a restarted embedded server
    requeues what it held at once); unique per host and device in a fleet unless given."""
    if settings.worker_id:
        return settings.worker_id
    instance = os.getpid() if settings.database_url else "embedded"
    return f"{socket.gethostname()}:{settings.device}:{instance}"


def settle_heap() -> None:
    """What is loaded by now (torch, diffusers, the model, the app) lives as long as the process:
    it is taken out of the garbage collector's sight, so a full collection no longer walks half a
    million objects, ~0.3 s with the event loop and the engine's Python stopped."""
    gc.collect()
    gc.freeze()


async def build_worker(settings: Settings, store: RequestStore, blobs: BlobStore) -> Worker:
    from opendream.engine.engine import Engine
    from opendream.worker.runner import Worker, WorkerOptions

    config = await asyncio.to_thread(engine_config, settings)
    _quiet_progress_bars()
    engine = await asyncio.to_thread(Engine.load, config)
    options = WorkerOptions(
        worker_id=worker_id(settings),
        model_ids=list(MODELS),
        lease_s=settings.lease_s,
        heartbeat_s=settings.heartbeat_s,
        max_attempts=settings.max_attempts,
        output_format=settings.output_format,
        shutdown_grace_s=settings.shutdown_grace_s,
        info={"backend": config.backend, "device": settings.device, "pid": os.getpid()},
    )
    log.info(
        "worker %s ready: backend %s on %s", options.worker_id, config.backend, settings.device
    )
    return Worker(store, blobs, engine, options)


def _quiet_progress_bars() -> None:
    """Loading bars (tqdm) are for terminals: in a log file, journald or a pod's log they are
    unstructured noise between JSON lines."""
    if sys.stderr.isatty() and os.environ.get("OPENDREAM_LOG_FORMAT", "text") != "json":
        return
    with contextlib.suppress(Exception):
        from diffusers.utils import logging as diffusers_logging

        diffusers_logging.disable_progress_bar()
    with contextlib.suppress(Exception):
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()


async def sweep_expired(settings: Settings, store: RequestStore, blobs: BlobStore) -> int:
    """Retention: deletes the blobs of requests finished longer ago than the TTL, and expired
    uploads. Idempotent, so every process may run it."""
    now = datetime.now(UTC)
    n = 0
    for row in await store.finished_before(now - timedelta(seconds=settings.retention_s)):
        await blobs.delete_prefix(f"requests/{row.id}/")
        await store.mark_expired(row.id)
        n += 1
    for f in await store.expired_files(now):
        await blobs.delete_prefix(f.blob_key)
        await store.delete_file(f.id)
    return n


async def _sweep_forever(
    settings: Settings, store: RequestStore, blobs: BlobStore, stop: asyncio.Event
) -> None:
    interval = max(1.0, min(60.0, settings.retention_s / 4))
    while not stop.is_set():
        try:
            await sweep_expired(settings, store, blobs)
        except StoreUnavailable as exc:
            log.warning("retention sweep paused, database unavailable: %s", exc)
        except Exception:
            log.exception("retention sweep failed; will retry")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


def background_loops(
    settings: Settings, store: RequestStore, blobs: BlobStore, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    """What every process runs beside its main job: retention, and webhook deliveries."""
    tasks = [asyncio.create_task(_sweep_forever(settings, store, blobs, stop))]
    if settings.webhook_delivery:
        from opendream.api.webhook_delivery import delivery_loop

        deliveries = delivery_loop(settings, store, blobs, blob_secret=blob_secret(settings))
        tasks.append(asyncio.create_task(deliveries.run(stop)))
    return tasks


async def serve(settings: Settings, *, with_worker: bool = True) -> None:
    import uvicorn

    from opendream.api.app import create_app, serving_app

    store, blobs = await open_state(settings)
    token = await ensure_first_key(settings, store)
    if token:
        path = settings.data_dir / FIRST_KEY_FILE
        print(
            f"\nCreated the first API key (also saved to {path}, mode 0600):\n{token}\n", flush=True
        )
    stop = asyncio.Event()
    tasks = background_loops(settings, store, blobs, stop)
    worker = None
    if with_worker:
        worker = await build_worker(settings, store, blobs)
        tasks.append(asyncio.create_task(worker.run(stop)))

    app = create_app(settings, store, blobs, blob_secret=blob_secret(settings))
    settle_heap()
    config = uvicorn.Config(
        serving_app(app),
        host=settings.host,
        port=settings.port,
        # no log config of its own: uvicorn's loggers propagate to the root handler that
        # configure_logging installed (same format, request id on access lines)
        log_config=None,
        access_log=settings.access_log,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    log.info("opendream listening on %s", settings.resolved_public_base_url)
    try:
        await server.serve()
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await store.close()


async def run_worker(settings: Settings) -> None:
    store, blobs = await open_state(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    worker = await build_worker(settings, store, blobs)
    tasks = background_loops(settings, store, blobs, stop)
    settle_heap()
    try:
        await worker.run(stop)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await store.close()


def configure_logging(level: str = "INFO") -> None:
    try:
        from opendream.observability.logging import configure_logging as configure
    except ImportError:
        logging.basicConfig(
            level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
        return
    handler = configure(level, os.environ.get("OPENDREAM_LOG_FORMAT", "text"))
    handler.addFilter(_drop_color_message)
    # Python warnings (deprecations from libraries) become log records in the same format
    logging.captureWarnings(True)


def _drop_color_message(record: logging.LogRecord) -> bool:
    """uvicorn attaches a copy of its message with terminal colour codes (`color_message`); in
    structured logs it would be an extra field full of escape sequences."""
    record.__dict__.pop("color_message", None)
    return True
