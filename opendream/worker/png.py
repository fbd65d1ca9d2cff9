"""Parallel PNG encoder (pigz-style) for the worker's large outputs.

Pillow's encoder filters and deflates on one thread: a quarter to half a second for a
2048x2048 RGB image, one to two seconds at 4096x4096, about what the GPU takes to make it,
while the machine's other cores idle. Here the image is cut into horizontal pieces; each piece
is filtered with numpy and deflated by its own `zlib.compressobj` on a pool thread (numpy and
zlib release the GIL on large buffers). Every piece but the last ends in a sync flush, which
byte-aligns it and leaves its final block open, so the concatenated pieces form one valid
deflate stream. No piece refers back into another; starting each with an empty window costs
about 0.1 % of its size.

Scanline filtering copies Pillow's (and libpng's) heuristic: per row, all five PNG filters are
computed and the one whose output bytes, read as signed, have the smallest sum of absolute
values wins. On photographs that is mostly Paeth, on smooth synthetic gradients Average, on
screenshots and line art None or Sub; each fixed filter is 5 % larger or worse on one of those.
The heuristic costs a fifth of what deflate does, and files come out the size Pillow's are.

Piece boundaries depend on the image and `piece_bytes` only, never on the number of threads:
the same image gives the same bytes on any machine.
"""

from __future__ import annotations

import io
import os
import struct
import threading
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import NamedTuple, cast

import numpy as np
import numpy.typing as npt
from PIL import Image

# Raw bytes per piece, at least. Each piece costs a deflate restart (~0.1 % of its size at
# this length) and a little Python; 512 KiB keeps both negligible while a 2048x2048 RGB image
# still splits 24 ways and a 4096x4096 one 96 ways, which also balances threads on uneven
# content (sky compresses faster than foliage).
PIECE_BYTES = 512 * 1024

# Working set of one filtering step: small enough that the candidates stay in cache while
# they are compared, large enough that per-call numpy overhead (held under the GIL) is small.
_BLOCK_BYTES = 256 * 1024

# Large enough that per-chunk overhead is nil, small enough for streaming decoders.
_IDAT_CHUNK = 256 * 1024

# Deflate settings of Pillow's compress_level=1 (memLevel 9 as in Pillow's encoder): higher
# levels cost several times the time for a few percent of size on photographic content.
_LEVEL = 1
_MEM_LEVEL = 9

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# zlib header for a 32 KiB window and "fastest" level; the pair must be a multiple of 31.
_ZLIB_HEADER = b"\x78\x01"
_ADLER_BASE = 65521


class _Format(NamedTuple):
    bytes_per_pixel: int
    colour_type: int


_FORMATS: dict[str, _Format] = {"L": _Format(1, 0), "RGB": _Format(3, 2), "RGBA": _Format(4, 6)}

