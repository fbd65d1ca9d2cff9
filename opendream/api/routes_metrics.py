"""`GET /metrics`: Prometheus text for scrapers.

Open by default, because Prometheus scrape configs rarely carry a token and the numbers reveal no
request content (counts per model and status, worker heartbeats, latency histograms). Set
`OPENDREAM_METRICS_TOKEN` to require `Authorization: Bearer <that token>` (Prometheus:
`authorization: {credentials: ...}`); API keys are deliberately not accepted there, so a scraper
never holds a key that can submit work.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from opendream.api.auth import parse_bearer, unauthorized
from opendream.api.context import AppContext, context
from opendream.api.errors import ErrorBody
from opendream.catalog.models import MODELS
from opendream.observability.metrics import CONTENT_TYPE, render_metrics

router = APIRouter(tags=["operations"])


def worker_window_s(lease_s: float, heartbeat_s: float) -> float:
    """How recent a heartbeat must be for a worker to count as alive (as /readyz counts them):
    one that missed a few beats, or is inside one long step, still counts."""
    return max(lease_s, 3 * heartbeat_s)


def check_metrics_token(request: Request, expected: str | None) -> None:
    if not expected:
        return
    token = parse_bearer(request.headers.get("authorization"))
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise unauthorized("/metrics needs `Authorization: Bearer <OPENDREAM_METRICS_TOKEN>`.")


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE.split(";")[0]: {}}},
        401: {"model": ErrorBody},
        503: {"model": ErrorBody},
    },
    summary="Prometheus metrics: queue depth, requests by status, latencies, worker heartbeats",
)
async def metrics(request: Request, ctx: AppContext = Depends(context)) -> Response:
    s = ctx.settings
    check_metrics_token(request, s.metrics_token)
    counts = await ctx.store.counts_by_status()
    workers = await ctx.store.live_workers(within_s=worker_window_s(s.lease_s, s.heartbeat_s))
    body = render_metrics(counts, workers, models=list(MODELS))
    return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
