"""The fleet deployment end to end: `opendream serve --no-worker` plus two `opendream worker`
processes on one PostgreSQL database and one blob store (a shared directory, then an S3 bucket on
moto's server), each worker with its own id."""

from __future__ import annotations

import io
import signal
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from PIL import Image

from tests.e2e.fleet import EDIT, Fleet, edit_body, wait_until
from tests.e2e.fleet_fixtures import fleet_factory, pg_database  # noqa: F401

pytestmark = pytest.mark.postgres


def _image_size(url: str) -> tuple[int, int]:
    r = httpx.get(url, timeout=30, trust_env=False)
    assert r.status_code == 200, (url, r.status_code, r.text[:200])
    return Image.open(io.BytesIO(r.content)).size


def _submit(client: httpx.Client, n: int) -> list[str]:
    ids = []
    for i in range(n):
        r = client.post(f"/v1/models/{EDIT}", json=edit_body(i))
        assert r.status_code == 200, r.text
        ids.append(r.json()["request_id"])
    return ids


def test_api_without_worker_and_two_workers_share_the_work(
    fleet_factory: Callable[..., Fleet],  # noqa: F811
) -> None:
    # SIGTERM with no grace: a worker hands its current request back at once
    fleet = fleet_factory(env={"OPENDREAM_SHUTDOWN_GRACE_S": "0"})
    fleet.start_api()
    with fleet.client() as client:
        # API only: it accepts work and reports that no worker is there to do it
        ids = _submit(client, 6)
        assert fleet.statuses(client)[ids[0]] == "in_queue"
        ready = httpx.get(f"{fleet.base_url}/readyz", trust_env=False)
        assert ready.status_code == 503 and ready.json()["workers"] == 0

        since = time.time()
        for wid in ("gpu-a", "gpu-b"):
            fleet.start_worker(wid)
        fleet.wait_workers_alive(["gpu-a", "gpu-b"], since, timeout_s=90)
        assert httpx.get(f"{fleet.base_url}/readyz", trust_env=False).json()["workers"] == 2

        statuses = fleet.wait_all_finished(client, ids, timeout_s=90, during=lambda: None)
        assert all(statuses[i] == "succeeded" for i in ids), statuses
        results = [client.get(f"/v1/requests/{i}/result").json() for i in ids]
        assert client.get(f"/v1/requests/{ids[0]}/status").json()["status"] == "completed"

    # one JSON log stream per process; uvicorn's own lines go through the same handler, and
    # every line about a request, access lines included, carries its id
    for service in [fleet.api, *fleet.workers.values()]:
        assert service is not None
        lines = service.read_log().splitlines()
        assert lines and all(line.startswith("{") for line in lines), service.read_log()[:2000]
    api_logs = fleet.api.json_logs() if fleet.api else []
    assert any(r["logger"] == "uvicorn.error" for r in api_logs)
    assert not any("color_message" in r for r in api_logs)
    about_first = [r for r in api_logs if r.get("request_id") == ids[0]]
    assert any("queued" in r["msg"] for r in about_first), about_first
    assert any(
        r["logger"] == "uvicorn.access" and "POST /v1/models/" in r["msg"] for r in about_first
    )
    assert any(r["logger"] == "uvicorn.access" and "/status" in r["msg"] for r in about_first)

    workers_used = {ran_on(fleet, i) for i in ids}
    assert workers_used <= {"gpu-a", "gpu-b"}
    assert len(workers_used) == 2, "both workers should have taken work"
    for result in results:
        assert result["metadata"]["attempts"] == 1
        assert _image_size(result["output"]["image"]) == (1024, 1024)
        assert len(fleet.output_blobs(result["request_id"])) == 1

    # the API ran nothing itself: the latency histograms it serves are the workers' own, from
    # their heartbeats (every 0.5 s here), one series per worker
    def inference_counts() -> dict[str, float] | None:
        samples = fleet.metrics()
        counts = {
            wid: samples.get(
                f'opendream_inference_seconds_count{{model="{EDIT}",worker="{wid}"}}', 0
            )
            for wid in ("gpu-a", "gpu-b")
        }
        return counts if sum(counts.values()) == 6 else None

    counts = wait_until(inference_counts, 15, "both workers' histograms in the API's /metrics")
    assert counts["gpu-a"] > 0 and counts["gpu-b"] > 0, counts
    samples = fleet.metrics()
    assert not [k for k in samples if k.startswith("opendream_") and "_seconds_count{" in k
                and "worker=" not in k]  # fmt: skip
    assert samples[f'opendream_requests{{model="{EDIT}",status="succeeded"}}'] == 6
    assert samples[f'opendream_queue_depth{{model="{EDIT}"}}'] == 0
    assert samples["opendream_workers"] == 2

    # SIGTERM while it runs a request: the worker stops claiming, hands the request back (or
    # finishes it, if it was past its last step) and exits cleanly; the other worker carries on
    with fleet.client() as client:
        more = _submit(client, 4)
        running = wait_until(lambda: fleet.running_on("gpu-a"), 60, "gpu-a to run a request")
        gpu_a = fleet.workers["gpu-a"]
        assert gpu_a.proc is not None
        gpu_a.proc.send_signal(signal.SIGTERM)
        assert gpu_a.proc.wait(60) == 0, gpu_a.read_log()[-3000:]
        statuses = fleet.wait_all_finished(client, more, timeout_s=90, during=lambda: None)
        assert all(statuses[i] == "succeeded" for i in more), statuses
    handed_back = [r for r in gpu_a.json_logs() if "handed back" in r["msg"]]
    if handed_back:
        assert handed_back[0]["request_id"] == running[0]
        assert ran_on(fleet, running[0]) == "gpu-b"
    else:
        assert ran_on(fleet, running[0]) == "gpu-a"