# Info keys Pillow's PNG writer turns into chunks (iCCP, tRNS): such images go to Pillow so
# colour management and transparency keys survive.
_PILLOW_INFO_KEYS = ("icc_profile", "transparency")

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def encode_png(
    image: Image.Image, *, workers: int | None = None, piece_bytes: int = PIECE_BYTES
) -> bytes:
    """`image` as PNG bytes, pixel for pixel what Pillow's encoder writes, using up to
    `workers` threads (default: one per CPU).

    8-bit L, RGB and RGBA images of at least `piece_bytes` raw bytes take the parallel path;
    anything else (other modes, ICC profiles, transparency keys, small images) is Pillow's own
    `compress_level=1` output, as before.
    """
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 1 or piece_bytes < 1:
        raise ValueError(f"workers and piece_bytes must be positive: {workers}, {piece_bytes}")
    fmt = _FORMATS.get(image.mode)
    width, height = image.size
    if (
        fmt is None
        or any(key in image.info for key in _PILLOW_INFO_KEYS)
        or width * height * fmt.bytes_per_pixel < piece_bytes
    ):
        return _pillow_png(image)
    image.load()  # a lazily opened file must not be read by several threads at once
    row_bytes = width * fmt.bytes_per_pixel
    n_pieces = min(height, height * row_bytes // piece_bytes)
    bounds = [height * k // n_pieces for k in range(n_pieces + 1)]
    pieces = _run_pieces(image, fmt.bytes_per_pixel, bounds, workers)

    adler = 1
    for piece in pieces:
        adler = _adler32_combine(adler, piece.adler, piece.raw_length)
    stream = [_ZLIB_HEADER, *(piece.deflated for piece in pieces), struct.pack(">I", adler)]
    ihdr = struct.pack(">IIBBBBB", width, height, 8, fmt.colour_type, 0, 0, 0)
    parts: list[bytes | memoryview] = [_SIGNATURE, *_chunk(b"IHDR", ihdr)]
    parts += _idat_chunks(stream, _IDAT_CHUNK)
    parts += _chunk(b"IEND", b"")
    return b"".join(parts)


def _pillow_png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


class _Piece(NamedTuple):
    deflated: bytes
    adler: int  # of the filtered bytes
    raw_length: int  # filtered bytes, filter-type bytes included


def _run_pieces(image: Image.Image, bpp: int, bounds: list[int], workers: int) -> list[_Piece]:
    """Encodes pieces [bounds[k], bounds[k+1]) by runners that pull from a shared queue.

    The calling thread is one of the runners and pool threads only help: a call makes progress
    even while other calls keep the pool busy, and `workers=1` never touches the pool.
    """
    n = len(bounds) - 1
    todo = deque(range(n))
    results: list[_Piece | None] = [None] * n

    def runner() -> None:
        while True:
            try:
                k = todo.popleft()  # deque.popleft is atomic: each piece is taken once
            except IndexError:
                return
            try:
                results[k] = _encode_piece(image, bpp, bounds[k], bounds[k + 1], k == n - 1)
            except BaseException:
                todo.clear()  # the call fails: spare the other runners the rest
                raise

    helpers: list[Future[None]] = []
    if min(workers, n) > 1:
        pool = _shared_pool()
        helpers = [pool.submit(runner) for _ in range(min(workers, n) - 1)]
    try:
        runner()
    finally:
        # Helpers still queued behind other calls' work would find nothing left to do: drop
        # them (wait() would block on those until a pool thread dequeued them). Started ones
        # may still be reading the image: wait for those.
        started = [helper for helper in helpers if not helper.cancel()]
        wait(started)
    for helper in started:
        helper.result()  # re-raises a helper's error
    return cast(list[_Piece], results)


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="png")
        return _pool


def _encode_piece(image: Image.Image, bpp: int, top: int, bottom: int, last: bool) -> _Piece:
    width = image.width
    row_bytes = width * bpp
    # One row more above the piece: Up, Average and Paeth predict from it.
    first = max(top - 1, 0)
    raw = np.frombuffer(image.crop((0, first, width, bottom)).tobytes(), dtype=np.uint8)
    raw = raw.reshape(bottom - first, row_bytes)
    if top > 0:
        prev, rows = raw[0], raw[1:]
    else:
        prev, rows = np.zeros(row_bytes, dtype=np.uint8), raw
    filtered = _filter_rows(rows, prev, bpp)
    compressor = zlib.compressobj(_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS, _MEM_LEVEL)
    # Raw deflate (negative wbits): the one zlib header and trailer wrap all pieces.
    deflated = compressor.compress(filtered)
    deflated += compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
    return _Piece(deflated, zlib.adler32(filtered), filtered.nbytes)


def _filter_rows(
    rows: npt.NDArray[np.uint8], prev: npt.NDArray[np.uint8], bpp: int
) -> npt.NDArray[np.uint8]:
    """PNG scanlines for `rows` (each prefixed by its filter type), `prev` being the row above
    (zeros at the top of the image). Per row, the filter with the least sum of absolute
    signed output bytes wins, ties to the lower type, as in libpng and Pillow."""
    height, row_bytes = rows.shape
    out = np.empty((height, row_bytes + 1), dtype=np.uint8)
    block = max(1, min(height, _BLOCK_BYTES // row_bytes))
    rest = row_bytes - bpp  # bytes that have a left neighbour
    # Candidates 0-4 (None, Sub, Up, Average, Paeth) side by side, reused block after block.
    cand = np.empty((5, block, row_bytes), dtype=np.uint8)
    mag = np.empty_like(cand)
    wide = np.empty((4, block, rest), dtype=np.int16)
    masks = np.empty((2, block, rest), dtype=np.uint8)
    row_index = np.arange(block)
    for i in range(0, height, block):
        j = min(height, i + block)
        n = j - i
        x = rows[i:j]
        up = rows[i - 1 : j - 1] if i else np.concatenate([prev[None], rows[: j - 1]])
        c = cand[:, :n]
        # For the first pixel of a row left and upper-left are 0: Sub and Average reduce to
        # simple cases and Paeth to Up.
        left, above, corner = x[:, :-bpp], up[:, bpp:], up[:, :-bpp]
        xr = x[:, bpp:]

        c[0] = x
        c[1, :, :bpp] = x[:, :bpp]
        np.subtract(xr, left, out=c[1, :, bpp:])
        np.subtract(x, up, out=c[2])

        # floor((left + above) / 2) in uint8 without widening.
        avg = c[3, :, bpp:]
        np.bitwise_xor(left, above, out=avg)
        np.right_shift(avg, 1, out=avg)
        avg += left & above
        np.subtract(xr, avg, out=avg)
        np.right_shift(up[:, :bpp], 1, out=c[3, :, :bpp])
        np.subtract(x[:, :bpp], c[3, :, :bpp], out=c[3, :, :bpp])

        # Paeth: with p = left + above - corner, the distances are |above - corner|,
        # |left - corner| and |their sum|; ties go to left, then above.
        pa, pb, pc, low = wide[0, :n], wide[1, :n], wide[2, :n], wide[3, :n]
        low[...] = corner
        np.subtract(above, low, out=pa)
        np.subtract(left, low, out=pb)
        np.add(pa, pb, out=pc)
        np.abs(pa, out=pa)
        np.abs(pb, out=pb)
        np.abs(pc, out=pc)
        np.minimum(pa, pb, out=low)
        np.minimum(low, pc, out=low)
        # Selection by bit masks (0x00/0xFF): np.where and np.copyto(where=) are ~10x slower.
        take_left, take_above = masks[0, :n], masks[1, :n]
        np.equal(low, pa, out=take_left.view(np.bool_))
        np.equal(low, pb, out=take_above.view(np.bool_))
        np.negative(take_left, out=take_left)
        np.negative(take_above, out=take_above)
        pred = c[4, :, bpp:]
        np.bitwise_xor(corner, above, out=pred)
        pred &= take_above
        pred ^= corner
        np.bitwise_xor(pred, left, out=take_above)
        take_above &= take_left
        pred ^= take_above
        np.subtract(xr, pred, out=pred)
        np.subtract(x[:, :bpp], up[:, :bpp], out=c[4, :, :bpp])

        # |signed byte|: abs over int8 maps -128 to -128, which reads back as 128 unsigned.
        m = mag[:, :n]
        np.abs(c.view(np.int8), out=m.view(np.int8))
        best = m.sum(axis=2, dtype=np.uint32).argmin(axis=0)
        out[i:j, 0] = best
        out[i:j, 1:] = c[best, row_index[:n]]
    return out


def _adler32_combine(first: int, second: int, second_length: int) -> int:
    """Adler-32 of A + B from those of A and B (zlib's adler32_combine, which Python lacks):
    B's running sums all start higher by A's byte sum."""
    a1, b1 = first & 0xFFFF, first >> 16
    a2, b2 = second & 0xFFFF, second >> 16
    a = (a1 + a2 - 1) % _ADLER_BASE
    b = (b1 + b2 + second_length * (a1 - 1)) % _ADLER_BASE
    return (b << 16) | a


def _chunk(kind: bytes, data: bytes) -> list[bytes | memoryview]:
    return [struct.pack(">I", len(data)) + kind, data, struct.pack(">I", zlib.crc32(kind + data))]


def _idat_chunks(stream: list[bytes], size: int) -> list[bytes | memoryview]:
    """The concatenated `stream` as IDAT chunks of `size` bytes (the last may be shorter),
    framed without joining the stream first: a chunk's CRC is chained over its parts."""
    out: list[bytes | memoryview] = []
    parts: list[memoryview] = []
    filled = 0
    crc = zlib.crc32(b"IDAT")

    def close() -> None:
        nonlocal parts, filled, crc
        out.append(struct.pack(">I", filled) + b"IDAT")
        out.extend(parts)
        out.append(struct.pack(">I", crc))
        parts, filled, crc = [], 0, zlib.crc32(b"IDAT")

    for segment in stream:
        view = memoryview(segment)
        while view:
            take = view[: size - filled]
            parts.append(take)
            crc = zlib.crc32(take, crc)
            filled += len(take)
            view = view[len(take) :]
            if filled == size:
                close()
    if filled:
        close()
    return out
