"""Property-based: no bytes and no URL can make the validator do anything but answer cleanly.

Each example runs `load_images` to the end: it returns images or raises `InputRejected` with at
least one well-formed problem; any other exception is a bug (it would be a 500)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from opendream.inputs import (
    FetchPolicy,
    InputRejected,
    InvalidImage,
    ValidatedImage,
    http1,
    inspect_image,
    load_images,
)
from opendream.inputs.errors import FetchError
from tests.inputs.conftest import schema_rules
from tests.inputs.images import jpeg, png

RULES = schema_rules("edit-sequential")
POLICY = FetchPolicy(
    allow_http=True, connect_timeout_s=0.2, read_timeout_s=0.2, deadline_s=1.0, max_bytes=1 << 20
)
SEEDS = [
    png(20, 20),
    jpeg(20, 20),
    png(30, 30, exif_orientation=6),
    jpeg(20, 30, exif_orientation=8),
]
INTERNAL = ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "::ffff:192.168.0.1", "fd00::1"]


def check_outcome(outcome: Any, count: int) -> None:
    if isinstance(outcome, InputRejected):
        assert outcome.problems
        for problem in outcome.problems:
            assert problem.loc[:2] == ["body", "images"]
            assert 0 <= problem.loc[2] < count  # type: ignore[operator]
            assert isinstance(problem.msg, str) and problem.msg
            assert isinstance(problem.type, str) and problem.type
            assert problem.input is None or isinstance(problem.input, str)
    else:
        assert isinstance(outcome, list) and len(outcome) == count
        assert all(isinstance(i, ValidatedImage) for i in outcome)


def run_load(uris: list[str]) -> Any:
    async def go() -> Any:
        try:
            return await load_images(uris, RULES, POLICY, resolver=fake_dns)
        except InputRejected as exc:
            return exc

    return asyncio.run(go())


async def fake_dns(host: str, port: int) -> list[str]:
    """Every name resolves somewhere internal, or not at all: nothing leaves the machine."""
    digest = hashlib.sha256(host.encode("utf-8", "surrogatepass")).digest()
    if digest[0] % 5 == 0:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return [INTERNAL[digest[1] % len(INTERNAL)]]


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """A URL may name a public IP literal; there is no internet here to connect to, so such a
    connection fails the way an unreachable host does (this is the only stand-in)."""
    real_connect = http1.connect

    async def connect(target: http1.Target, *args: Any, **kwargs: Any) -> http1.Connection:
        if target.address not in ("127.0.0.1", "::1"):
            raise FetchError(
                "fetch_connect", f"Could not connect to {target.address}: unreachable."
            )
        return await real_connect(target, *args, **kwargs)

    monkeypatch.setattr(http1, "connect", connect)


def mutations() -> st.SearchStrategy[bytes]:
    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(st.sampled_from(SEEDS)))
        for _ in range(draw(st.integers(1, 8))):
            kind = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
            pos = draw(st.integers(0, max(0, len(data) - 1)))
            if kind == "flip" and data:
                data[pos] = draw(st.integers(0, 255))
            elif kind == "cut":
                del data[pos:]
            elif kind == "insert":
                data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
            elif data:
                del data[pos : pos + draw(st.integers(1, 64))]
        return bytes(data)

    return mutate()


ANY_BYTES = st.one_of(
    st.binary(max_size=512),
    st.binary(max_size=512).map(lambda b: b"\x89PNG\r\n\x1a\n" + b),
    st.binary(max_size=512).map(lambda b: b"\xff\xd8\xff" + b),
    mutations(),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_BYTES)
def test_inspect_image_answers_an_image_or_invalid_image(data: bytes) -> None:
    try:
        image = inspect_image(data)
    except InvalidImage as exc:
        assert exc.type in {"image_format", "image_corrupt", "image_too_many_pixels"}
        assert exc.msg
    else:
        assert image.format in ("png", "jpeg")
        assert image.width > 0 and image.height > 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ANY_BYTES, min_size=1, max_size=3), st.sampled_from(["image/png", "image/jpeg"]))
def test_any_bytes_as_data_uris_end_cleanly(blobs: list[bytes], media_type: str) -> None:
    uris = [f"data:{media_type};base64,{base64.b64encode(b).decode()}" for b in blobs]
    check_outcome(run_load(uris), len(uris))


SCHEMES = st.sampled_from(
    ["http", "https", "HTTPS", "ftp", "file", "data", "javascript", "opendream", "gopher", ""]
)
IPV4_SPELLINGS = st.integers(0, 2**32 - 1).flatmap(
    lambda n: st.sampled_from(
        [
            str(n),
            hex(n),
            f"0{n:o}",
            ".".join(str(b) for b in n.to_bytes(4, "big")),
            ".".join(f"0{b:o}" for b in n.to_bytes(4, "big")),
            f"{n >> 24}.{n & 0xFFFFFF}",
        ]
    )
)
HOSTS = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"[a-z0-9.-]{1,30}", fullmatch=True),
    IPV4_SPELLINGS,
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
    st.ip_addresses(v=4).map(lambda a: f"[::ffff:{a}]"),
    st.sampled_from(
        ["localhost", "[::1]", "0", "[::]", "127.1", "[fe80::1%25eth0]", "..", "[", "]"]
    ),
)


@st.composite
def urls(draw: st.DrawFn) -> str:
    # Mostly well-formed web URLs, so most examples get past the scheme to hosts and addresses.
    scheme = draw(st.one_of(st.sampled_from(["http", "https"]), SCHEMES))
    sep = draw(st.one_of(st.just("://"), st.sampled_from([":", ":/", ":\\\\", ":///"])))
    userinfo = draw(st.sampled_from(["", "", "user@", "user:pw@", "a@b@"]))
    host = draw(HOSTS)
    port = draw(
        st.one_of(st.just(""), st.integers(-1, 70000).map(lambda p: f":{p}"), st.text(max_size=5))
    )
    path = draw(st.one_of(st.from_regex(r"[A-Za-z0-9/._~%?&=-]{0,40}", fullmatch=True), st.text()))
    return f"{scheme}{sep}{userinfo}{host}{port}/{path}"


@example("http://2130706433/")
@example("https://[::ffff:127.0.0.1]:1/")
@example("http://user@localhost/")
@example("https://%00/")
@example("http://[fe80::1%25eth0]/")
@example("data:image/png;base64,%%%")
@example("opendream://files/x")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=200), urls()))
def test_any_url_ends_in_a_clean_rejection(url: str) -> None:
    outcome = run_load([url])
    check_outcome(outcome, 1)
    assert isinstance(outcome, InputRejected)  # nothing out there can answer with an image
