"""6. Generation speed: FLUX.2 [klein] 4B and 9B at their real architecture sizes with random
weights, bf16, 4 steps, at 1024x1024 and 2048x2048, text-to-image and with 4 references:
seconds per image and peak GPU memory for the vanilla diffusers pipeline call and for opendream's
engine with each speed option, all in one run, next to the FLOP floor.

Without CUDA (or with --tiny) the same code runs the tiny architecture on the CPU at small sizes,
so the suite cannot rot; those figures say nothing about GPU speed.

Order matters: options that change the transformer for good (compilation, fp8) run last."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.context import BenchContext
from bench.images import photo_like, png_bytes
from bench.klein_arch import ARCHS, build_pipeline, parameter_count
from bench.report import Figure, SuiteResult, Target
from bench.stats import summarize

PEAK_FLOPS = 790e12  # the dense bf16 figure for the H200
PROMPT = "A red fox in fresh snow under soft winter light, detailed fur, 35mm photo."
STEPS = 4
REFERENCES = 4
# Each is tried; the one that beats the default most often is combined with compile.
CUDA_ATTENTION = ("_flash_3", "flash", "_native_cudnn", "sage", "_native_flash")
CPU_ATTENTION = ("_native_math",)


@dataclass
class Shape:
    size: int
    refs: int

    @property
    def label(self) -> str:
        return f"{self.size}x{self.size} {'t2i' if not self.refs else f'{self.refs} refs'}"


@dataclass
class Sample:
    seconds: list[float]
    peak_gib: float | None


@dataclass
class ArchRun:
    arch: str
    samples: dict[tuple[str, str], Sample] = field(default_factory=dict)  # (variant, shape)
    floor_s: dict[str, float] = field(default_factory=dict)  # shape -> seconds
    skipped: list[str] = field(default_factory=list)
    compile_s: dict[str, float] = field(default_factory=dict)


def run(ctx: BenchContext) -> SuiteResult:
    import torch

    real = ctx.device.startswith("cuda") and not ctx.tiny
    archs = ctx.gpu_models or (["4B", "9B"] if real else ["tiny"])
    sizes = ctx.gpu_sizes or ([1024, 2048] if real else ctx.pick([256], [512, 1024]))
    shapes = [Shape(s, r) for s in sizes for r in (0, REFERENCES)]
    n = ctx.pick(1, 3)
    dtype = torch.bfloat16 if real else torch.float32
    result = SuiteResult(
        "gpu",
        "generation speed: vanilla pipeline vs opendream's engine",
        params={
            "models": archs,
            "sizes": sizes,
            "steps": STEPS,
            "dtype": str(dtype).removeprefix("torch."),
            "samples": n,
            "real_sizes": real,
        },
    )
    if not real:
        result.notes.append(
            "GPU FIGURES STILL OWED: no GPU was lent to this run, so the suite ran the tiny "
            "architecture on the CPU (it keeps the code path alive; its seconds say nothing about "
            "GPU speed and the FLOP floor uses the H200's 790 TFLOP/s only for form)."
        )
    for arch in archs:
        ctx.log(f"gpu: building {arch} on {ctx.device}")
        run_ = _run_arch(ctx, arch, shapes, n, dtype, allow_compile=not ctx.quick)
        _figures(result, run_, shapes, real)
        result.notes += [f"{arch}: {s}" for s in run_.skipped]
        for shape, secs in run_.compile_s.items():
            result.notes.append(
                f"{arch}: compile warm-up at {shape} took {secs:.1f} s (not counted)"
            )
        with contextlib.suppress(Exception):
            torch.cuda.empty_cache()
    result.notes.append(
        "Seconds per image: one full pipeline call (text encoding, 4 denoising steps, VAE decode, "
        "PIL conversion). FLOP floor: the transformer's FLOPs for all steps, counted with "
        "torch.utils.flop_counter on one call, divided by 790 TFLOP/s; its ratio to the fastest "
        "variant is that variant's utilisation."
    )
    return result


# one architecture ------------------------------------------------------------------------------


def _run_arch(
    ctx: BenchContext, arch: str, shapes: list[Shape], n: int, dtype: Any, allow_compile: bool
) -> ArchRun:
    import torch

    out = ArchRun(arch)
    pipe = build_pipeline(ARCHS[arch], ctx.device, dtype)
    out.skipped.append(
        f"parameters: transformer {_count(pipe.transformer)}, "
        f"text encoder {_count(pipe.text_encoder)}, VAE {_count(pipe.vae)}"
    )
    refs = {
        s.size: [
            photo_like(min(s.size, 1024), min(s.size, 1024), seed=i) for i in range(REFERENCES)
        ]
        for s in shapes
    }

    def measure(
        variant: str,
        call: Callable[[Shape], Any],
        shape_filter: Callable[[Shape], bool] = lambda s: True,
    ) -> None:
        for shape in shapes:
            if not shape_filter(shape):
                continue
            if not ctx.quick or variant.startswith("engine + compile"):
                t0 = time.perf_counter()
                call(shape)  # warm-up (and compilation)
                if variant.startswith("engine + compile"):
                    out.compile_s[shape.label] = time.perf_counter() - t0
            _reset_peak(ctx.device)
            seconds = []
            for _ in range(n):
                start = time.perf_counter()
                call(shape)
                _sync(ctx.device)
                seconds.append(time.perf_counter() - start)
            out.samples[(variant, shape.label)] = Sample(seconds, _peak_gib(ctx.device))
            ctx.log(f"gpu {arch} {shape.label} {variant}: {min(seconds):.3f} s")

    def vanilla(shape: Shape) -> Any:
        return pipe(
            prompt=PROMPT,
            image=refs[shape.size][: shape.refs] or None,
            width=shape.size,
            height=shape.size,
            num_inference_steps=STEPS,
            guidance_scale=1.0,  # the distilled checkpoints' value
            generator=torch.Generator("cpu").manual_seed(0),
            output_type="pil",
        ).images[0]

    # (a) the vanilla pipeline, and the FLOP count of its transformer
    measure("vanilla diffusers", vanilla)
    for shape in shapes:
        out.floor_s[shape.label] = (
            _transformer_flops(lambda shape=shape: vanilla(shape)) / PEAK_FLOPS
        )

    # (b) the engine, with each option
    ref_bytes = {k: [png_bytes(im) for im in v] for k, v in refs.items()}

    def engine_variant(around: Any = pipe, **options: Any) -> Callable[[Shape], Any]:
        engine = _engine_around(around, ctx.device, dtype, **options)

        def call(shape: Shape) -> Any:
            return engine.generate(engine.plan(_request(shape, ref_bytes[shape.size])))

        return call

    measure("engine (defaults)", engine_variant())
    on_gpu = ctx.device.startswith("cuda")
    attention = CUDA_ATTENTION if on_gpu else CPU_ATTENTION
    best_attention_candidates: list[str] = []
    for backend in attention:
        try:
            call = engine_variant(attention_backend=backend)
        except Exception as exc:
            out.skipped.append(f"attention backend {backend} unavailable: {_short(exc)}")
            continue
        # On the CPU the alternatives are slower math kernels: the smallest size keeps the path.
        measure(f"engine + attention {backend}", call, lambda s: on_gpu or s.size == shapes[0].size)
        best_attention_candidates.append(backend)
        _native_attention(pipe)

    # The KV-cached klein pipeline (what a FLUX.2-klein-9b-kv directory loads as): reference
    # tokens' K/V computed on the first step only. Same components, so same speed as the KV
    # checkpoint; random weights, so no claim about its images.
    try:
        with _kv_pipeline(pipe) as kv:
            measure(
                "engine + KV-cached klein pipeline",
                engine_variant(around=kv),
                lambda shape: shape.refs > 0,
            )
    except Exception as exc:
        out.skipped.append(f"KV-cached klein pipeline failed: {_short(exc)}")

    if allow_compile:
        options: dict[str, Any] = {"compile": True}
        label = "engine + compile"
        fastest = _fastest_attention(out, best_attention_candidates)
        if fastest:
            options["attention_backend"] = fastest
            label += f" + attention {fastest}"
        on_cpu = not on_gpu
        if on_cpu:
            # Inductor's CPU compile takes minutes per shape; one shape keeps the path alive.
            out.skipped.append(f"compile measured at {shapes[0].label} only on the CPU")
        try:
            measure(label, engine_variant(**options), lambda s: not on_cpu or s is shapes[0])
        except Exception as exc:  # no compiler on this machine, an unsupported op, ...
            out.skipped.append(f"compile failed: {_short(exc)}")
    else:
        out.skipped.append("compile not measured in --quick runs (compilation takes minutes)")

    fp8 = _fp8_problem(ctx.device)
    if fp8 is None:
        try:
            _to_fp8(pipe.transformer)
            measure("vanilla + fp8 transformer (torchao)", vanilla)
        except Exception as exc:
            out.skipped.append(f"fp8 failed: {_short(exc)}")
    else:
        out.skipped.append(f"fp8 not measured: {fp8}")
    return out


def _request(shape: Shape, refs: list[bytes]) -> Any:
    from opendream.engine.types import GenerationRequest, ReferenceImage, SizeRequest

    references = tuple(
        ReferenceImage(data, min(shape.size, 1024), min(shape.size, 1024), "png")
        for data in refs[: shape.refs]
    )
    return GenerationRequest(
        mode="edit" if references else "sequential",
        prompt=PROMPT,
        references=references,
        size=SizeRequest(width=shape.size, height=shape.size),
        max_images=1,
        seed=0,
    )


def _fastest_attention(run: ArchRun, backends: list[str]) -> str | None:
    """The attention backend that beat the engine's default on the most shapes, if any."""
    wins: dict[str, int] = {}
    for (variant, shape), sample in run.samples.items():
        if not variant.startswith("engine + attention "):
            continue
        default = run.samples.get(("engine (defaults)", shape))
        if default and min(sample.seconds) < min(default.seconds):
            name = variant.removeprefix("engine + attention ")
            wins[name] = wins.get(name, 0) + 1
    ranked = sorted((b for b in backends if b in wins), key=lambda b: -wins[b])
    return ranked[0] if ranked else None


