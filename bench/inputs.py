"""4. Inputs: (a) ten references of ~10 MB served from loopback, fetched and validated by the
inputs layer, against a plain concurrent download of the same files; (b) the cost of validating
one image as its pixel count grows, against the smallest image (it must stay flat: the checks
read headers and walk chunks, they never decode pixels)."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

from PIL import Image

from bench.context import BenchContext
from bench.images import flat, jpeg_bytes, noise, pad_jpeg, pad_png, png_bytes
from bench.loopback import StaticServer
from bench.report import Figure, Series, SuiteResult, Target
from bench.stats import summarize
from bench.timing import time_calls

MIB = 1024 * 1024
FLAT_TARGET = Target("ratio", "<=", 2.0, "flat: <= 2x the smallest")


def run(ctx: BenchContext) -> SuiteResult:
    result = SuiteResult("inputs", "inputs: fetching and validating references")
    _fetch_and_validate(ctx, result)
    _validation_curve(ctx, result)
    return result


# (a) ------------------------------------------------------------------------------------------


def _fetch_and_validate(ctx: BenchContext, result: SuiteResult) -> None:
    from opendream.catalog.models import EDIT, MODELS
    from opendream.inputs.loader import load_images
    from opendream.inputs.rules import rules_from_schema
    from opendream.inputs.types import FetchPolicy

    count = ctx.pick(3, 10)
    target_bytes = ctx.pick(1 * MIB, 10 * MIB - 64 * 1024)  # just under the schemas' 10 MB cap
    rounds = ctx.pick(2, 8)
    rules = rules_from_schema(MODELS[EDIT].input_schema["properties"]["images"]["validations"])
    policy = FetchPolicy(allow_http=True, allow_list=("127.0.0.0/8",), deadline_s=120.0)

    directory = ctx.scratch("refs")
    sizes = [
        _write_reference(directory / f"ref{i}.png", target_bytes, seed=i) for i in range(count)
    ]
    result.params.update(references=count, reference_mb=round(sum(sizes) / len(sizes) / 1e6, 2))

    with StaticServer(directory) as server:
        urls = [f"{server.base_url}/ref{i}.png" for i in range(count)]

        async def loader() -> None:
            images = await load_images(urls, rules, policy)
            assert len(images) == count

        async def plain() -> None:
            bodies = await asyncio.gather(
                *(_raw_get(server.port, f"/ref{i}.png") for i in range(count))
            )
            assert all(
                b.startswith(b"HTTP/1.0 200") and len(b) > size
                for b, size in zip(bodies, sizes, strict=True)
            )

        loaded = _time_async(loader, rounds)
        baseline = _time_async(plain, rounds)

    a = summarize(loaded).scaled(1000)
    b = summarize(baseline).scaled(1000)
    total_mb = sum(sizes) / 1e6
    result.figures.append(
        Figure(
            name=f"{count} refs fetched + validated",
            unit="ms",
            value=a.p50,
            p99=a.p99,
            n=a.n,
            baseline_name="bare socket download, no checks",
            baseline_value=b.p50,
            baseline_p99=b.p99,
            notes=f"{total_mb:.0f} MB in all; {total_mb / (a.p50 / 1000):.0f} MB/s",
        )
    )
    ctx.log(f"inputs: {count} refs {a.p50:.0f} ms (plain download {b.p50:.0f} ms)")


async def _raw_get(port: int, path: str) -> bytes:
    """The least a download can do: one HTTP/1.0 GET on a fresh connection, read to EOF."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    chunks = []
    while chunk := await reader.read(1 << 20):
        chunks.append(chunk)
    writer.close()
    await writer.wait_closed()
    return b"".join(chunks)


def _write_reference(path: Path, target_bytes: int, seed: int) -> int:
    """A stored (level 0) PNG of noise whose file size is just under `target_bytes`."""
    side = int(((target_bytes - 4096) / 3) ** 0.5)
    data = png_bytes(noise(side, side, seed=seed), compress_level=0)
    while len(data) >= target_bytes:
        side -= 8
        data = png_bytes(noise(side, side, seed=seed), compress_level=0)
    path.write_bytes(data)
    return len(data)


