"""The OpenAI Images API's requests (`/v1/images/generations` as JSON, `/v1/images/edits` as
multipart), checked the way that API does and mapped onto this service's models.

Mapping: generations -> `sequential` (`n` = 1: one image; `n` > 1: a series of up to `n`,
planned like Seedream's, so the images stay consistent with each other); edits -> `edit`
(`n` = 1) or `edit-sequential` (`n` > 1). `size` is passed on exactly; `auto` is `1K` (1024x1024,
or about 1 MP at the first image's aspect ratio for edits). `model`, `quality`, `background`,
`style`, `moderation`, `output_compression` and `user` are accepted and ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from opendream.api.envelopes import openai_invalid
from opendream.catalog import EDIT, EDIT_SEQUENTIAL, SEQUENTIAL

MAX_N = 10
MAX_REFERENCES = 10  # the edit models' schema
MAX_PROMPT_CHARS = 32_000
MAX_SIDE = 8192
MIN_SIDE = 64
MAX_PIXELS = 4096 * 4096
MAX_ASPECT = 16.0
RESPONSE_FORMATS = ("url", "b64_json")
OUTPUT_FORMATS = ("png", "jpeg", "webp")
_WXH = re.compile(r"^([0-9]{1,5})x([0-9]{1,5})$")

ResponseFormat = Literal["url", "b64_json"]


@dataclass(frozen=True)
class OpenAIRequest:
    prompt: str
    n: int
    size: str  # "1K" (auto) or "<W>x<H>"
    response_format: ResponseFormat
    output_format: str
    model: str | None

    def target(self, references: list[str]) -> tuple[str, dict[str, Any]]:
        """(model id, the model input the row keeps; `images` as given)."""
        common: dict[str, Any] = {"seed": -1, "optimize_prompt_options": "fast"}
        mode = "auto" if self.n > 1 else "disabled"
        if not references:
            return SEQUENTIAL, {
                "text": self.prompt,
                "image_size": self.size,
                "sequential_image_generation": mode,
                "sequential_image_generation_options": self.n,
                **common,
            }
        if self.n == 1:
            return EDIT, {
                "prompt": self.prompt,
                "images": list(references),
                "resolution": self.size,
                **common,
            }
        return EDIT_SEQUENTIAL, {
            "text": self.prompt,
            "images": list(references),
            "image_size": self.size,
            "sequential_image_generation": mode,
            "sequential_image_generation_options": self.n,
            **common,
        }


def parse_openai(fields: dict[str, Any], *, form: bool) -> OpenAIRequest:
    """`fields`: the JSON body, or the text fields of a multipart form (`form`: numbers come as
    strings). Raises `OpenAIError` (400) for the first invalid parameter."""
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise openai_invalid(
            "prompt", "Missing required parameter: 'prompt'.", "missing_required_parameter"
        )
    if len(prompt) > MAX_PROMPT_CHARS:
        raise openai_invalid(
            "prompt",
            f"Invalid 'prompt': string too long; the maximum is {MAX_PROMPT_CHARS}.",
            "string_above_max_length",
        )
    n = _n(fields.get("n"), form)
    size = _size(fields.get("size"))
    response_format = fields.get("response_format") or "b64_json"
    if response_format not in RESPONSE_FORMATS:
        raise openai_invalid(
            "response_format",
            f"Invalid value: {response_format!r}. Supported values are: 'url' and 'b64_json'.",
        )
    output_format = fields.get("output_format") or "png"
    if output_format not in OUTPUT_FORMATS:
        raise openai_invalid(
            "output_format",
            f"Invalid value: {output_format!r}. Supported values are: 'png', 'jpeg' and 'webp'.",
        )
    stream = fields.get("stream")
    if stream is True or (form and str(stream).lower() == "true"):
        raise openai_invalid(
            "stream",
            "Streaming is not offered on this endpoint; follow a request with "
            "GET /v1/requests/{id}/stream instead.",
            "unsupported_parameter",
        )
    model = fields.get("model")
    return OpenAIRequest(
        prompt=prompt,
        n=n,
        size=size,
        response_format=response_format,
        output_format=output_format,
        model=model if isinstance(model, str) else None,
    )


def _n(value: Any, form: bool) -> int:
    if value is None or value == "":
        return 1
    if form and isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_N:
        raise openai_invalid(
            "n", f"Invalid 'n': expected an integer from 1 to {MAX_N}, got {value!r}."
        )
    return value


def _size(value: Any) -> str:
    if value is None or value == "" or value == "auto":
        return "1K"
    match = _WXH.match(value) if isinstance(value, str) else None
    if match is None:
        raise openai_invalid(
            "size", f"Invalid value: {value!r}. Supported values are 'auto' and '<width>x<height>'."
        )
    width, height = int(match.group(1)), int(match.group(2))
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise openai_invalid(
            "size", f"Invalid 'size': each side must be {MIN_SIDE} to {MAX_SIDE} pixels."
        )
    if width * height > MAX_PIXELS:
        raise openai_invalid(
            "size", f"Invalid 'size': {value} is more than {MAX_PIXELS} pixels (4096x4096)."
        )
    if not 1 / MAX_ASPECT <= width / height <= MAX_ASPECT:
        raise openai_invalid(
            "size", "Invalid 'size': the aspect ratio must be between 1:16 and 16:1."
        )
    return f"{width}x{height}"
