"""References to files uploaded to the service (`POST /v1/files`): `opendream://files/<id>`.

The api layer owns the upload table and the blobs; it hands the loader a callback that turns an id
into the file's bytes (or None when the id is unknown, expired, or not the caller's)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

UPLOAD_URI_PREFIX = "opendream://files/"

UploadResolver = Callable[[str], Awaitable[bytes | None]]

_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def is_upload_uri(uri: str) -> bool:
    return uri.startswith(UPLOAD_URI_PREFIX)


def upload_uri(file_id: str) -> str:
    return UPLOAD_URI_PREFIX + file_id


def upload_id(uri: str) -> str | None:
    """The id of an upload URI, None when the rest of the URI is not a well-formed id."""
    rest = uri[len(UPLOAD_URI_PREFIX) :]
    return rest if _ID.fullmatch(rest) else None
