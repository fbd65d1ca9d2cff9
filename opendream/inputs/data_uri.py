"""`data:image/png;base64,…` and `data:image/jpeg;base64,…` references, as the official Seedream
API accepts them."""

from __future__ import annotations

import base64
import binascii
import re

from opendream.inputs.errors import FetchError

_HEADER = re.compile(r"data:([^,]*),", re.IGNORECASE)
_MEDIA_TYPES = frozenset({"image/png", "image/jpeg", "image/jpg"})
_WHITESPACE = re.compile(r"[ \t\r\n]+")


def is_data_uri(uri: str) -> bool:
    return uri[:5].lower() == "data:"


def decode_data_uri(uri: str, *, max_bytes: int, too_large: str = "") -> bytes:
    """The decoded bytes; raises `FetchError` ("data_uri", "data_uri_base64", "file_size_mb").

    `too_large` is the schema's size sentence, used as is when the payload is over `max_bytes`."""
    match = _HEADER.match(uri)
    if match is None:
        raise FetchError("data_uri", "The data URI has no ',' between its header and its data.")
    params = [p.strip().lower() for p in match.group(1).split(";")]
    media_type, flags = params[0], params[1:]
    if media_type not in _MEDIA_TYPES or "base64" not in flags:
        raise FetchError(
            "data_uri",
            "Only data:image/png;base64,… and data:image/jpeg;base64,… URIs are accepted.",
        )
    payload = _WHITESPACE.sub("", uri[match.end() :])
    # Judge the size before decoding: 4 characters carry 3 bytes.
    if len(payload) // 4 * 3 - 2 > max_bytes:
        raise FetchError(
            "file_size_mb", too_large or f"The image is larger than {max_bytes} bytes."
        )
    if len(payload) % 4:
        payload += "=" * (-len(payload) % 4)  # clients often drop the padding
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise FetchError("data_uri_base64", "The data URI's payload is not valid base64.") from None
    if not data:
        raise FetchError("data_uri", "The data URI is empty.")
    return data


def shorten_data_uri(uri: str, keep: int = 12) -> str:
    """`data:image/png;base64,iVBORw0KGgo…(123456 chars)`: recognisable, never the payload."""
    comma = uri.find(",")
    head_end = comma + 1 if 0 <= comma < 100 else min(len(uri), 40)
    if len(uri) <= head_end + keep:
        return uri
    return f"{uri[: head_end + keep]}…({len(uri)} chars)"
