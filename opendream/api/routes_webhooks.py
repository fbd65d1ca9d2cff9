"""Webhooks as the API presents them: the signing secret of a key, and the body of a delivery."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from opendream.api.auth import require_key
from opendream.api.context import AppContext, context
from opendream.api.errors import ErrorBody
from opendream.api.routes_requests import build_result
from opendream.jobs.base import ApiKey, RequestRow
from opendream.webhooks.signing import new_secret

router = APIRouter(tags=["webhooks"])


class WebhookSecret(BaseModel):
    secret: str = Field(
        description="`whsec_<base64>`: the HMAC-SHA256 key of this token's webhook signatures "
        "(the bytes after `whsec_`, base64-decoded)."
    )


@router.get(
    "/v1/webhooks/secret",
    response_model=WebhookSecret,
    responses={401: {"model": ErrorBody}},
    summary="The signing secret of this token's webhooks",
    description="Created on first use; the same on every later call. Deliveries carry "
    "`webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "
    "id.timestamp.body>` (Standard Webhooks).",
)
async def webhook_secret(
    key: ApiKey = Depends(require_key), ctx: AppContext = Depends(context)
) -> WebhookSecret:
    if key.webhook_secret:
        return WebhookSecret(secret=key.webhook_secret)
    return WebhookSecret(secret=await ctx.store.ensure_webhook_secret(key.id, new_secret()))


def webhook_body(ctx: AppContext, row: RequestRow, event: str) -> dict[str, Any]:
    """A delivery's JSON: the result object (as `GET …/result` answers it) plus `event`, and
    `progress` for progress events. The delivery log itself is left out."""
    body = build_result(ctx, row).model_dump(exclude_none=True)
    body.pop("webhook", None)
    body["event"] = event
    if event == "progress" and row.progress:
        body["progress"] = {k: row.progress.get(k) for k in ("step", "steps", "image", "images")}
    return body
