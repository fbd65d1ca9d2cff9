"""Device and dtype names from configuration -> torch objects."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opendream.engine.errors import EngineLoadError

if TYPE_CHECKING:
    import torch

DTYPE_NAMES = ("bf16", "fp16", "fp32")


def resolve_dtype_name(device: str, dtype: str | None) -> str:
    """The configured dtype, or the sensible default: bf16 on an accelerator, fp32 on CPU (CPU
    half-precision kernels are slow and not bit-reproducible across machines)."""
    if dtype is None:
        return "fp32" if device_kind(device) == "cpu" else "bf16"
    if dtype not in DTYPE_NAMES:
        raise EngineLoadError(f"dtype must be one of {', '.join(DTYPE_NAMES)}, got {dtype!r}")
    return dtype


def torch_dtype(name: str) -> torch.dtype:
    import torch

    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[name]


def device_kind(device: str) -> str:
    return device.split(":", 1)[0].lower()


def check_device(device: str) -> None:
    import torch

    kind = device_kind(device)
    if kind == "cpu":
        return
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise EngineLoadError(
                f"device {device!r} was requested but this torch build has no CUDA device "
                f"available (torch {torch.__version__}); use --device cpu or install a CUDA build"
            )
        return
    if kind == "mps":
        if not torch.backends.mps.is_available():
            raise EngineLoadError(f"device {device!r} was requested but MPS is not available")
        return
    raise EngineLoadError(f"device must be cpu, cuda, cuda:N or mps, got {device!r}")