def _time_async(fn, rounds: int) -> list[float]:  # type: ignore[no-untyped-def]
    async def main() -> list[float]:
        await fn()  # warm-up: connections, imports
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            await fn()
            samples.append(time.perf_counter() - start)
        return samples

    return asyncio.run(main())


# (b) ------------------------------------------------------------------------------------------


def _validation_curve(ctx: BenchContext, result: SuiteResult) -> None:
    from opendream.catalog.models import EDIT, MODELS
    from opendream.inputs.rules import Measurements, check_rules, rules_from_schema
    from opendream.inputs.sniff import inspect_image

    rules = rules_from_schema(MODELS[EDIT].input_schema["properties"]["images"]["validations"])
    sides = ctx.pick([256, 512, 1024], [512, 1024, 2048, 4096, 8192])
    decode_up_to = ctx.pick(512, 4096)  # a full decode of 64 MP costs seconds per sample
    n = ctx.pick(20, 200)

    def validate(data: bytes) -> None:
        image = inspect_image(data)
        assert not check_rules(Measurements(len(data), image.width, image.height), rules)

    def decode(data: bytes) -> None:
        with Image.open(io.BytesIO(data)) as im:
            im.load()

    # Every file of one format is padded to the same size, so the curve isolates the pixel
    # count: reading bytes (CRCs, marker scans) is linear in the file size, which the schemas
    # cap at 10 MB, and is measured in (a).
    files: dict[str, list[tuple[float, bytes]]] = {"png": [], "jpeg": []}
    for side in sides:
        image = flat(side, side)
        mp = side * side / 1e6
        files["png"].append((mp, png_bytes(image, compress_level=9)))
        files["jpeg"].append((mp, jpeg_bytes(image)))
        del image
    padded: dict[str, list[tuple[float, bytes]]] = {}
    for fmt, entries in files.items():
        size = max(len(d) for _, d in entries) + 1024
        pad = pad_png if fmt == "png" else pad_jpeg
        padded[fmt] = [(mp, pad(d, size)) for mp, d in entries]
        result.params[f"{fmt}_file_bytes"] = size

    curves: dict[str, list[tuple[float, float]]] = {
        "png": [],
        "jpeg": [],
        "Pillow full decode (png)": [],
    }
    for fmt, entries in padded.items():
        for mp, data in entries:
            s = summarize(time_calls(lambda data=data: validate(data), n)).scaled(1e6)
            curves[fmt].append((mp, s.p50))
            if fmt == "png" and mp <= decode_up_to**2 / 1e6:
                d = summarize(time_calls(lambda data=data: decode(data), ctx.pick(2, 5))).scaled(
                    1e6
                )
                curves["Pillow full decode (png)"].append((mp, d.p50))
    for fmt in ("png", "jpeg"):
        smallest_mp, smallest = curves[fmt][0]
        for mp, us in curves[fmt][1:]:
            result.figures.append(
                Figure(
                    name=f"validate {fmt} {mp:.3g} MP",
                    unit="µs",
                    value=us,
                    baseline_name=f"validate {fmt} {smallest_mp:.3g} MP",
                    baseline_value=smallest,
                    n=n,
                    target=FLAT_TARGET,
                )
            )
    for name, points in curves.items():
        if points:
            result.series.append(Series(name, "megapixels", "µs per image (p50)", points))
    result.params.update(validation_sides=sides)
    result.notes.append(
        "Validation = inspect_image (magic bytes, header, PNG chunk walk with CRCs, JPEG scan "
        "markers, EXIF orientation) + the schema's rules, on flat-colour images padded to one file "
        "size per format (a private PNG chunk, CRC-checked like the rest; a trailer after the "
        "JPEG's end marker), so only the pixel count grows. Byte-level checks are linear in the "
        "file size, which the schemas cap at 10 MB; (a) measures that case. The Pillow "
        "full-decode curve is for contrast: what judging an image by decoding it would cost."
    )
