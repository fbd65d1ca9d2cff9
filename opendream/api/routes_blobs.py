"""Blob downloads under HMAC-signed, expiring URLs (`/v1/blobs/{key}?expires=&sig=`). No token:
the signature is the permission, so a URL can be handed to a browser or another service."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from opendream.api.context import AppContext, context
from opendream.api.errors import NOT_FOUND, ApiError, ErrorBody
from opendream.storage.base import BlobNotFound
from opendream.storage.keys import guess_content_type
from opendream.storage.signing import verify_blob_signature

router = APIRouter(tags=["files"])


@router.head("/v1/blobs/{key:path}", include_in_schema=False, response_class=Response)
@router.get(
    "/v1/blobs/{key:path}",
    responses={
        200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}},
        403: {"model": ErrorBody},
        404: {"model": ErrorBody},
    },
    response_class=Response,
    summary="Download an output or input file by its signed URL",
)
async def get_blob(
    key: str, expires: str = "", sig: str = "", ctx: AppContext = Depends(context)
) -> Response:
    now = time.time()
    if not verify_blob_signature(ctx.blob_secret, key, expires, sig, now):
        if expires.isdigit() and int(expires) <= now and sig:
            raise ApiError(404, NOT_FOUND, "This link has expired; ask for the result again.")
        raise ApiError(403, 403002, "Invalid or missing signature for this file.")
    try:
        data = await ctx.blobs.get(key)
    except (BlobNotFound, ValueError):
        raise ApiError(
            404, NOT_FOUND, "This file does not exist any more (deleted or expired)."
        ) from None
    remaining = max(0, int(expires) - int(now))
    return Response(
        content=data,
        media_type=_content_type(key, data),
        headers={
            "Cache-Control": f"private, max-age={remaining}",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _content_type(key: str, data: bytes) -> str:
    guessed = guess_content_type(key)
    if guessed != "application/octet-stream":
        return guessed
    # Uploads (`files/<id>`) have no extension: they were checked to be png or jpeg.
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return guessed
