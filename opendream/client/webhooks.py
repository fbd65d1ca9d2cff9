"""Checking webhook deliveries, the Standard-Webhooks way: `webhook-signature` carries one or more
`v1,<base64 HMAC-SHA256>` entries over `<webhook-id>.<webhook-timestamp>.<body>`, keyed with the
secret from `GET /v1/webhooks/secret`. A `whsec_` secret is base64 after its prefix; any other
secret is used as its UTF-8 bytes."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from opendream.client.errors import WebhookVerificationError

DEFAULT_TOLERANCE_S = 300


def secret_bytes(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes):
        return secret
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WebhookVerificationError(
                "the webhook secret is not valid base64 after 'whsec_'"
            ) from exc
    return secret.encode()


def sign_webhook(msg_id: str, timestamp: int, body: bytes | str, secret: str | bytes) -> str:
    """The `webhook-signature` value for a delivery (`v1,<base64>`)."""
    payload = body.encode() if isinstance(body, str) else body
    signed = f"{msg_id}.{timestamp}.".encode() + payload
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"missing header {name!r}")


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes | str,
    secret: str | bytes,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> Any:
    """Returns the delivery's JSON payload when its signature matches and its timestamp is
    within `tolerance_s` of now (replays of old deliveries are refused); else raises
    `WebhookVerificationError`. Pass the body exactly as received, before any JSON parsing."""
    msg_id = _header(headers, "webhook-id")
    raw_timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    try:
        timestamp = int(raw_timestamp)
    except ValueError as exc:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance window")
    expected = sign_webhook(msg_id, timestamp, body, secret).split(",", 1)[1]
    for entry in signatures.split():
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected.encode()):
            break
    else:
        raise WebhookVerificationError("no webhook-signature entry matches")
    text = body.decode() if isinstance(body, bytes) else body
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError as exc:
        raise WebhookVerificationError("the webhook body is not JSON") from exc
