"""The official Seedream API's answers, built from a request row: the synchronous response, and
the server-sent events of `stream: true`.

    {"model", "created", "data": [{"url" | "b64_json", "size"} | {"error": {code, message}}],
     "usage": {"generated_images", "output_tokens", "total_tokens"}}

`output_tokens` = sum over the images of width * height / 256, as the official API counts.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from opendream.api.context import AppContext
from opendream.api.envelopes import ArkError
from opendream.api.sse import frame
from opendream.api.stream_events import stored_outputs
from opendream.api.watch import watch
from opendream.jobs.base import FINISHED, RequestRow

PARTIAL_SUCCEEDED = "image_generation.partial_succeeded"
PARTIAL_FAILED = "image_generation.partial_failed"
COMPLETED = "image_generation.completed"
NO_RETRY = {"x-should-retry": "false"}  # the official SDKs honour it


def image_size(row: RequestRow) -> tuple[int, int] | None:
    """The delivered size: the worker's record once done, else what the door planned (the Ark
    and OpenAI doors keep it under their own name in `extra`)."""
    planned = [(row.extra.get(door) or {}).get("size") for door in ("ark", "openai")]
    for value in (row.metadata.get("delivered_size"), *planned):
        if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
            return value[0], value[1]
    return None


def usage(sizes: list[tuple[int, int]]) -> dict[str, int]:
    tokens = sum(w * h // 256 for w, h in sizes)
    return {"generated_images": len(sizes), "output_tokens": tokens, "total_tokens": tokens}


async def image_item(ctx: AppContext, key: str, size: tuple[int, int] | None, fmt: str) -> dict:
    item: dict[str, Any] = await ctx.image_payload(key, fmt)
    if size is not None:
        item["size"] = f"{size[0]}x{size[1]}"
    return item


def failure(row: RequestRow) -> dict[str, str]:
    if row.status == "cancelled":
        return {"code": "RequestCancelled", "message": f"Request {row.id} was cancelled."}
    return {
        "code": "InternalServiceError",
        "message": row.error or "The image could not be generated.",
    }


async def sync_body(ctx: AppContext, row: RequestRow, model: str, fmt: str) -> dict[str, Any]:
    """The 200 answer for a finished row; `ArkError` when there is nothing to show."""
    if row.status not in FINISHED:
        raise ArkError(
            504,
            f"Request {row.id} is still {row.status} after {ctx.settings.sync_timeout_s:g} s; "
            f"its result will be at {ctx.request_urls(row.id)['result_url']}.",
            code="Timeout",
            type="GatewayTimeout",
            headers={**NO_RETRY, "X-Request-Id": row.id},
        )
    keys = stored_outputs(row)
    if row.status != "succeeded" and not keys:
        error = failure(row)
        status, kind = (
            (409, "Conflict") if row.status == "cancelled" else (500, "InternalServerError")
        )
        raise ArkError(
            status,
            error["message"],
            code=error["code"],
            type=kind,
            headers={**NO_RETRY, "X-Request-Id": row.id},
        )
    size = image_size(row)
    data: list[dict[str, Any]] = [await image_item(ctx, k, size, fmt) for k in keys]
    if row.status != "succeeded":
        data.append({"error": failure(row)})
    return {
        "model": model,
        "created": int(time.time()),
        "data": data,
        "usage": usage([size] * len(keys) if size else []),
    }


class _Deadline(Exception):
    pass


async def stream_events(
    ctx: AppContext, request_id: str, owner: str, model: str, fmt: str
) -> AsyncIterator[bytes]:
    """`partial_succeeded` for each image as soon as it is stored, `partial_failed` when the
    request fails, is cancelled or outlasts `sync_timeout_s`, then `completed` with the usage,
    then `[DONE]`."""
    sent = 0
    sizes: list[tuple[int, int]] = []
    deadline = time.monotonic() + ctx.settings.sync_timeout_s

    async def check_deadline() -> None:
        if time.monotonic() > deadline:
            raise _Deadline

    def event(kind: str, **fields: Any) -> bytes:
        return frame(
            {"type": kind, "model": model, "created": int(time.time()), **fields}, event=kind
        )

    error: dict[str, str] | None = None
    rows = watch(
        ctx.store, request_id, owner, poll_s=ctx.settings.stream_poll_s, tick=check_deadline
    )
    try:
        async for row in rows:
            keys = stored_outputs(row)
            for index in range(sent, len(keys)):
                size = image_size(row)
                item = await image_item(ctx, keys[index], size, fmt)
                yield event(PARTIAL_SUCCEEDED, image_index=index, **item)
                sent += 1
                if size is not None:
                    sizes.append(size)
            if row.status in ("failed", "cancelled"):
                error = failure(row)
            if row.status in FINISHED:
                break
    except _Deadline:
        error = {
            "code": "Timeout",
            "message": f"Request {request_id} did not finish within "
            f"{ctx.settings.sync_timeout_s:g} s; its result will be at "
            f"{ctx.request_urls(request_id)['result_url']}.",
        }
    finally:
        await rows.aclose()  # type: ignore[attr-defined]
    if error is not None:
        yield event(PARTIAL_FAILED, image_index=sent, error=error)
    yield event(COMPLETED, usage=usage(sizes))
    yield frame("[DONE]")
