from __future__ import annotations

import io
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from bench.images import flat, noise, photo_like
from opendream.worker import png
from opendream.worker.png import encode_png

MODES = ("L", "RGB", "RGBA")
BYTES_PER_PIXEL = {"L": 1, "RGB": 3, "RGBA": 4}
COLOUR_TYPES = {"L": 0, "RGB": 2, "RGBA": 6}


def pillow_png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # Pillow checks every chunk's CRC and the zlib stream's Adler-32 here
    return image


def chunks(data: bytes) -> list[tuple[bytes, bytes, int]]:
    """(type, body, stored CRC) of every chunk, read by hand."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        out.append((kind, body, crc))
        pos += 12 + length
    assert pos == len(data)
    return out


def scanlines(data: bytes) -> bytes:
    """The filtered image data: the IDAT chunks joined and inflated (which checks Adler-32)."""
    return zlib.decompress(b"".join(body for kind, body, _ in chunks(data) if kind == b"IDAT"))


def make_image(mode: str, width: int, height: int, seed: int, smooth: bool) -> Image.Image:
    rng = np.random.default_rng(seed)
    channels = BYTES_PER_PIXEL[mode]
    if smooth:  # gradients with a little noise, where Average and Paeth win
        y, x = np.mgrid[0:height, 0:width]
        base = 100 + 60 * np.sin(x / 7.0 + y / 11.0)
        pixels = base[..., None] + rng.normal(0, 3, (height, width, channels))
    else:
        pixels = rng.integers(0, 256, (height, width, channels))
    pixels = np.clip(pixels, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode)


def no_fallback() -> AbstractContextManager[object]:
    """Makes a test fail if the image went to Pillow instead of the parallel encoder."""
    return mock.patch.object(png, "_pillow_png", side_effect=AssertionError("fell back"))


def reference_scanlines(image: Image.Image) -> bytes:
    """PNG filtering with the least-sum-of-absolute-values heuristic, one row at a time, the
    plain way (wide integers, no tricks)."""
    bpp = BYTES_PER_PIXEL[image.mode]
    rows = np.frombuffer(image.tobytes(), np.uint8).reshape(image.height, -1).astype(np.int64)
    prev = np.zeros(rows.shape[1], np.int64)
    out = []
    for row in rows:
        left = np.concatenate([np.zeros(bpp, np.int64), row[:-bpp]])[: len(row)]
        corner = np.concatenate([np.zeros(bpp, np.int64), prev[:-bpp]])[: len(row)]
        p = left + prev - corner
        pa, pb, pc = np.abs(p - left), np.abs(p - prev), np.abs(p - corner)
        paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, corner))
        candidates = [row, row - left, row - prev, row - (left + prev) // 2, row - paeth]
        candidates = [c % 256 for c in candidates]
        costs = [int(np.minimum(c, 256 - c).sum()) for c in candidates]
        best = costs.index(min(costs))
        out.append(bytes([best]) + candidates[best].astype(np.uint8).tobytes())
        prev = row
    return b"".join(out)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size", [(1, 1), (1, 9), (9, 1), (2, 2), (33, 17), (255, 4), (4, 255)])
@pytest.mark.parametrize("workers", [1, 3])
def test_round_trip_is_pixel_exact(mode: str, size: tuple[int, int], workers: int) -> None:
    image = make_image(mode, *size, seed=size[0] * 1000 + size[1], smooth=size[0] > 8)
    with no_fallback():
        data = encode_png(image, workers=workers, piece_bytes=1)  # one piece per row
    back = decode(data)
    assert (back.format, back.mode, back.size) == ("PNG", mode, size)
    assert back.tobytes() == image.tobytes()
    assert chunks(data)[0][1][8:10] == bytes([8, COLOUR_TYPES[mode]])  # IHDR: depth, type


@settings(max_examples=150, deadline=None)
@given(
    mode=st.sampled_from(MODES),
    width=st.integers(1, 40),
    height=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
    smooth=st.booleans(),
    pieces=st.integers(1, 50),
    workers=st.integers(1, 4),
)
def test_random_images_round_trip_and_filter_as_the_reference(
    mode: str, width: int, height: int, seed: int, smooth: bool, pieces: int, workers: int
) -> None:
    image = make_image(mode, width, height, seed, smooth)
    piece_bytes = max(1, width * height * BYTES_PER_PIXEL[mode] // pieces)
    with no_fallback():
        data = encode_png(image, workers=workers, piece_bytes=piece_bytes)
    assert decode(data).tobytes() == image.tobytes()
    assert scanlines(data) == reference_scanlines(image)


def test_every_filter_type_is_chosen_where_it_fits() -> None:
    rng = np.random.default_rng(1)
    n = 48 * 3
    rows = [
        rng.choice(np.array([255, 0, 1]), (4, n)),  # small signed values, uncorrelated: None
        (np.arange(n)[None] * 7 + rng.integers(0, 256, (4, 1))) % 256,  # ramps: Sub
        np.repeat(rng.integers(0, 256, (1, n)), 4, axis=0),  # repeated rows: Up
        rng.integers(0, 3, (4, n)),  # tiny noise: Average
        np.repeat(120 + 100 * np.sin(np.linspace(0, 5, 48) + np.linspace(0, 3, 8)[:, None]), 3, 1),
    ]
    pixels = np.clip(np.concatenate(rows), 0, 255).astype(np.uint8).reshape(-1, 48, 3)
    image = Image.fromarray(pixels, "RGB")
    with no_fallback():
        data = encode_png(image, workers=2, piece_bytes=500)
    filtered = scanlines(data)
    types = {filtered[y * (n + 1)] for y in range(image.height)}
    assert types == {0, 1, 2, 3, 4}
    assert decode(data).tobytes() == image.tobytes()


def test_chunks_are_well_formed_with_correct_crcs() -> None:
    image = make_image("RGBA", 300, 200, seed=3, smooth=True)
    with mock.patch.object(png, "_IDAT_CHUNK", 4096):
        data = encode_png(image, workers=2, piece_bytes=8192)
    parsed = chunks(data)
    assert [kind for kind, _, _ in parsed[:1]] == [b"IHDR"] and parsed[-1][0] == b"IEND"
    assert {kind for kind, _, _ in parsed[1:-1]} == {b"IDAT"}
    assert len(parsed) > 10  # split into several IDAT chunks
    for kind, body, crc in parsed:
        assert zlib.crc32(kind + body) == crc, kind
    assert struct.unpack(">IIBBBBB", parsed[0][1]) == (300, 200, 8, 6, 0, 0, 0)
    assert all(len(body) == 4096 for _, body, _ in parsed[1:-2])
    assert len(scanlines(data)) == 200 * (300 * 4 + 1)
    Image.open(io.BytesIO(data)).verify()


def test_a_corrupted_idat_is_caught_by_its_crc() -> None:
    """The CRC check above can fail: Pillow rejects a flipped bit the CRC covers."""
    data = bytearray(encode_png(make_image("RGB", 200, 100, 0, True), piece_bytes=4096))
    data[100] ^= 1  # inside the first IDAT's data
    with pytest.raises((SyntaxError, OSError)):
        decode(bytes(data))


@pytest.mark.parametrize("workers", [1, None])
def test_large_image_round_trips_with_default_pieces(workers: int | None) -> None:
    image = photo_like(1024, 768)  # 2.3 MB raw: four pieces at the default size
    with no_fallback():
        data = encode_png(image, workers=workers)
    back = decode(data)
    assert (back.mode, back.size) == ("RGB", (1024, 768))
    assert back.tobytes() == image.tobytes()


def test_output_does_not_depend_on_the_number_of_threads() -> None:
    image = make_image("RGB", 160, 120, seed=5, smooth=True)
    outputs = {encode_png(image, workers=w, piece_bytes=3000) for w in (1, 2, 7)}
    assert len(outputs) == 1


def test_pieces_run_on_pool_threads_and_workers_1_stays_on_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[int, str]] = []
    real = png._encode_piece

    def spy(image: Image.Image, bpp: int, top: int, bottom: int, last: bool) -> png._Piece:
        seen.append((top, threading.current_thread().name))
        time.sleep(0.002)  # long enough for the pool's threads to take pieces too
        return real(image, bpp, top, bottom, last)

    monkeypatch.setattr(png, "_encode_piece", spy)
    image = make_image("RGB", 100, 40, seed=2, smooth=True)
    caller = threading.current_thread().name

    assert decode(encode_png(image, workers=1, piece_bytes=300)).tobytes() == image.tobytes()
    assert sorted(top for top, _ in seen) == list(range(40))  # every row its own piece, once
    assert {name for _, name in seen} == {caller}

    seen.clear()
    assert decode(encode_png(image, workers=3, piece_bytes=300)).tobytes() == image.tobytes()
    assert sorted(top for top, _ in seen) == list(range(40))
    helpers = {name for _, name in seen} - {caller}
    assert helpers and all(name.startswith("png") for name in helpers)
    assert png._shared_pool() is png._shared_pool()


def test_a_call_finishes_while_other_work_holds_every_pool_thread() -> None:
    pool = png._shared_pool()
    release = threading.Event()
    blockers = [pool.submit(release.wait) for _ in range(os.cpu_count() or 1)]  # its size
    image = make_image("RGB", 100, 40, seed=4, smooth=True)
    done: list[bytes] = []
    try:
        caller = threading.Thread(target=lambda: done.append(encode_png(image, piece_bytes=300)))
        caller.start()
        caller.join(timeout=30)  # the calling thread encodes every piece itself
        assert done and decode(done[0]).tobytes() == image.tobytes()
    finally:
        release.set()
        for blocker in blockers:
            blocker.result()


def test_an_error_in_a_piece_fails_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    real = png._encode_piece

    def failing(image: Image.Image, bpp: int, top: int, bottom: int, last: bool) -> png._Piece:
        if top == 30:
            raise MemoryError("piece 30")
        return real(image, bpp, top, bottom, last)

    monkeypatch.setattr(png, "_encode_piece", failing)
    image = make_image("RGB", 100, 40, seed=2, smooth=True)
    for workers in (1, 4):
        with pytest.raises(MemoryError, match="piece 30"):
            encode_png(image, workers=workers, piece_bytes=300)


def test_concurrent_calls_each_get_their_own_image() -> None:
    images = [make_image(MODES[k % 3], 90 + k, 70, seed=k, smooth=k % 2 == 0) for k in range(12)]

    def encode(image: Image.Image) -> bytes:
        return encode_png(image, piece_bytes=2000)

    with ThreadPoolExecutor(max_workers=6) as callers:
        results = list(callers.map(encode, images * 3))
    for image, data in zip(images * 3, results, strict=True):
        back = decode(data)
        assert (back.mode, back.size) == (image.mode, image.size)
        assert back.tobytes() == image.tobytes()


def image_in(mode: str) -> Image.Image:
    base = Image.effect_noise((640, 480), 40)
    if mode == "P":
        return base.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE)
    if mode == "I;16":
        return Image.fromarray(np.asarray(base).astype(np.uint16) * 257)
    return base.convert(mode)


@pytest.mark.parametrize("mode", ["P", "LA", "1", "I;16"])
def test_other_modes_are_exactly_pillows_output(mode: str) -> None:
    image = image_in(mode)
    assert image.mode == mode
    data = encode_png(image)
    assert data == pillow_png(image)
    back = decode(data)
    assert back.size == image.size and back.tobytes() == decode(pillow_png(image)).tobytes()


@pytest.mark.parametrize("mode", ["CMYK", "F", "I"])
def test_modes_pillow_cannot_write_fail_as_before(mode: str) -> None:
    image = image_in(mode)
    with pytest.raises(OSError):
        pillow_png(image)
    with pytest.raises(OSError):
        encode_png(image)


def test_small_images_and_icc_profiles_go_to_pillow() -> None:
    small = make_image("RGB", 400, 400, seed=0, smooth=True)  # 480 KB: under one piece
    assert encode_png(small) == pillow_png(small)
    tagged = photo_like(700, 700)
    tagged.info["icc_profile"] = b"not really a profile, kept verbatim"
    data = encode_png(tagged)
    assert data == pillow_png(tagged)
    assert b"iCCP" in data
    untagged = photo_like(700, 700)
    assert encode_png(untagged) != pillow_png(untagged)  # the parallel path, for contrast


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("photo-like", lambda: photo_like(1024, 1024)),
        ("noise", lambda: noise(1024, 1024)),
        ("flat", lambda: flat(1024, 1024)),
        ("photo-like grey", lambda: photo_like(1024, 1024).convert("L")),
    ],
)
def test_files_are_about_as_small_as_pillows(name: str, make: Callable[[], Image.Image]) -> None:
    image = make()
    with no_fallback():
        ours = len(encode_png(image))  # several pieces at the default size
    assert ours <= 1.05 * len(pillow_png(image)), name


def test_arguments_are_checked() -> None:
    image = photo_like(64, 64)
    with pytest.raises(ValueError):
        encode_png(image, workers=0)
    with pytest.raises(ValueError):
        encode_png(image, piece_bytes=0)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000), st.binary(max_size=3000))
def test_adler32_combine_matches_zlib(first: bytes, second: bytes) -> None:
    combined = png._adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second))
    assert combined == zlib.adler32(first + second)


def test_adler32_combine_with_sums_past_the_modulus() -> None:
    first, second = b"\xff" * 1_000_003, b"\xfe" * 777_777
    combined = png._adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second))
    assert combined == zlib.adler32(first + second)


@given(st.lists(st.binary(max_size=40), max_size=8), st.integers(1, 50))
def test_idat_chunks_carry_the_stream_in_full_chunks(segments: list[bytes], size: int) -> None:
    framed = b"".join(png._idat_chunks(segments, size))
    parsed = chunks(b"\x89PNG\r\n\x1a\n" + framed)
    assert b"".join(body for _, body, _ in parsed) == b"".join(segments)
    assert all(kind == b"IDAT" and zlib.crc32(kind + body) == crc for kind, body, crc in parsed)
    assert all(len(body) == size for _, body, _ in parsed[:-1])
    assert all(0 < len(body) <= size for _, body, _ in parsed)
