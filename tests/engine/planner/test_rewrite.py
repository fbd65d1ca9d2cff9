from __future__ import annotations

from dataclasses import dataclass

import pytest

from opendream.engine.planner.rewrite import PromptRewriter, Rewrite, ask_rewriter


class Fixed:
    def __init__(self, answer: object) -> None:
        self.answer = answer
        self.calls: list[tuple[str, int, int | None]] = []

    def rewrite(self, prompt: str, *, max_images: int, n_stated: int | None) -> Rewrite:
        self.calls.append((prompt, max_images, n_stated))
        return self.answer  # type: ignore[return-value]


class Broken:
    def rewrite(self, prompt: str, *, max_images: int, n_stated: int | None) -> Rewrite:
        raise RuntimeError("model exploded")


@dataclass
class LookAlike:
    prompts: list[str] | None
    count: int | None


def test_fake_satisfies_protocol() -> None:
    assert isinstance(Fixed(Rewrite()), PromptRewriter)


def test_good_answer_passes_with_arguments() -> None:
    fake = Fixed(Rewrite(prompts=[" a ", "b"], count=2))
    outcome = ask_rewriter(fake, "p", max_images=4, n_stated=None)
    assert outcome.fallback_reason is None
    assert outcome.rewrite == Rewrite(prompts=["a", "b"], count=2)
    assert fake.calls == [("p", 4, None)]


def test_duck_typed_answer_is_accepted() -> None:
    outcome = ask_rewriter(Fixed(LookAlike(None, 3)), "p", max_images=4, n_stated=None)
    assert outcome.rewrite == Rewrite(None, 3)


def test_no_rewriter() -> None:
    outcome = ask_rewriter(None, "p", max_images=4, n_stated=None)
    assert outcome.rewrite is None
    assert outcome.fallback_reason == "no prompt rewriter is configured for this backend"


def test_raising_rewriter() -> None:
    outcome = ask_rewriter(Broken(), "p", max_images=4, n_stated=None)
    assert outcome.rewrite is None
    assert outcome.fallback_reason == "rewriter raised RuntimeError: model exploded"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("just text", "expected a Rewrite, got str"),
        (None, "expected a Rewrite, got NoneType"),
        (Rewrite(), "neither prompts nor count"),
        (Rewrite(prompts=[]), "non-empty list"),
        (Rewrite(prompts=["ok", ""]), "non-empty list"),
        (Rewrite(prompts=["ok", 3]), "non-empty list"),  # type: ignore[list-item]
        (LookAlike("a string", None), "prompts is a str"),  # type: ignore[arg-type]
        (Rewrite(count=0), "positive integer"),
        (Rewrite(count=True), "positive integer"),
        (Rewrite(count="3"), "positive integer"),  # type: ignore[arg-type]
    ],
)
def test_garbage_answers_fall_back(answer: object, reason: str) -> None:
    outcome = ask_rewriter(Fixed(answer), "p", max_images=4, n_stated=None)
    assert outcome.rewrite is None
    assert outcome.fallback_reason is not None
    assert reason in outcome.fallback_reason


def test_long_error_is_shortened() -> None:
    class Loud:
        def rewrite(self, prompt: str, *, max_images: int, n_stated: int | None) -> Rewrite:
            raise ValueError("x" * 5000)

    outcome = ask_rewriter(Loud(), "p", max_images=1, n_stated=None)
    assert outcome.fallback_reason is not None and len(outcome.fallback_reason) <= 200
