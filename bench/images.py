"""Synthetic test images: deterministic, photo-like (smooth gradients plus sensor-like noise) so
encoders see neither the best case (flat colour) nor the worst (pure noise)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def photo_like(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    channels = []
    for phase in (0.0, 2.1, 4.2):
        base = 0.5 + 0.25 * np.sin(6.0 * x + phase) * np.cos(4.0 * y - phase) + 0.2 * (x - y)
        channels.append(base)
    img = np.stack(channels, axis=-1) * 255.0
    img += rng.normal(0.0, 6.0, size=(height, width, 1)).astype(np.float32)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def noise(width: int, height: int, seed: int = 0) -> Image.Image:
    """Incompressible: a PNG of it is as large as its pixels (used to make ~10 MB files)."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8), "RGB")


def flat(width: int, height: int, colour: tuple[int, int, int] = (90, 120, 200)) -> Image.Image:
    return Image.new("RGB", (width, height), colour)


def png_bytes(image: Image.Image, compress_level: int = 1) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def jpeg_bytes(image: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def pad_png(data: bytes, total: int) -> bytes:
    """`data` grown to `total` bytes by a private ancillary chunk before IEND (valid, ignored
    by decoders): images of different pixel counts then cost the same to read byte by byte."""
    iend = data.rindex(b"IEND") - 4
    payload = total - len(data) - 12
    if payload < 0:
        raise ValueError(f"the PNG is already {len(data)} bytes, more than {total}")
    kind = b"bnCh"
    body = bytes(payload)
    chunk = struct.pack(">I", payload) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return data[:iend] + chunk + data[iend:]


def pad_jpeg(data: bytes, total: int) -> bytes:
    """`data` grown to `total` bytes by trailing bytes after EOI (as cameras append), ending in
    another end marker: the checks that look for the last end marker then find it at once,
    whatever the image's own size, and decoders ignore the trailer."""
    missing = total - len(data)
    if missing < 2:
        raise ValueError(f"the JPEG is {len(data)} bytes: it cannot be padded to {total}")
    return data + bytes(missing - 2) + b"\xff\xd9"