def _engine_around(pipe: Any, device: str, dtype: Any, **options: Any) -> Any:
    """`Engine.load` exactly as the service runs it (device checks, speed options, capabilities),
    with the directory read replaced by the in-memory pipeline."""
    from unittest import mock

    import torch

    from opendream.engine.backends import flux2_klein
    from opendream.engine.engine import Engine, EngineConfig

    name = {torch.bfloat16: "bf16", torch.float16: "fp16", torch.float32: "fp32"}[dtype]
    config = EngineConfig(model_dir=Path("in-memory"), device=device, dtype=name, **options)
    with mock.patch.object(flux2_klein, "load_pipeline", lambda *a, **k: pipe):
        return Engine.load(config)


@contextlib.contextmanager
def _kv_pipeline(pipe: Any) -> Iterator[Any]:
    """diffusers' Flux2KleinKVPipeline on the same components; it swaps KV-aware attention
    processors into the shared transformer, so the originals are put back afterwards."""
    from diffusers import Flux2KleinKVPipeline

    saved = pipe.transformer.attn_processors
    kv = Flux2KleinKVPipeline(**pipe.components)
    kv.set_progress_bar_config(disable=True)
    try:
        yield kv
    finally:
        pipe.transformer.set_attn_processor(saved)


def _native_attention(pipe: Any) -> None:
    with contextlib.suppress(Exception):
        pipe.transformer.set_attention_backend("native")


