"""`load_images`: the one call the api makes, over every kind of reference at once."""

from __future__ import annotations

from dataclasses import replace

import pytest

from opendream.inputs import (
    UPLOAD_URI_PREFIX,
    FetchPolicy,
    ImageRule,
    InputRejected,
    ValidatedImage,
    load_images,
    upload_uri,
)
from tests.inputs.images import data_uri, gif, jpeg, noise_png, png
from tests.inputs.servers import ImageServer

SIZE = "File size must be less than 10 MB."
RATIO = "The aspect ratio range should be 1:3 to 3:1."
SMALL = "The uploaded image width and height must exceed 14 pixels."
LARGE = "The uploaded image width and height must not exceed 6000 pixels."


async def rejected(*args: object, **kwargs: object) -> list[tuple[object, str, str]]:
    with pytest.raises(InputRejected) as caught:
        await load_images(*args, **kwargs)  # type: ignore[arg-type]
    return [(p.loc[-1], p.type, p.msg) for p in caught.value.problems]


async def test_good_references_of_every_kind_in_order(
    http_server: ImageServer,
    https_server: ImageServer,
    policy: FetchPolicy,
    edit_rules: tuple[ImageRule, ...],
) -> None:
    uploads = {"f_1": jpeg(80, 60)}

    async def resolve(file_id: str) -> bytes | None:
        return uploads.get(file_id)

    uris = [
        https_server.image("/a.png", png(100, 50)),
        http_server.image("/b.jpg", jpeg(50, 100), "image/jpeg"),
        data_uri(png(30, 30)),
        data_uri(jpeg(40, 20), "image/jpeg"),
        UPLOAD_URI_PREFIX + "f_1",
    ]
    images = await load_images(uris, edit_rules, policy, resolve_upload=resolve)
    assert [(i.format, i.width, i.height) for i in images] == [
        ("png", 100, 50),
        ("jpeg", 50, 100),
        ("png", 30, 30),
        ("jpeg", 40, 20),
        ("jpeg", 80, 60),
    ]
    assert images[4].data == uploads["f_1"]
    assert all(isinstance(i, ValidatedImage) for i in images)


async def test_every_problem_of_every_image_at_once(
    https_server: ImageServer, policy: FetchPolicy, edit_sequential_rules: tuple[ImageRule, ...]
) -> None:
    uris = [
        data_uri(png(100, 100)),  # fine
        data_uri(png(10, 10)),  # too small, said once
        https_server.image("/wide.png", png(700, 100)),  # ratio
        https_server.image("/missing.png", b"")[: -len("/missing.png")] + "/nope.png",  # 404
        data_uri(gif(), "image/png"),  # a GIF, whatever the media type says
        "ftp://example.com/a.png",
        https_server.image("/huge.png", png(6001, 2001)),  # width > 6000
    ]
    problems = await rejected(uris, edit_sequential_rules, policy)
    assert [(i, t) for i, t, _ in problems] == [
        (1, "width_pixels"),
        (2, "aspect_ratio"),
        (3, "fetch_http_status"),
        (4, "image_format"),
        (5, "fetch_scheme"),
        (6, "width_pixels"),
    ]
    assert problems[0][2] == SMALL
    assert problems[1][2] == RATIO
    assert "404" in problems[2][2]
    assert problems[5][2] == LARGE


async def test_problem_shape_matches_the_issue(
    policy: FetchPolicy, edit_rules: tuple[ImageRule, ...]
) -> None:
    uri = data_uri(png(10, 100))
    with pytest.raises(InputRejected) as caught:
        await load_images(
            [data_uri(png()), data_uri(png()), uri], edit_rules, policy, field="images"
        )
    first = caught.value.problems[0].as_dict()
    assert first == {
        "loc": ["body", "images", 2],
        "msg": RATIO,
        "type": "aspect_ratio",
        "input": f"{uri[: len('data:image/png;base64,') + 12]}…({len(uri)} chars)",
    }
    assert [p.type for p in caught.value.problems] == ["aspect_ratio", "width_pixels"]


