"""Placement and the speed options a GPU user expects, applied to a loaded pipeline.

Each option is applied the way diffusers intends (repeated-block compilation, the attention
dispatcher, model CPU offload, VAE tiling) and what was actually applied is returned, so the
engine can report it instead of silently ignoring a flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opendream.engine.devices import device_kind
from opendream.engine.errors import EngineLoadError


@dataclass(frozen=True)
class SpeedOptions:
    device: str = "cpu"
    compile: bool = False
    attention_backend: str | None = None
    cpu_offload: bool = False
    vae_tiling: bool = False


def place_and_tune(pipe: Any, options: SpeedOptions) -> dict[str, Any]:
    """Move `pipe` to the device (or set up CPU offload) and apply the options. Returns a
    JSON-able record of what was applied."""
    applied: dict[str, Any] = {"device": options.device}
    transformer = getattr(pipe, "transformer", None)

    if options.attention_backend:
        if transformer is None or not hasattr(transformer, "set_attention_backend"):
            raise EngineLoadError("attention_backend is set but this pipeline has no transformer")
        try:
            transformer.set_attention_backend(options.attention_backend)
        except (ValueError, RuntimeError, ImportError) as e:
            raise EngineLoadError(
                f"attention_backend {options.attention_backend!r} cannot be used: {e}"
            ) from None
        applied["attention_backend"] = options.attention_backend

    if options.cpu_offload and device_kind(options.device) != "cpu":
        # Offload keeps weights on the CPU and moves each model to the device for its turn;
        # the pipeline must not be moved with .to() first.
        try:
            pipe.enable_model_cpu_offload(device=options.device)
        except (ValueError, RuntimeError) as e:
            raise EngineLoadError(f"model CPU offload failed on {options.device}: {e}") from None
        applied["cpu_offload"] = True
    else:
        pipe.to(options.device)
        # On the CPU everything already lives in host memory: offload would only add hooks.
        applied["cpu_offload"] = False

    if options.vae_tiling:
        vae = getattr(pipe, "vae", None)
        if vae is None or not hasattr(vae, "enable_tiling"):
            raise EngineLoadError("vae_tiling is set but this pipeline's VAE does not support it")
        vae.enable_tiling()
        applied["vae_tiling"] = True

    if options.compile:
        if transformer is None:
            raise EngineLoadError("compile is set but this pipeline has no transformer")
        # The blocks repeat; compiling one block class compiles them all, in seconds rather
        # than the minutes a whole-model compile takes. Compilation itself happens on first use.
        if getattr(type(transformer), "_repeated_blocks", None):
            transformer.compile_repeated_blocks(fullgraph=True)
            applied["compile"] = "repeated_blocks"
        else:
            transformer.compile(fullgraph=True)
            applied["compile"] = "full"
    return applied
