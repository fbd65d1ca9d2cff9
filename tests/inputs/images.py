"""Image files for tests: good ones, each kind of bad one, and huge-but-cheap PNGs.

Reusable from other test packages (`from tests.inputs.images import png, jpeg`)."""

from __future__ import annotations

import base64
import functools
import io
import os
import struct
import zlib

from PIL import Image

ORIENTATION = 0x0112


def png(width: int = 64, height: int = 48, *, exif_orientation: int | None = None) -> bytes:
    buf = io.BytesIO()
    image = Image.new("RGB", (width, height), (200, 80, 40))
    kwargs = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[ORIENTATION] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    image.save(buf, "PNG", **kwargs)
    return buf.getvalue()


def jpeg(width: int = 64, height: int = 48, *, exif_orientation: int | None = None) -> bytes:
    buf = io.BytesIO()
    image = Image.new("RGB", (width, height), (40, 80, 200))
    kwargs = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[ORIENTATION] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    image.save(buf, "JPEG", quality=80, **kwargs)
    return buf.getvalue()


def gif(width: int = 32, height: int = 32) -> bytes:
    buf = io.BytesIO()
    Image.new("P", (width, height)).save(buf, "GIF")
    return buf.getvalue()


def webp(width: int = 32, height: int = 32) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height)).save(buf, "WEBP")
    return buf.getvalue()


def chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def ihdr(width: int, height: int, *, bit_depth: int = 8, color_type: int = 2) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))


@functools.lru_cache(maxsize=16)
def zero_png(width: int, height: int) -> bytes:
    """An RGB PNG of `width` x `height` black pixels, made in milliseconds even at 12000x12000.

    Deflating hundreds of megabytes of zeros is slow, so one block of rows is deflated once and
    its compressed form repeated: after a full flush the compressor starts afresh, so the same
    input gives the same output. The zlib header and Adler-32 are written by hand around it."""
    row = bytes(1 + 3 * width)  # filter byte 0 + black pixels
    rows_per_block = max(1, (1 << 20) // len(row))
    block = row * rows_per_block
    full, rest = divmod(height, rows_per_block)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    unit = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    tail = deflate.compress(row * rest) + deflate.flush()
    adler = 1
    for _ in range(full):
        adler = zlib.adler32(block, adler)
    adler = zlib.adler32(row * rest, adler)
    stream = b"\x78\xda" + unit * full + tail + struct.pack(">I", adler)
    return b"\x89PNG\r\n\x1a\n" + ihdr(width, height) + chunk(b"IDAT", stream) + chunk(b"IEND", b"")


def noise_png(target_bytes: int) -> bytes:
    """A square-ish PNG of random pixels stored uncompressed, at least `target_bytes` long."""
    width = max(1, int((target_bytes / 3) ** 0.5))
    height = max(1, -(-target_bytes // (1 + 3 * width)))
    raw = b"".join(b"\x00" + os.urandom(3 * width) for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + ihdr(width, height)
        + chunk(b"IDAT", zlib.compress(raw, 0))
        + chunk(b"IEND", b"")
    )


def png_with_exif_after_idat(width: int, height: int, orientation: int) -> bytes:
    """eXIf placed after the image data, where only a full chunk walk finds it."""
    good = png(width, height)
    iend = good.rindex(b"IEND") - 4
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return good[:iend] + chunk(b"eXIf", exif.tobytes()[6:]) + good[iend:]


def data_uri(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"
