"""2. Dispatch latency: submit -> `in_progress` with an idle worker, on SQLite and PostgreSQL.

Measured from the request row itself: `started_at - created_at`, both stamped by the service's
clock (created when the insert is built, started when the worker's claim runs), so the figure
is the insert's commit, the wake-up and the claim, without any client polling interval in it.
The baseline is one status call's round trip on the same idle server, measured in the same run:
the ratio says how many API round trips a dispatch costs."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.context import BenchContext
from bench.flows import EDIT, Case, data_uri_png, run_through_service
from bench.pg import drop_postgres, fresh_postgres, postgres_problem
from bench.report import Figure, SuiteResult, Target
from bench.service import ServiceProcess, link_model
from bench.stats import summarize
from bench.timing import time_calls

TARGET_MS = {"sqlite": 5.0, "postgresql": 10.0}


def run(ctx: BenchContext) -> SuiteResult:
    n = ctx.pick(3, 25)
    result = SuiteResult(
        "dispatch",
        "dispatch latency: submit -> in_progress with an idle worker",
        params={"samples": n},
    )
    for database in ("sqlite", "postgresql"):
        if database == "postgresql":
            problem = postgres_problem()
            if problem:
                result.notes.append(f"PostgreSQL not measured: {problem}")
                continue
        dispatch_ms, round_trip_ms = _measure(ctx, database, n)
        d = summarize(dispatch_ms)
        b = summarize(round_trip_ms)
        ctx.log(f"dispatch {database}: p50 {d.p50:.1f} ms p99 {d.p99:.1f} ms")
        result.figures.append(
            Figure(
                name=f"submit -> in_progress ({database})",
                unit="ms",
                value=d.p50,
                p99=d.p99,
                n=d.n,
                baseline_name="status call round trip",
                baseline_value=b.p50,
                baseline_p99=b.p99,
                target=Target(
                    "value", "<=", TARGET_MS[database], f"p50 <= {TARGET_MS[database]:g} ms"
                ),
            )
        )
    result.notes.append(
        "One request at a time; the next is submitted once the previous finished and the worker "
        "has gone back to waiting. The tiny pipeline runs one step (OPENDREAM_STEPS=1) so each "
        "sample is short; what is measured ends when the claim commits."
    )
    return result


def _measure(ctx: BenchContext, database: str, n: int) -> tuple[list[float], list[float]]:
    data_dir = ctx.scratch(f"dispatch-{database}")
    link_model(data_dir, ctx.tiny_model_dir())
    env = {**ctx.service_env(), "OPENDREAM_STEPS": "1"}
    url = None
    if database == "postgresql":
        url = fresh_postgres()
        env["OPENDREAM_DATABASE_URL"] = url
    case = Case(
        "dispatch", EDIT, {"prompt": "A fox.", "images": [data_uri_png(64)], "resolution": "1K"}
    )
    ids = []
    try:
        with ServiceProcess(data_dir, env=env) as service, service.client() as http:
            run_through_service(http, case)  # warm-up: the first request loads lazily
            for _ in range(n):
                time.sleep(0.2)  # the worker is back in wait_for_work
                ids.append(run_through_service(http, case).request_id)
            time.sleep(0.2)
            rid = ids[-1]
            round_trip = time_calls(
                lambda: http.get(f"/v1/requests/{rid}/status").raise_for_status(), max(n, 20)
            )
            dispatch = asyncio.run(_dispatch_ms(url or _sqlite_url(data_dir), ids))
    finally:
        if url is not None:
            drop_postgres(url)
    return dispatch, [s * 1000 for s in round_trip]


async def _dispatch_ms(url: str, ids: list[str]) -> list[float]:
    from opendream.jobs.store import SqlRequestStore

    store = SqlRequestStore(url)
    await store.start()
    try:
        out = []
        for rid in ids:
            row = await store.get(rid)
            if row is None or row.started_at is None:
                raise RuntimeError(f"request {rid} has no start time")
            out.append((row.started_at - row.created_at).total_seconds() * 1000)
        return out
    finally:
        await store.close()


def _sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / 'opendream.db').resolve()}"
