from __future__ import annotations

import io

import pytest
from PIL import Image

from opendream.worker.encode import CONTENT_TYPES, encode_image, output_key


@pytest.mark.parametrize(
    ("fmt", "pil_format"), [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")]
)
def test_encodes_each_format_at_the_exact_size(fmt: str, pil_format: str) -> None:
    image = Image.new("RGB", (123, 45), (1, 2, 3))
    decoded = Image.open(io.BytesIO(encode_image(image, fmt)))  # type: ignore[arg-type]
    assert decoded.format == pil_format and decoded.size == (123, 45)
    assert CONTENT_TYPES[fmt].startswith("image/")


def test_png_is_lossless() -> None:
    image = Image.effect_noise((64, 64), 50).convert("RGB")
    assert Image.open(io.BytesIO(encode_image(image, "png"))).tobytes() == image.tobytes()


def test_output_keys_are_stable_per_request_and_index() -> None:
    assert output_key("abc", 2, "jpeg") == "requests/abc/outputs/2.jpg"
    assert output_key("abc", 2, "jpeg") == output_key("abc", 2, "jpeg")
