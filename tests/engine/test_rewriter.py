"""The `standard` optimize path: a language model plans; garbage answers fall back to `fast`."""

from __future__ import annotations

from pathlib import Path

import pytest

from opendream.engine import Engine, EngineLoadError, GenerationRequest, SizeRequest
from opendream.engine.planner import PromptRewriter, Rewrite
from opendream.engine.rewriter import (
    CausalChatModel,
    LLMRewriter,
    load_prompt_llm,
    parse_numbered_lines,
)


class Scripted:
    """A chat model whose answer is fixed: the parsing is what is under test here."""

    name = "scripted"

    def __init__(self, answer: str):
        self.answer = answer
        self.asked: list[tuple[str, str, int]] = []

    def chat(self, system: str, user: str, *, max_new_tokens: int) -> str:
        self.asked.append((system, user, max_new_tokens))
        return self.answer


@pytest.mark.parametrize(
    ("answer", "prompts"),
    [
        ("Image 1: a red fox\nImage 2: a blue fox", ["a red fox", "a blue fox"]),
        ("1. dawn\n2) noon\n3: dusk", ["dawn", "noon", "dusk"]),
        ("Sure!\n- Image 1: one\n- Image 2: two\nHope this helps", ["one", "two"]),
        ("Image 2: skipped the first", []),
        ("Image 1: a\nImage 1: again\nImage 2: b", ["a", "b"]),
        ("no numbers at all", []),
        ("", []),
    ],
)
def test_parse_numbered_lines(answer: str, prompts: list[str]):
    assert parse_numbered_lines(answer) == prompts


def test_a_good_answer_becomes_prompts_and_count():
    model = Scripted("Image 1: a knight\nImage 2: the knight rides\nImage 3: the knight rests")

    rewrite = LLMRewriter(model).rewrite("a knight's day", max_images=5, n_stated=None)

    assert rewrite == Rewrite(prompts=["a knight", "the knight rides", "the knight rests"], count=3)
    assert "between 1 and 5" in model.asked[0][1]


def test_a_stated_count_is_passed_on_and_extra_lines_dropped():
    model = Scripted("Image 1: a\nImage 2: b\nImage 3: c")

    rewrite = LLMRewriter(model).rewrite("two cats", max_images=5, n_stated=2)

    assert rewrite == Rewrite(prompts=["a", "b"], count=None)
    assert "exactly 2" in model.asked[0][1]


def test_an_unusable_answer_raises_with_the_answer_quoted():
    with pytest.raises(ValueError, match="no 'Image N: …' lines in the model's answer 'blah'"):
        LLMRewriter(Scripted("blah")).rewrite("x", max_images=3, n_stated=None)


def test_it_satisfies_the_planner_protocol():
    assert isinstance(LLMRewriter(Scripted("")), PromptRewriter)


@pytest.mark.parametrize("family", ["flux2-klein", "flux2-dev"])
def test_standard_mode_runs_the_text_encoder_and_records_the_fallback(
    family: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
):
    engine: Engine = request.getfixturevalue(
        "klein_engine" if family == "flux2-klein" else "dev_engine"
    )
    assert engine.capabilities.can_generate_text
    assert engine.rewriter is not None
    # Random weights write noise; a few tokens are enough to prove the path runs end to end.
    monkeypatch.setattr(engine.rewriter, "max_new_tokens", 4)
    answers: list[str] = []
    chat = engine.rewriter.model.chat
    monkeypatch.setattr(
        engine.rewriter.model,
        "chat",
        lambda *a, **k: answers.append(chat(*a, **k)) or answers[-1],
    )

    plan = engine.plan(
        GenerationRequest(
            mode="sequential",
            prompt="a lighthouse in a storm",
            size=SizeRequest(width=256, height=256),
            max_images=3,
            seed=1,
            optimize="standard",
        )
    )

    assert len(answers) == 1 and isinstance(answers[0], str)
    optimize = plan.metadata["optimize"]
    assert optimize["mode"] == "standard" and optimize["used"] == "fast"
    assert "rewriter" in optimize["fallback_reason"]
    assert plan.metadata["prompt_rewriter"] == (
        "Qwen3ForCausalLM" if family == "flux2-klein" else "Mistral3ForConditionalGeneration"
    )


def test_fast_mode_does_not_ask_the_model(klein_engine: Engine, monkeypatch: pytest.MonkeyPatch):
    def refuse(*args: object, **kwargs: object) -> str:
        raise AssertionError("the model was asked in fast mode")

    monkeypatch.setattr(klein_engine.rewriter.model, "chat", refuse)

    plan = klein_engine.plan(
        GenerationRequest(
            mode="sequential", prompt="Generate two images of owls", max_images=4, seed=3
        )
    )

    assert plan.metadata["optimize"]["used"] == "fast"
    assert len(plan.images) == 2


def test_a_prompt_llm_dir_loads_as_a_chat_model(klein_dir: Path, tmp_path: Path):
    """Any AutoModelForCausalLM folder with a chat template works; the tiny Qwen3 is one."""
    import shutil

    folder = tmp_path / "llm"
    shutil.copytree(klein_dir / "text_encoder", folder)
    for item in (klein_dir / "tokenizer").iterdir():
        shutil.copy(item, folder / item.name)
    import torch

    model = load_prompt_llm(folder, "cpu", torch.float32)

    assert isinstance(model, CausalChatModel)
    assert isinstance(model.chat("be brief", "hello", max_new_tokens=3), str)


def test_a_missing_prompt_llm_dir_is_a_load_error(tmp_path: Path):
    with pytest.raises(EngineLoadError, match="does not exist"):
        load_prompt_llm(tmp_path / "nope", "cpu", None)
    with pytest.raises(EngineLoadError, match=r"has no config\.json"):
        load_prompt_llm(tmp_path, "cpu", None)
