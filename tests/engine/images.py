"""Small image builders shared by the engine tests."""

from __future__ import annotations

import io

from PIL import Image

from opendream.engine.types import ReferenceImage


def encoded(image: Image.Image, fmt: str = "PNG", **save_args: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save_args)
    return buffer.getvalue()


def reference(width: int, height: int, color: tuple[int, int, int]) -> ReferenceImage:
    data = encoded(Image.new("RGB", (width, height), color))
    return ReferenceImage(data=data, width=width, height=height, format="png")


def rotated_jpeg_reference() -> tuple[ReferenceImage, Image.Image]:
    """A 160x80 JPEG whose EXIF says "rotate 90° clockwise to view": upright it is 80x160."""
    stored = Image.new("RGB", (160, 80), (200, 30, 30))
    stored.paste((30, 30, 200), (0, 0, 80, 80))  # left half blue, right half red
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encoded(stored, "JPEG", exif=exif.tobytes(), quality=95)
    from PIL import ImageOps

    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    return ReferenceImage(data=data, width=80, height=160, format="jpeg"), upright
