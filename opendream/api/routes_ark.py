"""The official Seedream 4.0 API: `POST /api/v3/images/generations` (BytePlus ModelArk and
Volcengine Ark compatible; their SDKs work with `base_url=<server>/api/v3`).

The request goes through the same request table as every other door (queued, limited, in the
history), then the answer waits for it: synchronously, or as server-sent events with
`stream: true`. The request id is in the `X-Request-Id` header of every answer.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from opendream.api.ark_request import ArkRequest, parse_ark
from opendream.api.ark_response import stream_events, sync_body
from opendream.api.auth import require_key
from opendream.api.context import AppContext, context
from opendream.api.enqueue import check_key_limits, enqueue
from opendream.api.envelopes import ArkError, ark_invalid
from opendream.api.idempotency import check_same_body, fingerprint, key_from
from opendream.api.routes_requests import json_body
from opendream.api.sse import event_stream, with_keepalive
from opendream.api.submit_inputs import noted_uris, store_references
from opendream.api.sync_wait import cancel_if_queued, wait_for_result
from opendream.catalog import delivered_pixels
from opendream.jobs.base import ApiKey, RequestRow

log = logging.getLogger("opendream.api")
router = APIRouter(tags=["Seedream 4.0 official API (ModelArk)"])

KEEPALIVE_S = 15.0

_ERROR = {
    "description": 'Errors: `{"error": {"code", "message", "param", "type"}}`',
    "content": {"application/json": {"schema": {"type": "object"}}},
}

GENERATE_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"type": "object"},
            "examples": {
                "text": {
                    "summary": "text to image",
                    "value": {
                        "model": "seedream-4-0-250828",
                        "prompt": "A lighthouse at dusk, oil painting",
                        "size": "2048x2048",
                        "response_format": "url",
                    },
                },
                "series": {
                    "summary": "a series from references",
                    "value": {
                        "model": "seedream-4-0-250828",
                        "prompt": "Generate 3 images of this character in different seasons",
                        "image": ["https://example.com/character.png"],
                        "sequential_image_generation": "auto",
                        "sequential_image_generation_options": {"max_images": 3},
                        "stream": True,
                    },
                },
            },
        }
    },
}


@router.post(
    "/api/v3/images/generations",
    summary="Generate images (official Seedream 4.0 API)",
    description="Fields as the official API: `model` (`seedream-4-0-250828` or "
    "`doubao-seedream-4-0-250828`), `prompt`, `image` (URL or data URI, or a list of up to 10), "
    "`size` (`1K`/`2K`/`4K`/`WxH`, 1280x720..4096x4096 pixels, aspect 1/16..16), "
    "`sequential_image_generation` (`auto`/`disabled`), "
    "`sequential_image_generation_options.max_images` (1..15), "
    "`optimize_prompt_options.mode` (`standard`/`fast`), `seed`, `response_format` "
    "(`url`/`b64_json`), `watermark` (accepted, ignored), `stream`.",
    openapi_extra={"requestBody": GENERATE_BODY},
    responses={
        200: {
            "description": "`{model, created, data, usage}`, or server-sent events "
            "when `stream` is true."
        },
        400: _ERROR,
        401: _ERROR,
        429: _ERROR,
        500: _ERROR,
        504: _ERROR,
    },
)
async def generate(
    request: Request, key: ApiKey = Depends(require_key), ctx: AppContext = Depends(context)
) -> Response:
    idempotency_key = key_from(request.headers)
    earlier = (
        await ctx.store.find_by_idempotency_key(key.id, idempotency_key)
        if idempotency_key
        else None
    )
    if earlier is None:
        await check_key_limits(ctx, key)
    body = await json_body(request)
    ark = parse_ark(body)
    fp = fingerprint("ark", "images/generations", body)
    if earlier is not None and idempotency_key is not None:
        row = check_same_body(earlier, idempotency_key, fp)
    else:
        row = await _submit(ctx, key, ark, idempotency_key, fp)
    headers = {"X-Request-Id": row.id}
    if ark.stream:
        chunks = _stream(ctx, row.id, key.id, ark)
        return event_stream(with_keepalive(chunks, KEEPALIVE_S), headers=headers)
    finished = await wait_for_result(ctx, request, row.id, key.id)
    if finished is None:  # the client went away; nobody reads this
        return Response(status_code=499, headers=headers)
    answer = await sync_body(ctx, finished, ark.model, ark.response_format)
    return JSONResponse(answer, headers=headers)


async def _submit(
    ctx: AppContext, key: ApiKey, ark: ArkRequest, idempotency_key: str | None, fp: str
) -> RequestRow:
    request_id = str(uuid.uuid4())
    model_id, model_input = ark.target()
    images, problems, blob_keys = (
        await store_references(ctx, key, model_id, list(ark.images), request_id, field="image")
        if ark.images
        else ([], [], [])
    )
    if problems:
        await ctx.delete_request_blobs(request_id)
        raise _image_problem(problems)
    if ark.images:
        model_input["images"] = noted_uris(list(ark.images), blob_keys)
    width, height = delivered_pixels(ark.size, images)
    extra: dict[str, Any] = {
        "door": "ark",
        "ark": {
            "model": ark.model,
            "size": [width, height],
            "response_format": ark.response_format,
            "watermark": ark.watermark,
            "stream": ark.stream,
        },
    }
    if ark.output_format:
        extra["output_format"] = ark.output_format
    row = await enqueue(
        ctx,
        key,
        request_id=request_id,
        model_id=model_id,
        input=model_input,
        blob_keys=blob_keys,
        idempotency_key=idempotency_key,
        fp=fp,
        extra=extra,
    )
    log.info(
        "request %s queued by the Ark door: %s, %d reference(s)", row.id, model_id, len(blob_keys)
    )
    return row


def _image_problem(problems: list[dict[str, Any]]) -> ArkError:
    first = problems[0]
    loc = first.get("loc", [])
    where = f"image {loc[2]}: " if len(loc) > 2 and isinstance(loc[2], int) else ""
    error = ark_invalid("image", f"{where}{first.get('msg', 'invalid image')}")
    if len(problems) > 1:
        error.message += f" ({len(problems) - 1} more problem(s) with the images.)"
    return error


async def _stream(
    ctx: AppContext, request_id: str, owner: str, ark: ArkRequest
) -> AsyncIterator[bytes]:
    finished = False
    try:
        async for chunk in stream_events(ctx, request_id, owner, ark.model, ark.response_format):
            yield chunk
        finished = True
    finally:
        if not finished:  # the client went away mid-stream
            with contextlib.suppress(Exception):
                await cancel_if_queued(ctx, request_id, owner)
