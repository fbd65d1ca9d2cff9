"""Output image encoding. CPU-bound: callers run it off the event loop."""

from __future__ import annotations

import io
from typing import Literal

from PIL import Image

from opendream.worker.png import encode_png

OutputFormat = Literal["png", "jpeg", "webp"]

CONTENT_TYPES: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
EXTENSIONS: dict[str, str] = {"png": "png", "jpeg": "jpg", "webp": "webp"}


def encode_image(image: Image.Image, fmt: OutputFormat) -> bytes:
    if fmt == "png":
        # Deflate level 1 (Pillow's compress_level=1), on every core: outputs are large (up to
        # 16 MP), PNG's default level costs seconds per image for a few percent of size, and
        # even level 1 on one thread costs about as much as generating the image on a GPU.
        return encode_png(image)
    buf = io.BytesIO()
    if fmt == "jpeg":
        image.convert("RGB").save(buf, format="JPEG", quality=92)
    else:
        image.save(buf, format="WEBP", quality=90)
    return buf.getvalue()


def output_key(request_id: str, index: int, fmt: OutputFormat) -> str:
    """Keyed by request id and index so a retried attempt overwrites rather than duplicates."""
    return f"requests/{request_id}/outputs/{index}.{EXTENSIONS[fmt]}"
