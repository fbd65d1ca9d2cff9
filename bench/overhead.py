"""1. Service overhead: submit -> result downloaded through API, queue and worker, against
calling the same pipeline directly in this process with the same arguments.

Both sides run the tiny pipeline (or --model-dir weights) on the same device, one at a time:
the service is idle while the direct calls run and vice versa."""

from __future__ import annotations

from typing import Any

from bench.context import BenchContext
from bench.flows import (
    SEQUENTIAL,
    Case,
    direct_pipeline_calls,
    load_engine,
    openai_case,
    plan_for,
    run_through_service,
    warmup_case,
)
from bench.report import Figure, SuiteResult, Target
from bench.service import ServiceProcess, link_model
from bench.stats import summarize
from bench.timing import interleaved, time_calls

PROMPT = "Generate 1 image of a lighthouse on a cliff at dusk, oil painting."


def cases(quick: bool) -> list[Case]:
    # The Seedream schemas start at 2048x2048 (edit's `1K` is about 1 MP), so the exact sizes go
    # through the OpenAI Images door; the RunComfy protocol, polled by the client, at 2048 too.
    small = openai_case("512x512 (OpenAI door)", PROMPT, 512, 512)
    large = openai_case("2048x2048 (OpenAI door)", PROMPT, 2048, 2048)
    runcomfy = Case(
        "2048x2048 (RunComfy sequential, polled every 20 ms)",
        SEQUENTIAL,
        {
            "text": PROMPT,
            "sequential_image_generation_options": 1,
            "image_size": "2048:2048 (1:1)",
            "seed": 1234,
        },
    )
    return [small] if quick else [small, large, runcomfy]


def run(ctx: BenchContext) -> SuiteResult:
    # The 2048 case is several seconds per sample on a CPU: fewer samples there.
    n_for = {"small": ctx.pick(2, 7), "large": ctx.pick(2, 5)}
    model_dir = ctx.model_dir or ctx.tiny_model_dir()
    chosen = cases(ctx.quick)
    result = SuiteResult(
        "overhead",
        "service overhead: end to end vs the pipeline called directly",
        params={
            "samples": n_for,
            "model": "tiny flux2-klein" if ctx.model_dir is None else str(model_dir),
        },
    )

    data_dir = ctx.scratch("overhead-service")
    if ctx.model_dir is None:
        link_model(data_dir, model_dir)
    env = ctx.service_env()
    if ctx.model_dir is not None:
        env["OPENDREAM_MODEL_DIR"] = str(ctx.model_dir)
    engine = load_engine(model_dir, ctx.device)
    direct_pipeline_calls(engine, plan_for(engine, warmup_case()))
    with ServiceProcess(data_dir, env=env) as service, service.client() as http:
        run_through_service(http, warmup_case())
        for case in chosen:
            plan = plan_for(engine, case)
            ours, direct = interleaved(
                lambda case=case: run_through_service(http, case).seconds,
                lambda plan=plan: direct_pipeline_calls(engine, plan),
                _samples(case, n_for),
            )
            ctx.log(f"overhead: {case.label}: service {_r(ours)} s, direct {_r(direct)} s")
            a, b = summarize(ours), summarize(direct)
            encode_s = _png_encode_s(direct_pipeline_calls(engine, plan)[0])
            result.figures.append(
                Figure(
                    name=f"end to end {case.label}",
                    unit="s",
                    value=a.p50,
                    p99=a.p99,
                    n=a.n,
                    baseline_name=f"direct pipeline call {plan.width}x{plan.height}",
                    baseline_value=b.p50,
                    baseline_p99=b.p99,
                    target=Target("ratio", "<=", 1.05, "<= 1.05x direct")
                    if case.label.startswith("2048")
                    else None,
                    notes=f"PNG encoding of the output alone: {encode_s:.3f} s "
                    f"({encode_s / b.p50:.0%} of the direct call)",
                )
            )
    result.notes.append(
        "End to end = request sent -> every output downloaded over HTTP, through validation, the "
        "queue, the worker, planning, PNG encoding and storage: the OpenAI door answers when the "
        "image is stored (it waits in-process on the queue's notifications); the RunComfy row "
        "adds a client polling `result` every 20 ms. Direct = the diffusers pipeline called in "
        "this process with the arguments the engine passes for the same plan (the door draws "
        "its own seed; speed does not depend on it)."
    )
    return result


def _samples(case: Case, n_for: dict[str, int]) -> int:
    return n_for["large"] if case.label.startswith("2048") else n_for["small"]


def _r(samples: list[float]) -> list[float]:
    return [round(x, 3) for x in sorted(samples)]


def _png_encode_s(image: Any) -> float:
    """The worker's PNG encoding of one output, which the direct call does not do."""
    from opendream.worker.encode import encode_image

    return min(time_calls(lambda: encode_image(image, "png"), 3, warmup=0))
