"""`load_images`: every reference of one request, fetched concurrently, judged all at once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opendream.inputs.addresses import AllowList
from opendream.inputs.data_uri import decode_data_uri, is_data_uri, shorten_data_uri
from opendream.inputs.errors import FetchError
from opendream.inputs.fetch import Resolver, fetch_url
from opendream.inputs.rules import Measurements, check_rules, size_limit_message
from opendream.inputs.sniff import inspect_image
from opendream.inputs.types import (
    FetchPolicy,
    ImageRule,
    InputProblem,
    InputRejected,
    InvalidImage,
    ValidatedImage,
)
from opendream.inputs.uploads import UploadResolver, is_upload_uri, upload_id

ACCEPTED_FORMS = (
    "Images must be https:// URLs, data:image/png;base64,… or data:image/jpeg;base64,… URIs, "
    "or uploaded file URIs (opendream://files/<id>)."
)
_MAX_SHOWN_CHARS = 300


@dataclass(frozen=True)
class _Context:
    rules: Sequence[ImageRule]
    policy: FetchPolicy
    field: str
    allow: AllowList
    size_message: str | None
    deadline: float
    resolve_upload: UploadResolver | None
    resolver: Resolver | None


async def load_images(
    uris: list[str],
    rules: Sequence[ImageRule],
    policy: FetchPolicy,
    *,
    field: str = "images",
    resolve_upload: UploadResolver | None = None,
    resolver: Resolver | None = None,
) -> list[ValidatedImage]:
    """The validated images, in order; or `InputRejected` listing every problem of every image,
    each at `["body", field, index]`.

    All references are fetched at once, and the whole call ends within `policy.deadline_s`.
    `resolve_upload(id)` gives the bytes of an uploaded file (None: unknown, expired, not the
    caller's). `resolver` replaces DNS resolution (tests)."""
    if not uris:
        return []
    ctx = _Context(
        rules=rules,
        policy=policy,
        field=field,
        allow=AllowList.parse(policy.allow_list),
        size_message=size_limit_message(rules),
        deadline=asyncio.get_running_loop().time() + policy.deadline_s,
        resolve_upload=resolve_upload,
        resolver=resolver,
    )
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_load_one(i, uri, ctx)) for i, uri in enumerate(uris)]
    except ExceptionGroup as group_error:
        # Only faults of our own (an upload store that fails) get here; the caller sees the
        # first as itself rather than wrapped in a group. The other tasks are already cancelled.
        raise group_error.exceptions[0] from None
    results = [t.result() for t in tasks]
    problems = [p for r in results if isinstance(r, list) for p in r]
    if problems:
        raise InputRejected(problems)
    return [r for r in results if isinstance(r, ValidatedImage)]


async def _load_one(index: int, uri: Any, ctx: _Context) -> ValidatedImage | list[InputProblem]:
    shown = shown_input(uri)

    def problem(type: str, msg: str) -> InputProblem:
        return InputProblem(loc=["body", ctx.field, index], msg=msg, type=type, input=shown)

    if not isinstance(uri, str):
        return [problem("image_uri", "Each image must be a URI string.")]
    try:
        async with asyncio.timeout_at(ctx.deadline):
            data = await _obtain(uri.strip(), ctx)
    except TimeoutError:
        return [
            problem(
                "fetch_timeout",
                f"The image could not be fetched within the {ctx.policy.deadline_s:g} s allowed "
                "for all references of a request.",
            )
        ]
    except FetchError as exc:
        return [problem(exc.type, exc.msg)]
    return _validate(data, ctx.rules, problem)


async def _obtain(uri: str, ctx: _Context) -> bytes:
    policy = ctx.policy
    if is_data_uri(uri):
        return decode_data_uri(uri, max_bytes=policy.max_bytes, too_large=ctx.size_message or "")
    if is_upload_uri(uri):
        return await _uploaded(uri, ctx)
    scheme = uri.partition(":")[0].lower() if ":" in uri else ""
    if scheme not in ("http", "https"):
        raise FetchError("fetch_scheme", ACCEPTED_FORMS)
    too_large = ctx.size_message or f"The image must be smaller than {policy.max_bytes} bytes."
    return await fetch_url(uri, policy, allow=ctx.allow, resolver=ctx.resolver, too_large=too_large)


async def _uploaded(uri: str, ctx: _Context) -> bytes:
    file_id = upload_id(uri)
    if file_id is None:
        raise FetchError("upload_not_found", "This is not a valid uploaded file URI.")
    if ctx.resolve_upload is None:
        raise FetchError("upload_not_found", "Uploaded files cannot be used here.")
    data = await ctx.resolve_upload(file_id)
    if data is None:
        raise FetchError(
            "upload_not_found",
            f"The uploaded file {file_id} does not exist, has expired, or belongs to another key.",
        )
    if len(data) > ctx.policy.max_bytes:
        raise FetchError(
            "file_size_mb",
            ctx.size_message or f"The image is larger than {ctx.policy.max_bytes} bytes.",
        )
    return data


def _validate(
    data: bytes, rules: Sequence[ImageRule], problem: Any
) -> ValidatedImage | list[InputProblem]:
    try:
        image = inspect_image(data)
    except InvalidImage as exc:
        # Size rules still apply to bytes that are not a readable image: say everything at once.
        failures = check_rules(Measurements(size_bytes=len(data)), rules)
        return [problem(exc.type, exc.msg)] + [problem(f.type, f.msg) for f in failures]
    failures = check_rules(Measurements(len(data), image.width, image.height), rules)
    if failures:
        return [problem(f.type, f.msg) for f in failures]
    return image


def shown_input(uri: Any) -> Any:
    """What a problem echoes back as `input`: the URI, data URIs and very long URIs shortened."""
    if not isinstance(uri, str):
        return None
    if is_data_uri(uri):
        return shorten_data_uri(uri)
    if len(uri) > _MAX_SHOWN_CHARS:
        return f"{uri[:_MAX_SHOWN_CHARS]}…({len(uri)} chars)"
    return uri
