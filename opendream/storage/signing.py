"""HMAC-signed, expiring blob URLs served by the API (`GET /v1/blobs/{key}?expires=&sig=`).

The signature is hex HMAC-SHA256(secret, key + "\\n" + expires) where `expires` is a unix time in
whole seconds. A URL is valid while `now < expires`. The secret never leaves the server; anyone
holding the URL may fetch the blob until it expires, which is what the protocol promises clients.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from urllib.parse import quote

from opendream.storage.keys import validate_key

BLOB_ROUTE = "/v1/blobs/"


def blob_signature(secret: bytes, key: str, expires: int) -> str:
    message = f"{key}\n{int(expires)}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def signed_blob_url(public_base_url: str, key: str, secret: bytes, expires: int) -> str:
    """Absolute URL for `key` that verifies until the unix time `expires`."""
    validate_key(key)
    if not secret:
        raise ValueError("blob signing secret must not be empty")
    base = public_base_url.rstrip("/")
    sig = blob_signature(secret, key, expires)
    return f"{base}{BLOB_ROUTE}{quote(key, safe='/')}?expires={int(expires)}&sig={sig}"


def verify_blob_signature(
    secret: bytes, key: str, expires: int | str, sig: str, now: float
) -> bool:
    """True only for an unexpired, untampered signature. Accepts `expires` as the raw query string
    value so the route can pass it through; anything that is not a plain integer is False."""
    if not secret or not isinstance(sig, str):
        return False
    if isinstance(expires, str):
        if not expires.isascii() or not expires.isdigit() or len(expires) > 12:
            return False
        expires_at = int(expires)
    elif isinstance(expires, int) and not isinstance(expires, bool):
        expires_at = expires
    else:
        return False
    if now >= expires_at:
        return False
    try:
        validate_key(key)
    except ValueError:
        return False
    expected = blob_signature(secret, key, expires_at)
    # compare_digest on ASCII str is constant-time; non-ASCII input would raise, so screen it
    if not sig.isascii():
        return False
    return hmac.compare_digest(expected, sig.lower())


class ApiSignedUrls:
    """UrlMaker for blobs the API serves itself: the local store, or S3 in proxy mode."""

    def __init__(
        self, public_base_url: str, secret: bytes, clock: Callable[[], float] = time.time
    ) -> None:
        if not secret:
            raise ValueError("blob signing secret must not be empty")
        self._base = public_base_url.rstrip("/")
        self._secret = secret
        self._clock = clock

    def __call__(self, key: str, expires_in_s: int) -> str:
        expires = int(self._clock()) + int(expires_in_s)
        return signed_blob_url(self._base, key, self._secret, expires)