async def test_the_field_name_is_used_in_locations(
    policy: FetchPolicy, edit_rules: tuple[ImageRule, ...]
) -> None:
    problems = await rejected(["nope"], edit_rules, policy, field="image")
    assert problems == [(0, "fetch_scheme", problems[0][2])]
    with pytest.raises(InputRejected) as caught:
        await load_images(["nope"], edit_rules, policy, field="image")
    assert caught.value.problems[0].loc == ["body", "image", 0]
    assert caught.value.problems[0].input == "nope"


async def test_exif_orientation_counts_before_the_rules(
    policy: FetchPolicy, edit_rules: tuple[ImageRule, ...]
) -> None:
    # Stored 100x300 (ratio 0.33, allowed), shown 300x100 (ratio 3, not below 3).
    upright = jpeg(100, 300)
    turned = jpeg(100, 300, exif_orientation=6)
    assert len(await load_images([data_uri(upright, "image/jpeg")], edit_rules, policy)) == 1
    problems = await rejected([data_uri(turned, "image/jpeg")], edit_rules, policy)
    assert problems == [(0, "aspect_ratio", RATIO)]


async def test_size_limits(
    http_server: ImageServer, policy: FetchPolicy, edit_rules: tuple[ImageRule, ...]
) -> None:
    big = noise_png(10 * 1024 * 1024 + 10_000)
    url = http_server.image("/big.png", big)
    small_policy = replace(policy, max_bytes=10 * 1024 * 1024)
    problems = await rejected([url, data_uri(big)], edit_rules, small_policy)
    assert [(i, t) for i, t, _ in problems] == [(0, "fetch_too_large"), (1, "file_size_mb")]
    assert problems[0][2].startswith(SIZE)
    assert problems[1][2] == SIZE
    # Within the download cap but not below 10 MB: the published rule speaks.
    exactly = noise_png(10 * 1024 * 1024 + 5000)
    problems = await rejected([data_uri(exactly)], edit_rules, replace(policy, max_bytes=11 << 20))
    assert problems == [(0, "file_size_mb", SIZE)]


async def test_a_truncated_download_is_a_corrupt_image(
    http_server: ImageServer, policy: FetchPolicy, edit_rules: tuple[ImageRule, ...]
) -> None:
    good = png(100, 100)
    url = http_server.lying_length("/short", good, announced=len(good) - 20)
    assert await rejected([url], edit_rules, policy) == [
        (0, "image_corrupt", "The png file is truncated (a chunk runs past the end).")
    ]


async def test_uploads(policy: FetchPolicy, edit_rules: tuple[ImageRule, ...]) -> None:
    asked: list[str] = []

    async def resolve(file_id: str) -> bytes | None:
        asked.append(file_id)
        return {"ok": png(), "tiny": png(5, 5), "big": bytes(policy.max_bytes + 1)}.get(file_id)

    uris = [
        upload_uri("ok"),
        upload_uri("gone"),
        upload_uri("tiny"),
        upload_uri("big"),
        UPLOAD_URI_PREFIX + "../etc/passwd",
        UPLOAD_URI_PREFIX,
    ]
    problems = await rejected(uris, edit_rules, policy, resolve_upload=resolve)
    assert [(i, t) for i, t, _ in problems] == [
        (1, "upload_not_found"),
        (2, "width_pixels"),
        (3, "file_size_mb"),
        (4, "upload_not_found"),
        (5, "upload_not_found"),
    ]
    assert sorted(asked) == ["big", "gone", "ok", "tiny"]
    problems = await rejected([upload_uri("ok")], edit_rules, policy)
    assert problems[0][1] == "upload_not_found"


async def test_references_are_fetched_concurrently(
    http_server: ImageServer, policy: FetchPolicy, edit_rules: tuple[ImageRule, ...]
) -> None:
    url = http_server.together("/together.png", png(), parties=4)
    images = await load_images([url] * 4, edit_rules, policy)
    assert len(images) == 4


