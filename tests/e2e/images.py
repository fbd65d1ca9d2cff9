"""Small reference images for end-to-end tests."""

from __future__ import annotations

import base64
import io

from PIL import Image


def png_bytes(
    width: int = 96, height: int = 64, color: tuple[int, int, int] = (200, 80, 40)
) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format="PNG")
    return buf.getvalue()


def png_data_uri(
    width: int = 96, height: int = 64, color: tuple[int, int, int] = (200, 80, 40)
) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(width, height, color)).decode()
