"""Putting a validated request into the request table, the same way for every door: idempotent
replays, the insert, and no blobs left behind when the row is not ours."""

from __future__ import annotations

from typing import Any

from opendream.api.context import AppContext
from opendream.api.idempotency import check_same_body, extra_for
from opendream.api.limits import check_limits
from opendream.jobs.base import ApiKey, RequestRow


async def earlier_request(
    ctx: AppContext, key: ApiKey, idempotency_key: str | None, fp: str
) -> RequestRow | None:
    """The request this key already made with `idempotency_key`, when the body is the same;
    raises `IdempotencyConflict` when it is not; None when the key is new (or not given)."""
    if idempotency_key is None:
        return None
    row = await ctx.store.find_by_idempotency_key(key.id, idempotency_key)
    return check_same_body(row, idempotency_key, fp) if row is not None else None


async def check_key_limits(ctx: AppContext, key: ApiKey) -> None:
    await check_limits(
        ctx.store,
        key.id,
        per_minute=ctx.settings.rate_limit_per_minute,
        max_queued=ctx.settings.max_queued_per_key,
    )


async def enqueue(
    ctx: AppContext,
    key: ApiKey,
    *,
    request_id: str,
    model_id: str,
    input: dict[str, Any],
    blob_keys: list[str],
    idempotency_key: str | None,
    fp: str,
    extra: dict[str, Any] | None = None,
) -> RequestRow:
    """The queued row. When another submit with the same idempotency key won the race, its row
    (after the same body check) and this request's blobs are deleted."""
    stored_extra = {**(extra or {}), **(extra_for(fp) if idempotency_key else {})}
    try:
        row = await ctx.store.insert(
            owner=key.id,
            model_id=model_id,
            input=input,
            input_blobs=blob_keys,
            request_id=request_id,
            idempotency_key=idempotency_key,
            extra=stored_extra,
        )
    except BaseException:
        # A request that is not queued leaves nothing behind.
        await ctx.delete_request_blobs(request_id)
        raise
    if row.id != request_id:
        await ctx.delete_request_blobs(request_id)
        assert idempotency_key is not None
        return check_same_body(row, idempotency_key, fp)
    return row
