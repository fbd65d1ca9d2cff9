"""What every benchmark is handed: the run's options, a scratch directory, and shared helpers."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

DEFAULT_CACHE = Path(tempfile.gettempdir()) / "opendream-bench-cache"


@dataclass
class BenchContext:
    quick: bool
    out_dir: Path
    work_dir: Path  # scratch, removed after the run
    device: str = "cpu"
    # Tiny pipelines instead of the real architecture sizes: always on CPU, optional on CUDA.
    tiny: bool = True
    model_dir: Path | None = None  # real weights for the service suites on a GPU
    cache_dir: Path = DEFAULT_CACHE
    gpu_models: list[str] | None = None  # gpu suite: "4B", "9B", "tiny"
    gpu_sizes: list[int] | None = None
    threads: int | None = None  # torch/OpenMP threads of this process and the servers it starts
    echo: Callable[[str], None] = field(default=lambda msg: print(msg, file=sys.stderr, flush=True))

    def pick(self, quick: T, full: T) -> T:
        return quick if self.quick else full

    def log(self, msg: str) -> None:
        self.echo(f"[bench {time.strftime('%H:%M:%S')}] {msg}")

    def tiny_model_dir(self, family: str = "flux2-klein") -> Path:
        """The tiny offline pipeline, built once into the cache directory and reused by later
        runs (make_tiny is a no-op on a complete directory)."""
        from opendream.engine.tiny import make_tiny

        return make_tiny(self.cache_dir / f"tiny-{family}", family=family)

    def service_env(self) -> dict[str, str]:
        """Environment for an `opendream serve` child: the device (threads are inherited)."""
        return {"OPENDREAM_DEVICE": self.device}

    def scratch(self, name: str) -> Path:
        path = self.work_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path
