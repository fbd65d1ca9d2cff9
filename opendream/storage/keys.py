"""Blob keys: the only names the stores accept, so that a key can never leave its store's root.

A key is one or more `/`-separated segments of a small, URL-safe alphabet (for example
`requests/<id>/outputs/0.png`). Anything else — `..`, `.`, empty segments, absolute paths,
backslashes, NUL or other control characters, spaces — is a ValueError before any I/O happens.
The same alphabet keeps signed URLs free of escaping ambiguities.
"""

from __future__ import annotations

import mimetypes
import re

MAX_KEY_LENGTH = 1024

_SEGMENT = re.compile(r"[A-Za-z0-9_.~=+@-]+")

_CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "json": "application/json",
}


def validate_key(key: str) -> str:
    """Returns `key` unchanged, or raises ValueError naming the rule it breaks."""
    _check_path(key, what="key")
    return key


def validate_prefix(prefix: str) -> str:
    """A prefix is a key of whole segments (a trailing `/` is allowed and dropped). The empty prefix
    is refused: nothing in the service deletes a whole store, so asking to is a bug."""
    stripped = prefix[:-1] if prefix.endswith("/") else prefix
    _check_path(stripped, what="prefix")
    return stripped


def guess_content_type(key: str) -> str:
    """The media type the API serves a blob with; local stores keep no metadata, so the key's
    extension decides."""
    ext = key.rsplit(".", 1)[-1].lower() if "." in key.rsplit("/", 1)[-1] else ""
    if ext in _CONTENT_TYPES:
        return _CONTENT_TYPES[ext]
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def _check_path(path: str, *, what: str) -> None:
    if not isinstance(path, str):
        raise ValueError(f"blob {what} must be a string, got {type(path).__name__}")
    if not path:
        raise ValueError(f"blob {what} must not be empty")
    if len(path) > MAX_KEY_LENGTH:
        raise ValueError(f"blob {what} is longer than {MAX_KEY_LENGTH} characters")
    if "\x00" in path:
        raise ValueError(f"blob {what} must not contain NUL")
    if "\\" in path:
        raise ValueError(f"blob {what} must not contain a backslash")
    if path.startswith("/"):
        raise ValueError(f"blob {what} must be relative, not start with '/'")
    for segment in path.split("/"):
        if segment == "":
            raise ValueError(f"blob {what} must not contain empty segments ('//' or trailing '/')")
        if segment in (".", ".."):
            raise ValueError(f"blob {what} must not contain '.' or '..' segments")
        if not _SEGMENT.fullmatch(segment):
            raise ValueError(
                f"blob {what} segment {segment!r} may only use letters, digits and '_.~=+@-'"
            )
