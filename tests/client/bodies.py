"""Request bodies the client tests share. Images cost CPU time, so the usual one is a 1K edit
(about 1 MP) of a small data-URI reference."""

from __future__ import annotations

import base64
import io

from PIL import Image

SEQUENTIAL = "bytedance/seedream-4-0/sequential"
EDIT = "bytedance/seedream-4-0/edit"


def png(width: int = 96, height: int = 64, color: str = "orange") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format="PNG")
    return buf.getvalue()


def small_edit(prompt: str = "Make it blue.") -> dict[str, object]:
    uri = "data:image/png;base64," + base64.b64encode(png()).decode()
    return {"prompt": prompt, "images": [uri], "resolution": "1K"}