async def test_a_slow_body_cannot_outlast_the_deadline(
    https_server: ImageServer, policy: FetchPolicy, edit_rules: tuple[ImageRule, ...]
) -> None:
    # A byte every 0.1 s: never quiet long enough for the read timeout, 60 s to finish.
    slow = https_server.slow("/slow.png", png(400, 400), byte_interval_s=0.1)
    fine = https_server.image("/fine.png", png())
    tight = replace(policy, read_timeout_s=5.0, deadline_s=2.0)
    problems = await rejected([fine, slow, data_uri(png(5, 5))], edit_rules, tight)
    assert [(i, t) for i, t, _ in problems] == [(1, "fetch_timeout"), (2, "width_pixels")]
    assert "2 s allowed for all references" in problems[0][2]


async def test_an_endless_body_is_cut_at_the_cap(
    http_server: ImageServer, policy: FetchPolicy, edit_rules: tuple[ImageRule, ...]
) -> None:
    url = http_server.endless("/endless")
    problems = await rejected([url], edit_rules, replace(policy, max_bytes=1 << 20))
    assert [(i, t) for i, t, _ in problems] == [(0, "fetch_too_large")]


async def test_odd_items(policy: FetchPolicy, edit_rules: tuple[ImageRule, ...]) -> None:
    assert await load_images([], edit_rules, policy) == []
    problems = await rejected([None, 3, "", "   "], edit_rules, policy)  # type: ignore[list-item]
    assert [t for _, t, _ in problems] == ["image_uri", "image_uri", "fetch_scheme", "fetch_scheme"]


async def test_long_urls_are_shortened_in_problems(policy: FetchPolicy) -> None:
    url = "ftp://example.com/" + "a" * 5000
    with pytest.raises(InputRejected) as caught:
        await load_images([url], (), policy)
    shown = caught.value.problems[0].input
    assert isinstance(shown, str) and len(shown) < 400 and shown.endswith("(5018 chars)")


async def test_a_failing_upload_store_is_a_server_fault_not_a_rejection(
    http_server: ImageServer, policy: FetchPolicy, edit_rules: tuple[ImageRule, ...]
) -> None:
    async def broken(file_id: str) -> bytes | None:
        raise ConnectionError("database is down")

    slow = http_server.slow("/slow.png", png(), byte_interval_s=0.5)
    with pytest.raises(ConnectionError, match="database is down"):
        await load_images([slow, upload_uri("x")], edit_rules, policy, resolve_upload=broken)


async def test_each_kind_of_bad_image_served_over_https(
    https_server: ImageServer, policy: FetchPolicy, edit_sequential_rules: tuple[ImageRule, ...]
) -> None:
    from tests.inputs.images import webp, zero_png

    good = png(200, 100)
    served = {
        "/gif": gif(),
        "/webp": webp(),
        "/html": b"<!doctype html><title>login</title>",
        "/truncated.png": good[: len(good) // 2],
        "/bomb.png": zero_png(12000, 12000),
        "/tiny.png": png(8, 8),
        "/tall.jpg": jpeg(20, 400),
        "/giant.png": zero_png(7000, 3000),
        "/good.png": good,
    }
    urls = [https_server.image(path, data) for path, data in served.items()]
    problems = await rejected(urls, edit_sequential_rules, policy)
    assert [(i, t) for i, t, _ in problems] == [
        (0, "image_format"),
        (1, "image_format"),
        (2, "image_format"),
        (3, "image_corrupt"),
        (4, "image_too_many_pixels"),
        (5, "width_pixels"),
        (6, "aspect_ratio"),
        (7, "width_pixels"),
    ]
    assert "GIF" in problems[0][2] and "WEBP" in problems[1][2] and "HTML" in problems[2][2]
    assert problems[7][2] == LARGE
