"""Several reference images combined into one, for when they exceed a backend's budget."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

# About 1 MP: the FLUX.2 pipelines shrink any reference above 1024x1024 anyway.
SHEET_SIDE = 1024
_GAP = 8
_BACKGROUND = (255, 255, 255)


def contact_sheet(images: Sequence[Image.Image], side: int = SHEET_SIDE) -> Image.Image:
    """Tile `images` row by row on a near-square grid, each fitted (aspect kept, centred) into
    its cell, on a white background with thin gutters so the model sees separate pictures."""
    from PIL import Image

    if not images:
        raise ValueError("a contact sheet needs at least one image")
    count = len(images)
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    cell_w = (side - _GAP * (cols + 1)) // cols
    cell_h = (side - _GAP * (rows + 1)) // rows
    height = rows * cell_h + _GAP * (rows + 1)
    sheet = Image.new("RGB", (side, height), _BACKGROUND)
    for i, image in enumerate(images):
        row, col = divmod(i, cols)
        scale = min(cell_w / image.width, cell_h / image.height)
        w = max(1, round(image.width * scale))
        h = max(1, round(image.height * scale))
        fitted = image.convert("RGB").resize((w, h), Image.Resampling.LANCZOS)
        x = _GAP + col * (cell_w + _GAP) + (cell_w - w) // 2
        y = _GAP + row * (cell_h + _GAP) + (cell_h - h) // 2
        sheet.paste(fitted, (x, y))
    return sheet
