from __future__ import annotations

import io

import pytest
from PIL import Image

from opendream.worker.encode import CONTENT_TYPES, encode_image, output_key
from opendream.worker.png import encode_png


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


def test_png_goes_through_the_parallel_encoder() -> None:
    image = Image.effect_noise((800, 700), 30).convert("RGB")  # 1.7 MB raw: several pieces
    data = encode_image(image, "png")
    assert data == encode_png(image)
    assert Image.open(io.BytesIO(data)).tobytes() == image.tobytes()
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    assert data != buf.getvalue()  # not Pillow's own encoder


def test_output_keys_are_stable_per_request_and_index() -> None:
    assert output_key("abc", 2, "jpeg") == "requests/abc/outputs/2.jpg"
    assert output_key("abc", 2, "jpeg") == output_key("abc", 2, "jpeg")
