"""5. Output encoding: png / jpeg / webp at 2048x2048 and 4096x4096, with the worker's own
encoder (PNG: `opendream.worker.png`, deflate on every core), against copying the raw pixels
out of the image (the least any encoder must do)."""

from __future__ import annotations

import io

from bench.context import BenchContext
from bench.images import photo_like
from bench.report import Figure, SuiteResult
from bench.stats import summarize
from bench.timing import time_calls


def run(ctx: BenchContext) -> SuiteResult:
    from opendream.worker.encode import encode_image

    sizes = ctx.pick([256, 512], [2048, 4096])
    result = SuiteResult("encoding", "output encoding: png / jpeg / webp", params={"sizes": sizes})
    for side in sizes:
        image = photo_like(side, side)
        n = ctx.pick(2, 5 if side <= 2048 else 3)
        raw = summarize(time_calls(image.tobytes, n)).scaled(1000)
        cases = [
            (fmt, lambda fmt=fmt, image=image: encode_image(image, fmt))
            for fmt in ("png", "jpeg", "webp")
        ]
        # For contrast: the same deflate level on one thread (Pillow's encoder, what the worker
        # used before its parallel one) and, why the worker uses level 1, Pillow's default.
        cases.append(("png level 1, Pillow, one thread", lambda image=image: _pillow_png(image, 1)))
        if not ctx.quick:
            cases.append(("png level 6 (Pillow default)", lambda image=image: _pillow_png(image)))
        for name, fn in cases:
            size_mb = len(fn()) / 1e6
            s = summarize(time_calls(fn, n, warmup=0)).scaled(1000)
            result.figures.append(
                Figure(
                    name=f"{name} {side}x{side}",
                    unit="ms",
                    value=s.p50,
                    p99=s.p99,
                    n=s.n,
                    baseline_name="raw pixel copy",
                    baseline_value=raw.p50,
                    baseline_p99=raw.p99,
                    notes=f"{size_mb:.2f} MB",
                )
            )
        ctx.log(
            f"encoding {side}: "
            + ", ".join(f"{f.name} {f.value:.0f} ms" for f in result.figures[-len(cases) :])
        )
    result.notes.append(
        "Photo-like synthetic content (smooth gradients + sensor-like noise); output size in "
        "each row's notes. "
        "The ratio is the encoder's cost in units of copying the raw pixels once."
    )
    return result


def _pillow_png(image, level: int = 6) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=level)
    return buf.getvalue()
