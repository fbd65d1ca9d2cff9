"""The live progress view of `opendream generate`: queue position while queued, then one bar per
image with its denoising steps."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from opendream.client.types import RequestStatus


class ProgressView:
    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<14}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self._status = self.progress.add_task("Submitting", total=None, detail="")
        self._images: dict[int, TaskID] = {}
        self.last: RequestStatus | None = None

    def __enter__(self) -> ProgressView:
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def _image_task(self, index: int, count: int, steps: int) -> TaskID:
        if index not in self._images:
            self._images[index] = self.progress.add_task(
                f"Image {index}/{count}", total=steps, detail=""
            )
        return self._images[index]

    def update(self, status: RequestStatus) -> None:
        self.last = status
        if status.status == "in_queue":
            position = status.queue_position
            where = (
                "next to run"
                if position == 0
                else f"position {position}"
                if position is not None
                else ""
            )
            self.progress.update(self._status, description="In queue", detail=where)
        elif status.status == "in_progress":
            self.progress.update(self._status, description="Generating", detail="")
            p = status.progress
            if p is not None and p.images and p.image and p.steps:
                for earlier in range(1, p.image):
                    task = self._image_task(earlier, p.images, p.steps)
                    self.progress.update(
                        task, completed=self.progress.tasks[task].total, detail="done"
                    )
                task = self._image_task(p.image, p.images, p.steps)
                step = p.step or 0
                self.progress.update(
                    task, total=p.steps, completed=step, detail=f"step {step}/{p.steps}"
                )
        elif status.done:
            self.finish(status.status)

    def finish(self, outcome: str) -> None:
        if outcome in ("completed", "succeeded"):
            for task in self._images.values():
                self.progress.update(task, completed=self.progress.tasks[task].total, detail="done")
        self.progress.update(
            self._status,
            description=outcome.replace("_", " ").capitalize(),
            total=1,
            completed=1,
            detail="",
        )
