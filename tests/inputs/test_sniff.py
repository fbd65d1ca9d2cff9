from __future__ import annotations

import gc
import tracemalloc

import pytest
from PIL import Image, ImageFile

from opendream.inputs import InvalidImage, inspect_image
from opendream.inputs.sniff import MAX_PIXELS, exif_orientation
from tests.inputs.images import (
    chunk,
    gif,
    ihdr,
    jpeg,
    noise_png,
    png,
    png_with_exif_after_idat,
    webp,
    zero_png,
)


def test_png_and_jpeg_are_recognised_with_their_sizes() -> None:
    image = inspect_image(png(64, 48))
    assert (image.format, image.width, image.height) == ("png", 64, 48)
    image = inspect_image(jpeg(30, 70))
    assert (image.format, image.width, image.height) == ("jpeg", 30, 70)


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (gif(), "GIF"),
        (webp(), "WEBP"),
        (b"BM" + bytes(100), "BMP"),
        (b"<!DOCTYPE html><html>nope</html>", "HTML"),
        (b"", "an empty file"),
        (b"\x00\x00\x00\x1cftypheic" + bytes(40), "HEIC"),
    ],
)
def test_other_formats_are_refused_by_magic_bytes(data: bytes, named: str) -> None:
    with pytest.raises(InvalidImage) as caught:
        inspect_image(data)
    assert caught.value.type == "image_format"
    assert caught.value.msg.startswith("The format must be jpeg or png.")
    assert named in caught.value.msg


def test_the_extension_or_declared_type_does_not_matter_only_the_bytes() -> None:
    # A JPEG is a JPEG even when it would be served as image/png.
    assert inspect_image(jpeg()).format == "jpeg"


@pytest.mark.parametrize(
    "data",
    [
        png()[:40],  # truncated inside the header chunks
        png()[:-12],  # IEND missing
        b"\x89PNG\r\n\x1a\n" + chunk(b"IEND", b""),  # no IHDR
        b"\x89PNG\r\n\x1a\n" + ihdr(10, 10) + chunk(b"IEND", b""),  # no IDAT
        png()[:20] + b"\xff" + png()[21:],  # bad CRC in IHDR
        jpeg()[:200],  # JPEG cut before its scan ends
        b"\xff\xd8\xff\xe0" + bytes(50),  # JPEG with a garbage header
        b"\x89PNG\r\n\x1a\n" + ihdr(0, 10) + chunk(b"IDAT", b"") + chunk(b"IEND", b""),
    ],
)
def test_corrupt_files_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidImage) as caught:
        inspect_image(data)
    assert caught.value.type == "image_corrupt"
    assert isinstance(caught.value, ValueError)


@pytest.mark.filterwarnings("error")
def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    side = int(MAX_PIXELS**0.5) + 1
    bomb = zero_png(side, side)  # under a megabyte of file, 90 megapixels of image
    assert len(bomb) < 1_000_000
    with pytest.raises(InvalidImage) as caught:
        inspect_image(bomb)
    assert caught.value.type == "image_too_many_pixels"
    # Far beyond Pillow's own hard limit: still our clean error, not Pillow's exception.
    huge = b"\x89PNG\r\n\x1a\n" + ihdr(100_000, 100_000) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")
    with pytest.raises(InvalidImage) as caught:
        inspect_image(huge)
    assert caught.value.type == "image_too_many_pixels"


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header is rewritten to claim another size."""
    data = bytearray(jpeg(16, 16))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


@pytest.mark.filterwarnings("error")  # and Pillow's bomb warning never fires
@pytest.mark.parametrize(("width", "height"), [(65000, 65000), (10000, 9000), (9460, 9460)])
def test_a_jpeg_bomb_is_refused_from_its_frame_header(width: int, height: int) -> None:
    with pytest.raises(InvalidImage) as caught:
        inspect_image(jpeg_declaring(width, height))
    assert caught.value.type == "image_too_many_pixels"
    assert f"{width}x{height}" in caught.value.msg


def test_a_jpeg_with_an_edited_but_acceptable_size_reports_it() -> None:
    image = inspect_image(jpeg_declaring(5000, 4000))
    assert (image.width, image.height) == (5000, 4000)


@pytest.mark.parametrize(("orientation", "swapped"), [(1, False), (3, False), (6, True), (8, True)])
def test_exif_orientation_is_applied_to_jpeg_sizes(orientation: int, swapped: bool) -> None:
    image = inspect_image(jpeg(60, 20, exif_orientation=orientation))
    assert (image.width, image.height) == ((20, 60) if swapped else (60, 20))


def test_exif_orientation_is_applied_to_png_sizes_wherever_the_chunk_is() -> None:
    image = inspect_image(png(60, 20, exif_orientation=6))
    assert (image.width, image.height) == (20, 60)
    image = inspect_image(png_with_exif_after_idat(60, 20, 5))
    assert (image.width, image.height) == (20, 60)


def test_unreadable_exif_means_no_rotation() -> None:
    assert exif_orientation(b"garbage") == 1
    assert exif_orientation(b"Exif\x00\x00II*\x00\xff\xff\xff\xff") == 1
    assert exif_orientation(None) == 1


def test_validation_never_decodes_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Image.Image) -> None:
        raise AssertionError("pixels were decoded")

    files = [
        noise_png(9_500_000),
        zero_png(8000, 8000),
        jpeg(3000, 2000, exif_orientation=6),
        png_with_exif_after_idat(100, 50, 6),
    ]
    monkeypatch.setattr(Image.Image, "load", refuse)
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    sizes = [(i.width, i.height) for i in map(inspect_image, files)]
    assert sizes[1:] == [(8000, 8000), (2000, 3000), (50, 100)]


def _peak_bytes_while_inspecting(data: bytes) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        inspect_image(data)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_pixel_count_and_file_size_grow() -> None:
    """Decoding would need width*height*3 bytes (192 MB at 8000x8000); the header check needs
    the same few kilobytes whatever the pixel count or the file size."""
    images = [zero_png(500, 500), zero_png(2000, 2000), zero_png(8000, 8000)]
    images.append(noise_png(9_800_000))  # a 10 MB PNG: the size limit of the schemas
    assert len(images[-1]) > 9_500_000
    inspect_image(png())  # first use imports Pillow's plugins; that is not per-image memory
    peaks = [_peak_bytes_while_inspecting(data) for data in images]
    assert max(peaks) < 256 * 1024, peaks  # measured: about 4 KB each
