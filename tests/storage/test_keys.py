import pytest
from hypothesis import given
from hypothesis import strategies as st

from opendream.storage.keys import guess_content_type, validate_key, validate_prefix

GOOD = ["requests/abc/outputs/0.png", "uploads/f_1.jpeg", "a", "x/y.z/w", "k=v+1@~-_"]
BAD = [
    "",
    "/etc/passwd",
    "../x",
    "a/../../x",
    "a/./b",
    "a//b",
    "a/",
    "a\\b",
    "..\\..\\x",
    "a\x00b",
    "a b",
    "a/\nb",
    "é",
    "a" * 1025,
]


@pytest.mark.parametrize("key", GOOD)
def test_plain_keys_pass_unchanged(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize("key", BAD)
def test_escaping_or_odd_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="blob key"):
        validate_key(key)


def test_prefix_drops_one_trailing_slash_and_refuses_empty() -> None:
    assert validate_prefix("requests/abc/") == "requests/abc"
    assert validate_prefix("requests/abc") == "requests/abc"
    for bad in ("", "/", "../x/", "a//"):
        with pytest.raises(ValueError, match="blob prefix"):
            validate_prefix(bad)


@given(st.text(max_size=40))
def test_no_accepted_key_can_climb_out(key: str) -> None:
    try:
        validate_key(key)
    except ValueError:
        return
    segments = key.split("/")
    assert not key.startswith("/")
    assert ".." not in segments and "." not in segments and "" not in segments
    assert "\\" not in key and "\x00" not in key


def test_content_type_from_extension() -> None:
    assert guess_content_type("requests/a/outputs/0.png") == "image/png"
    assert guess_content_type("x/0.JPG") == "image/jpeg"
    assert guess_content_type("x/0.webp") == "image/webp"
    assert guess_content_type("x.y/noext") == "application/octet-stream"
