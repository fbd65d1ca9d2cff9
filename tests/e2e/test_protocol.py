"""The RunComfy protocol end to end: a real `opendream serve` process, real HTTP on loopback, a
real SQLite file and the tiny pipeline."""

from __future__ import annotations

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from PIL import Image

from tests.e2e.images import png_bytes, png_data_uri
from tests.e2e.server import ServerProcess

SEQ = "bytedance/seedream-4-0/sequential"
EDIT = "bytedance/seedream-4-0/edit"
EDIT_SEQ = "bytedance/seedream-4-0/edit-sequential"
EXAMPLE_TEXT = "Generate 3 images of a beautiful sunset over a calm ocean."


def wait_finished(client: httpx.Client, request_id: str, timeout_s: float = 240.0) -> list[str]:
    """Polls status like RunComfy's clients do; returns the sequence of distinct statuses seen."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = client.get(f"/v1/requests/{request_id}/status").json()["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in ("completed", "cancelled"):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"request {request_id} did not finish in {timeout_s}s; saw {seen}")


def download_sizes(urls: list[str]) -> list[tuple[int, int]]:
    sizes = []
    for url in urls:
        r = httpx.get(url, timeout=30)  # signed URL: no token needed
        assert r.status_code == 200, url
        sizes.append(Image.open(io.BytesIO(r.content)).size)
    return sizes


class _ImageHandler(BaseHTTPRequestHandler):
    body = png_bytes(120, 80, (10, 120, 200))

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def image_url() -> str:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ImageHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/ref.png"
    httpd.shutdown()


def test_documented_examples_run_to_completion(
    running_server: ServerProcess, image_url: str
) -> None:
    """The three example bodies of the published pages (their empty `images` filled with one
    loopback URL and one data URI) succeed, walk the documented states and deliver images of
    exactly the requested pixel size."""
    bodies = [
        (SEQ, {"text": EXAMPLE_TEXT}, (2560, 1440), "images"),
        (
            EDIT_SEQ,
            {"images": [image_url], "text": EXAMPLE_TEXT, "sequential_image_generation_options": 2},
            (2560, 1440),
            "images",
        ),
        (
            EDIT,
            {"prompt": "Make the sky purple", "images": [png_data_uri()], "resolution": "1K"},
            None,
            "image",
        ),
    ]
    with running_server.client() as client:
        ids = []
        for model, body, _size, _key in bodies:
            r = client.post(f"/v1/models/{model}", json=body)
            assert r.status_code == 200, r.text
            submitted = r.json()
            assert set(submitted) == {"request_id", "status_url", "result_url", "cancel_url"}
            assert (
                submitted["status_url"]
                == f"{running_server.base_url}/v1/requests/{submitted['request_id']}/status"
            )
            ids.append(submitted["request_id"])
        # the later requests wait while the first runs
        last = client.get(f"/v1/requests/{ids[-1]}/status").json()
        assert last["status"] == "in_queue" and last["queue_position"] >= 1, last
        order = ["in_queue", "in_progress", "completed"]
        for request_id in ids:
            seen = wait_finished(client, request_id)
            assert seen[-1] == "completed"
            assert seen == sorted(seen, key=order.index), seen  # never backwards

        for request_id, (_model, _body, size, key) in zip(ids, bodies, strict=True):
            result = client.get(f"/v1/requests/{request_id}/result").json()
            assert result["status"] == "succeeded", result
            assert result["created_at"] <= result["started_at"] <= result["finished_at"]
            urls = result["output"]["images"] if key == "images" else [result["output"]["image"]]
            meta = result["metadata"]
            assert meta["count"]["produced"] == len(urls)
            assert isinstance(meta["seed"]["value"], int)
            expected = size or (1248, 832)  # 1K at the 3:2 reference: about 1 MP, multiples of 16
            if size is None:
                w, h = download_sizes(urls)[0]
                assert abs(w * h - 1024 * 1024) / (1024 * 1024) < 0.1 and abs(w / h - 1.5) < 0.05
            else:
                assert download_sizes(urls) == [expected] * len(urls)
        sequential = client.get(f"/v1/requests/{ids[0]}/result").json()
        assert len(sequential["output"]["images"]) == 3  # "Generate 3 images"


def test_progress_is_reported_while_running(running_server: ServerProcess) -> None:
    with running_server.client() as client:
        r = client.post(
            f"/v1/models/{SEQ}", json={"text": "Generate 2 images of a red fox", "seed": 7}
        )
        request_id = r.json()["request_id"]
        progress = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and progress is None:
            status = client.get(f"/v1/requests/{request_id}/status").json()
            progress = status.get("progress")
            if status["status"] == "completed":
                break
            time.sleep(0.02)
        assert progress is not None, "no progress object seen while in_progress"
        assert progress["images"] == 2 and 1 <= progress["image"] <= 2
        assert 1 <= progress["step"] <= progress["steps"]
        wait_finished(client, request_id)


def test_cancel_queued_and_finished(running_server: ServerProcess) -> None:
    with running_server.client() as client:
        first = client.post(f"/v1/models/{SEQ}", json={"text": "Generate 1 image of a cat"}).json()
        queued = client.post(f"/v1/models/{SEQ}", json={"text": "Generate 1 image of a dog"}).json()
        r = client.post(f"/v1/requests/{queued['request_id']}/cancel")
        assert r.status_code == 202
        assert r.json()["outcome"] == "cancelled" and r.json()["status"] == "cancelled"
        assert (
            client.get(f"/v1/requests/{queued['request_id']}/status").json()["status"]
            == "cancelled"
        )
        assert (
            client.get(f"/v1/requests/{queued['request_id']}/result").json()["status"]
            == "cancelled"
        )

        assert wait_finished(client, first["request_id"])[-1] == "completed"
        r = client.post(f"/v1/requests/{first['request_id']}/cancel")
        assert r.status_code == 202 and r.json()["outcome"] == "not_cancellable"
        assert (
            client.get(f"/v1/requests/{first['request_id']}/result").json()["status"] == "succeeded"
        )


def test_another_key_sees_nothing(running_server: ServerProcess) -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "opendream",
            "keys",
            "create",
            "--name",
            "other",
            "--data-dir",
            str(running_server.data_dir),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    other_token = out.strip().splitlines()[-1]
    with running_server.client() as mine, running_server.client(other_token) as theirs:
        request_id = mine.post(
            f"/v1/models/{SEQ}", json={"text": "Generate 1 image of a cat"}
        ).json()["request_id"]
        for method, path in [("GET", "status"), ("GET", "result"), ("POST", "cancel")]:
            r = theirs.request(method, f"/v1/requests/{request_id}/{path}")
            assert r.status_code == 404 and r.json()["error_code"] == 404001, (path, r.text)
        unknown = theirs.get("/v1/requests/00000000-0000-0000-0000-000000000000/status")
        assert unknown.status_code == 404 and unknown.json()["error_code"] == 404001
        # ids reveal nothing: a foreign id answers exactly like an unknown one
        unknown_message = unknown.json()["error_message"].replace(
            "00000000-0000-0000-0000-000000000000", "ID"
        )
        assert unknown_message == r.json()["error_message"].replace(request_id, "ID")
        wait_finished(mine, request_id)
