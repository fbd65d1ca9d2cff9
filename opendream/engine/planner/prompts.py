"""One prompt per image of a series.

An enumerated prompt gives each image its own item, with the shared preamble kept in front as
context ("Generate 3 watercolours of a fox: asleep"). Without one, every image gets the whole
prompt plus its position ("…, image 2 of 4 in a consistent series"), so the images differ
while the reference chain keeps them consistent. A single image keeps the prompt unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opendream.engine.planner.enumeration import Enumeration

_PREAMBLE_TRIM = " \t\r\n:：.。,，;；-–—"


@dataclass(frozen=True)
class PromptPlan:
    prompts: tuple[str, ...]
    metadata: dict[str, Any]


def series_prompt(prompt: str, position: int, total: int) -> str:
    """The whole prompt with the image's 1-based position in the series appended."""
    if total <= 1:
        return prompt
    suffix = f"image {position} of {total} in a consistent series"
    base = prompt.strip()
    return f"{base}, {suffix}" if base else suffix


def with_context(preamble: str, item: str) -> str:
    """An enumerated item with the shared preamble in front of it."""
    context = preamble.strip(_PREAMBLE_TRIM)
    return f"{context}: {item}" if context else item


def plan_prompts(prompt: str, count: int, enumeration: Enumeration | None) -> PromptPlan:
    """`count` prompts: enumerated items when there are any, positional ones otherwise."""
    if enumeration is None:
        return PromptPlan(
            tuple(series_prompt(prompt, k + 1, count) for k in range(count)),
            {"source": "series" if count > 1 else "single", "why": _series_why(count)},
        )
    items = enumeration.items
    used = [with_context(enumeration.preamble, item) for item in items[:count]]
    # More images than items: the rest fall back to the whole prompt with their position.
    used += [series_prompt(prompt, k + 1, count) for k in range(len(used), count)]
    return PromptPlan(
        tuple(used),
        {
            "source": "enumerated",
            "style": enumeration.style,
            "items": len(items),
            "why": _enumerated_why(len(items), count),
        },
    )


def fit_prompts(prompts: list[str], count: int, prompt: str, source: str, why: str) -> PromptPlan:
    """Prompts from elsewhere (the rewriter) fitted to `count`: truncated, or padded with the
    whole prompt and a position."""
    used = list(prompts[:count])
    used += [series_prompt(prompt, k + 1, count) for k in range(len(used), count)]
    notes = [why]
    if len(prompts) > count:
        notes.append(f"{len(prompts)} prompts for {count} images, kept the first {count}")
    elif len(prompts) < count:
        notes.append(f"{len(prompts)} prompts for {count} images, the rest use the whole prompt")
    return PromptPlan(
        tuple(used), {"source": source, "items": len(prompts), "why": "; ".join(notes)}
    )


def _series_why(count: int) -> str:
    if count <= 1:
        return "one image: the prompt as given"
    return f"no enumeration: all {count} images share the prompt with their position"


def _enumerated_why(items: int, count: int) -> str:
    if items == count:
        return f"{items} enumerated prompts, one per image"
    if items > count:
        return f"{items} enumerated prompts but {count} images allowed: kept the first {count}"
    return (
        f"{items} enumerated prompts for {count} images: "
        f"images {items + 1}..{count} share the whole prompt"
    )
