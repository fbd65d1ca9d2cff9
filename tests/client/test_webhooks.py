"""Standard-Webhooks signature checks."""

from __future__ import annotations

import base64
import json

import pytest

from opendream.client import WebhookVerificationError, sign_webhook, verify_webhook

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
BODY = json.dumps({"request_id": "r1", "status": "succeeded"}).encode()
NOW = 1_800_000_000


def headers(
    body: bytes = BODY, secret: str = SECRET, ts: int = NOW, msg_id: str = "msg_1"
) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign_webhook(msg_id, ts, body, secret),
    }


def test_the_published_standard_webhooks_example_verifies() -> None:
    # The example from the Standard Webhooks specification.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"test": 2432232314}'
    signature = sign_webhook("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, secret)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    hdrs = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": signature,
    }
    assert verify_webhook(hdrs, body, secret, now=1614265330) == {"test": 2432232314}


def test_a_genuine_delivery_returns_its_payload() -> None:
    assert verify_webhook(headers(), BODY, SECRET, now=NOW) == {
        "request_id": "r1",
        "status": "succeeded",
    }


def test_header_names_are_case_insensitive_and_any_listed_signature_may_match() -> None:
    hdrs = headers()
    mixed = {
        "Webhook-Id": hdrs["webhook-id"],
        "Webhook-Timestamp": hdrs["webhook-timestamp"],
        "Webhook-Signature": "v1,bm90IGl0 " + hdrs["webhook-signature"],
    }
    assert verify_webhook(mixed, BODY.decode(), SECRET, now=NOW)["request_id"] == "r1"


def test_a_plain_text_secret_is_used_as_bytes() -> None:
    assert (
        verify_webhook(headers(secret="s3cret"), BODY, "s3cret", now=NOW)["status"] == "succeeded"
    )


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (lambda h, b: (h, b.replace(b"succeeded", b"failed")), "tampered body"),
        (lambda h, b: ({**h, "webhook-id": "msg_2"}, b), "another id"),
        (lambda h, b: ({**h, "webhook-timestamp": str(NOW + 1)}, b), "another timestamp"),
        (
            lambda h, b: ({**h, "webhook-signature": "v2," + h["webhook-signature"][3:]}, b),
            "unknown version",
        ),
        (
            lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b),
            "no signature",
        ),
        (lambda h, b: ({**h, "webhook-timestamp": "yesterday"}, b), "bad timestamp"),
    ],
)
def test_anything_altered_is_refused(mutate, why) -> None:  # type: ignore[no-untyped-def]
    hdrs, body = mutate(headers(), BODY)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(hdrs, body, SECRET, now=NOW)


def test_the_wrong_secret_is_refused() -> None:
    other = "whsec_" + base64.b64encode(b"another secret of 32 bytes......").decode()
    with pytest.raises(WebhookVerificationError):
        verify_webhook(headers(), BODY, other, now=NOW)


def test_an_old_delivery_is_refused_as_a_replay() -> None:
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify_webhook(headers(ts=NOW - 301), BODY, SECRET, now=NOW)
    assert verify_webhook(headers(ts=NOW - 299), BODY, SECRET, now=NOW)["request_id"] == "r1"
