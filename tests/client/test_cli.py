"""`opendream generate | status | result | cancel` through the top-level app (so `register` is
tested too), in process, against a real `opendream serve` with the tiny model."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from opendream.cli import app
from opendream.client import Client, RequestResult
from tests.e2e.server import ServerProcess

runner = CliRunner()


def invoke(server: ServerProcess, *args: str):  # type: ignore[no-untyped-def]
    env = {"OPENDREAM_URL": server.base_url, "OPENDREAM_TOKEN": server.token, "COLUMNS": "120"}
    return runner.invoke(app, list(args), env=env)


def printed_paths(stdout: str) -> list[Path]:
    return [Path(line) for line in stdout.splitlines() if line.strip()]


def test_generate_saves_the_images_and_prints_the_paths(
    server: ServerProcess, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = invoke(
        server,
        "generate",
        "Generate 1 image of a cat",
        "--size",
        "4:3",
        "--seed",
        "5",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    (path,) = printed_paths(result.stdout)
    assert path.parent == out and path.is_file()
    with Image.open(path) as image:
        assert image.size == (2304, 1728)
    assert "request " in result.stderr


def test_generate_uploads_a_local_image_for_an_edit(server: ServerProcess, tmp_path: Path) -> None:
    reference = tmp_path / "ref.png"
    buf = io.BytesIO()
    Image.new("RGB", (80, 80), "navy").save(buf, format="PNG")
    reference.write_bytes(buf.getvalue())
    args = ["generate", "Make it green.", "--image", str(reference), "--edit", "--resolution", "1K"]
    result = invoke(server, *args, "-o", str(tmp_path / "edit"))
    assert result.exit_code == 0, result.output
    (path,) = printed_paths(result.stdout)
    with Image.open(path) as image:
        assert image.size[0] == image.size[1]  # 1K keeps the square reference's ratio
    assert "uploading" in result.stderr


def test_status_result_and_cancel_of_a_finished_request(
    server: ServerProcess, finished: RequestResult, tmp_path: Path
) -> None:
    request_id = finished.request_id
    status = invoke(server, "status", request_id)
    assert status.exit_code == 0 and status.stdout.strip() == "completed"

    raw = invoke(server, "result", request_id, "--json")
    assert raw.exit_code == 0 and json.loads(raw.stdout)["status"] == "succeeded"

    shown = invoke(server, "result", request_id, "-o", str(tmp_path))
    lines = shown.stdout.splitlines()
    # the link is signed anew per answer (its expiry moves with the clock): same file, same path
    assert lines[0] == "succeeded" and lines[1].split("?")[0] == finished.urls[0].split("?")[0]
    assert Path(lines[2]).is_file()

    cancel = invoke(server, "cancel", request_id)
    assert cancel.exit_code == 1 and "not_cancellable" in cancel.stdout


def test_status_and_cancel_of_a_queued_request(queue_server: ServerProcess) -> None:
    with Client(queue_server.base_url, queue_server.token) as client:
        request_id = client.submit(
            "bytedance/seedream-4-0/sequential", {"text": "a pear"}
        ).request_id
    status = invoke(queue_server, "status", request_id)
    assert status.exit_code == 0 and status.stdout.startswith("in_queue (position ")
    cancel = invoke(queue_server, "cancel", request_id)
    assert cancel.exit_code == 0 and cancel.stdout.strip() == "cancelled"
    assert invoke(queue_server, "result", request_id).stdout.strip() == "cancelled"


def test_generate_with_a_timeout_cancels_and_names_the_request(queue_server: ServerProcess) -> None:
    result = invoke(queue_server, "generate", "Generate 1 image of a pear", "--timeout", "0.3")
    assert result.exit_code == 1
    assert "timeout:" in result.stderr and "was cancelled" in result.stderr


def test_bad_arguments_and_bad_input_are_named_without_a_traceback(server: ServerProcess) -> None:
    too_many = invoke(server, "generate", "Generate 2 images of a cat", "--max-images", "16")
    assert too_many.exit_code == 2 and "--max-images must be between 1 and 15" in too_many.stderr
    no_image = invoke(server, "generate", "Make it blue", "--edit")
    assert no_image.exit_code == 2 and "--edit needs at least one --image" in no_image.stderr
    missing_file = invoke(server, "generate", "x", "--image", "/nonexistent/ref.png")
    assert (
        missing_file.exit_code == 2 and "neither a URL nor a readable file" in missing_file.stderr
    )
    too_long = invoke(server, "generate", "x" * 601)
    assert too_long.exit_code == 1 and "text:" in too_long.stderr and "600" in too_long.stderr
    unknown = invoke(server, "status", "no-such-request")
    assert unknown.exit_code == 1 and "404001" in unknown.stderr
    for outcome in (too_many, no_image, missing_file, too_long, unknown):
        assert "Traceback" not in outcome.output


def test_a_wrong_token_is_reported(server: ServerProcess) -> None:
    result = runner.invoke(app, ["status", "abc", "--url", server.base_url, "--token", "nope"])
    assert result.exit_code == 1 and "400004" in result.stderr
