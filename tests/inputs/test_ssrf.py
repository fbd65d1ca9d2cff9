"""The SSRF corpus: every way we know of to point the fetcher at something internal.

Every target aims at a real loopback server (or an internal address where nothing listens); with
an empty allow-list each one is refused *before any connection*: the server sees no request. The
control test then shows the loopback spellings do reach the server once loopback is allowed, so
the refusals are the policy at work, not a connection failure."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from opendream.inputs import FetchPolicy, InputRejected, load_images
from opendream.inputs.fetch import system_resolver
from tests.inputs.images import png
from tests.inputs.servers import LOOPBACK, ImageServer

P = "{port}"  # replaced by the loopback server's port

LITERALS = [
    f"http://127.0.0.1:{P}/a.png",
    f"http://2130706433:{P}/a.png",  # decimal
    f"http://0x7f000001:{P}/a.png",  # hex
    f"http://0X7F000001:{P}/a.png",
    f"http://017700000001:{P}/a.png",  # octal
    f"http://0177.0.0.1:{P}/a.png",  # dotted octal
    f"http://0x7f.0.0.1:{P}/a.png",  # dotted hex
    f"http://0x7f.1:{P}/a.png",  # short hex
    f"http://127.1:{P}/a.png",  # short
    f"http://127.0.1:{P}/a.png",
    f"http://127.000.000.001:{P}/a.png",  # zero-padded (octal zeros)
    f"http://127.0.0.1.:{P}/a.png",  # trailing dot
    f"http://0:{P}/a.png",  # 0.0.0.0 reaches the local host on Linux
    f"http://0.0.0.0:{P}/a.png",
    "http://10.0.0.1/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://169.254.43518/latest/meta-data/",  # metadata, short form
    "http://0xa9.0xfe.0xa9.0xfe/",  # metadata, hex
    "http://2852039166/",  # metadata, decimal
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://172.16.0.1/",
    "http://192.168.0.1/",
    "http://198.18.0.1/",
    "http://192.0.0.1/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    f"http://[::1]:{P}/a.png",
    f"http://[0:0:0:0:0:0:0:1]:{P}/a.png",
    f"http://[::]:{P}/a.png",
    f"http://[::ffff:127.0.0.1]:{P}/a.png",  # IPv4-mapped
    f"http://[::ffff:7f00:1]:{P}/a.png",
    "http://[::ffff:169.254.169.254]/",
    f"http://[::127.0.0.1]:{P}/a.png",  # IPv4-compatible
    "http://[2002:7f00:1::1]/",  # 6to4 of 127.0.0.1
    "http://[2002:a9fe:a9fe::]/",  # 6to4 of the metadata address
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
    "http://[64:ff9b::127.0.0.1]/",  # NAT64 of 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of the metadata address
    "http://[64:ff9b:1::a00:1]/",  # local-use NAT64
    "http://[fe80::1%25lo]/",  # link-local with a zone
    "http://[fd00::1]/",  # unique local
    "http://[ff02::1]/",  # multicast
    f"https://127.0.0.1:{P}/a.png",
    f"https://[::1]:{P}/a.png",
]

NAMES = [
    f"http://localhost:{P}/a.png",
    f"http://LOCALHOST:{P}/a.png",
    f"http://localhost.:{P}/a.png",
    f"https://localhost:{P}/a.png",
    "http://internal.example/",  # resolves to 10.0.0.5
    "http://metadata.example/latest/",  # resolves to 169.254.169.254
    "http://mixed.example/",  # one public and one loopback address: refused
    "http://v6-loopback.example/",  # resolves to ::1
    "http://mapped.example/",  # resolves to ::ffff:10.0.0.1
    "http://nat64.example/",  # resolves to 64:ff9b::a00:1
]

FAKE_DNS = {
    "internal.example": ["10.0.0.5"],
    "metadata.example": ["169.254.169.254"],
    "mixed.example": ["93.184.215.14", "127.0.0.1"],
    "v6-loopback.example": ["::1"],
    "mapped.example": ["::ffff:10.0.0.1"],
    "nat64.example": ["64:ff9b::a00:1"],
    "public.example": ["127.0.0.1"],  # allow-listed by name in the redirect tests
}

# From an allow-listed host, redirects that point inside.
REDIRECT_TARGETS = [
    f"http://127.0.0.1:{P}/a.png",
    f"http://2130706433:{P}/a.png",
    f"http://0x7f.1:{P}/a.png",
    f"http://[::ffff:127.0.0.1]:{P}/a.png",
    f"http://[::1]:{P}/a.png",
    f"http://localhost:{P}/a.png",
    "http://169.254.169.254/latest/meta-data/",
    "http://internal.example/",
    "http://metadata.example/",
]

# Tricks with the URL's syntax: refused as malformed before anything is resolved.
SYNTAX_TRICKS = [
    f"http://public.example@127.0.0.1:{P}/a.png",  # userinfo
    f"http://user:pass@public.example:{P}/a.png",
    f"http://127.0.0.1:{P}\\@public.example/a.png",  # backslash
    f"http://public.example%2f@127.0.0.1:{P}/a.png",
    f"http://%31%32%37.0.0.1:{P}/a.png",  # percent-encoded host
    f"http://127.0.0.1 :{P}/a.png",
    f"http://127.0.0.1:{P}\t/a.png",
    f"http://127.0.0.1:{P}\r\nHost: x/a.png",
    "http://256.0.0.1/",  # numeric but not an address
    "http://[127.0.0.1]/",  # IPv4 in brackets
]


async def fake_resolver(host: str, port: int) -> list[str]:
    if host in FAKE_DNS:
        return FAKE_DNS[host]
    return await system_resolver(host, port)


@pytest.fixture
def server() -> Iterator[ImageServer]:
    with ImageServer() as s:
        s.image("/a.png", png())
        yield s


@pytest.fixture
def closed_policy(policy: FetchPolicy) -> FetchPolicy:
    return replace(policy, allow_list=())


async def refusal(url: str, policy: FetchPolicy) -> tuple[str, str]:
    with pytest.raises(InputRejected) as caught:
        await load_images([url], (), policy, resolver=fake_resolver)
    (problem,) = caught.value.problems
    assert problem.loc == ["body", "images", 0]
    return problem.type, problem.msg


def test_the_corpus_is_large() -> None:
    assert len(LITERALS) + len(NAMES) + len(REDIRECT_TARGETS) + len(SYNTAX_TRICKS) >= 25


@pytest.mark.parametrize("target", LITERALS + NAMES)
async def test_internal_targets_are_refused_without_connecting(
    server: ImageServer, closed_policy: FetchPolicy, target: str
) -> None:
    url = target.replace(P, str(server.port))
    kind, msg = await refusal(url, closed_policy)
    assert kind == "fetch_refused_address", msg
    assert "not a public internet address" in msg
    assert server.requests == []


@pytest.mark.parametrize("target", REDIRECT_TARGETS)
async def test_redirects_to_internal_targets_are_refused(
    server: ImageServer, closed_policy: FetchPolicy, target: str
) -> None:
    """public.example is trusted by name (it resolves to the loopback server); where it
    redirects is judged afresh."""
    start = server.redirect("/go", target.replace(P, str(server.port)))
    start = start.replace("127.0.0.1", "public.example")
    policy = replace(closed_policy, allow_list=("public.example",))
    kind, msg = await refusal(start, policy)
    assert kind == "fetch_refused_address", msg
    assert "redirect" in msg
    assert [r.path for r in server.requests] == ["/go"]


@pytest.mark.parametrize("target", SYNTAX_TRICKS)
async def test_url_syntax_tricks_are_refused(
    server: ImageServer, policy: FetchPolicy, target: str
) -> None:
    # Even with loopback allowed, a malformed URL is refused and nothing is fetched.
    kind, msg = await refusal(target.replace(P, str(server.port)), policy)
    assert kind == "fetch_url", msg
    assert server.requests == []


CONTROL = [
    f"http://127.0.0.1:{P}/a.png",
    f"http://2130706433:{P}/a.png",
    f"http://0x7f000001:{P}/a.png",
    f"http://017700000001:{P}/a.png",
    f"http://0177.0.0.1:{P}/a.png",
    f"http://0x7f.1:{P}/a.png",
    f"http://127.1:{P}/a.png",
    f"http://127.000.000.001:{P}/a.png",
    f"http://localhost:{P}/a.png",
    f"http://localhost.:{P}/a.png",
]


async def test_control_the_same_spellings_reach_the_server_when_loopback_is_allowed(
    server: ImageServer, policy: FetchPolicy
) -> None:
    assert policy.allow_list == LOOPBACK
    urls = [u.replace(P, str(server.port)) for u in CONTROL]
    images = await load_images(urls, (), policy)
    assert [i.format for i in images] == ["png"] * len(CONTROL)
    assert len(server.requests) == len(CONTROL)
