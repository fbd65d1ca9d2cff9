"""`GET /v1/requests`: the token's own requests, newest first (the playground's history). Not
part of RunComfy's protocol; an opendream extension."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from opendream.api.auth import require_key
from opendream.api.context import AppContext, context
from opendream.api.routes_requests import iso
from opendream.jobs.base import ApiKey

router = APIRouter(tags=["requests"])


class RequestSummary(BaseModel):
    request_id: str
    model_id: str
    status: str  # the result vocabulary: in_queue, in_progress, succeeded, failed, cancelled
    created_at: str | None = None
    finished_at: str | None = None


class RequestHistory(BaseModel):
    requests: list[RequestSummary]


@router.get(
    "/v1/requests",
    response_model=RequestHistory,
    response_model_exclude_none=True,
    summary="The token's recent requests, newest first",
)
async def list_requests(
    limit: Annotated[int, Query(ge=1, le=100, description="How many to return.")] = 20,
    before: Annotated[str | None, Query(description="A request id: return older ones.")] = None,
    key: ApiKey = Depends(require_key),
    ctx: AppContext = Depends(context),
) -> RequestHistory:
    rows = await ctx.store.list_for_owner(key.id, limit=limit, before=before)
    return RequestHistory(
        requests=[
            RequestSummary(
                request_id=row.id,
                model_id=row.model_id,
                status=row.status,
                created_at=iso(row.created_at),
                finished_at=iso(row.finished_at),
            )
            for row in rows
        ]
    )
