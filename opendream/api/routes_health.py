"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from opendream.api.context import AppContext, context
from opendream.api.responses import Health, Readiness

log = logging.getLogger("opendream.api")
router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process answers")
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness}},
    summary="Ready: the database answers and a worker is alive",
)
async def readyz(ctx: AppContext = Depends(context)) -> JSONResponse:
    database = False
    workers = 0
    detail = None
    try:
        database = await ctx.store.ping()
        if database:
            s = ctx.settings
            # A worker that missed a few beats, or is inside one long step, still counts.
            within = max(s.lease_s, 3 * s.heartbeat_s)
            workers = len(await ctx.store.live_workers(within_s=within))
    except Exception as exc:
        log.warning("readiness check failed: %s", exc)
        database = False
    if not database:
        detail = "The database does not answer."
    elif workers == 0:
        detail = "No worker is alive: requests will wait in the queue."
    ready = database and workers > 0
    body = Readiness(ready=ready, database=database, workers=workers, detail=detail)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=200 if ready else 503)
