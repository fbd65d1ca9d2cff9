"""The reference images of a submit: fetched and validated by the inputs layer, then stored as the
request's input blobs (`requests/<id>/inputs/<i>.<ext>`) so the worker never reaches out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from opendream.api.context import AppContext
from opendream.catalog import get_model, image_rules
from opendream.inputs import (
    FetchPolicy,
    InputRejected,
    UploadResolver,
    ValidatedImage,
    load_images,
    rules_from_schema,
)
from opendream.jobs.base import ApiKey
from opendream.storage.base import BlobNotFound

CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg"}
EXTENSIONS = {"png": "png", "jpeg": "jpg"}


def fetch_policy(ctx: AppContext) -> FetchPolicy:
    s = ctx.settings
    return FetchPolicy(
        allow_http=s.allow_http,
        allow_list=tuple(s.fetch_allow_list),
        connect_timeout_s=s.fetch_connect_timeout_s,
        read_timeout_s=s.fetch_read_timeout_s,
        deadline_s=s.fetch_deadline_s,
        ca_file=s.fetch_ca_file,
    )


def upload_resolver(ctx: AppContext, owner: str) -> UploadResolver:
    """The inputs layer's `resolve_upload`: an uploaded file's bytes, or None when the id is
    unknown, expired or another key's."""

    async def resolve(file_id: str) -> bytes | None:
        f = await ctx.store.get_file(file_id, owner)
        if f is None or _aware(f.expires_at) <= datetime.now(UTC):
            return None
        try:
            return await ctx.blobs.get(f.blob_key)
        except BlobNotFound:
            return None

    return resolve


async def fetch_references(
    ctx: AppContext,
    key: ApiKey,
    model_id: str,
    clean: dict[str, Any],
    body: Any,
    request_id: str,
    *,
    fetch: bool,
) -> tuple[list[ValidatedImage], list[dict[str, Any]], list[str]]:
    """(images, problems, blob keys). Nothing is fetched when `fetch` is False (the `images` list
    itself is malformed) or the model takes no images."""
    if not fetch or not get_model(model_id).takes_images:
        return [], [], []
    uris = clean.get("images")
    if not isinstance(uris, list):
        return [], [], []
    return await store_references(ctx, key, model_id, uris, request_id, field="images")


async def store_references(
    ctx: AppContext,
    key: ApiKey,
    model_id: str,
    uris: list[Any],
    request_id: str,
    *,
    field: str,
) -> tuple[list[ValidatedImage], list[dict[str, Any]], list[str]]:
    """Fetches and validates `uris` under `model_id`'s image rules, then stores them as the
    request's input blobs. (images, problems at `["body", field, i]`, blob keys)."""
    try:
        images = await load_images(
            uris,
            rules_from_schema(image_rules(model_id)),
            fetch_policy(ctx),
            field=field,
            resolve_upload=upload_resolver(ctx, key.id),
        )
    except InputRejected as rejected:
        return [], [p.as_dict() for p in rejected.problems], []
    keys: list[str] = []
    try:
        for i, image in enumerate(images):
            blob_key = f"requests/{request_id}/inputs/{i}.{EXTENSIONS[image.format]}"
            await ctx.blobs.put(blob_key, image.data, CONTENT_TYPES[image.format])
            keys.append(blob_key)
    except BaseException:
        await ctx.delete_request_blobs(request_id)
        raise
    return images, [], keys


def stored_input(clean: dict[str, Any], blob_keys: list[str]) -> dict[str, Any]:
    """The input as the request row keeps it. Data URIs (up to ~13 MB each) are replaced by a
    short note naming the blob that holds their bytes; the worker reads the blobs anyway."""
    uris = clean.get("images")
    if not isinstance(uris, list):
        return dict(clean)
    return {**clean, "images": noted_uris(uris, blob_keys)}


def noted_uris(uris: list[Any], blob_keys: list[str]) -> list[Any]:
    kept = []
    for i, uri in enumerate(uris):
        if isinstance(uri, str) and uri[:5].lower() == "data:":
            header = uri.split(",", 1)[0][:60]
            where = blob_keys[i] if i < len(blob_keys) else "an input blob"
            kept.append(f"{header},…({len(uri)} chars, stored as {where})")
        else:
            kept.append(uri)
    return kept


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)
