"""`make_plan`: a validated request and a backend's capabilities in, a `Plan` out.

Pure Python and deterministic: the same request, capabilities, arguments and rewriter answer
give the same plan (a random seed is drawn only when the request has none, and recorded).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opendream.engine.capabilities import BackendCapabilities
from opendream.engine.planner.count import find_stated_count
from opendream.engine.planner.enumeration import Enumeration, find_enumeration
from opendream.engine.planner.prompts import PromptPlan, fit_prompts, plan_prompts
from opendream.engine.planner.references import edit_references, series_references
from opendream.engine.planner.rewrite import PromptRewriter, Rewrite, ask_rewriter
from opendream.engine.planner.seeds import image_seed, resolve_seed
from opendream.engine.planner.sizes import Size, delivered_size, run_size
from opendream.engine.types import GenerationRequest, ImagePlan, Plan, RefSource

# Seedream's rule: user references plus generated images never exceed 15.
MAX_IMAGES_TOTAL = 15
SEED_DERIVATION = "(seed + k) mod 2**31"


@dataclass(frozen=True)
class _Count:
    value: int
    stated: int | None
    why: str


def make_plan(
    request: GenerationRequest,
    caps: BackendCapabilities,
    *,
    rewriter: PromptRewriter | None = None,
    steps: int | None = None,
    guidance: float | None = None,
    rng_seed_source: Callable[[], int] | None = None,
) -> Plan:
    """Plan `request` within `caps`: how many images, each one's prompt, seed and references,
    the delivered and run sizes, steps and guidance, and the facts behind each decision in
    `plan.metadata` (count, prompts, optimize, size, seed, references). Never raises on odd
    prompts; `rewriter` is consulted only in `standard` optimize mode."""
    prompt = request.prompt if isinstance(request.prompt, str) else ""
    user_refs = len(request.references)
    series = request.mode != "edit"
    limit = _limit(request.max_images, user_refs) if series else 1
    enumeration = find_enumeration(prompt) if series else None
    stated_value = _stated(prompt, enumeration)

    rewrite, optimize = _optimize(request, rewriter, prompt, limit, stated_value)
    if series:
        count = _series_count(request, user_refs, limit, stated_value, enumeration, rewrite)
    else:
        count = _Count(1, stated_value, "edit makes one image")
    prompts = _prompts(prompt, count.value, enumeration, rewrite)

    seed, drawn = resolve_seed(request.seed, rng_seed_source)
    refs = (
        series_references(user_refs, count.value, caps.max_references)
        if series
        else [edit_references(user_refs, caps.max_references)]
    )
    images = tuple(
        ImagePlan(k, prompts.prompts[k], image_seed(seed, k), refs[k]) for k in range(count.value)
    )

    size = delivered_size(request.size, request.references)
    run_w, run_h = run_size(size.width, size.height, caps)
    metadata: dict[str, Any] = {
        "count": {
            "requested": request.max_images,
            "stated": count.stated,
            "produced": count.value,
            "why": count.why,
        },
        "prompts": {**prompts.metadata, "per_image": list(prompts.prompts)},
        "optimize": optimize,
        "size": _size_metadata(size, run_w, run_h),
        "seed": {"value": seed, "random": drawn, "per_image": SEED_DERIVATION},
        "references": _references_metadata(user_refs, caps.max_references, images),
    }
    return Plan(
        request=request,
        images=images,
        width=size.width,
        height=size.height,
        run_width=run_w,
        run_height=run_h,
        steps=steps if steps is not None else caps.default_steps,
        guidance=guidance if guidance is not None else caps.default_guidance,
        seed=seed,
        metadata=metadata,
    )


def _stated(prompt: str, enumeration: Enumeration | None) -> int | None:
    """The count stated in the prompt. With an enumeration only its preamble counts ("1) two
    photos on a desk 2) …" states no count), except for sequence words, the weakest sign of an
    enumeration ("First, generate 4 images of a cat, then …")."""
    found = find_stated_count(enumeration.preamble if enumeration else prompt)
    if found is None and enumeration is not None and enumeration.style == "sequence":
        found = find_stated_count(prompt)
    return found.value if found else None


def _limit(max_images: int, user_refs: int) -> int:
    """The most images a series may produce: max_images, and references + outputs <= 15."""
    requested = min(max(int(max_images), 1), MAX_IMAGES_TOTAL)
    return max(1, min(requested, MAX_IMAGES_TOTAL - user_refs))


def _optimize(
    request: GenerationRequest,
    rewriter: PromptRewriter | None,
    prompt: str,
    limit: int,
    stated: int | None,
) -> tuple[Rewrite | None, dict[str, Any]]:
    if request.optimize != "standard":
        return None, {"mode": request.optimize, "used": "fast", "fallback_reason": None}
    outcome = ask_rewriter(rewriter, prompt, max_images=limit, n_stated=stated)
    used = "standard" if outcome.rewrite is not None else "fast"
    return outcome.rewrite, {
        "mode": "standard",
        "used": used,
        "fallback_reason": outcome.fallback_reason,
    }


def _series_count(
    request: GenerationRequest,
    user_refs: int,
    limit: int,
    stated: int | None,
    enumeration: Enumeration | None,
    rewrite: Rewrite | None,
) -> _Count:
    """Stated count first, then the enumeration, then the language model, then the maximum."""
    if stated is not None:
        return _capped(stated, "the prompt states", request.max_images, user_refs, limit, stated)
    if enumeration is not None:
        items = len(enumeration.items)
        what = f"the prompt enumerates ({enumeration.style})"
        return _capped(items, what, request.max_images, user_refs, limit, None)
    if rewrite is not None and rewrite.count is not None:
        return _capped(
            rewrite.count, "the language model chose", request.max_images, user_refs, limit, None
        )
    if rewrite is not None and rewrite.prompts:
        return _capped(
            len(rewrite.prompts),
            "the language model wrote prompts for",
            request.max_images,
            user_refs,
            limit,
            None,
        )
    mode = "fast" if request.optimize != "standard" else "standard fell back to fast and"
    return _Count(limit, None, f"no count stated: {mode} uses the maximum, {limit}")


def _capped(
    n: int, what: str, max_images: int, user_refs: int, limit: int, stated: int | None
) -> _Count:
    if n <= limit:
        return _Count(n, stated, f"{what} {n}")
    if limit < min(max(max_images, 1), MAX_IMAGES_TOTAL):
        rule = f"{user_refs} references + outputs <= {MAX_IMAGES_TOTAL}"
    else:
        rule = "max_images"
    return _Count(limit, stated, f"{what} {n}, capped at {limit} by {rule}")


def _prompts(
    prompt: str, count: int, enumeration: Enumeration | None, rewrite: Rewrite | None
) -> PromptPlan:
    if rewrite is not None and rewrite.prompts:
        return fit_prompts(
            rewrite.prompts, count, prompt, "rewriter", "rewritten by the language model"
        )
    return plan_prompts(prompt, count, enumeration)


def _size_metadata(size: Size, run_w: int, run_h: int) -> dict[str, Any]:
    return {
        "requested": str(size),
        "source": size.source,
        "run": f"{run_w}x{run_h}",
        "upscale": run_w < size.width or run_h < size.height,
        "resize": (run_w, run_h) != (size.width, size.height),
    }


def _references_metadata(
    user_refs: int, max_references: int, images: tuple[ImagePlan, ...]
) -> dict[str, Any]:
    sheets = {s.indices for image in images for s in image.references if s.kind == "contact_sheet"}
    return {
        "user": user_refs,
        "max": max_references,
        "contact_sheet": list(next(iter(sheets))) if sheets else None,
        "per_image": [[_ref_json(s) for s in image.references] for image in images],
    }


def _ref_json(source: RefSource) -> dict[str, Any]:
    return {"kind": source.kind, "indices": list(source.indices)}
