from __future__ import annotations

import io

import pytest
from PIL import Image

from bench.images import flat, jpeg_bytes, pad_jpeg, pad_png, png_bytes
from opendream.inputs.sniff import inspect_image


@pytest.mark.parametrize(("encode", "pad"), [(png_bytes, pad_png), (jpeg_bytes, pad_jpeg)])
def test_padding_keeps_a_valid_image_of_the_exact_size(encode, pad) -> None:  # type: ignore[no-untyped-def]
    data = encode(flat(40, 30))
    padded = pad(data, len(data) + 5000)
    assert len(padded) == len(data) + 5000
    info = inspect_image(padded)  # the service's own checks (chunk CRCs, end marker) accept it
    assert (info.width, info.height) == (40, 30)
    with Image.open(io.BytesIO(padded)) as im:
        im.load()
        assert im.getpixel((0, 0))[:3] == Image.open(io.BytesIO(data)).convert("RGB").getpixel(
            (0, 0)
        )
    with pytest.raises(ValueError):
        pad(data, len(data) + 1)
