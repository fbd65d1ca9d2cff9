from __future__ import annotations

import base64

import pytest

from opendream.inputs.data_uri import decode_data_uri, shorten_data_uri
from opendream.inputs.errors import FetchError
from tests.inputs.images import data_uri, jpeg, png


def test_png_and_jpeg_data_uris_decode() -> None:
    assert decode_data_uri(data_uri(png()), max_bytes=10**6) == png()
    assert decode_data_uri(data_uri(jpeg(), "image/jpeg"), max_bytes=10**6) == jpeg()


def test_media_type_is_case_insensitive_and_padding_and_line_breaks_are_tolerated() -> None:
    raw = png()
    encoded = base64.b64encode(raw).decode().rstrip("=")
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    assert decode_data_uri(f"DATA:Image/PNG;BASE64,{wrapped}", max_bytes=10**6) == raw


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        ("data:image/gif;base64,R0lGODlh", "data_uri"),
        ("data:text/plain;base64,aGVsbG8=", "data_uri"),
        ("data:image/png,rawbytes", "data_uri"),  # not base64
        ("data:image/png;base64", "data_uri"),  # no comma
        ("data:image/png;base64,", "data_uri"),  # empty
        ("data:image/png;base64,iVBOR$%^&*", "data_uri_base64"),
        ("data:image/png;base64,iVBORw0KG=go=", "data_uri_base64"),
        ("data:image/png;base64,A", "data_uri_base64"),
    ],
)
def test_bad_data_uris_are_named(uri: str, kind: str) -> None:
    with pytest.raises(FetchError) as caught:
        decode_data_uri(uri, max_bytes=10**6)
    assert caught.value.type == kind


def test_size_is_judged_before_decoding_with_the_schema_sentence() -> None:
    uri = "data:image/png;base64," + "A" * 2000
    with pytest.raises(FetchError) as caught:
        decode_data_uri(uri, max_bytes=1000, too_large="File size must be less than 10 MB.")
    assert (caught.value.type, caught.value.msg) == (
        "file_size_mb",
        "File size must be less than 10 MB.",
    )
    assert len(decode_data_uri("data:image/png;base64," + "A" * 1332, max_bytes=1000)) == 999


def test_shortened_for_echoing() -> None:
    uri = data_uri(png())
    shown = shorten_data_uri(uri)
    assert shown.startswith("data:image/png;base64,iVBOR")
    assert shown.endswith(f"…({len(uri)} chars)")
    assert len(shown) < 60
    assert shorten_data_uri("data:image/png;base64,AAAA") == "data:image/png;base64,AAAA"
