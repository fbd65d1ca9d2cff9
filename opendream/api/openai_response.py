"""The OpenAI Images API's answer, built from a finished request row:

    {"created", "data": [{"b64_json" | "url", "revised_prompt"}], "size", "output_format",
     "usage": {"input_tokens", "input_tokens_details": {"text_tokens", "image_tokens"},
               "output_tokens", "total_tokens"}}

Token counts are estimates in the Seedream unit (width * height / 256 per image; text at four
characters a token): this service bills nothing, they are there for clients that read them.
"""

from __future__ import annotations

import time
from typing import Any

from opendream.api.ark_response import NO_RETRY, image_size
from opendream.api.context import AppContext
from opendream.api.envelopes import OpenAIError
from opendream.jobs.base import FINISHED, RequestRow


def text_tokens(prompt: str) -> int:
    return max(1, len(prompt) // 4)


def image_tokens(sizes: list[tuple[int, int]]) -> int:
    return sum(w * h // 256 for w, h in sizes)


def _revised_prompts(row: RequestRow) -> list[str]:
    prompts = row.metadata.get("prompts")
    per_image = prompts.get("per_image") if isinstance(prompts, dict) else prompts
    return [p for p in per_image if isinstance(p, str)] if isinstance(per_image, list) else []


async def images_body(ctx: AppContext, row: RequestRow, fmt: str) -> dict[str, Any]:
    """The 200 answer for a succeeded row; `OpenAIError` otherwise (no partial answers: the
    OpenAI API has no per-image errors)."""
    headers = {**NO_RETRY, "X-Request-Id": row.id}
    if row.status not in FINISHED:
        raise OpenAIError(
            504,
            f"Request {row.id} is still {row.status} after {ctx.settings.sync_timeout_s:g} s; "
            f"its result will be at {ctx.request_urls(row.id)['result_url']}.",
            code="timeout",
            type="server_error",
            headers=headers,
        )
    if row.status == "cancelled":
        raise OpenAIError(
            409,
            f"Request {row.id} was cancelled.",
            code="request_cancelled",
            type="invalid_request_error",
            headers=headers,
        )
    if row.status != "succeeded":
        raise OpenAIError(
            500,
            f"Request {row.id} failed: {row.error or 'the image could not be generated'}.",
            code="generation_failed",
            type="server_error",
            headers=headers,
        )
    keys = list(row.outputs or [])
    size = image_size(row)
    revised = _revised_prompts(row)
    data: list[dict[str, Any]] = []
    for i, key in enumerate(keys):
        item: dict[str, Any] = await ctx.image_payload(key, fmt)
        if i < len(revised):
            item["revised_prompt"] = revised[i]
        data.append(item)
    door = row.extra.get("openai") or {}
    text = int(door.get("text_tokens", 0))
    refs = int(door.get("image_tokens", 0))
    output = image_tokens([size] * len(keys)) if size else 0
    body: dict[str, Any] = {
        "created": int(time.time()),
        "data": data,
        "output_format": row.metadata.get("output_format") or door.get("output_format"),
        "usage": {
            "input_tokens": text + refs,
            "input_tokens_details": {"text_tokens": text, "image_tokens": refs},
            "output_tokens": output,
            "total_tokens": text + refs + output,
        },
    }
    if size is not None:
        body["size"] = f"{size[0]}x{size[1]}"
    return body
