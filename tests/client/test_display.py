"""The live view of `opendream generate`, rendered to text."""

from __future__ import annotations

import io

from rich.console import Console

from opendream.client.display import ProgressView
from opendream.client.types import Progress, RequestStatus


def status(
    state: str, position: int | None = None, progress: Progress | None = None
) -> RequestStatus:
    return RequestStatus(request_id="r", status=state, queue_position=position, progress=progress)


def render(view: ProgressView) -> str:
    buf = io.StringIO()
    Console(file=buf, width=100, color_system=None, force_terminal=False).print(view.progress)
    return buf.getvalue()


def test_queue_position_then_a_bar_per_image_then_done() -> None:
    view = ProgressView(Console(file=io.StringIO(), width=100))
    view.update(status("in_queue", position=2))
    assert "In queue" in render(view) and "position 2" in render(view)
    view.update(status("in_queue", position=0))
    assert "next to run" in render(view)

    view.update(status("in_progress", progress=Progress(step=3, steps=4, image=2, images=3)))
    text = render(view)
    assert "Generating" in text
    assert "Image 1/3" in text and "done" in text  # earlier images are complete
    assert "Image 2/3" in text and "step 3/4" in text
    assert "Image 3/3" not in text  # not started yet

    view.update(status("completed"))
    text = render(view)
    assert "Completed" in text
    tasks = {t.description.strip(): t for t in view.progress.tasks}
    assert tasks["Image 1/3"].finished and tasks["Image 2/3"].finished
