"""Pydantic shapes of the answers, so `/openapi.json` documents them (protocol: spec/runcomfy)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

StatusValue = Literal["in_queue", "in_progress", "completed", "cancelled"]
ResultValue = Literal["succeeded", "failed", "in_queue", "in_progress", "cancelled"]


class SubmitResponse(BaseModel):
    request_id: str
    status_url: str
    result_url: str
    cancel_url: str


class ProgressInfo(BaseModel):
    step: int | None = Field(None, description="1-based denoising step within the current image")
    steps: int | None = None
    image: int | None = Field(None, description="1-based index of the image being generated")
    images: int | None = None


class StatusResponse(BaseModel):
    request_id: str
    status: StatusValue = Field(
        description="`completed` covers both success and failure; the result tells which."
    )
    queue_position: int | None = Field(
        None, description="Present only while `in_queue`; 0 means next to run."
    )
    progress: ProgressInfo | None = Field(None, description="Present while `in_progress`.")
    status_url: str
    result_url: str


class Output(BaseModel):
    image: str | None = Field(None, description="Single image URL (edit)")
    images: list[str] | None = Field(None, description="Multiple image URLs (sequential models)")


class WebhookDelivery(BaseModel):
    id: str = Field(description="The `webhook-id` of the message (the same on every retry).")
    event: str
    attempt: int
    status: int | None = Field(None, description="The receiver's HTTP status, if it answered.")
    at: str
    error: str | None = None
    next_at: str | None = Field(None, description="When the next attempt is due.")
    gave_up: bool | None = Field(None, description="True when retries ran out.")


class WebhookInfo(BaseModel):
    url: str
    events: list[str]
    deliveries: list[WebhookDelivery] = Field(description="Every attempt so far, oldest first.")
    pending: int = Field(description="Messages not delivered yet (waiting for a retry).")


class ResultResponse(BaseModel):
    request_id: str
    status: ResultValue
    output: Output | None = Field(None, description="Present only when `succeeded`.")
    error: str | None = Field(None, description="Why it failed, or that its files expired.")
    expired: bool | None = Field(
        None,
        description="True when retention deleted the request's files: no output URLs remain.",
    )
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    metadata: dict[str, Any] | None = Field(
        None,
        description="Seed used, sizes, prompts actually used, backend, queue_ms, inference_ms, "
        "image counts (requested, stated, produced).",
    )
    status_url: str
    result_url: str
    webhook: WebhookInfo | None = Field(
        None, description="The submit's webhook and its delivery attempts, when it named one."
    )


class CancelResponse(BaseModel):
    request_id: str
    status: StatusValue
    outcome: Literal["cancelled", "not_cancellable"]


class ModelSummary(BaseModel):
    model_id: str
    title: str
    description: str
    mode: str
    output_key: Literal["image", "images"]
    schema_url: str


class ModelList(BaseModel):
    models: list[ModelSummary]


class ModelSchema(BaseModel):
    model_id: str
    input: dict[str, Any] = Field(description="The published input schema, verbatim.")
    output: dict[str, Any] = Field(description="The published output schema, verbatim.")


class UploadedFileInfo(BaseModel):
    id: str
    uri: str = Field(description="Usable as an item of `images` by the same key until it expires.")
    expires_at: str
    size: int
    content_type: str
    width: int
    height: int


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    database: bool
    workers: int
    detail: str | None = None
