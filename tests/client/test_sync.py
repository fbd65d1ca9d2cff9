"""`Client` behaviour that needs a server to misbehave or to be slow on cue: a scripted loopback
server. The same calls against the real service are in test_e2e.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from opendream.client import (
    AuthenticationError,
    Client,
    NotFound,
    OpendreamError,
    RequestCancelled,
    RequestFailed,
    RequestStatus,
    RequestTimeout,
    RetryPolicy,
    ServerError,
    ValidationError,
)
from tests.client.loopback import Canned, loopback_server

RID = "r-1"
STATUS = f"/v1/requests/{RID}/status"
RESULT = f"/v1/requests/{RID}/result"
CANCEL = f"/v1/requests/{RID}/cancel"
SUBMIT = "/v1/models/bytedance/seedream-4-0/sequential"
SUBMITTED = Canned(
    200, {"request_id": RID, "status_url": "s", "result_url": "r", "cancel_url": "c"}
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def fast_client(url: str) -> Client:
    return Client(
        url, "tok", retry=RetryPolicy(max_attempts=2, base_delay=0.001), poll_interval=0.005
    )


def status(state: str, **extra: object) -> Canned:
    return Canned(200, {"request_id": RID, "status": state, **extra})


def test_run_reports_every_status_and_returns_the_result() -> None:
    with loopback_server() as (url, script):
        script.on("POST", SUBMIT, SUBMITTED)
        script.on(
            "GET",
            STATUS,
            status("in_queue", queue_position=1),
            status("in_queue", queue_position=0),
            status("in_progress", progress={"step": 2, "steps": 4, "image": 1, "images": 2}),
            status("completed"),
        )
        script.on(
            "GET",
            RESULT,
            Canned(
                200,
                {
                    "request_id": RID,
                    "status": "succeeded",
                    "output": {"images": [f"{url}/o/0.png", f"{url}/o/1.png"]},
                    "created_at": "2026-11-21T10:00:00Z",
                    "finished_at": "2026-11-21T10:00:04Z",
                    "metadata": {"seed": {"value": 42, "random": False}},
                },
            ),
        )
        seen: list[RequestStatus] = []
        with fast_client(url) as client:
            result = client.run(
                "bytedance/seedream-4-0/sequential", {"text": "x"}, on_update=seen.append
            )
    assert [s.status for s in seen] == ["in_queue", "in_queue", "in_progress", "completed"]
    assert [s.queue_position for s in seen[:2]] == [1, 0]
    assert seen[2].progress is not None and (seen[2].progress.step, seen[2].progress.images) == (
        2,
        2,
    )
    assert result.status == "succeeded" and result.urls == [f"{url}/o/0.png", f"{url}/o/1.png"]
    assert result.seed == 42
    assert result.finished_at is not None and result.created_at is not None
    assert (result.finished_at - result.created_at).total_seconds() == 4


def test_a_failed_request_raises_request_failed_with_the_reason() -> None:
    with loopback_server() as (url, script):
        script.on("GET", STATUS, status("completed"))
        script.on(
            "GET",
            RESULT,
            Canned(200, {"request_id": RID, "status": "failed", "error": "worker lost 3 times"}),
        )
        with fast_client(url) as client, pytest.raises(RequestFailed) as info:
            client.wait(RID)
    assert info.value.error_message == "worker lost 3 times"
    assert info.value.request_id == RID
    assert info.value.result.status == "failed"


def test_a_cancelled_request_raises_request_cancelled() -> None:
    with loopback_server() as (url, script):
        script.on("GET", STATUS, status("cancelled"))
        script.on("GET", RESULT, Canned(200, {"request_id": RID, "status": "cancelled"}))
        with fast_client(url) as client, pytest.raises(RequestCancelled):
            client.wait(RID)


def test_timeout_raises_with_the_request_id_and_cancels_when_asked() -> None:
    with loopback_server() as (url, script):
        script.on("POST", SUBMIT, SUBMITTED)
        script.on("GET", STATUS, status("in_queue", queue_position=5))
        script.on(
            "POST",
            CANCEL,
            Canned(202, {"request_id": RID, "status": "cancelled", "outcome": "cancelled"}),
        )
        with fast_client(url) as client, pytest.raises(RequestTimeout) as info:
            client.run(
                "bytedance/seedream-4-0/sequential",
                {"text": "x"},
                timeout=0.05,
                cancel_on_timeout=True,
            )
        assert script.count("POST", CANCEL) == 1
    assert info.value.request_id == RID
    assert info.value.cancelled is True
    assert "cancelled" in info.value.error_message


def test_timeout_without_cancel_leaves_the_request_alone() -> None:
    with loopback_server() as (url, script):
        script.on("GET", STATUS, status("in_progress"))
        with fast_client(url) as client, pytest.raises(RequestTimeout) as info:
            client.wait(RID, timeout=0.02)
        assert script.count("POST", CANCEL) == 0
    assert info.value.cancelled is False
    assert RID in str(info.value)


def test_a_200_with_an_error_code_is_an_error() -> None:
    body = {"error_code": 404001, "error_message": "request not found", "detail": None}
    with loopback_server() as (url, script):
        script.on("GET", STATUS, Canned(200, body))
        with fast_client(url) as client, pytest.raises(NotFound) as info:
            client.status(RID)
    assert info.value.error_code == 404001 and info.value.status_code == 200


def test_a_422_carries_every_problem_with_its_location() -> None:
    detail = [
        {
            "loc": ["body", "text"],
            "msg": "String should have at most 600 characters",
            "type": "string_too_long",
        },
        {
            "loc": ["body", "images", 1],
            "msg": "File size must be less than 10 MB.",
            "type": "file_size_mb",
        },
    ]
    with loopback_server() as (url, script):
        script.on(
            "POST",
            SUBMIT,
            Canned(422, {"error_code": 422001, "error_message": "invalid input", "detail": detail}),
        )
        with fast_client(url) as client, pytest.raises(ValidationError) as info:
            client.submit("bytedance/seedream-4-0/sequential", {"text": "x" * 601})
    assert info.value.error_code == 422001
    assert [p["loc"] for p in info.value.problems] == [["body", "text"], ["body", "images", 1]]


def test_a_401_and_a_non_json_error_page_keep_what_the_server_said() -> None:
    with loopback_server() as (url, script):
        script.on(
            "GET", STATUS, Canned(401, {"error_code": 400004, "error_message": "invalid token"})
        )
        script.on("GET", RESULT, Canned(502, raw=b"<html>Bad gateway</html>"))
        with fast_client(url) as client:
            with pytest.raises(AuthenticationError, match="invalid token"):
                client.status(RID)
            with pytest.raises(ServerError, match="Bad gateway"):
                client.result(RID)


def test_download_saves_each_output_and_sends_the_token_only_to_the_server_itself(
    tmp_path: Path,
) -> None:
    with loopback_server() as (url, script), loopback_server() as (cdn, cdn_script):
        script.on(
            "GET", "/files/0.png", Canned(200, raw=PNG, headers={"Content-Type": "image/png"})
        )
        cdn_script.on(
            "GET",
            "/img/abc",
            Canned(200, raw=PNG + b"jpeg?", headers={"Content-Type": "image/jpeg"}),
        )
        script.on(
            "GET",
            RESULT,
            Canned(
                200,
                {
                    "request_id": RID,
                    "status": "succeeded",
                    "output": {"images": [f"{url}/files/0.png", f"{cdn}/img/abc"]},
                },
            ),
        )
        with fast_client(url) as client:
            paths = client.download(RID, tmp_path / "out")
        own = next(h for h in script.hits if h.path == "/files/0.png")
        foreign = cdn_script.hits[0]
    assert [p.name for p in paths] == [f"{RID}_0.png", f"{RID}_1.jpg"]
    assert paths[0].read_bytes() == PNG and paths[1].read_bytes() == PNG + b"jpeg?"
    assert own.headers.get("Authorization") == "Bearer tok"
    assert "Authorization" not in foreign.headers
    assert not list((tmp_path / "out").glob("*.part"))


def test_download_of_a_result_without_outputs_says_why(tmp_path: Path) -> None:
    with loopback_server() as (url, script):
        script.on(
            "GET",
            RESULT,
            Canned(200, {"request_id": RID, "status": "failed", "error": "out of memory"}),
        )
        with fast_client(url) as client, pytest.raises(OpendreamError, match="out of memory"):
            client.download(RID, tmp_path)


def test_upload_posts_the_file_as_multipart_and_returns_its_uri(tmp_path: Path) -> None:
    image = tmp_path / "ref.png"
    image.write_bytes(PNG)
    answer = {"id": "f1", "uri": "opendream://files/f1", "expires_at": "2026-11-22T10:00:00Z"}
    with loopback_server() as (url, script):
        script.on("POST", "/v1/files", Canned(200, answer))
        with fast_client(url) as client:
            uri = client.upload(image)
        hit = script.hits[0]
    assert uri == "opendream://files/f1"
    assert hit.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="file"; filename="ref.png"' in hit.body
    assert b"Content-Type: image/png" in hit.body and PNG in hit.body


def test_model_ids_keep_their_slashes_and_base_url_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with loopback_server() as (url, script):
        script.on("POST", SUBMIT, SUBMITTED)
        monkeypatch.setenv("OPENDREAM_URL", url + "/")
        monkeypatch.setenv("OPENDREAM_TOKEN", "from-env")
        with Client() as client:
            assert (
                client.submit("bytedance/seedream-4-0/sequential", {"text": "x"}).request_id == RID
            )
        assert script.hits[0].path == SUBMIT
        assert script.hits[0].headers["Authorization"] == "Bearer from-env"


def test_the_default_base_url_is_runcomfy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENDREAM_URL", raising=False)
    with Client(token="t") as client:
        assert client.base_url == "https://model-api.runcomfy.net"
