from urllib.parse import parse_qs, urlsplit

import pytest

from opendream.storage.signing import (
    ApiSignedUrls,
    blob_signature,
    signed_blob_url,
    verify_blob_signature,
)

SECRET = b"s3cr3t-for-tests"
KEY = "requests/r1/outputs/0.png"


def _split(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return parts.path, query["expires"][0], query["sig"][0]


def test_url_shape_and_signature_is_hmac_of_key_and_expiry() -> None:
    url = signed_blob_url("http://h:1/base/", KEY, SECRET, 2_000_000_000)
    assert url.startswith("http://h:1/base/v1/blobs/requests/r1/outputs/0.png?")
    path, expires, sig = _split(url)
    assert path == "/base/v1/blobs/" + KEY
    assert expires == "2000000000"
    import hashlib
    import hmac

    want = hmac.new(SECRET, f"{KEY}\n2000000000".encode(), hashlib.sha256).hexdigest()
    assert sig == want == blob_signature(SECRET, KEY, 2_000_000_000)


def test_valid_until_expiry_then_rejected() -> None:
    _, expires, sig = _split(signed_blob_url("http://h", KEY, SECRET, 1000))
    assert verify_blob_signature(SECRET, KEY, expires, sig, now=999.9)
    assert verify_blob_signature(SECRET, KEY, 1000, sig, now=0)
    assert not verify_blob_signature(SECRET, KEY, expires, sig, now=1000)
    assert not verify_blob_signature(SECRET, KEY, expires, sig, now=5000)


@pytest.mark.parametrize(
    "secret,key,expires,sig_edit",
    [
        (b"other-secret", KEY, "1000", None),
        (SECRET, "requests/r1/outputs/1.png", "1000", None),
        (SECRET, KEY, "1001", None),  # extending the expiry invalidates the signature
        (SECRET, KEY, "1000", "flip"),
        (SECRET, KEY, "1000", "truncate"),
        (SECRET, KEY, "1000", "empty"),
        (SECRET, KEY, "1000", "nonascii"),
        (SECRET, KEY, "1e3", None),
        (SECRET, KEY, "-1000", None),
        (SECRET, KEY, " 1000", None),
        (SECRET, "../etc/passwd", "1000", None),
        (b"", KEY, "1000", None),
    ],
)
def test_tampering_is_rejected(secret: bytes, key: str, expires: str, sig_edit: str | None) -> None:
    sig = blob_signature(SECRET, KEY, 1000)
    if sig_edit == "flip":
        sig = ("0" if sig[0] != "0" else "1") + sig[1:]
    elif sig_edit == "truncate":
        sig = sig[:-2]
    elif sig_edit == "empty":
        sig = ""
    elif sig_edit == "nonascii":
        sig = sig[:-1] + "é"
    assert not verify_blob_signature(secret, key, expires, sig, now=10)


def test_the_untampered_baseline_of_the_tamper_table_verifies() -> None:
    # the table above is only meaningful if the unmodified inputs pass
    assert verify_blob_signature(SECRET, KEY, "1000", blob_signature(SECRET, KEY, 1000), now=10)


def test_bool_expires_is_not_an_int() -> None:
    assert not verify_blob_signature(SECRET, KEY, True, blob_signature(SECRET, KEY, 1), now=0)


def test_api_signed_urls_use_the_clock() -> None:
    urls = ApiSignedUrls("http://api.example", SECRET, clock=lambda: 5000.7)
    path, expires, sig = _split(urls(KEY, 60))
    assert expires == "5060"
    assert path == "/v1/blobs/" + KEY
    assert verify_blob_signature(SECRET, KEY, expires, sig, now=5059)
    assert not verify_blob_signature(SECRET, KEY, expires, sig, now=5060)


def test_signing_refuses_bad_keys_and_empty_secret() -> None:
    with pytest.raises(ValueError):
        signed_blob_url("http://h", "../x", SECRET, 1)
    with pytest.raises(ValueError):
        ApiSignedUrls("http://h", b"")
