"""API keys: how tokens are made, stored (hash only) and checked on every call.

Tokens carry >= 32 random bytes, so a fast hash is enough (no password stretching needed): the
table holds SHA-256 hex digests, and a leaked table reveals no usable token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from opendream.api.errors import ApiError
from opendream.jobs.base import ApiKey, RequestStore

TOKEN_PREFIX = "od_"
TOKEN_BYTES = 32


def new_token() -> str:
    """A fresh API token: `od_` + 32 random bytes, URL-safe base64 (43 characters)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """What the request table stores for a token (SHA-256, hex)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None when absent or malformed."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token or len(token) > 512:
        return None
    return token


def unauthorized(message: str) -> ApiError:
    return ApiError(
        401,
        400004,
        message,
        headers={"WWW-Authenticate": 'Bearer realm="opendream"'},
    )


async def active_key(store: RequestStore, token: str) -> ApiKey | None:
    """The active key this token belongs to, or None."""
    digest = hash_token(token)
    key = await store.key_by_hash(digest)
    # The lookup is by digest already; the constant-time check keeps a store that matches loosely
    # (case, collation) from ever admitting a different token.
    if key is None or not hmac.compare_digest(key.token_hash, digest) or key.revoked_at is not None:
        return None
    return key


async def require_key(request: Request) -> ApiKey:
    """FastAPI dependency: the caller's active key, or 401/400004."""
    header = request.headers.get("authorization")
    token = parse_bearer(header)
    if token is None:
        if header:
            raise unauthorized(
                "Malformed Authorization header: send `Authorization: Bearer <token>`."
            )
        raise unauthorized("Missing API token: send `Authorization: Bearer <token>`.")
    key = await active_key(request.app.state.store, token)
    if key is None:
        raise unauthorized("Invalid or revoked API token.")
    request.state.api_key = key
    return key
