"""What an image is, read from its header only: format by magic bytes, size, EXIF orientation.

Nothing here decodes pixels, so the cost of checking an image depends on its file size, never on
its pixel count: a 10 MB PNG that inflates to gigabytes is judged from a few hundred bytes."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Literal

from PIL import Image

from opendream.inputs.types import InvalidImage, ValidatedImage

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI = b"\xff\xd8\xff"

# Pillow's own default; a larger header is a decompression bomb whatever the file size.
MAX_PIXELS = 89_478_485

FORMAT_MESSAGE = "The format must be jpeg or png."

# Formats people send by mistake, named so the message says what was received.
_OTHER_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"%PDF", "PDF"),
    (b"8BPS", "PSD"),
)

_ORIENTATION_TAG = 0x0112
_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})  # rotated by 90 or 270 degrees


def sniff_format(data: bytes) -> Literal["png", "jpeg"] | None:
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data.startswith(JPEG_SOI):
        return "jpeg"
    return None


def describe_other_format(data: bytes) -> str:
    """A short name for what the bytes look like, for the error message."""
    if not data:
        return "an empty file"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand[:3] in (b"hei", b"mif", b"hev"):
            return "HEIC"
        return "an ISO media file"
    for signature, name in _OTHER_SIGNATURES:
        if data.startswith(signature):
            return name
    head = data[:64].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<svg")):
        return "HTML/XML text"
    return "not an image"


def inspect_image(data: bytes, *, max_pixels: int = MAX_PIXELS) -> ValidatedImage:
    """Judge `data` from its header; raise `InvalidImage` when it is not a usable png/jpeg.

    Width and height are reported after EXIF orientation, as a viewer would show them."""
    fmt = sniff_format(data)
    if fmt is None:
        raise InvalidImage(
            "image_format", f"{FORMAT_MESSAGE} Received {describe_other_format(data)}."
        )
    # The pixel count is judged from our own reading of the header, before Pillow sees the file.
    if fmt == "png":
        exif = _check_png_structure(data)
        declared = struct.unpack(">II", data[16:24])
    else:
        declared = _jpeg_frame_size(data)
    _check_pixels(*declared, max_pixels)
    width, height, jpeg_exif = _open_header(data, fmt)
    _check_pixels(width, height, max_pixels)
    if fmt == "jpeg":
        _check_jpeg_scan(data)
        exif = jpeg_exif
    if exif_orientation(exif) in _SWAPPING_ORIENTATIONS:
        width, height = height, width
    return ValidatedImage(data=data, width=width, height=height, format=fmt)


def _open_header(data: bytes, fmt: str) -> tuple[int, int, bytes | None]:
    """Pillow reads only the header in `open`; `load` (never called here) would decode."""
    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as im:
            width, height = im.size
            exif = im.info.get("exif") if fmt == "jpeg" else None
    except Image.DecompressionBombError as exc:
        raise InvalidImage(
            "image_too_many_pixels",
            f"The image declares too many pixels (decompression bomb protection): {exc}",
        ) from None
    except Exception as exc:  # Pillow signals bad headers with many exception types
        raise InvalidImage(
            "image_corrupt", f"The {fmt} file is corrupt or truncated: {_short(exc)}"
        ) from None
    return int(width), int(height), exif if isinstance(exif, bytes) else None


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise InvalidImage("image_corrupt", "The image header declares an empty image.")
    if width * height > max_pixels:
        raise InvalidImage(
            "image_too_many_pixels",
            f"The image declares {width}x{height} pixels, more than the {max_pixels} pixels "
            "accepted (decompression bomb protection).",
        )


_JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOF0..SOF15
_JPEG_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD9)})  # TEM, RSTn, SOI


def _jpeg_frame_size(data: bytes) -> tuple[int, int]:
    """Width and height from the first frame header, walking segment lengths only."""
    pos = 2
    end = len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            raise InvalidImage("image_corrupt", "The jpeg file is corrupt (a marker is missing).")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_STANDALONE_MARKERS:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2 or pos + 2 + length > end:
            raise InvalidImage(
                "image_corrupt", "The jpeg file is truncated (a segment runs past the end)."
            )
        if marker in _JPEG_FRAME_MARKERS:
            if length < 7:
                raise InvalidImage("image_corrupt", "The jpeg frame header is malformed.")
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    raise InvalidImage("image_corrupt", "The jpeg file has no frame header.")


def _check_png_structure(data: bytes) -> bytes | None:
    """Walk the chunk list (lengths and CRCs only, no inflating) and return the eXIf payload.

    This catches truncated or spliced files that a header-only open would let through, and finds
    an eXIf chunk wherever it is: Pillow's `getexif` on a PNG decodes the pixels to look for it."""
    pos = len(PNG_SIGNATURE)
    end = len(data)
    first = True
    seen_idat = False
    exif: bytes | None = None
    while True:
        if pos + 8 > end:
            raise InvalidImage("image_corrupt", "The png file is truncated (no IEND chunk).")
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        body_end = pos + 8 + length
        if length > 0x7FFFFFFF or body_end + 4 > end:
            raise InvalidImage(
                "image_corrupt", "The png file is truncated (a chunk runs past the end)."
            )
        if first and ctype != b"IHDR":
            raise InvalidImage("image_corrupt", "The png file does not start with an IHDR chunk.")
        first = False
        (crc,) = struct.unpack(">I", data[body_end : body_end + 4])
        if zlib.crc32(memoryview(data)[pos + 4 : body_end]) != crc:
            raise InvalidImage(
                "image_corrupt",
                f"The png file is corrupt (bad CRC in a {_chunk_name(ctype)} chunk).",
            )
        if ctype == b"IDAT":
            seen_idat = True
        elif ctype == b"eXIf" and exif is None:
            exif = data[pos + 8 : body_end]
        elif ctype == b"IEND":
            break
        pos = body_end + 4
    if not seen_idat:
        raise InvalidImage("image_corrupt", "The png file has no image data (no IDAT chunk).")
    return exif


def _check_jpeg_scan(data: bytes) -> None:
    """A JPEG needs scan data and an end marker after it; trailing bytes after EOI are common
    (camera appendices) and allowed."""
    sos = data.find(b"\xff\xda")
    if sos < 0:
        raise InvalidImage("image_corrupt", "The jpeg file has no image data (no scan).")
    if data.rfind(b"\xff\xd9") <= sos:
        raise InvalidImage("image_corrupt", "The jpeg file is truncated (no end-of-image marker).")


def _chunk_name(ctype: bytes) -> str:
    return ctype.decode("ascii", "replace") if ctype.isalpha() else repr(ctype)


def exif_orientation(exif: bytes | None) -> int:
    """The TIFF orientation tag (1..8) of an EXIF block, 1 when absent or unreadable."""
    if not exif:
        return 1
    if exif.startswith(b"Exif\x00\x00"):
        exif = exif[6:]
    try:
        if exif[:2] == b"II":
            order = "<"
        elif exif[:2] == b"MM":
            order = ">"
        else:
            return 1
        (magic, ifd) = struct.unpack(order + "HI", exif[2:8])
        if magic != 42:
            return 1
        (count,) = struct.unpack(order + "H", exif[ifd : ifd + 2])
        for i in range(count):
            entry = exif[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
            tag, typ, n = struct.unpack(order + "HHI", entry[:8])
            if tag == _ORIENTATION_TAG:
                if typ != 3 or n < 1:  # SHORT
                    return 1
                (value,) = struct.unpack(order + "H", entry[8:10])
                return value if 1 <= value <= 8 else 1
    except struct.error:
        return 1
    return 1


def _short(exc: BaseException, limit: int = 160) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
