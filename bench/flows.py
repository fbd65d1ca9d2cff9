"""What several suites do the same way: submit through the service and wait for the images, and
make the same images by calling the engine's pipeline directly in this process."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.images import photo_like, png_bytes

SEQUENTIAL = "bytedance/seedream-4-0/sequential"
EDIT = "bytedance/seedream-4-0/edit"
EDIT_SEQUENTIAL = "bytedance/seedream-4-0/edit-sequential"
FINISHED = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class Case:
    """One request, as the client sends it: to a RunComfy model (`model_id` + its input), or to
    the OpenAI Images door (`model_id` = OPENAI_DOOR, `body` = the OpenAI request)."""

    label: str
    model_id: str
    body: dict[str, Any]


OPENAI_DOOR = "openai:/v1/images/generations"


def openai_case(label: str, prompt: str, width: int, height: int, n: int = 1) -> Case:
    """Exact sizes the Seedream schemas cannot express (512x512) go through the OpenAI door,
    which waits for the result in-process, so no client polling interval is measured either."""
    body = {"prompt": prompt, "size": f"{width}x{height}", "n": n, "response_format": "url"}
    return Case(label, OPENAI_DOOR, body)


@dataclass
class Outcome:
    request_id: str
    seconds: float  # submit sent -> every output downloaded
    result: dict[str, Any]
    downloaded_bytes: int


def data_uri_png(side: int, seed: int = 0) -> str:
    data = png_bytes(photo_like(side, side, seed=seed))
    return "data:image/png;base64," + base64.b64encode(data).decode()


def warmup_case() -> Case:
    """The cheapest request the schemas allow (edit at 1K with a small reference): run once on
    a fresh server or engine so one-time costs (lazy imports, first kernels) are not measured."""
    return Case(
        "warm-up",
        EDIT,
        {"prompt": "Warm up.", "images": [data_uri_png(64)], "resolution": "1K", "seed": 1},
    )


def run_through_service(
    http: httpx.Client, case: Case, *, poll_s: float = 0.02, timeout_s: float = 900.0
) -> Outcome:
    """Submit, poll the result until finished, download every output; wall time of it all.

    Polls `result` (which answers the current status until finished) every `poll_s`: a client
    that polls every few seconds, as RunComfy's do, would measure its own interval instead."""
    if case.model_id == OPENAI_DOOR:
        return _run_openai(http, case, timeout_s)
    start = time.perf_counter()
    r = http.post(f"/v1/models/{case.model_id}", json=case.body)
    if r.status_code != 200:
        raise RuntimeError(f"submit answered {r.status_code}: {r.text[:500]}")
    rid = r.json()["request_id"]
    deadline = start + timeout_s
    while True:
        res = http.get(f"/v1/requests/{rid}/result")
        res.raise_for_status()
        result = res.json()
        if result["status"] in FINISHED:
            break
        if time.perf_counter() > deadline:
            raise RuntimeError(f"request {rid} not finished after {timeout_s}s")
        time.sleep(poll_s)
    if result["status"] != "succeeded":
        raise RuntimeError(f"request {rid} {result['status']}: {result.get('error')}")
    output = result.get("output") or {}
    urls = output.get("images") or ([output["image"]] if output.get("image") else [])
    total = 0
    for url in urls:
        got = http.get(url)
        got.raise_for_status()
        total += len(got.content)
    return Outcome(rid, time.perf_counter() - start, result, total)


def _run_openai(http: httpx.Client, case: Case, timeout_s: float) -> Outcome:
    start = time.perf_counter()
    r = http.post("/v1/images/generations", json=case.body, timeout=timeout_s)
    if r.status_code != 200:
        raise RuntimeError(f"OpenAI door answered {r.status_code}: {r.text[:500]}")
    answer = r.json()
    total = 0
    for item in answer["data"]:
        got = http.get(item["url"])
        got.raise_for_status()
        total += len(got.content)
    rid = r.headers.get("x-request-id", "")
    return Outcome(rid, time.perf_counter() - start, answer, total)


def load_engine(model_dir: Path, device: str = "cpu", **options: Any) -> Any:
    """The engine with the configuration `opendream serve` gives the same model directory."""
    from opendream.engine.engine import Engine, EngineConfig

    return Engine.load(EngineConfig(model_dir=model_dir, device=device, **options))


def plan_for(engine: Any, case: Case) -> Any:
    """The plan the worker makes for this request: the same validation, references, seed."""
    from opendream.catalog.requests import to_generation_request
    from opendream.catalog.validate import validate_input
    from opendream.engine.types import ReferenceImage
    from opendream.inputs.data_uri import decode_data_uri
    from opendream.inputs.sniff import inspect_image

    if case.model_id == OPENAI_DOOR:
        # What the door queues: the sequential model (a series of up to n when n > 1), the size
        # passed on exactly.
        n = int(case.body.get("n", 1))
        return engine.plan(
            to_generation_request(
                SEQUENTIAL,
                {
                    "text": case.body["prompt"],
                    "image_size": case.body["size"],
                    "sequential_image_generation": "auto" if n > 1 else "disabled",
                    "sequential_image_generation_options": n,
                    "seed": case.body.get("seed", 1234),
                },
            )
        )
    clean, problems = validate_input(case.model_id, case.body)
    if problems:
        raise ValueError(f"invalid benchmark input: {problems}")
    references = []
    for uri in case.body.get("images", []):
        data = decode_data_uri(uri, max_bytes=10 * 1024 * 1024)
        info = inspect_image(data)
        references.append(ReferenceImage(data, info.width, info.height, info.format))
    return engine.plan(to_generation_request(case.model_id, clean, references))


def direct_pipeline_calls(engine: Any, plan: Any) -> list[Any]:
    """Every image of the plan by calling the diffusers pipeline directly with the arguments the
    engine would pass (earlier outputs fed back as references the way the plan says); returns
    the images. No planning, encoding, storage, queue or HTTP."""
    from opendream.engine.references import decode_reference, references_for

    user = [decode_reference(r, i) for i, r in enumerate(plan.request.references)]
    generated: list[Any] = []
    for image_plan in plan.images:
        call = engine.pipeline_call(plan, image_plan, references_for(image_plan, user, generated))
        generated.append(call.pipeline(**call.kwargs).images[0])
    return generated
