"""7. A sequential request of 4 images at 2048x2048 with chained references (image k conditioned
on the first image and image k-1), end to end through the service, against the same pipeline
calls made directly in this process (the references fed back the way the plan says).

On a GPU it runs the real klein-4B architecture (random weights saved once as a model directory,
or --model-dir); without one the tiny model on the CPU, so the path cannot rot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.context import BenchContext
from bench.flows import (
    SEQUENTIAL,
    Case,
    Outcome,
    direct_pipeline_calls,
    load_engine,
    openai_case,
    plan_for,
    run_through_service,
    warmup_case,
)
from bench.report import Figure, SuiteResult
from bench.service import ServiceProcess, link_model
from bench.stats import summarize
from bench.timing import time_calls


def run(ctx: BenchContext) -> SuiteResult:
    real = ctx.device.startswith("cuda") and not ctx.tiny
    images = ctx.pick(2, 4)
    n = ctx.pick(1, 3 if real else 2)
    model_dir = _model_dir(ctx, real)
    prompt = (
        "The same red-haired explorer crossing a desert, one scene per image, consistent "
        "character and style."
    )
    if ctx.quick:
        # The sequential schemas start at 2048x2048, seconds per image for the tiny model on a
        # CPU; the OpenAI door makes the same kind of series (n > 1) at 512x512.
        case = openai_case(f"{images} x 512x512 series (OpenAI door)", prompt, 512, 512, n=images)
    else:
        case = Case(
            f"{images} x 2048x2048 sequential",
            SEQUENTIAL,
            {
                "text": f"Generate {images} images: {prompt}",
                "sequential_image_generation_options": images,
                "image_size": "2048:2048 (1:1)",
                "seed": 99,
            },
        )
    result = SuiteResult(
        "sequential",
        "a sequential request of 4 images through the service",
        params={
            "images": images,
            "samples": n,
            "real_sizes": real,
        },
    )
    if not real:
        result.notes.append(
            "GPU FIGURES STILL OWED: no GPU was lent, so this ran the tiny model on the CPU."
        )

    data_dir = ctx.scratch("sequential-service")
    env = ctx.service_env()
    if ctx.model_dir is None and not real:
        link_model(data_dir, model_dir)
    else:
        env["OPENDREAM_MODEL_DIR"] = str(model_dir)
    # The engine is loaded here before the server starts, and the service and direct samples
    # alternate, so both see the same load on a shared machine.
    engine = load_engine(model_dir, ctx.device)
    direct_pipeline_calls(engine, plan_for(engine, warmup_case()))
    plan = plan_for(engine, case)
    outcomes: list[Outcome] = []
    direct: list[float] = []
    with ServiceProcess(data_dir, env=env) as service, service.client(timeout_s=600) as http:
        run_through_service(http, warmup_case())
        for _ in range(n):
            outcomes.append(run_through_service(http, case))
            direct += time_calls(lambda: direct_pipeline_calls(engine, plan), 1, warmup=0)
    produced = _count_images(outcomes[0].result)
    chain = (outcomes[0].result.get("metadata") or {}).get("image_references")
    ctx.log(
        f"sequential: service {[round(o.seconds, 2) for o in outcomes]} s ({produced} images), "
        f"direct {[round(s, 2) for s in direct]} s"
    )

    ours = summarize([o.seconds for o in outcomes])
    base = summarize(direct)
    result.figures.append(
        Figure(
            name=f"{case.label}, end to end",
            unit="s",
            value=ours.p50,
            p99=ours.p99,
            n=ours.n,
            baseline_name="direct pipeline calls",
            baseline_value=base.p50,
            baseline_p99=base.p99,
            notes=f"{produced} images produced; {ours.p50 / max(produced, 1):.2f} s per image",
        )
    )
    if chain:
        result.notes.append(f"References per image (from the result's metadata): {chain}")
    result.notes.append(
        "End to end = submit -> every image downloaded (RunComfy: `result` polled every 20 ms; "
        "the OpenAI door answers once the images are stored); direct = the engine's pipeline "
        "calls for the same plan in this process, earlier outputs fed back as references."
    )
    return result


def _count_images(result: dict[str, Any]) -> int:
    if "data" in result:  # the OpenAI door's answer
        return len(result["data"])
    return len((result.get("output") or {}).get("images", []))


def _model_dir(ctx: BenchContext, real: bool) -> Path:
    if ctx.model_dir is not None:
        return ctx.model_dir
    if not real:
        return ctx.tiny_model_dir()
    return _random_klein_4b(ctx)


def _random_klein_4b(ctx: BenchContext) -> Path:
    """klein-4B's architecture with random weights, saved once (about 16 GB) so the service can
    load it like a real checkpoint."""
    import torch

    from bench.klein_arch import ARCHS, build_pipeline, save_pipeline

    directory = ctx.cache_dir / "klein-4B-random"
    if (directory / "model_index.json").exists():
        return directory
    ctx.log(f"sequential: saving a random-weight klein-4B to {directory}")
    pipe: Any = build_pipeline(ARCHS["4B"], ctx.device, torch.bfloat16)
    save_pipeline(pipe, directory)
    del pipe
    torch.cuda.empty_cache()
    return directory
