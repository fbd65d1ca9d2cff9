"""The RunComfy queue protocol: submit, status, result, cancel."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from opendream.api.auth import require_key
from opendream.api.context import AppContext, context
from opendream.api.enqueue import check_key_limits, enqueue
from opendream.api.errors import UNKNOWN_MODEL, ApiError, ErrorBody, invalid_input, not_found
from opendream.api.fast_status import protocol_status, status_answer
from opendream.api.idempotency import check_same_body, fingerprint, key_from
from opendream.api.prefer import prefer_wait
from opendream.api.request_log import bind_submitted
from opendream.api.responses import (
    CancelResponse,
    Output,
    ResultResponse,
    StatusResponse,
    SubmitResponse,
    WebhookInfo,
)
from opendream.api.submit_inputs import fetch_references, stored_input
from opendream.api.watch import wait_finished
from opendream.api.webhook_params import (
    WebhookRequest,
    check_webhook,
    parse_webhook,
    webhook_extra,
)
from opendream.catalog import MODELS, UnknownModel, get_model, validate_input
from opendream.jobs.base import FINISHED, ApiKey, RequestRow
from opendream.webhooks.state import public_view

log = logging.getLogger("opendream.api")
router = APIRouter(tags=["requests"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 404, 413, 415, 422, 429, 503)
}
_JSON_TYPES = ("application/json",)

SUBMIT_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "The model's input, as its published schema "
                "(`GET /v1/models/{model_id}/schema`) describes it.",
            },
            "examples": {
                "sequential": {
                    "summary": "bytedance/seedream-4-0/sequential",
                    "value": {"text": "Generate 3 images of a beautiful sunset over a calm ocean."},
                },
                "edit": {
                    "summary": "bytedance/seedream-4-0/edit",
                    "value": {
                        "prompt": "Make the sky purple.",
                        "images": ["https://example.com/photo.png"],
                    },
                },
            },
        }
    },
}


@router.post(
    "/v1/models/{model_id:path}",
    response_model=SubmitResponse,
    responses=_ERRORS,
    openapi_extra={"requestBody": SUBMIT_BODY},
    summary="Submit a request",
    description="Model ids contain slashes: "
    + ", ".join(f"`{m}`" for m in MODELS)
    + ". Optional: `?webhook=<url>&webhook_events=started,progress,completed` (signed "
    "deliveries of the result object), `Idempotency-Key` (a retried submit returns the first "
    "request), `Prefer: wait=N` (N <= 60: answer with the result when it is ready in time).",
)
async def submit(
    model_id: str,
    request: Request,
    key: ApiKey = Depends(require_key),
    ctx: AppContext = Depends(context),
) -> Response:
    try:
        spec = get_model(model_id)
    except UnknownModel:
        raise ApiError(
            400,
            UNKNOWN_MODEL,
            f"Unknown model_id {model_id!r}. Offered: {', '.join(MODELS)}.",
        ) from None
    webhook, webhook_problems = parse_webhook(request.query_params)
    idempotency_key = key_from(request.headers)
    if idempotency_key is not None:
        earlier = await ctx.store.find_by_idempotency_key(key.id, idempotency_key)
        if earlier is not None:
            body = await json_body(request)
            check_same_body(earlier, idempotency_key, _fingerprint(spec.id, body, webhook))
            return await _answer(ctx, request, key, earlier.id)
    await check_key_limits(ctx, key)
    body = await json_body(request)

    clean, problems = validate_input(spec.id, body)
    if webhook is not None:
        webhook_problems += await check_webhook(ctx, webhook)
    request_id = str(uuid.uuid4())
    bind_submitted(request_id)
    references, image_problems, blob_keys = await fetch_references(
        ctx, key, spec.id, clean, body, request_id, fetch=not _images_invalid(problems)
    )
    problems = _merge(problems, image_problems) + webhook_problems
    if problems:
        await ctx.delete_request_blobs(request_id)
        raise invalid_input(problems)
    row = await enqueue(
        ctx,
        key,
        request_id=request_id,
        model_id=spec.id,
        input=stored_input(clean, blob_keys),
        blob_keys=blob_keys,
        idempotency_key=idempotency_key,
        fp=_fingerprint(spec.id, body, webhook),
        extra=webhook_extra(webhook) if webhook is not None else None,
    )
    if row.id == request_id:
        log.info("request %s queued: %s, %d reference(s)", request_id, spec.id, len(references))
    return await _answer(ctx, request, key, row.id)


def _fingerprint(model_id: str, body: Any, webhook: WebhookRequest | None) -> str:
    return fingerprint(
        "runcomfy", model_id, {"input": body, "webhook": webhook.as_dict() if webhook else None}
    )


async def _answer(ctx: AppContext, request: Request, key: ApiKey, request_id: str) -> Response:
    """The submit answer; with `Prefer: wait=N`, the result instead when it is ready in time."""
    wait = prefer_wait(request.headers.get("prefer"))
    submitted = _submitted(ctx, request_id).model_dump()
    if wait is None:
        return JSONResponse(submitted)
    row = await wait_finished(
        ctx.store,
        request_id,
        key.id,
        timeout_s=wait,
        poll_s=min(ctx.settings.stream_poll_s, 1.0),
    )
    headers = {"Preference-Applied": f"wait={wait}"}
    if row is not None and row.status in FINISHED:
        return JSONResponse(build_result(ctx, row).model_dump(exclude_none=True), headers=headers)
    return JSONResponse(submitted, headers=headers)


@router.get(
    "/v1/requests/{request_id}/status",
    response_model=StatusResponse,
    response_model_exclude_none=True,
    responses=_ERRORS,
    summary="State of a request",
)
async def status(
    request_id: str, key: ApiKey = Depends(require_key), ctx: AppContext = Depends(context)
) -> Response:
    # Served by FastStatus (fast_status.py) when it succeeds; this route answers the rest.
    view = await ctx.store.status_view(request_id, key.id)
    if view is None:
        raise not_found(request_id)
    return JSONResponse(status_answer(ctx.base_url, view))


@router.get(
    "/v1/requests/{request_id}/result",
    response_model=ResultResponse,
    response_model_exclude_none=True,
    responses=_ERRORS,
    summary="Outputs and metadata of a request",
)
async def result(
    request_id: str, key: ApiKey = Depends(require_key), ctx: AppContext = Depends(context)
) -> ResultResponse:
    row = await _owned_row(ctx, request_id, key)
    return build_result(ctx, row)


@router.post(
    "/v1/requests/{request_id}/cancel",
    response_model=CancelResponse,
    status_code=202,
    responses=_ERRORS,
    summary="Cancel a request that is still queued",
)
async def cancel(
    request_id: str, key: ApiKey = Depends(require_key), ctx: AppContext = Depends(context)
) -> CancelResponse:
    cancelled, row = await ctx.store.cancel(request_id, key.id)
    if row is None:
        raise not_found(request_id)
    return CancelResponse(
        request_id=row.id,
        status=protocol_status(row.status),
        outcome="cancelled" if cancelled else "not_cancellable",
    )


# helpers ------------------------------------------------------------------------------------
def iso(t: datetime | None) -> str | None:
    if t is None:
        return None
    aware = t if t.tzinfo else t.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


EXPIRED_MESSAGE = (
    "The output files of this request expired and were deleted after the retention period; "
    "submit the request again to make them anew."
)


def build_result(ctx: AppContext, row: RequestRow) -> ResultResponse:
    urls = ctx.request_urls(row.id)
    answer = ResultResponse(
        request_id=row.id,
        status=row.status,
        created_at=iso(row.created_at) or "",
        started_at=iso(row.started_at),
        finished_at=iso(row.finished_at),
        metadata=_metadata(row),
        status_url=urls["status_url"],
        result_url=urls["result_url"],
    )
    webhook = (row.extra or {}).get("webhook")
    if isinstance(webhook, dict) and webhook.get("url"):
        answer.webhook = WebhookInfo.model_validate(public_view(webhook))
    if row.status == "failed":
        answer.error = row.error or "The request failed."
    if row.expired:
        answer.expired = True
        if row.status == "succeeded":
            answer.error = EXPIRED_MESSAGE
    elif row.status == "succeeded":
        links = [ctx.blobs.url_for(k, ctx.settings.url_ttl_s) for k in row.outputs or []]
        spec = MODELS.get(row.model_id)
        if spec is not None and spec.output_key == "image":
            answer.output = Output(image=links[0] if links else None)
        else:
            answer.output = Output(images=links)
    return answer


def _metadata(row: RequestRow) -> dict[str, Any] | None:
    meta = dict(row.metadata or {})
    if row.started_at is not None and "queue_ms" not in meta:
        meta["queue_ms"] = round((row.started_at - row.created_at).total_seconds() * 1000)
    if row.outputs is not None and row.status == "succeeded":
        meta.setdefault("count", len(row.outputs))
    return meta or None


async def _owned_row(ctx: AppContext, request_id: str, key: ApiKey) -> RequestRow:
    # Another key's request answers exactly like an unknown one: ids reveal nothing.
    row = await ctx.store.get(request_id, owner=key.id)
    if row is None:
        raise not_found(request_id)
    return row


def _submitted(ctx: AppContext, request_id: str) -> SubmitResponse:
    return SubmitResponse(request_id=request_id, **ctx.request_urls(request_id))


async def json_body(request: Request) -> Any:
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    # No header at all is tolerated (hand-written curl calls); another type is refused.
    if media and media not in _JSON_TYPES and not media.endswith("+json"):
        raise ApiError(
            415,
            415001,
            f"Unsupported Content-Type {media!r}: send the input as JSON with "
            "`Content-Type: application/json`.",
        )
    raw = await request.body()
    if not raw.strip():
        raise invalid_input(
            [
                {
                    "loc": ["body"],
                    "msg": "The body is empty: send the input as a JSON object.",
                    "type": "missing",
                    "input": None,
                }
            ],
            "The body is empty: send the input as a JSON object.",
        )
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        msg, ctx = "The body is not UTF-8 text.", None
    except json.JSONDecodeError as exc:
        msg = f"Invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ctx = {"pos": exc.pos, "line": exc.lineno, "column": exc.colno}
    except RecursionError:
        msg, ctx = "Invalid JSON: nested too deeply.", None
    except ValueError as exc:  # NaN / Infinity
        msg, ctx = str(exc), None
    problem: dict[str, Any] = {"loc": ["body"], "msg": msg, "type": "json_invalid", "input": None}
    if ctx:
        problem["ctx"] = ctx
    raise invalid_input([problem], msg)


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON does not, and they could not be echoed back.
    raise ValueError(f"Invalid JSON: {name} is not a JSON value.")


def _images_invalid(problems: list[dict[str, Any]]) -> bool:
    return any(p["loc"][:2] == ["body", "images"] or p["loc"] == ["body"] for p in problems)


def _merge(schema: list[dict[str, Any]], images: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Schema problems first, then image problems, each list in field order."""
    return [*schema, *images]
