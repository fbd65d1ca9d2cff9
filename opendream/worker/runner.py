"""The worker loop: claim a request, run the engine, store outputs, complete — and survive shutdown,
lost leases and failures without losing a request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from opendream.catalog.requests import to_generation_request
from opendream.engine.types import (
    GenerationRequest,
    GenerationResult,
    Plan,
    Progress,
    ReferenceImage,
)
from opendream.inputs import inspect_image
from opendream.jobs.base import RequestRow, RequestStore, StoreUnavailable
from opendream.observability.logging import bind_request_id
from opendream.observability.metrics import LATENCY_INFO_KEY, LatencyHistograms
from opendream.storage.base import BlobStore
from opendream.worker.encode import CONTENT_TYPES, OutputFormat, encode_image, output_key

log = logging.getLogger("opendream.worker")


class EngineLike(Protocol):
    def plan(self, request: GenerationRequest) -> Plan: ...

    def generate(
        self,
        plan: Plan,
        on_progress: Callable[[Progress], None] | None = None,
        on_image: Callable[[int, Any], None] | None = None,
    ) -> GenerationResult: ...


class Aborted(Exception):
    """Raised inside the engine's progress callback to stop a run whose lease was lost or whose
    shutdown deadline passed."""


@dataclass
class WorkerOptions:
    worker_id: str
    model_ids: list[str]
    lease_s: float = 30.0
    heartbeat_s: float = 5.0
    max_attempts: int = 3
    output_format: OutputFormat = "png"
    shutdown_grace_s: float = 30.0
    idle_wait_s: float = 5.0
    progress_interval_s: float = 0.1
    complete_retry_s: float = 30.0  # how long a finished run retries recording its result
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Run:
    """State shared between the event loop and the engine thread for one request."""

    row: RequestRow
    abort_reason: str | None = None
    latest_progress: Progress | None = None
    progress_dirty: asyncio.Event = field(default_factory=asyncio.Event)
    outputs: dict[int, str] = field(default_factory=dict)


class Worker:
    def __init__(
        self, store: RequestStore, blobs: BlobStore, engine: EngineLike, options: WorkerOptions
    ):
        self.store = store
        self.blobs = blobs
        self.engine = engine
        self.options = options
        self.current: _Run | None = None
        self._next_reap = 0.0
        self.completed = 0
        # this worker's own: its heartbeat publishes them and /metrics renders them per worker
        self.latency = LatencyHistograms()

    # the loop ---------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        opts = self.options
        released = await self.store.release_worker(opts.worker_id, max_attempts=opts.max_attempts)
        if released:
            log.warning("requeued %d request(s) this worker held before it stopped", released)
        beat = asyncio.create_task(self._beat_forever(stop))
        try:
            while not stop.is_set():
                try:
                    await self._step(stop)
                except StoreUnavailable as exc:
                    # The database is away (restart, network blip): keep the worker alive and
                    # retry; leases make sure nothing is lost meanwhile.
                    log.warning(
                        "database unavailable, retrying in %.0f s: %s", opts.idle_wait_s, exc
                    )
                    await _wait_any(stop, asyncio.sleep(opts.idle_wait_s))
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _step(self, stop: asyncio.Event) -> None:
        opts = self.options
        # Reaping is a write transaction: on a timer, not before every claim, so a submit to an
        # idle worker is dispatched by one claim.
        reap_every = max(0.5, opts.lease_s / 4)
        if time.monotonic() >= self._next_reap:
            await self.store.reap_expired_leases(opts.max_attempts)
            self._next_reap = time.monotonic() + reap_every
        row = await self.store.claim(opts.worker_id, opts.model_ids, opts.lease_s)
        if row is None:
            await _wait_any(stop, self.store.wait_for_work(min(opts.idle_wait_s, reap_every)))
            return
        job = asyncio.create_task(self.run_one(row))
        await _wait_any(stop, asyncio.shield(job))
        if not job.done():
            await self._finish_or_hand_back(job)

    async def _finish_or_hand_back(self, job: asyncio.Task[None]) -> None:
        """Shutdown during a request: give it the grace period, then stop it and requeue it."""
        try:
            await asyncio.wait_for(asyncio.shield(job), self.options.shutdown_grace_s)
        except TimeoutError:
            if self.current is not None:
                self.current.abort_reason = "shutdown"
            await job

    async def _beat_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.store.worker_beat(self.options.worker_id, self._beat_info())
            except StoreUnavailable as exc:  # a database blip must not kill the worker
                log.warning("worker heartbeat failed: %s", exc)
            except Exception:
                log.exception("worker heartbeat failed")
            await _wait_any(stop, asyncio.sleep(self.options.heartbeat_s))

    def _beat_info(self) -> dict[str, Any]:
        return {
            **self.options.info,
            "models": self.options.model_ids,
            "busy": self.current.row.id if self.current else None,
            "completed": self.completed,
            LATENCY_INFO_KEY: self.latency.to_info(),
        }

    # one request ------------------------------------------------------------------------------
    async def run_one(self, row: RequestRow) -> None:
        with bind_request_id(row.id):
            await self._run_one(row)

    async def _run_one(self, row: RequestRow) -> None:
        run = _Run(row=row)
        self.current = run
        loop = asyncio.get_running_loop()
        lease = asyncio.create_task(self._keep_lease(run))
        progress = asyncio.create_task(self._write_progress(run))
        started = time.perf_counter()
        try:
            if row.attempts > 1:
                # An earlier attempt may have stored some outputs before its worker died; the
                # stored outputs are exactly this attempt's, however many it makes.
                await self.blobs.delete_prefix(f"requests/{row.id}/outputs/")
            request = await self._load_request(row)
            result = await asyncio.to_thread(self._generate, run, request, loop)
        except Aborted:
            await self._after_abort(run)
            return
        except Exception as exc:
            log.exception("request %s failed", row.id)
            if run.outputs:
                # The images made before the failure stay reachable (partial results).
                with contextlib.suppress(Exception):
                    await self.store.set_progress(
                        row.id, self.options.worker_id, _progress(run.latest_progress, run)
                    )
            await self.store.fail(row.id, self.options.worker_id, _reason(exc), {})
            return
        finally:
            lease.cancel()
            progress.cancel()
            self.current = None
        inference_ms = round((time.perf_counter() - started) * 1000)
        outputs = [run.outputs[i] for i in sorted(run.outputs)]
        metadata = {
            **result.metadata,
            "queue_ms": _queue_ms(row),
            "inference_ms": inference_ms,
            "attempts": row.attempts,
            "output_format": self.output_format(row),
        }
        if await self._complete(row, outputs, metadata):
            self.completed += 1
            self.latency.inference.observe(row.model_id, inference_ms / 1000)
            if metadata["queue_ms"] is not None:
                self.latency.queue_wait.observe(row.model_id, metadata["queue_ms"] / 1000)
            end_to_end = (datetime.now(UTC) - row.created_at).total_seconds()
            self.latency.end_to_end.observe(row.model_id, end_to_end)
            log.info(
                "request %s succeeded: %d image(s) in %d ms", row.id, len(outputs), inference_ms
            )
        else:
            log.warning(
                "request %s finished after its lease was lost; another attempt owns it", row.id
            )

    async def _complete(
        self, row: RequestRow, outputs: list[str], metadata: dict[str, Any]
    ) -> bool:
        """The outputs are stored: a short database outage right now should not cost a rerun,
        so the completion is retried for a while (guarded by worker id as always; if the row was
        reaped and claimed elsewhere meanwhile, this returns False)."""
        deadline = time.monotonic() + self.options.complete_retry_s
        while True:
            try:
                return await self.store.complete(row.id, self.options.worker_id, outputs, metadata)
            except StoreUnavailable as exc:
                if time.monotonic() >= deadline:
                    raise
                log.warning("could not record the result of %s yet, retrying: %s", row.id, exc)
                await asyncio.sleep(min(1.0, self.options.heartbeat_s))

    async def _load_request(self, row: RequestRow) -> GenerationRequest:
        references = []
        for key in row.input_blobs:
            data = await self.blobs.get(key)
            info = inspect_image(data)
            references.append(
                ReferenceImage(data=data, width=info.width, height=info.height, format=info.format)
            )
        return to_generation_request(row.model_id, row.input, references)

    def output_format(self, row: RequestRow) -> OutputFormat:
        """The request's own choice (`extra["output_format"]`, set by doors that let a client
        pick), else the worker's."""
        chosen = (row.extra or {}).get("output_format")
        return chosen if chosen in CONTENT_TYPES else self.options.output_format

    def _generate(
        self, run: _Run, request: GenerationRequest, loop: asyncio.AbstractEventLoop
    ) -> GenerationResult:
        """Runs in a thread: the engine is blocking and must not hold the event loop."""
        plan = self.engine.plan(request)
        fmt = self.output_format(run.row)

        def on_progress(p: Progress) -> None:
            if run.abort_reason:
                raise Aborted(run.abort_reason)
            run.latest_progress = p
            loop.call_soon_threadsafe(run.progress_dirty.set)

        def store_image(index: int, image: Any) -> None:
            data = encode_image(image, fmt)
            key = output_key(run.row.id, index, fmt)
            ct = CONTENT_TYPES[fmt]
            asyncio.run_coroutine_threadsafe(self.blobs.put(key, data, ct), loop).result()
            run.outputs[index] = key
            loop.call_soon_threadsafe(run.progress_dirty.set)

        # Encoding a 4 MP PNG takes about as long as a GPU step: it runs beside the engine, in
        # order, so image k+1 is being generated while image k is encoded and stored.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode") as encoder:
            pending: list[Future[None]] = []

            def on_image(index: int, image: Any) -> None:
                if run.abort_reason:
                    raise Aborted(run.abort_reason)
                pending.append(encoder.submit(store_image, index, image))

            result = self.engine.generate(plan, on_progress=on_progress, on_image=on_image)
            for future in pending:
                future.result()  # an encoding or storage error fails the request
        for index, image in enumerate(result.images):
            if index not in run.outputs:  # an engine that does not call on_image
                store_image(index, image)
        return result

    async def _after_abort(self, run: _Run) -> None:
        if run.abort_reason == "shutdown":
            await self.store.release(run.row.id, self.options.worker_id)
            log.warning("request %s handed back to the queue at shutdown", run.row.id)
        else:
            log.warning("request %s stopped: %s", run.row.id, run.abort_reason)

    async def _keep_lease(self, run: _Run) -> None:
        while True:
            await asyncio.sleep(self.options.heartbeat_s)
            try:
                held = await self.store.heartbeat(
                    run.row.id, self.options.worker_id, self.options.lease_s
                )
            except StoreUnavailable as exc:
                log.warning("lease heartbeat for %s failed; retrying: %s", run.row.id, exc)
                continue
            except Exception:
                log.exception("lease heartbeat for %s failed; retrying", run.row.id)
                continue
            if not held:
                run.abort_reason = "lease lost"
                return

    async def _write_progress(self, run: _Run) -> None:
        while True:
            await run.progress_dirty.wait()
            run.progress_dirty.clear()
            p = run.latest_progress
            # Images are stored beside the engine, so image k+1 may be running before image k
            # is stored. Readers see events in order (image k stored, then image k+1's steps):
            # hold that progress back until the store catches up (it signals when it does).
            if p is not None and len(run.outputs) >= p.image - 1:
                with contextlib.suppress(Exception):
                    await self.store.set_progress(
                        run.row.id, self.options.worker_id, _progress(p, run)
                    )
            await asyncio.sleep(self.options.progress_interval_s)


def _progress(p: Progress | None, run: _Run) -> dict[str, Any]:
    progress: dict[str, Any] = {}
    if p is not None:
        progress = {"step": p.step, "steps": p.steps, "image": p.image, "images": p.images}
    # `stored`: output keys already written, so streams can send each image as soon as it
    # exists rather than at the end (and a failed request still shows what it made).
    progress["stored"] = [run.outputs[i] for i in sorted(run.outputs)]
    return progress


async def _wait_any(stop: asyncio.Event, other: Any) -> None:
    """Waits for `other` or for `stop`, whichever first; cancels whichever is left."""
    stop_task = asyncio.create_task(stop.wait())
    other_task = asyncio.ensure_future(other)
    done, pending = await asyncio.wait({stop_task, other_task}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    for task in done:
        if task is other_task and not task.cancelled() and task.exception():
            raise task.exception()  # type: ignore[misc]


def _queue_ms(row: RequestRow) -> int | None:
    if row.started_at is None:
        return None
    return round((row.started_at - row.created_at).total_seconds() * 1000)


def _reason(exc: Exception) -> str:
    message = str(exc).strip() or type(exc).__name__
    return f"Generation failed: {message}"