def _transformer_flops(call: Callable[[], Any]) -> float:
    """FLOPs of every transformer forward in one pipeline call."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        call()
    counts = counter.get_flop_counts()
    return float(sum(sum(v.values()) for k, v in counts.items() if k == "Flux2Transformer2DModel"))


def _fp8_problem(device: str) -> str | None:
    if not device.startswith("cuda"):
        return "fp8 needs a CUDA GPU of compute capability 8.9 or newer"
    import importlib.util

    import torch

    if torch.cuda.get_device_capability() < (8, 9):
        return "this GPU has no fp8 tensor cores"
    if importlib.util.find_spec("torchao") is None:
        return "torchao is not installed (the engine has no fp8 option of its own yet)"
    return None


def _to_fp8(transformer: Any) -> None:
    from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, quantize_

    quantize_(transformer, Float8DynamicActivationFloat8WeightConfig())


def _reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats()


def _peak_gib(device: str) -> float | None:
    if not device.startswith("cuda"):
        return None
    import torch

    return torch.cuda.max_memory_allocated() / 2**30


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _count(module: Any) -> str:
    n = parameter_count(module)
    return f"{n / 1e9:.3g} B" if n >= 1e8 else f"{n / 1e6:.3g} M"


def _short(exc: BaseException, limit: int = 200) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"


# figures ---------------------------------------------------------------------------------------


def _figures(result: SuiteResult, run: ArchRun, shapes: list[Shape], real: bool) -> None:
    for shape in shapes:
        base = run.samples.get(("vanilla diffusers", shape.label))
        if base is None:
            continue
        b = summarize(base.seconds)
        variants = [(v, s) for (v, lbl), s in run.samples.items() if lbl == shape.label]
        for variant, sample in variants:
            s = summarize(sample.seconds)
            result.figures.append(
                Figure(
                    name=f"{run.arch} {shape.label}: {variant}",
                    unit="s/image",
                    value=s.p50,
                    p99=s.p99,
                    n=s.n,
                    baseline_name="vanilla diffusers",
                    baseline_value=b.p50,
                    baseline_p99=b.p99,
                    notes=f"peak {sample.peak_gib:.1f} GiB" if sample.peak_gib is not None else "",
                )
            )
        engine = [(v, summarize(s.seconds).p50) for v, s in variants if v.startswith("engine")]
        if not engine:
            continue
        best_name, best = min(engine, key=lambda t: t[1])
        headline = real and run.arch == "4B" and shape.size == 2048 and shape.refs == 0
        result.figures.append(
            Figure(
                name=f"{run.arch} {shape.label}: fastest engine option ({best_name})",
                unit="s/image",
                value=best,
                baseline_name="vanilla diffusers",
                baseline_value=b.p50,
                target=Target("ratio", "<=", 1 / 1.5, ">= 1.5x faster than vanilla")
                if headline
                else None,
            )
        )
        if headline:
            result.figures.append(
                Figure(
                    name=f"{run.arch} {shape.label}: fastest engine option, absolute",
                    unit="s/image",
                    value=best,
                    baseline_name="Seedream 4.0 report (2K)",
                    baseline_value=1.8,
                    target=Target("value", "<=", 1.5, "<= 1.5 s/image"),
                    notes="the baseline is the report's claim, not measured here",
                )
            )
        floor = run.floor_s.get(shape.label)
        if floor:
            result.figures.append(
                Figure(
                    name=f"{run.arch} {shape.label}: FLOP floor",
                    unit="s/image",
                    value=floor,
                    baseline_name=f"fastest engine option ({best_name})",
                    baseline_value=best,
                    notes="ratio = utilisation of 790 TFLOP/s by the transformer",
                )
            )
