"""Uploads: `POST /v1/files` (multipart, field `file`) stores a png/jpeg for the caller's key and
answers an `opendream://files/<id>` URI usable in `images` until it expires."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from opendream.api.auth import require_key
from opendream.api.context import AppContext, context
from opendream.api.errors import ApiError, ErrorBody, invalid_input
from opendream.api.responses import UploadedFileInfo
from opendream.api.routes_requests import iso
from opendream.inputs import UPLOAD_URI_PREFIX, InvalidImage, inspect_image
from opendream.jobs.base import ApiKey, UploadedFile

log = logging.getLogger("opendream.api")
router = APIRouter(tags=["files"])

# The schemas refuse references of 10 MB or more; a bigger upload could never be used.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
SIZE_MESSAGE = "File size must be less than 10 MB."
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg"}

UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "png or jpeg"}
                },
            }
        }
    },
}


@router.post(
    "/v1/files",
    response_model=UploadedFileInfo,
    responses={code: {"model": ErrorBody} for code in (401, 413, 415, 422, 503)},
    openapi_extra={"requestBody": UPLOAD_BODY},
    summary="Upload a reference image",
)
async def upload_file(
    request: Request, key: ApiKey = Depends(require_key), ctx: AppContext = Depends(context)
) -> UploadedFileInfo:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "multipart/form-data":
        raise ApiError(
            415,
            415001,
            f"Unsupported Content-Type {media or 'none'!r}: upload the image as "
            "multipart/form-data with a field named `file`.",
        )
    try:
        form = await request.form(max_files=1, max_fields=8)
    except MultiPartException as exc:
        problem = _problem([], f"Malformed multipart body: {exc.message}", "multipart")
        raise invalid_input([problem]) from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise invalid_input(
                [_problem(["file"], "A file field named `file` is required.", "missing")]
            )
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
    finally:
        await form.close()
    if len(data) >= MAX_UPLOAD_BYTES:
        raise invalid_input([_problem(["file"], SIZE_MESSAGE, "file_size_mb", upload.filename)])
    try:
        image = inspect_image(data)
    except InvalidImage as exc:
        raise invalid_input([_problem(["file"], exc.msg, exc.type, upload.filename)]) from None

    file_id = "file_" + secrets.token_urlsafe(16)
    now = datetime.now(UTC)
    record = UploadedFile(
        id=file_id,
        owner=key.id,
        blob_key=f"files/{file_id}",
        content_type=CONTENT_TYPES[image.format],
        size=len(data),
        created_at=now,
        expires_at=now + timedelta(seconds=ctx.settings.upload_ttl_s),
    )
    await ctx.blobs.put(record.blob_key, data, record.content_type)
    try:
        await ctx.store.add_file(record)
    except BaseException:
        try:
            await ctx.blobs.delete_prefix(record.blob_key)
        except Exception:
            log.exception("could not delete the blob of failed upload %s", file_id)
        raise
    return UploadedFileInfo(
        id=file_id,
        uri=UPLOAD_URI_PREFIX + file_id,
        expires_at=iso(record.expires_at) or "",
        size=record.size,
        content_type=record.content_type,
        width=image.width,
        height=image.height,
    )


def _problem(loc: list[str | int], msg: str, type_: str, value: Any = None) -> dict[str, Any]:
    return {"loc": ["body", *loc], "msg": msg, "type": type_, "input": value}
