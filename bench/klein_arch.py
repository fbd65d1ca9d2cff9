"""FLUX.2 [klein] pipelines at their real architecture sizes (or the tiny test size) with random
weights, built in memory: speed does not depend on the weights' values, so nothing is
downloaded. The architecture numbers are those of the published checkpoints' config files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Shared by both published sizes (transformer/config.json of FLUX.2-klein-4B / -9B).
_KLEIN_TRANSFORMER = {
    "patch_size": 1,
    "in_channels": 128,
    "attention_head_dim": 128,
    "timestep_guidance_channels": 256,
    "mlp_ratio": 3.0,
    "axes_dims_rope": (32, 32, 32, 32),
    "rope_theta": 2000,
    "eps": 1e-6,
    "guidance_embeds": False,
}
# Qwen3-4B / Qwen3-8B, the text encoders of klein 4B / 9B.
_QWEN3 = {
    "vocab_size": 151936,
    "num_hidden_layers": 36,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "max_position_embeddings": 40960,
    "rope_theta": 1000000,
    "rms_norm_eps": 1e-6,
}


@dataclass(frozen=True)
class KleinArch:
    name: str
    transformer: dict[str, Any]
    text_encoder: dict[str, Any]
    vae: dict[str, Any] = field(default_factory=dict)  # {} = AutoencoderKLFlux2's defaults (real)


ARCHS: dict[str, KleinArch] = {
    "4B": KleinArch(
        "klein-4B",
        {
            **_KLEIN_TRANSFORMER,
            "num_layers": 5,
            "num_single_layers": 20,
            "num_attention_heads": 24,
            "joint_attention_dim": 3 * 2560,
        },
        {**_QWEN3, "hidden_size": 2560, "intermediate_size": 9728, "tie_word_embeddings": True},
    ),
    "9B": KleinArch(
        "klein-9B",
        {
            **_KLEIN_TRANSFORMER,
            "num_layers": 8,
            "num_single_layers": 24,
            "num_attention_heads": 32,
            "joint_attention_dim": 3 * 4096,
        },
        {**_QWEN3, "hidden_size": 4096, "intermediate_size": 12288, "tie_word_embeddings": False},
    ),
    # The geometry of `opendream.engine.tiny` (x8 VAE, 2x2 patches, 28 text layers): runs on CPU.
    "tiny": KleinArch(
        "klein-tiny",
        {
            "patch_size": 1,
            "in_channels": 16,
            "num_layers": 1,
            "num_single_layers": 1,
            "attention_head_dim": 16,
            "num_attention_heads": 1,
            "joint_attention_dim": 48,
            "timestep_guidance_channels": 32,
            "mlp_ratio": 2.0,
            "axes_dims_rope": (4, 4, 4, 4),
            "guidance_embeds": False,
        },
        {
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 28,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "head_dim": 8,
            "max_position_embeddings": 8192,
            "tie_word_embeddings": True,
        },
        {
            "block_out_channels": (4, 4, 4, 4),
            "layers_per_block": 1,
            "latent_channels": 4,
            "norm_num_groups": 2,
            "sample_size": 64,
            "mid_block_add_attention": False,
        },
    ),
}


def build_pipeline(arch: KleinArch, device: str, dtype: Any, *, seed: int = 0) -> Any:
    """A `Flux2KleinPipeline` of `arch` with random weights, created directly on `device` in
    `dtype` (a 4B model is initialised on the GPU in seconds; nothing touches the disk)."""
    import torch
    from diffusers import (
        AutoencoderKLFlux2,
        FlowMatchEulerDiscreteScheduler,
        Flux2KleinPipeline,
        Flux2Transformer2DModel,
    )
    from transformers import Qwen3Config, Qwen3ForCausalLM

    from opendream.engine.tokenizer import build_qwen_tokenizer

    tokenizer = build_qwen_tokenizer()
    text_config = dict(arch.text_encoder)
    text_config.setdefault("vocab_size", len(tokenizer))
    torch.manual_seed(seed)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            transformer = Flux2Transformer2DModel(**arch.transformer)
            vae = AutoencoderKLFlux2(**arch.vae)
            text_encoder = Qwen3ForCausalLM(
                Qwen3Config(
                    **text_config,
                    pad_token_id=tokenizer.pad_token_id,
                    eos_token_id=tokenizer.eos_token_id,
                    bos_token_id=None,
                )
            ).eval()
    finally:
        torch.set_default_dtype(previous)
    scheduler = FlowMatchEulerDiscreteScheduler(
        num_train_timesteps=1000,
        shift=3.0,
        use_dynamic_shifting=True,
        base_shift=0.5,
        max_shift=1.15,
        base_image_seq_len=256,
        max_image_seq_len=4096,
    )
    pipe = Flux2KleinPipeline(
        scheduler=scheduler,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
        is_distilled=True,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def parameter_count(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())


def save_pipeline(pipe: Any, directory: Path) -> Path:
    """For the service suites on a GPU: the random-weight pipeline as a model directory."""
    directory.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(directory)
    return directory
