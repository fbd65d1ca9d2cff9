"""The prompt rewriter used by `standard` optimize mode.

A rewriter is anything with `rewrite(prompt, *, max_images, n_stated) -> Rewrite`: a language
model (the backend's own text encoder when it can generate, or a small instruct model) that
returns rewritten per-image prompts and/or the number of images it thinks the prompt wants.
Its answer is checked here; anything malformed makes the planner fall back to `fast`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

_MAX_REASON = 200


@dataclass(frozen=True)
class Rewrite:
    # One rewritten prompt per image, or None to keep the rule-based prompts.
    prompts: list[str] | None = None
    # How many images the prompt asks for, or None to leave the count to the rules.
    count: int | None = None


@runtime_checkable
class PromptRewriter(Protocol):
    def rewrite(self, prompt: str, *, max_images: int, n_stated: int | None) -> Rewrite: ...


@dataclass(frozen=True)
class RewriteOutcome:
    rewrite: Rewrite | None
    fallback_reason: str | None


def ask_rewriter(
    rewriter: PromptRewriter | None, prompt: str, *, max_images: int, n_stated: int | None
) -> RewriteOutcome:
    """Call the rewriter and validate its answer; never raises."""
    if rewriter is None:
        return RewriteOutcome(None, "no prompt rewriter is configured for this backend")
    try:
        answer = rewriter.rewrite(prompt, max_images=max_images, n_stated=n_stated)
    except Exception as error:  # a rewriter is a model; any failure means "use fast"
        return RewriteOutcome(None, _short(f"rewriter raised {type(error).__name__}: {error}"))
    problem = _problem(answer)
    if problem is not None:
        return RewriteOutcome(None, _short(f"rewriter answer unusable: {problem}"))
    return RewriteOutcome(Rewrite(_prompts(answer), getattr(answer, "count", None)), None)


def _problem(answer: object) -> str | None:
    if not hasattr(answer, "prompts") or not hasattr(answer, "count"):
        return f"expected a Rewrite, got {type(answer).__name__}"
    prompts, count = answer.prompts, answer.count
    if prompts is not None:
        if not isinstance(prompts, list | tuple):
            return f"prompts is a {type(prompts).__name__}, not a list"
        if not prompts or not all(isinstance(p, str) and p.strip() for p in prompts):
            return "prompts must be a non-empty list of non-empty strings"
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        return f"count must be a positive integer, got {count!r}"
    if prompts is None and count is None:
        return "neither prompts nor count"
    return None


def _prompts(answer: object) -> list[str] | None:
    prompts = getattr(answer, "prompts", None)
    return [p.strip() for p in prompts] if prompts is not None else None


def _short(text: str) -> str:
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"
