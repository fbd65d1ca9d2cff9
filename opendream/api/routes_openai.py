"""The OpenAI Images API: `POST /v1/images/generations` (JSON) and `POST /v1/images/edits`
(multipart; `image` or repeated `image[]`, up to 10). The official `openai` client works with
`base_url=<server>/v1`.

Requests go through the same request table as every other door; the answer waits for the result
(bounded by `sync_timeout_s`). The request id is in the `X-Request-Id` header.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from opendream.api.auth import require_key
from opendream.api.context import AppContext, context
from opendream.api.enqueue import check_key_limits, enqueue
from opendream.api.envelopes import OpenAIError, openai_invalid
from opendream.api.idempotency import check_same_body, fingerprint, key_from
from opendream.api.openai_request import MAX_REFERENCES, OpenAIRequest, parse_openai
from opendream.api.openai_response import image_tokens, images_body, text_tokens
from opendream.api.routes_requests import json_body
from opendream.api.submit_inputs import noted_uris, store_references
from opendream.api.sync_wait import wait_for_result
from opendream.catalog import delivered_pixels
from opendream.jobs.base import ApiKey, RequestRow

log = logging.getLogger("opendream.api")
router = APIRouter(tags=["OpenAI Images API"])

MAX_FORM_FIELDS = 100
_IMAGE_FIELD = re.compile(r"^image(\[\d*\])?$")

_ERROR = {
    "description": 'Errors: `{"error": {"message", "type", "param", "code"}}`',
    "content": {"application/json": {"schema": {"type": "object"}}},
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "`{created, data: [{b64_json | url, revised_prompt}], size, "
        "output_format, usage}`"
    },
    400: _ERROR,
    401: _ERROR,
    429: _ERROR,
    500: _ERROR,
    504: _ERROR,
}


@router.post(
    "/v1/images/generations",
    summary="Create images (OpenAI Images API)",
    description="JSON: `prompt`, `n` (1..10: a consistent series when above 1), `size` "
    "(`auto` or `WxH`), `response_format` (`b64_json` default, or `url`), `output_format` "
    "(`png`/`jpeg`/`webp`). `model` and the other OpenAI fields are accepted and ignored.",
    responses=_RESPONSES,
)
async def generations(
    request: Request, key: ApiKey = Depends(require_key), ctx: AppContext = Depends(context)
) -> Response:
    idempotency_key = key_from(request.headers)
    earlier = await _earlier(ctx, key, idempotency_key)
    if earlier is None:
        await check_key_limits(ctx, key)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise openai_invalid(None, "The request body must be a JSON object.", "invalid_json")
    req = parse_openai(body, form=False)
    fp = fingerprint("openai", "images/generations", body)
    if earlier is not None and idempotency_key is not None:
        row = check_same_body(earlier, idempotency_key, fp)
    else:
        row = await _submit(ctx, key, req, [], idempotency_key, fp)
    return await _answer(ctx, request, key, row, req)


@router.post(
    "/v1/images/edits",
    summary="Edit images (OpenAI Images API)",
    description=f"Multipart: `image` or repeated `image[]` (png/jpeg files, up to "
    f"{MAX_REFERENCES}), `prompt`, `n`, `size`, `response_format`, `output_format`. `mask` is "
    "not supported.",
    responses=_RESPONSES,
)
async def edits(
    request: Request, key: ApiKey = Depends(require_key), ctx: AppContext = Depends(context)
) -> Response:
    idempotency_key = key_from(request.headers)
    earlier = await _earlier(ctx, key, idempotency_key)
    if earlier is None:
        await check_key_limits(ctx, key)
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "multipart/form-data":
        raise openai_invalid(
            None,
            "Send the edit as multipart/form-data with the image file(s) in `image` or `image[]`.",
            "invalid_content_type",
        )
    fields, files = await _read_form(request)
    if "mask" in fields or "mask" in files:
        raise openai_invalid(
            "mask",
            "Masks are not supported; describe the edit in the prompt.",
            "unsupported_parameter",
        )
    if not files.get("image"):
        raise openai_invalid(
            "image", "Missing required parameter: 'image'.", "missing_required_parameter"
        )
    images = files["image"]
    if len(images) > MAX_REFERENCES:
        raise openai_invalid(
            "image",
            f"At most {MAX_REFERENCES} images are accepted, not {len(images)}.",
            "too_many_images",
        )
    req = parse_openai(fields, form=True)
    digests = [hashlib.sha256(data).hexdigest() for data in images]
    fp = fingerprint("openai", "images/edits", {"fields": fields, "images": digests})
    if earlier is not None and idempotency_key is not None:
        row = check_same_body(earlier, idempotency_key, fp)
    else:
        uris = [_data_uri(data) for data in images]
        row = await _submit(ctx, key, req, uris, idempotency_key, fp)
    return await _answer(ctx, request, key, row, req)


async def _earlier(ctx: AppContext, key: ApiKey, idempotency_key: str | None) -> RequestRow | None:
    if idempotency_key is None:
        return None
    return await ctx.store.find_by_idempotency_key(key.id, idempotency_key)


async def _read_form(request: Request) -> tuple[dict[str, Any], dict[str, list[bytes]]]:
    """(text fields, file bytes by field); `image[]` and `image[0]` count as `image`."""
    try:
        form = await request.form(max_fields=MAX_FORM_FIELDS, max_files=MAX_REFERENCES + 2)
    except Exception as exc:  # malformed multipart, too many parts
        raise openai_invalid(
            None, f"The multipart body could not be read: {exc}.", "invalid_multipart"
        ) from None
    fields: dict[str, Any] = {}
    files: dict[str, list[bytes]] = {}
    try:
        for name, value in form.multi_items():
            field = "image" if _IMAGE_FIELD.match(name) else name
            if isinstance(value, UploadFile):
                files.setdefault(field, []).append(await value.read())
            elif field == "image":
                raise openai_invalid("image", "`image` must be a file upload.", "invalid_type")
            else:
                fields[field] = value
    finally:
        await form.close()
    return fields, files


def _data_uri(data: bytes) -> str:
    # The inputs layer sniffs the real format from the bytes; the declared type is not trusted.
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


async def _submit(
    ctx: AppContext,
    key: ApiKey,
    req: OpenAIRequest,
    uris: list[str],
    idempotency_key: str | None,
    fp: str,
) -> RequestRow:
    request_id = str(uuid.uuid4())
    model_id, model_input = req.target(uris)
    images, problems, blob_keys = (
        await store_references(ctx, key, model_id, uris, request_id, field="image")
        if uris
        else ([], [], [])
    )
    if problems:
        await ctx.delete_request_blobs(request_id)
        first = problems[0]
        loc = first.get("loc", [])
        where = f"image {loc[2]}: " if len(loc) > 2 and isinstance(loc[2], int) else ""
        raise openai_invalid(
            "image", f"Invalid 'image': {where}{first.get('msg')}", "invalid_image"
        )
    if uris:
        model_input["images"] = noted_uris(uris, blob_keys)
    width, height = delivered_pixels(req.size, images)
    extra: dict[str, Any] = {
        "door": "openai",
        "openai": {
            "model": req.model,
            "size": [width, height],
            "response_format": req.response_format,
            "output_format": req.output_format,
            "text_tokens": text_tokens(req.prompt),
            "image_tokens": image_tokens([(i.width, i.height) for i in images]),
        },
        "output_format": req.output_format,
    }
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
        "request %s queued by the OpenAI door: %s, %d image(s)", row.id, model_id, len(blob_keys)
    )
    return row


async def _answer(
    ctx: AppContext, request: Request, key: ApiKey, row: RequestRow, req: OpenAIRequest
) -> Response:
    headers = {"X-Request-Id": row.id}
    finished = await wait_for_result(ctx, request, row.id, key.id)
    if finished is None:  # the client went away; nobody reads this
        return Response(status_code=499, headers=headers)
    try:
        body = await images_body(ctx, finished, req.response_format)
    except OpenAIError as exc:
        exc.headers.update(headers)
        raise
    return JSONResponse(body, headers=headers)
