"""The worker loop against a real SQLite request table and a real local blob store, with small
fixture engines (as cog tests its runner): one that works, one that fails, one that blocks."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from opendream.engine.types import GenerationRequest, GenerationResult, ImagePlan, Plan, Progress
from opendream.jobs.base import StoreUnavailable
from opendream.jobs.store import SqlRequestStore
from opendream.observability.metrics import LATENCY_INFO_KEY, snapshots_from_info
from opendream.storage.factory import open_blob_store
from opendream.worker.runner import Worker, WorkerOptions

SEQ = "bytedance/seedream-4-0/sequential"
INPUT = {
    "text": "Generate 2 images of a lighthouse",
    "sequential_image_generation_options": 3,
    "image_size": "2048:2048 (1:1)",
    "optimize_prompt_options": "fast",
    "sequential_image_generation": "auto",
}


class FixtureEngine:
    """Makes `n` solid images at a small size, reporting two steps per image."""

    def __init__(
        self,
        n: int = 2,
        fail: Exception | None = None,
        gate: threading.Event | None = None,
        hold_last: threading.Event | None = None,
    ):
        self.n, self.fail, self.gate, self.hold_last = n, fail, gate, hold_last
        self.requests: list[GenerationRequest] = []
        self.reported: list[Progress] = []

    def plan(self, request: GenerationRequest) -> Plan:
        self.requests.append(request)
        images = tuple(ImagePlan(index=i, prompt=request.prompt, seed=i) for i in range(self.n))
        return Plan(
            request,
            images,
            32,
            24,
            32,
            24,
            steps=2,
            guidance=1.0,
            seed=0,
            metadata={"count": {"produced": self.n}},
        )

    def generate(
        self,
        plan: Plan,
        on_progress: Callable[[Progress], None] | None = None,
        on_image: Callable[[int, Any], None] | None = None,
    ) -> GenerationResult:
        images = []
        for i in range(self.n):
            for step in (1, 2):
                if self.gate is not None:
                    self.gate.wait(10)
                self.reported.append(Progress(step, 2, i + 1, self.n))
                if on_progress:
                    on_progress(self.reported[-1])
                if self.hold_last is not None and i == self.n - 1:
                    self.hold_last.wait(10)  # parked on the last image until the test looked
            if self.fail:
                raise self.fail
            image = Image.new("RGB", (plan.width, plan.height), (i * 40, 10, 10))
            if on_image:
                on_image(i, image)
            images.append(image)
        return GenerationResult(images, {**plan.metadata, "backend": "fixture"})


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlRequestStore]:
    s = SqlRequestStore(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    await s.start()
    yield s
    await s.close()


@pytest.fixture
def blobs(tmp_path: Path):  # type: ignore[no-untyped-def]
    return open_blob_store(
        f"file://{tmp_path / 'blobs'}", public_base_url="http://127.0.0.1:1", secret=b"s" * 32
    )


def options(worker_id: str = "w1", **kw: Any) -> WorkerOptions:
    return WorkerOptions(
        worker_id=worker_id, model_ids=[SEQ], heartbeat_s=0.05, lease_s=5, idle_wait_s=0.2, **kw
    )


async def run_until(worker: Worker, predicate: Callable[[], Any], timeout_s: float = 20) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(timeout_s):
            while not await predicate():
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task


async def test_completes_with_outputs_keyed_by_request(store, blobs) -> None:  # type: ignore[no-untyped-def]
    row = await store.insert(owner="k", model_id=SEQ, input=INPUT, input_blobs=[])
    worker = Worker(store, blobs, FixtureEngine(n=2), options())

    async def done() -> bool:
        return (await store.get(row.id)).status == "succeeded"

    await run_until(worker, done)
    final = await store.get(row.id)
    assert final.outputs == [f"requests/{row.id}/outputs/0.png", f"requests/{row.id}/outputs/1.png"]
    assert Image.open(__import__("io").BytesIO(await blobs.get(final.outputs[1]))).size == (32, 24)
    assert final.metadata["backend"] == "fixture" and final.metadata["count"] == {"produced": 2}
    assert final.metadata["attempts"] == 1 and final.metadata["inference_ms"] >= 0
    assert final.metadata["queue_ms"] is not None
    assert (
        worker.engine.requests[0].max_images == 3
        and worker.engine.requests[0].prompt == INPUT["text"]
    )


async def test_the_heartbeat_carries_this_workers_latency_histograms(store, blobs) -> None:  # type: ignore[no-untyped-def]
    """In a fleet /metrics is served by an API process that ran nothing: the worker's heartbeat
    row is where its histograms travel."""
    rows = [await store.insert(owner="k", model_id=SEQ, input=INPUT, input_blobs=[]) for _ in "ab"]
    worker = Worker(store, blobs, FixtureEngine(n=1), options("gpu-7"))
    other = Worker(store, blobs, FixtureEngine(n=1), options("gpu-8"))  # same process, own data

    def histograms(info: dict[str, Any]) -> dict[str, Any]:
        return {s.name: s.series for s in snapshots_from_info(info.get(LATENCY_INFO_KEY))}

    async def published() -> bool:
        done = all([(await store.get(r.id)).status == "succeeded" for r in rows])
        beats = {w["worker_id"]: w["info"] for w in await store.live_workers(within_s=60)}
        latest = histograms(beats.get("gpu-7", {}))
        seq = latest.get("opendream_inference_seconds", {}).get(SEQ)
        return done and seq is not None and seq.count == 2

    await run_until(worker, published)
    beats = {w["worker_id"]: w["info"] for w in await store.live_workers(within_s=60)}
    latest = histograms(beats["gpu-7"])
    assert set(latest) == {
        "opendream_queue_wait_seconds",
        "opendream_inference_seconds",
        "opendream_end_to_end_seconds",
    }
    assert all(series[SEQ].count == 2 for series in latest.values())
    assert beats["gpu-7"]["completed"] == 2 and beats["gpu-7"]["models"] == [SEQ]
    assert other.latency.to_info() == {}  # a second worker in the process observed nothing


async def test_a_request_may_choose_its_output_format(store, blobs) -> None:  # type: ignore[no-untyped-def]
    """Doors that let a client pick (`output_format` of the OpenAI and Ark APIs) put it in the
    row's extra; an unknown value falls back to the worker's own format."""
    chosen = await store.insert(
        owner="k", model_id=SEQ, input=INPUT, input_blobs=[], extra={"output_format": "jpeg"}
    )
    bogus = await store.insert(
        owner="k", model_id=SEQ, input=INPUT, input_blobs=[], extra={"output_format": "gif"}
    )
    worker = Worker(store, blobs, FixtureEngine(n=1), options())

    async def done() -> bool:
        rows = [await store.get(chosen.id), await store.get(bogus.id)]
        return all(r.status == "succeeded" for r in rows)

    await run_until(worker, done)
    jpeg, png = await store.get(chosen.id), await store.get(bogus.id)
    assert jpeg.outputs == [f"requests/{chosen.id}/outputs/0.jpg"]
    assert jpeg.metadata["output_format"] == "jpeg"
    assert (await blobs.get(jpeg.outputs[0]))[:3] == b"\xff\xd8\xff"
    assert png.outputs == [f"requests/{bogus.id}/outputs/0.png"]
    assert png.metadata["output_format"] == "png"


async def test_progress_and_stored_outputs_are_written_while_running(store, blobs) -> None:  # type: ignore[no-untyped-def]
    hold = threading.Event()
    row = await store.insert(owner="k", model_id=SEQ, input=INPUT, input_blobs=[])
    worker = Worker(store, blobs, FixtureEngine(n=2, hold_last=hold), options())
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(20):
            seen: dict[str, Any] = {}
            while not (seen.get("image") == 2 and seen.get("stored")):
                await asyncio.sleep(0.02)
                seen = (await store.get(row.id)).progress or {}
    finally:
        hold.set()
        stop.set()
        await task
    assert seen["images"] == 2 and seen["steps"] == 2
    assert seen["stored"] == [f"requests/{row.id}/outputs/0.png"]


async def test_engine_error_fails_the_request_with_a_reason(store, blobs) -> None:  # type: ignore[no-untyped-def]
    row = await store.insert(owner="k", model_id=SEQ, input=INPUT, input_blobs=[])
    worker = Worker(store, blobs, FixtureEngine(fail=RuntimeError("CUDA out of memory")), options())

    async def done() -> bool:
        return (await store.get(row.id)).status == "failed"

    await run_until(worker, done)
    assert (await store.get(row.id)).error == "Generation failed: CUDA out of memory"


async def test_shutdown_hands_a_running_request_back(store, blobs) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()  # never set: the engine blocks on every step until released
    row = await store.insert(owner="k", model_id=SEQ, input=INPUT, input_blobs=[])
    worker = Worker(store, blobs, FixtureEngine(gate=gate), options(shutdown_grace_s=0.2))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    async with asyncio.timeout(20):
        while (await store.get(row.id)).status != "in_progress":
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.sleep(0.5)  # the grace period passes while the engine is still busy
        gate.set()  # its next progress callback sees the abort
        await task
    requeued = await store.get(row.id)
    assert requeued.status == "in_queue" and requeued.worker_id is None

    second = Worker(store, blobs, FixtureEngine(), options("w2"))

    async def done() -> bool:
        return (await store.get(row.id)).status == "succeeded"

    await run_until(second, done)
    assert (await store.get(row.id)).metadata["attempts"] == 2


async def test_restart_requeues_what_this_worker_held(store, blobs) -> None:  # type: ignore[no-untyped-def]
    row = await store.insert(owner="k", model_id=SEQ, input=INPUT, input_blobs=[])
    claimed = await store.claim("w1", [SEQ], lease_s=3600)  # then the process "died"
    assert claimed is not None and claimed.id == row.id
    worker = Worker(store, blobs, FixtureEngine(), options("w1"))

    async def done() -> bool:
        return (await store.get(row.id)).status == "succeeded"

    await run_until(worker, done)  # well before the hour-long lease would expire


async def test_a_lost_lease_never_overwrites_the_new_owner(store, blobs) -> None:  # type: ignore[no-untyped-def]
    row = await store.insert(owner="k", model_id=SEQ, input=INPUT, input_blobs=[])
    claimed = await store.claim("old", [SEQ], lease_s=3600)
    assert claimed is not None
    await store.release_worker("old")  # as if its lease had expired and it was requeued
    worker = Worker(store, blobs, FixtureEngine(), options("new"))
    assert await store.complete(row.id, "old", ["x"], {}) is False

    async def done() -> bool:
        return (await store.get(row.id)).status == "succeeded"

    await run_until(worker, done)
    final = await store.get(row.id)
    assert final.worker_id == "new" and final.outputs[0].startswith(f"requests/{row.id}/")


async def test_a_retry_keeps_only_its_own_outputs(store, blobs) -> None:  # type: ignore[no-untyped-def]
    row = await store.insert(owner="k", model_id=SEQ, input=INPUT, input_blobs=[])
    claimed = await store.claim("dead", [SEQ], lease_s=3600)
    assert claimed is not None
    # the dead attempt stored three images; this one makes two
    for i in range(3):
        await blobs.put(f"requests/{row.id}/outputs/{i}.png", b"stale", "image/png")
    assert await store.release_worker("dead") == 1
    worker = Worker(store, blobs, FixtureEngine(n=2), options("w2"))

    async def done() -> bool:
        return (await store.get(row.id)).status == "succeeded"

    await run_until(worker, done)
    final = await store.get(row.id)
    assert final.outputs == [f"requests/{row.id}/outputs/{i}.png" for i in range(2)]
    assert not await blobs.exists(f"requests/{row.id}/outputs/2.png")
    assert await blobs.get(f"requests/{row.id}/outputs/0.png") != b"stale"
    assert await blobs.exists(f"requests/{row.id}/outputs/1.png")


class _FlakyComplete:
    """The real store, except that recording a result fails while the database "restarts"."""

    def __init__(self, inner: SqlRequestStore, failures: int) -> None:
        self.inner, self.failures = inner, failures

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def complete(self, *args: Any, **kwargs: Any) -> bool:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("database unavailable: the database system is starting up")
        return await self.inner.complete(*args, **kwargs)


async def test_a_database_blip_at_completion_costs_no_rerun(store, blobs) -> None:  # type: ignore[no-untyped-def]
    row = await store.insert(owner="k", model_id=SEQ, input=INPUT, input_blobs=[])
    flaky = _FlakyComplete(store, failures=3)
    worker = Worker(flaky, blobs, FixtureEngine(n=1), options())  # type: ignore[arg-type]

    async def done() -> bool:
        return (await store.get(row.id)).status == "succeeded"

    await run_until(worker, done)
    assert flaky.failures == 0
    assert (await store.get(row.id)).attempts == 1


class GatedBlobs:
    """The real blob store, whose writes wait until the test opens the gate."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.gate = asyncio.Event()

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self.gate.wait()
        await self.inner.put(key, data, content_type)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_the_engine_goes_on_while_an_image_is_being_stored(store, blobs) -> None:  # type: ignore[no-untyped-def]
    gated = GatedBlobs(blobs)
    row = await store.insert(owner="k", model_id=SEQ, input=INPUT, input_blobs=[])
    engine = FixtureEngine(n=2)
    worker = Worker(store, gated, engine, options())  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(20):
            # image 2 is generated although image 1 could not be stored yet ...
            while not any(p.image == 2 for p in engine.reported):
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)  # several progress-writer rounds
            # ... and readers are not told of image 2 before image 1 is stored
            row_now = await store.get(row.id)
            assert row_now.status == "in_progress"
            shown = row_now.progress or {}
            assert shown.get("image", 1) == 1 and not shown.get("stored")
            gated.gate.set()
            while (await store.get(row.id)).status != "succeeded":
                await asyncio.sleep(0.02)
    finally:
        gated.gate.set()
        stop.set()
        await task
    assert len((await store.get(row.id)).outputs) == 2
