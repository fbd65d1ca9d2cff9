"""The webhook delivery loop as `serve` and `worker` run it: deliveries carry the result object
as the API shows it, and follow the operator's fetch rules (https, allow-list, CA file)."""

from __future__ import annotations

from opendream.api.context import AppContext
from opendream.api.routes_webhooks import webhook_body
from opendream.api.submit_inputs import fetch_policy
from opendream.config import Settings
from opendream.jobs.base import RequestRow, RequestStore
from opendream.storage.base import BlobStore
from opendream.webhooks.loop import DeliveryLoop, DeliveryOptions
from opendream.webhooks.state import RetryPolicy


def delivery_loop(
    settings: Settings, store: RequestStore, blobs: BlobStore, *, blob_secret: bytes
) -> DeliveryLoop:
    ctx = AppContext(settings=settings, store=store, blobs=blobs, blob_secret=blob_secret)

    def render(row: RequestRow, event: str) -> dict:
        return webhook_body(ctx, row, event)

    options = DeliveryOptions(
        policy=fetch_policy(ctx),
        timeout_s=settings.webhook_timeout_s,
        retry=RetryPolicy(
            backoff_s=settings.webhook_backoff_s,
            backoff_max_s=settings.webhook_backoff_max_s,
            window_s=settings.webhook_retry_window_s,
        ),
    )
    return DeliveryLoop(store, render, options)
