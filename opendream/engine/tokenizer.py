"""A byte-level BPE tokenizer built entirely in code, for the tiny offline pipelines.

Real checkpoints ship tokenizers with 130k+ entries; the tiny models only need something of the
same *kind* (byte-level BPE, so any UTF-8 prompt round-trips, plus the special tokens and chat
template each pipeline's prompt formatting relies on). The merges are learnt deterministically
from a small built-in corpus, so every `make_tiny` produces the same files.
"""

from __future__ import annotations

import itertools
from collections import Counter
from functools import cache

# A few sentences in the languages the planner sees; enough for the merges to be real merges.
_CORPUS = (
    "a photo of a cat sitting on the table in the morning light, "
    "generate three images of the same character walking through the city at night. "
    "image 1: a red car. image 2: a blue house. image 3: the sea and the sky. "
    "erzeuge drei Bilder, trois images, cinco imágenes, 三张图片, 세 장의 이미지. "
    "the quick brown fox jumps over the lazy dog; the style stays consistent."
)

QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<think>",
    "</think>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

# Qwen3's template, reduced to what the pipelines and the rewriter use: system/user/assistant
# turns, the generation prompt, and the empty thinking block that `enable_thinking=False` adds.
QWEN_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['content'] is string -%}{%- set text = message['content'] -%}"
    "{%- else -%}{%- set text = namespace(v='') -%}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'text' -%}{%- set text.v = text.v + part['text'] -%}"
    "{%- else -%}{%- set text.v = text.v + '<|vision_start|><|image_pad|><|vision_end|>' -%}"
    "{%- endif -%}"
    "{%- endfor -%}{%- set text = text.v -%}"
    "{%- endif -%}"
    "{{ '<|im_start|>' + message['role'] + '\n' + text + '<|im_end|>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}"
    "{{ '<think>\n\n</think>\n\n' }}{%- endif -%}"
    "{%- endif -%}"
)

MISTRAL_SPECIAL_TOKENS = (
    "<unk>",
    "<s>",
    "</s>",
    "<pad>",
    "[INST]",
    "[/INST]",
    "[SYSTEM_PROMPT]",
    "[/SYSTEM_PROMPT]",
    "[IMG]",
    "[IMG_BREAK]",
    "[IMG_END]",
)

# Mistral-Small-3.x style: system prompt block, [INST] user turns; content is a list of parts
# (text or image), which is what Flux2Pipeline's `format_input` produces.
MISTRAL_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- for message in messages -%}"
    "{%- if message['content'] is string -%}{%- set text = message['content'] -%}"
    "{%- else -%}{%- set text = namespace(v='') -%}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'text' -%}{%- set text.v = text.v + part['text'] -%}"
    "{%- else -%}{%- set text.v = text.v + '[IMG]' -%}{%- endif -%}"
    "{%- endfor -%}{%- set text = text.v -%}"
    "{%- endif -%}"
    "{%- if message['role'] == 'system' -%}{{ '[SYSTEM_PROMPT]' + text + '[/SYSTEM_PROMPT]' }}"
    "{%- elif message['role'] == 'user' -%}{{ '[INST]' + text + '[/INST]' }}"
    "{%- else -%}{{ text + eos_token }}{%- endif -%}"
    "{%- endfor -%}"
)


@cache
def _byte_alphabet() -> tuple[str, ...]:
    """GPT-2's printable stand-in for each byte value, so byte-level tokens are valid text."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codepoints = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codepoints.append(256 + extra)
            extra += 1
    table = dict(zip(printable, codepoints, strict=True))
    return tuple(chr(table[b]) for b in range(256))


def _words(text: str) -> list[tuple[str, ...]]:
    alphabet = _byte_alphabet()
    words: list[tuple[str, ...]] = []
    for i, word in enumerate(text.split(" ")):
        # ByteLevel pre-tokenisation keeps the leading space with the word ("Ġword").
        raw = (" " + word if i else word).encode("utf-8")
        words.append(tuple(alphabet[b] for b in raw))
    return words


def learn_merges(corpus: str = _CORPUS, count: int = 96) -> list[tuple[str, str]]:
    """Classic BPE training: repeatedly merge the most frequent adjacent pair (ties broken by
    the pair itself, so the result never depends on dict ordering)."""
    words = Counter(_words(corpus))
    merges: list[tuple[str, str]] = []
    for _ in range(count):
        pairs: Counter[tuple[str, str]] = Counter()
        for word, freq in words.items():
            for a, b in itertools.pairwise(word):
                pairs[(a, b)] += freq
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        if pairs[best] < 2:
            break
        merges.append(best)
        merged: Counter[tuple[str, ...]] = Counter()
        for word, freq in words.items():
            out: list[str] = []
            i = 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += freq
        words = merged
    return merges


def byte_level_vocab(
    special_tokens: tuple[str, ...], merges: list[tuple[str, str]]
) -> dict[str, int]:
    vocab: dict[str, int] = {}
    for token in _byte_alphabet():
        vocab.setdefault(token, len(vocab))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    for token in special_tokens:
        vocab.setdefault(token, len(vocab))
    return vocab


def build_qwen_tokenizer():  # -> transformers.Qwen2Tokenizer
    """A Qwen2-class tokenizer (what Flux2KleinPipeline and QwenImagePipeline load)."""
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    merges = learn_merges()
    vocab = byte_level_vocab(QWEN_SPECIAL_TOKENS, merges)
    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=131072,
    )
    tokenizer.add_special_tokens(
        {"additional_special_tokens": [AddedToken(t, special=True) for t in QWEN_SPECIAL_TOKENS]}
    )
    tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    return tokenizer


def build_mistral_tokenizer():  # -> transformers.PreTrainedTokenizerFast
    """A byte-level BPE tokenizer with Mistral's special tokens (for Flux2Pipeline's processor)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    merges = learn_merges()
    vocab = byte_level_vocab(MISTRAL_SPECIAL_TOKENS, merges)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens([AddedToken(t, special=True) for t in MISTRAL_SPECIAL_TOKENS])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        model_max_length=131072,
    )
    tokenizer.chat_template = MISTRAL_CHAT_TEMPLATE
    return tokenizer
