"""Typed views of the protocol's JSON objects. Each keeps the raw dict in `raw`, so fields a newer
server adds are never out of reach."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

StatusValue = Literal["in_queue", "in_progress", "completed", "cancelled"]
ResultStatus = Literal["succeeded", "failed", "in_queue", "in_progress", "cancelled"]

# Statuses after which nothing changes any more (status and result vocabularies together).
TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "cancelled", "succeeded", "failed"})

# Output keys that hold file URLs (RunComfy's clients collect all of them).
_URL_KEYS: tuple[str, ...] = ("image", "images", "video", "videos")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


@dataclass(frozen=True)
class SubmitResponse:
    request_id: str
    status_url: str | None
    result_url: str | None
    cancel_url: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SubmitResponse:
        return cls(
            request_id=str(data["request_id"]),
            status_url=data.get("status_url"),
            result_url=data.get("result_url"),
            cancel_url=data.get("cancel_url"),
            raw=data,
        )


@dataclass(frozen=True)
class Progress:
    """Where a running request is: `step` of `steps` within image `image` of `images`."""

    step: int | None = None
    steps: int | None = None
    image: int | None = None
    images: int | None = None

    @classmethod
    def from_json(cls, data: Any) -> Progress | None:
        if not isinstance(data, dict):
            return None
        return cls(
            step=_int_or_none(data.get("step")),
            steps=_int_or_none(data.get("steps")),
            image=_int_or_none(data.get("image")),
            images=_int_or_none(data.get("images")),
        )


@dataclass(frozen=True)
class RequestStatus:
    request_id: str
    status: str
    queue_position: int | None = None
    progress: Progress | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_json(cls, data: dict[str, Any], request_id: str = "") -> RequestStatus:
        return cls(
            request_id=str(data.get("request_id") or request_id),
            status=str(data.get("status", "")),
            queue_position=_int_or_none(data.get("queue_position")),
            progress=Progress.from_json(data.get("progress")),
            raw=data,
        )


def output_urls(output: Any) -> list[str]:
    """Every file URL in an `output` object, in a stable order: image, images, video, videos."""
    urls: list[str] = []
    if not isinstance(output, dict):
        return urls
    for key in _URL_KEYS:
        value = output.get(key)
        if isinstance(value, str) and value:
            urls.append(value)
        elif isinstance(value, list):
            urls.extend(v for v in value if isinstance(v, str) and v)
    return urls


@dataclass(frozen=True)
class RequestResult:
    request_id: str
    status: str
    output: dict[str, Any] | None = None
    error: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def seed(self) -> int | None:
        """The seed used: opendream records `{"value": …}` in `metadata.seed`; a plain number is
        read too."""
        raw = self.metadata.get("seed")
        if isinstance(raw, dict):
            raw = raw.get("value")
        return _int_or_none(raw)

    @property
    def urls(self) -> list[str]:
        """The output file URLs (one for the edit model, a list for the sequential ones)."""
        return output_urls(self.output)

    @classmethod
    def from_json(cls, data: dict[str, Any], request_id: str = "") -> RequestResult:
        output = data.get("output")
        error = data.get("error")
        if isinstance(error, dict):
            error = error.get("message") or error.get("error_message") or str(error)
        metadata = data.get("metadata")
        return cls(
            request_id=str(data.get("request_id") or request_id),
            status=str(data.get("status", "")),
            output=output if isinstance(output, dict) else None,
            error=str(error) if error is not None else None,
            created_at=_parse_time(data.get("created_at")),
            started_at=_parse_time(data.get("started_at")),
            finished_at=_parse_time(data.get("finished_at")),
            metadata=metadata if isinstance(metadata, dict) else {},
            raw=data,
        )


@dataclass(frozen=True)
class CancelResponse:
    request_id: str
    status: str
    outcome: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def cancelled(self) -> bool:
        # The published example pairs status "completed" with outcome "cancelled": act on outcome.
        return self.outcome == "cancelled"

    @classmethod
    def from_json(cls, data: dict[str, Any], request_id: str = "") -> CancelResponse:
        return cls(
            request_id=str(data.get("request_id") or request_id),
            status=str(data.get("status", "")),
            outcome=str(data.get("outcome", "")),
            raw=data,
        )


@dataclass(frozen=True)
class UploadedFile:
    id: str
    uri: str
    expires_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UploadedFile:
        return cls(
            id=str(data.get("id", "")),
            uri=str(data["uri"]),
            expires_at=_parse_time(data.get("expires_at")),
            raw=data,
        )


@dataclass(frozen=True)
class ModelSchema:
    model_id: str
    input: dict[str, Any]
    output: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any], model_id: str = "") -> ModelSchema:
        return cls(
            model_id=str(data.get("model_id") or model_id),
            input=data.get("input") or {},
            output=data.get("output") or {},
        )
