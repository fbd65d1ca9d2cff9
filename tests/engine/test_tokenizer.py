"""The byte-level BPE tokenizer built in code."""

from __future__ import annotations

from pathlib import Path

import pytest

from opendream.engine.tokenizer import (
    MISTRAL_SPECIAL_TOKENS,
    QWEN_SPECIAL_TOKENS,
    build_mistral_tokenizer,
    build_qwen_tokenizer,
    learn_merges,
)

TEXTS = [
    "a photo of a cat",
    "Generate 3 images of the same robot",
    "三张图片：猫、狗、鸟",
    "세 장의 이미지를 만들어 주세요",
    "drei Bilder — Größe 2K, ümlaut",
    "emoji 🐱🚀 and tabs\tand\nnewlines",
]


@pytest.mark.parametrize("build", [build_qwen_tokenizer, build_mistral_tokenizer])
@pytest.mark.parametrize("text", TEXTS)
def test_any_utf8_text_round_trips(build, text: str):
    tokenizer = build()

    ids = tokenizer(text, add_special_tokens=False)["input_ids"]

    assert tokenizer.decode(ids) == text


def test_merges_are_real_and_deterministic():
    merges = learn_merges()

    assert len(merges) > 20
    assert merges == learn_merges()
    tokenizer = build_qwen_tokenizer()
    assert len(tokenizer("the the the", add_special_tokens=False)["input_ids"]) < len("the the the")


@pytest.mark.parametrize(
    ("build", "specials"),
    [
        (build_qwen_tokenizer, QWEN_SPECIAL_TOKENS),
        (build_mistral_tokenizer, MISTRAL_SPECIAL_TOKENS),
    ],
)
def test_special_tokens_are_single_ids(build, specials: tuple[str, ...]):
    tokenizer = build()

    for token in specials:
        assert len(tokenizer(token, add_special_tokens=False)["input_ids"]) == 1, token


def test_qwen_chat_template_matches_what_flux2_klein_sends():
    tokenizer = build_qwen_tokenizer()

    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "a cat"}],
        tokenize=False,
        add_generation_prompt=True,
        enable_thinking=False,
    )

    assert (
        text == "<|im_start|>user\na cat<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
    )


def test_mistral_chat_template_takes_content_parts():
    tokenizer = build_mistral_tokenizer()
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "be brief"}]},
        {"role": "user", "content": [{"type": "text", "text": "a cat"}]},
    ]

    text = tokenizer.apply_chat_template(messages, tokenize=False)

    assert text == "<s>[SYSTEM_PROMPT]be brief[/SYSTEM_PROMPT][INST]a cat[/INST]"


def test_saved_and_loaded_tokenizer_encodes_the_same(tmp_path: Path):
    from transformers import AutoTokenizer

    tokenizer = build_qwen_tokenizer()
    tokenizer.save_pretrained(tmp_path)

    loaded = AutoTokenizer.from_pretrained(tmp_path, local_files_only=True)

    for text in TEXTS:
        assert loaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert loaded.chat_template == tokenizer.chat_template
