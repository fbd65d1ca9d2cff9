"""`optimize_prompt_options: standard`: a language model plans and rewrites the prompts.

The model is the backend's own text encoder when it has a language-model head (FLUX.2 klein's
Qwen3ForCausalLM, FLUX.2 dev's Mistral3ForConditionalGeneration, Qwen-Image's Qwen2.5-VL), else a
separately configured instruct model directory (`prompt_llm_dir`), else none. Its answer is parsed
here; anything unusable raises, and the planner falls back to rule-based (`fast`) planning with
the reason in metadata.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Protocol

from opendream.engine.errors import EngineLoadError
from opendream.engine.planner.rewrite import Rewrite

INSTRUCTION = (
    "You plan a series of images for a text-to-image model. Read the user's request, decide how "
    "many images it asks for, and write one self-contained, detailed prompt per image. Keep the "
    "same characters, style and setting across the series unless the request says otherwise. "
    "Answer with one line per image, exactly `Image <number>: <prompt>`, and nothing else."
)

_LINE = re.compile(
    r"^\s*(?:[*#-]\s*)?(?:image|img|picture)?\s*(\d{1,2})\s*[:.)\]-]\s*(.+?)\s*$", re.I
)


class ChatModel(Protocol):
    name: str

    def chat(self, system: str, user: str, *, max_new_tokens: int) -> str: ...


class CausalChatModel:
    """A causal LM with a tokenizer that has a chat template (Qwen3, any instruct model)."""

    def __init__(self, model: Any, tokenizer: Any, template_kwargs: dict[str, Any] | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.template_kwargs = template_kwargs or {}
        self.name = type(model).__name__

    def chat(self, system: str, user: str, *, max_new_tokens: int) -> str:
        import torch

        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        text = self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, **self.template_kwargs
        )
        inputs = self.tokenizer(text, return_tensors="pt").to(_device(self.model))
        with torch.inference_mode():
            out = self.model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=False,  # greedy: the same prompt plans the same way
                pad_token_id=self.tokenizer.pad_token_id,
            )
        return self.tokenizer.decode(
            out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True
        )


class ProcessorChatModel:
    """A vision-language model driven through its processor (FLUX.2 dev's Mistral 3, with the
    content-part messages its processor's chat template expects)."""

    def __init__(self, model: Any, processor: Any):
        self.model = model
        self.processor = processor
        self.name = type(model).__name__

    def chat(self, system: str, user: str, *, max_new_tokens: int) -> str:
        import torch

        messages = [
            {"role": "system", "content": [{"type": "text", "text": system}]},
            {"role": "user", "content": [{"type": "text", "text": user}]},
        ]
        inputs = self.processor.apply_chat_template(
            messages,
            add_generation_prompt=True,
            tokenize=True,
            return_dict=True,
            return_tensors="pt",
        )
        device = _device(self.model)
        inputs = {k: v.to(device) for k, v in inputs.items() if hasattr(v, "to")}
        tokenizer = getattr(self.processor, "tokenizer", self.processor)
        with torch.inference_mode():
            out = self.model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
        return tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)


class LLMRewriter:
    """Implements the planner's `PromptRewriter` protocol with a chat model."""

    def __init__(
        self, model: ChatModel, *, tokens_per_image: int = 120, max_new_tokens: int = 1024
    ):
        self.model = model
        self.tokens_per_image = tokens_per_image
        self.max_new_tokens = max_new_tokens

    @property
    def name(self) -> str:
        return self.model.name

    def rewrite(self, prompt: str, *, max_images: int, n_stated: int | None) -> Rewrite:
        limit = n_stated if n_stated is not None else max_images
        if n_stated is not None:
            ask = f"The request asks for exactly {n_stated} image(s)."
        else:
            ask = f"Make between 1 and {max_images} image(s), as many as the request implies."
        answer = self.model.chat(
            INSTRUCTION,
            f"{ask}\n\nRequest: {prompt}",
            max_new_tokens=min(self.max_new_tokens, self.tokens_per_image * max(1, limit) + 16),
        )
        prompts = parse_numbered_lines(answer)
        if not prompts:
            raise ValueError(f"no 'Image N: …' lines in the model's answer {answer[:80]!r}")
        prompts = prompts[:limit]
        return Rewrite(prompts=prompts, count=None if n_stated is not None else len(prompts))


def parse_numbered_lines(answer: str) -> list[str]:
    """`Image 1: …` / `1. …` / `2) …` lines, in order of their numbers starting at 1."""
    found: dict[int, str] = {}
    for line in answer.splitlines():
        match = _LINE.match(line)
        if match:
            number, text = int(match.group(1)), match.group(2).strip()
            if text and number not in found:
                found[number] = text
    prompts: list[str] = []
    while len(prompts) + 1 in found:
        prompts.append(found[len(prompts) + 1])
    return prompts


def load_prompt_llm(model_dir: Path, device: str, dtype: Any) -> CausalChatModel:
    """A small instruct model (AutoModelForCausalLM) from a local directory."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise EngineLoadError(f"prompt_llm_dir {model_dir} does not exist")
    if not (model_dir / "config.json").is_file():
        raise EngineLoadError(f"prompt_llm_dir {model_dir} has no config.json (not a model folder)")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            str(model_dir), dtype=dtype, local_files_only=True
        )
    except Exception as e:  # transformers raises many kinds for a broken folder
        raise EngineLoadError(
            f"could not load the prompt model from {model_dir}: {type(e).__name__}: {e}"
        ) from None
    if getattr(tokenizer, "chat_template", None) is None:
        raise EngineLoadError(f"prompt_llm_dir {model_dir}: the tokenizer has no chat template")
    return CausalChatModel(model.to(device).eval(), tokenizer)


def _device(model: Any) -> Any:
    return getattr(model, "device", "cpu")
