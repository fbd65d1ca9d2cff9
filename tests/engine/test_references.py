"""Reference sources -> images, and the contact sheet."""

from __future__ import annotations

import pytest
from PIL import Image

from opendream.engine import GenerationError, ImagePlan, RefSource
from opendream.engine.contact_sheet import SHEET_SIDE, contact_sheet
from opendream.engine.references import (
    at_least,
    decode_reference,
    describe,
    references_for,
)
from tests.engine.images import reference, rotated_jpeg_reference


def test_exif_orientation_is_applied():
    ref, _ = rotated_jpeg_reference()

    image = decode_reference(ref)

    assert image.size == (80, 160) and image.mode == "RGB"
    # stored: left half blue; after the 90° clockwise turn the blue half is on top
    top, bottom = image.getpixel((40, 20)), image.getpixel((40, 140))
    assert top[2] > 150 and bottom[0] > 150


def test_sources_resolve_in_plan_order():
    users = [Image.new("RGB", (64, 64), (i, 0, 0)) for i in range(4)]
    generated = [Image.new("RGB", (64, 64), (0, i, 0)) for i in range(2)]
    plan = ImagePlan(
        2,
        "p",
        1,
        (RefSource("generated", (1,)), RefSource("user", (3,)), RefSource("contact_sheet", (0, 1))),
    )

    images = references_for(plan, users, generated)

    assert images[0] is generated[1] and images[1] is users[3]
    assert images[2].size[0] == SHEET_SIDE


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (RefSource("user", (5,)), "user reference 5, but only 2 exist"),
        (RefSource("generated", (0,)), "generated image 0, but only 0 exist"),
        (RefSource("contact_sheet", ()), "lists no images"),
        (RefSource("contact_sheet", (0, 9)), "user reference 9"),
        (RefSource("user", (0, 1)), "exactly one index"),
    ],
)
def test_bad_sources_are_errors(source: RefSource, message: str):
    users = [Image.new("RGB", (64, 64))] * 2

    with pytest.raises(GenerationError, match=message):
        references_for(ImagePlan(0, "p", 1, (source,)), users, [])


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 7, 9, 12])
def test_contact_sheet_tiles_every_image(count: int):
    colors = [(20 * i, 255 - 20 * i, 100) for i in range(count)]
    images = [Image.new("RGB", (90 + 10 * i, 60), c) for i, c in enumerate(colors)]

    sheet = contact_sheet(images)

    assert sheet.width == SHEET_SIDE and sheet.height <= SHEET_SIDE
    pixels = set(sheet.getdata())
    assert all(c in pixels for c in colors)


def test_contact_sheet_needs_an_image():
    with pytest.raises(ValueError):
        contact_sheet([])


def test_small_images_are_enlarged_keeping_aspect():
    assert at_least(Image.new("RGB", (20, 40)), 64).size == (64, 128)
    big = Image.new("RGB", (64, 100))
    assert at_least(big, 64) is big


def test_describe():
    assert [describe(s) for s in (RefSource("user", (0,)), RefSource("contact_sheet", (2, 3)))] == [
        "user:0",
        "sheet:2,3",
    ]


def test_decoding_bytes_round_trip():
    assert decode_reference(reference(64, 32, (1, 2, 3))).getpixel((5, 5)) == (1, 2, 3)
