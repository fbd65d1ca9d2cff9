"""What the inputs layer accepts and answers: policies in, validated images or problems out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class ImageRule:
    """One entry of a schema's `validations` list, as published."""

    rule: str  # "file_size_mb<", "width/height>", "width/height<", "width_pixels>", ...
    value: float
    error: str  # the published validation_error string


@dataclass(frozen=True)
class FetchPolicy:
    allow_http: bool = False
    # Hosts ("store.internal") and networks ("127.0.0.0/8") that may be fetched although not
    # globally routable: trusted internal stores, and loopback in tests.
    allow_list: tuple[str, ...] = ()
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 10.0
    deadline_s: float = 30.0  # for all references of one submit together
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 3
    ca_file: str | None = None  # extra trusted CA bundle (tests: a self-signed loopback server)


@dataclass(frozen=True)
class ValidatedImage:
    data: bytes
    width: int  # after EXIF orientation
    height: int
    format: Literal["png", "jpeg"]


@dataclass
class InputProblem:
    loc: list[str | int]  # e.g. ["body", "images", 2]
    msg: str
    type: str  # the rule name ("file_size_mb", "aspect_ratio", "fetch_dns", ...)
    input: Any = None  # the URI, data URIs shortened

    def as_dict(self) -> dict[str, Any]:
        return {"loc": self.loc, "msg": self.msg, "type": self.type, "input": self.input}


@dataclass
class InputRejected(Exception):
    problems: list[InputProblem] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"{p.loc}: {p.msg}" for p in self.problems)


class InvalidImage(ValueError):
    """Bytes that are not an acceptable image (wrong format, corrupt, too many pixels).

    `type` is the problem type ("image_format", "image_corrupt", "image_too_many_pixels") and
    `msg` the sentence shown to the client; the loader turns it into an `InputProblem`."""

    def __init__(self, type: str, msg: str) -> None:
        super().__init__(msg)
        self.type = type
        self.msg = msg
