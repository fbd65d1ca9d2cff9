"""The official Seedream 4.0 API's request (BytePlus ModelArk / Volcengine Ark): checking its
fields the way that API does, and mapping it onto the closest model of this service.

Mapping: no `image` -> `sequential` (one image when `sequential_image_generation` is `disabled`,
the default; up to `max_images` when `auto`); with images -> `edit` (disabled) or
`edit-sequential` (auto). The size is passed on exactly (`WxH`) or as its class (`1K`/`2K`/`4K`:
about 1/4/16 MP at the first reference's aspect ratio, square without one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from opendream.api.envelopes import ArkError, ark_invalid
from opendream.catalog import EDIT, EDIT_SEQUENTIAL, SEQUENTIAL

MODEL_IDS = ("seedream-4-0-250828", "doubao-seedream-4-0-250828")
SIZE_CLASSES = ("1K", "2K", "4K")
DEFAULT_SIZE = "2048x2048"
MIN_PIXELS = 1280 * 720
MAX_PIXELS = 4096 * 4096
MAX_ASPECT = 16.0
MAX_REFERENCES = 10
MAX_IMAGES = 15
MAX_SEED = 2147483647
MAX_PROMPT_CHARS = 10_000  # far beyond any useful prompt; keeps rows small
OUTPUT_FORMATS = ("png", "jpeg")
_WXH = re.compile(r"^\s*([0-9]{1,6})\s*[xX*]\s*([0-9]{1,6})\s*$")

ResponseFormat = Literal["url", "b64_json"]


@dataclass(frozen=True)
class ArkRequest:
    model: str
    prompt: str
    images: list[str]
    size: str  # "1K" | "2K" | "4K" | "<W>x<H>"
    sequential: bool  # sequential_image_generation == "auto"
    max_images: int
    optimize: Literal["standard", "fast"]
    seed: int  # -1: random
    response_format: ResponseFormat
    watermark: bool
    stream: bool
    output_format: str | None  # png | jpeg; None: the server's default

    @property
    def exact_size(self) -> tuple[int, int] | None:
        match = _WXH.match(self.size)
        return (int(match.group(1)), int(match.group(2))) if match else None

    def target(self) -> tuple[str, dict[str, Any]]:
        """(model id, the model input the row keeps; `images` as given)."""
        common: dict[str, Any] = {"seed": self.seed, "optimize_prompt_options": self.optimize}
        mode = "auto" if self.sequential else "disabled"
        if not self.images:
            return SEQUENTIAL, {
                "text": self.prompt,
                "image_size": self.size,
                "sequential_image_generation": mode,
                "sequential_image_generation_options": self.max_images if self.sequential else 1,
                **common,
            }
        if not self.sequential:
            return EDIT, {
                "prompt": self.prompt,
                "images": list(self.images),
                "resolution": self.size,
                **common,
            }
        return EDIT_SEQUENTIAL, {
            "text": self.prompt,
            "images": list(self.images),
            "image_size": self.size,
            "sequential_image_generation": mode,
            "sequential_image_generation_options": self.max_images,
            **common,
        }


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, param: str, reason: str) -> None:
        self.items.append((param, reason))

    def raise_any(self) -> None:
        if not self.items:
            return
        param, reason = self.items[0]
        error = ark_invalid(param, reason)
        if len(self.items) > 1:
            others = ", ".join(f"`{p}`" for p, _ in self.items[1:])
            error.message += f" Also not valid: {others}."
        raise error


def parse_ark(body: Any) -> ArkRequest:
    """The request, or `ArkError` (400 InvalidParameter) naming the first invalid parameter.
    Unknown fields are ignored; `null` means "not given"."""
    if not isinstance(body, dict):
        raise ArkError(
            400,
            "The request body must be a JSON object.",
            code="InvalidParameter",
            type="BadRequest",
            param="body",
        )
    p = _Problems()
    model = body.get("model")
    if not isinstance(model, str) or not model:
        p.add("model", "it is required and must be a string.")
    elif model not in MODEL_IDS:
        p.add("model", f"{model!r} is not offered here; use {' or '.join(MODEL_IDS)}.")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        p.add("prompt", "it is required and must be a non-empty string.")
    elif len(prompt) > MAX_PROMPT_CHARS:
        p.add("prompt", f"it is longer than {MAX_PROMPT_CHARS} characters.")
    images = _images(body.get("image"), p)
    size = _size(body.get("size"), p)
    sequential = _choice(
        body.get("sequential_image_generation"),
        "sequential_image_generation",
        ("auto", "disabled"),
        "disabled",
        p,
    )
    max_images = _max_images(body.get("sequential_image_generation_options"), p)
    optimize = _optimize(body.get("optimize_prompt_options"), p)
    seed = _int(body.get("seed"), "seed", -1, MAX_SEED, -1, p)
    response_format = _choice(
        body.get("response_format"), "response_format", ("url", "b64_json"), "url", p
    )
    watermark = _bool(body.get("watermark"), "watermark", True, p)
    stream = _bool(body.get("stream"), "stream", False, p)
    output_format = body.get("output_format")
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        p.add("output_format", f"it must be one of {', '.join(OUTPUT_FORMATS)}.")
    p.raise_any()
    return ArkRequest(
        model=str(model),
        prompt=str(prompt),
        images=images,
        size=size,
        sequential=sequential == "auto",
        max_images=max_images,
        optimize=optimize,  # type: ignore[arg-type]
        seed=seed,
        response_format=response_format,  # type: ignore[arg-type]
        watermark=watermark,
        stream=stream,
        output_format=output_format,
    )


def _images(value: Any, p: _Problems) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        p.add("image", "it must be a URL or data URI, or a list of them.")
        return []
    if not items or any(not i.strip() for i in items):
        p.add("image", "it must not be empty.")
        return []
    if len(items) > MAX_REFERENCES:
        p.add("image", f"at most {MAX_REFERENCES} reference images are accepted, not {len(items)}.")
        return []
    return [i.strip() for i in items]


def _size(value: Any, p: _Problems) -> str:
    if value is None:
        return DEFAULT_SIZE
    if not isinstance(value, str):
        p.add("size", "it must be a string: 1K, 2K, 4K or <width>x<height>.")
        return DEFAULT_SIZE
    if value.strip().upper() in SIZE_CLASSES:
        return value.strip().upper()
    match = _WXH.match(value)
    if not match:
        p.add("size", f"{value!r} is neither 1K, 2K, 4K nor <width>x<height> (e.g. 2048x2048).")
        return DEFAULT_SIZE
    width, height = int(match.group(1)), int(match.group(2))
    if width <= 0 or height <= 0:
        p.add("size", "width and height must be positive.")
        return DEFAULT_SIZE
    pixels = width * height
    if not MIN_PIXELS <= pixels <= MAX_PIXELS:
        p.add(
            "size",
            f"{width}x{height} has {pixels} pixels; the total must be between {MIN_PIXELS} "
            f"(1280x720) and {MAX_PIXELS} (4096x4096).",
        )
    elif not 1 / MAX_ASPECT <= width / height <= MAX_ASPECT:
        p.add("size", f"the aspect ratio of {width}x{height} must be between 1/16 and 16.")
    return f"{width}x{height}"


def _choice(value: Any, name: str, allowed: tuple[str, ...], default: str, p: _Problems) -> str:
    if value is None:
        return default
    if value not in allowed:
        p.add(name, f"it must be one of {', '.join(allowed)}.")
        return default
    return str(value)


def _max_images(value: Any, p: _Problems) -> int:
    if value is None:
        return MAX_IMAGES
    if not isinstance(value, dict):
        p.add("sequential_image_generation_options", 'it must be an object {"max_images": n}.')
        return MAX_IMAGES
    return _int(
        value.get("max_images"),
        "sequential_image_generation_options.max_images",
        1,
        MAX_IMAGES,
        MAX_IMAGES,
        p,
    )


def _optimize(value: Any, p: _Problems) -> str:
    if value is None:
        return "standard"
    if not isinstance(value, dict):
        p.add("optimize_prompt_options", 'it must be an object {"mode": "standard" | "fast"}.')
        return "standard"
    return _choice(
        value.get("mode"), "optimize_prompt_options.mode", ("standard", "fast"), "standard", p
    )


def _int(value: Any, name: str, low: int, high: int, default: int, p: _Problems) -> int:
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        p.add(name, f"it must be an integer from {low} to {high}.")
        return default
    return value


def _bool(value: Any, name: str, default: bool, p: _Problems) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        p.add(name, "it must be true or false.")
        return default
    return value