def ran_on(fleet: Fleet, request_id: str) -> str:
    """Which worker ran a request, from the workers' own JSON logs (each line carries the id)."""
    for wid, service in fleet.workers.items():
        for record in service.json_logs():
            if record.get("request_id") == request_id and "succeeded" in record.get("msg", ""):
                return wid
    raise AssertionError(f"no worker logged the success of {request_id}")


@pytest.fixture
def moto_s3() -> Iterator[dict[str, str]]:
    """moto's S3 server on loopback, one bucket; the variables a fleet host would set."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ACCESS_KEY_ID": "fleet-key",
        "AWS_SECRET_ACCESS_KEY": "fleet-secret",
        "AWS_REGION": "us-east-1",
        "OPENDREAM_S3_ENDPOINT": f"http://{host}:{port}",
    }
    s3 = boto3.client(
        "s3",
        endpoint_url=env["OPENDREAM_S3_ENDPOINT"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket="fleet-outputs")
    try:
        yield env
    finally:
        server.stop()


def _s3_keys(env: dict[str, str], prefix: str) -> list[str]:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=env["OPENDREAM_S3_ENDPOINT"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    listing = s3.list_objects_v2(Bucket="fleet-outputs", Prefix=prefix)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def test_fleet_on_an_s3_bucket_serves_presigned_outputs(
    fleet_factory: Callable[..., Fleet],  # noqa: F811
    moto_s3: dict[str, str],
) -> None:
    fleet = fleet_factory(storage_url="s3://fleet-outputs/prod/od", env=moto_s3)
    fleet.start_api()
    since = time.time()
    fleet.start_worker("s3-a")  # sharing work is the test above; here: the bucket's wire
    with fleet.client() as client:
        ids = _submit(client, 3)
        fleet.wait_workers_alive(["s3-a"], since, timeout_s=90)
        statuses = fleet.wait_all_finished(client, ids, timeout_s=90, during=lambda: None)
        assert all(statuses[i] == "succeeded" for i in ids), statuses
        results = [client.get(f"/v1/requests/{i}/result").json() for i in ids]

    for result in results:
        url = result["output"]["image"]
        # a presigned GET on the bucket's endpoint, not a URL the API answers
        assert url.startswith(moto_s3["OPENDREAM_S3_ENDPOINT"] + "/fleet-outputs/prod/od/")
        assert "X-Amz-Signature=" in url
        assert _image_size(url) == (1024, 1024)
        rid = result["request_id"]
        # the reference the API stored and the one output the worker wrote, under the prefix
        keys = _s3_keys(moto_s3, f"prod/od/requests/{rid}/")
        outputs = [k for k in keys if "/outputs/" in k]
        assert outputs == [f"prod/od/requests/{rid}/outputs/0.png"], keys
        assert len(keys) > len(outputs), keys  # the stored reference image
    assert not fleet.blob_dir.exists()  # nothing went to a local directory
