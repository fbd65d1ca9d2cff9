"""3. API capacity: status polls per second and submits per second with 64 concurrent clients on
loopback for a bounded time, against a bare ASGI endpoint served the same way in the same run.

Each server runs alone in its own process while it is measured; the load generator runs in the
benchmark process (on a small machine it shares the CPU with the server, the same for both)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

from bench.context import BenchContext
from bench.loadgen import LoadResult, get_request, post_request, run_load_sync
from bench.loopback import free_port, wait_http
from bench.pg import drop_postgres, fresh_postgres, postgres_problem
from bench.report import Figure, SuiteResult, Target
from bench.service import ServiceProcess
from bench.stats import summarize

MODEL = "bytedance/seedream-4-0/sequential"
SUBMIT_BODY = json.dumps(
    {"text": "Generate 2 images of a lighthouse at dusk.", "image_size": "2048:2048 (1:1)"}
).encode()


@dataclass
class Measured:
    status: LoadResult
    submit: LoadResult


def run(ctx: BenchContext) -> SuiteResult:
    concurrency = 64
    duration = ctx.pick(1.0, 10.0)
    warmup = ctx.pick(0.3, 2.0)
    result = SuiteResult(
        "api",
        "API capacity: 64 concurrent clients vs a bare ASGI endpoint",
        params={"clients": concurrency, "seconds": duration},
    )
    load = {"concurrency": concurrency, "duration_s": duration, "warmup_s": warmup}

    bare = _measure_bare(load)
    ctx.log(f"api: bare endpoint {bare.status.rate:.0f} GET/s, {bare.submit.rate:.0f} POST/s")
    databases = ["sqlite"]
    problem = postgres_problem()
    if problem is None:
        databases.append("postgresql")
    else:
        result.notes.append(f"PostgreSQL not measured: {problem}")
    for database in databases:
        service = _measure_service(ctx, load, concurrency, database)
        ctx.log(
            f"api ({database}): opendream {service.status.rate:.0f} status/s, "
            f"{service.submit.rate:.0f} submits/s"
        )
        _add_figures(result, service, bare, database)
    result.notes.append(
        "Closed loop: 64 keep-alive connections, each sending its next request when the previous "
        "answer arrives; rates count answers within the measured window after a warm-up. "
        "Status polls: each client polls its own queued request (the answer includes its queue "
        "position). Submits: sequential model, no references, no worker running (requests stay "
        "queued; per-key quotas off). Databases: the embedded SQLite default, and PostgreSQL "
        "(a throwaway database on the local server) as a fleet uses."
    )
    return result


def _add_figures(result: SuiteResult, service: Measured, bare: Measured, database: str) -> None:
    for what, ours, theirs, unit_name in (
        ("status", service.status, bare.status, "status polls"),
        ("submit", service.submit, bare.submit, "submits"),
    ):
        lat = summarize(ours.latencies_s or [float("nan")]).scaled(1000)
        base_lat = summarize(theirs.latencies_s or [float("nan")]).scaled(1000)
        problems = _problems(ours)
        result.figures.append(
            Figure(
                name=f"{unit_name} per second ({database})",
                unit="req/s",
                value=ours.rate,
                baseline_name=f"bare ASGI {'GET' if what == 'status' else 'POST'}",
                baseline_value=theirs.rate,
                n=len(ours.latencies_s),
                target=Target("ratio", ">=", 0.70, ">= 70% of bare") if what == "status" else None,
                notes=problems,
            )
        )
        result.figures.append(
            Figure(
                name=f"{what} latency ({database})",
                unit="ms",
                value=lat.p50,
                p99=lat.p99,
                n=lat.n,
                baseline_name=f"bare ASGI {'GET' if what == 'status' else 'POST'}",
                baseline_value=base_lat.p50,
                baseline_p99=base_lat.p99,
                target=Target("p99", "<", 50.0, "p99 < 50 ms") if what == "status" else None,
                notes=problems,
            )
        )


def _measure_bare(load: dict[str, float]) -> Measured:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.bare_app", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/", proc, 30.0, "bare ASGI app")
        get = get_request("/v1/requests/x/status")
        post = post_request(f"/v1/models/{MODEL}", SUBMIT_BODY)
        status = run_load_sync(port, lambda i, n: get, **load)
        submit = run_load_sync(port, lambda i, n: post, **load)
    finally:
        proc.terminate()
        proc.wait(10)
    return Measured(status, submit)


def _measure_service(
    ctx: BenchContext, load: dict[str, float], clients: int, database: str
) -> Measured:
    env: dict[str, str] = {}
    url = None
    if database == "postgresql":
        url = fresh_postgres()
        env["OPENDREAM_DATABASE_URL"] = url
    service = ServiceProcess(
        ctx.scratch(f"api-{database}"), env=env, args=["--no-worker"], ready_path="/healthz"
    )
    try:
        return _drive(service, load, clients)
    finally:
        if url is not None:
            drop_postgres(url)


def _drive(service: ServiceProcess, load: dict[str, float], clients: int) -> Measured:
    with service:
        with service.client() as http:
            ids = []
            for _ in range(clients):
                r = http.post(f"/v1/models/{MODEL}", content=SUBMIT_BODY)
                r.raise_for_status()
                ids.append(r.json()["request_id"])
        auth = service.headers
        polls = [get_request(f"/v1/requests/{rid}/status", auth) for rid in ids]
        post = post_request(f"/v1/models/{MODEL}", SUBMIT_BODY, auth)
        status = run_load_sync(service.port, lambda i, n: polls[i], **load)
        submit = run_load_sync(service.port, lambda i, n: post, **load)
    return Measured(status, submit)


def _problems(r: LoadResult) -> str:
    bad = {s: n for s, n in r.statuses.items() if not 200 <= s < 300}
    parts = [f"HTTP {s}: {n}" for s, n in sorted(bad.items())]
    if r.errors:
        parts.append(f"{r.errors} connection errors")
    return "; ".join(parts)
