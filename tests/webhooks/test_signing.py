"""Signatures the Standard-Webhooks way, checked by the SDK's own `verify_webhook`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from opendream.client.errors import WebhookVerificationError
from opendream.client.webhooks import verify_webhook
from opendream.webhooks.signing import new_secret, secret_key, signature, signed_headers


def test_new_secrets_are_whsec_base64_of_32_random_bytes() -> None:
    a, b = new_secret(), new_secret()
    assert a != b and a.startswith("whsec_")
    assert len(base64.b64decode(a.removeprefix("whsec_"), validate=True)) == 32
    assert secret_key(a) == base64.b64decode(a[6:])
    assert secret_key("plain") == b"plain"


def test_the_sdk_accepts_what_is_signed() -> None:
    secret = new_secret()
    body = json.dumps({"request_id": "r1", "status": "succeeded"}).encode()
    headers = signed_headers(secret, "r1.completed", int(time.time()), body)
    assert verify_webhook(headers, body, secret) == {"request_id": "r1", "status": "succeeded"}
    with pytest.raises(WebhookVerificationError):
        verify_webhook(headers, body + b" ", secret)  # a changed body
    with pytest.raises(WebhookVerificationError):
        verify_webhook(headers, body, new_secret())  # another key's secret
    with pytest.raises(WebhookVerificationError):
        verify_webhook({**headers, "webhook-id": "r1.started"}, body, secret)


def test_a_known_answer() -> None:
    secret = "whsec_" + base64.b64encode(bytes(32)).decode()  # the key is 32 zero bytes
    expected = base64.b64encode(
        hmac.new(bytes(32), b"id.1700000000.{}", hashlib.sha256).digest()
    ).decode()
    assert signature(secret, "id", 1700000000, b"{}") == "v1," + expected
