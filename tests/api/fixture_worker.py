"""A real `Worker` with a small fixture engine, running on an `ApiServer`'s loop, for the doors
that wait for results (Ark, OpenAI, streams, `Prefer: wait`). Images are solid colours of
exactly the planned size (the planner's own size rule), made in milliseconds."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from opendream.catalog import MODELS
from opendream.engine.planner.sizes import delivered_size
from opendream.engine.types import GenerationRequest, GenerationResult, ImagePlan, Plan, Progress
from opendream.worker.runner import Worker, WorkerOptions

from .server import ApiServer


@dataclass
class FixtureEngine:
    """`count(request)` images (default: max_images, at most 3), two steps each. `fail_after`
    images, it raises. `gate`, when given, is waited on before each image."""

    count: Callable[[GenerationRequest], int] = lambda r: min(r.max_images, 3)
    fail_after: int | None = None
    gate: threading.Event | None = None
    requests: list[GenerationRequest] = field(default_factory=list)

    def reset(self) -> None:
        """Back to the defaults, between tests sharing one engine."""
        self.count = FixtureEngine.count
        self.fail_after, self.gate = None, None

    def plan(self, request: GenerationRequest) -> Plan:
        self.requests.append(request)
        size = delivered_size(request.size, request.references)
        n = self.count(request)
        images = tuple(ImagePlan(index=i, prompt=request.prompt, seed=i) for i in range(n))
        meta = {
            "delivered_size": [size.width, size.height],
            "prompts": {"per_image": [f"{request.prompt} (image {i + 1})" for i in range(n)]},
        }
        return Plan(
            request, images, size.width, size.height, size.width, size.height, 2, 1.0, 0, meta
        )

    def generate(
        self,
        plan: Plan,
        on_progress: Callable[[Progress], None] | None = None,
        on_image: Callable[[int, Any], None] | None = None,
    ) -> GenerationResult:
        images = []
        n = len(plan.images)
        for i in range(n):
            if self.gate is not None:
                self.gate.wait(30)
            if self.fail_after is not None and i >= self.fail_after:
                raise RuntimeError("fixture engine failure")
            for step in (1, 2):
                if on_progress:
                    on_progress(Progress(step, 2, i + 1, n))
            image = Image.new("RGB", (plan.width, plan.height), (40 * i, 90, 160))
            if on_image:
                on_image(i, image)
            images.append(image)
        return GenerationResult(images, dict(plan.metadata))


class RunningWorker:
    def __init__(self, server: ApiServer, engine: FixtureEngine) -> None:
        self.server = server
        self.engine = engine
        self.worker = Worker(
            server.store,
            server.blobs,
            engine,  # type: ignore[arg-type]
            WorkerOptions(
                worker_id="fixture-worker",
                model_ids=list(MODELS),
                heartbeat_s=0.5,
                lease_s=10,
                idle_wait_s=0.5,
                progress_interval_s=0.01,
            ),
        )
        self._stop: asyncio.Event | None = None
        self._future: Future[None] | None = None

    def start(self) -> RunningWorker:
        async def make_stop() -> asyncio.Event:
            return asyncio.Event()

        self._stop = self.server.call(make_stop())
        self._future = asyncio.run_coroutine_threadsafe(
            self.worker.run(self._stop), self.server._loop
        )
        return self

    def stop(self) -> None:
        if self._stop is not None and self._future is not None:
            self.server._loop.call_soon_threadsafe(self._stop.set)
            self._future.result(30)
