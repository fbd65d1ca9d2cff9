"""Tiny, randomly initialised pipelines of the real diffusers classes, built fully offline.

They keep the real *geometry* — the VAE has as many down blocks as the real one (x8), latents are
patchified 2x2, so a 2048x2048 request runs at 2048x2048 — but every width is a handful of
channels and the transformer has one block of each kind. Images are noise; shapes, seeds,
reference handling, progress and timings are real. Saved with `save_pretrained` and loaded back
through the same `from_pretrained(<dir>)` path as real weights.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# flux2-klein-kv: the klein variant whose checkpoints (FLUX.2-klein-9b-kv) are saved as a
# Flux2KleinKVPipeline, served by the flux2-klein backend
FAMILIES = ("flux2-klein", "flux2-klein-kv", "flux2-dev", "qwen-image")

# Written next to model_index.json so a second `make_tiny` into the same directory is a no-op.
_MARKER = "opendream_tiny.json"
_TINY_VERSION = 1

# The pipelines read these hidden-state layers of the text encoder by default; the tiny encoders
# are exactly deep enough to have them, so the engine calls the pipeline with its real defaults.
_KLEIN_TEXT_LAYERS = 28  # Flux2KleinPipeline reads hidden_states[9, 18, 27]
_DEV_TEXT_LAYERS = 31  # Flux2Pipeline reads hidden_states[10, 20, 30]
_TEXT_HIDDEN = 16


def make_tiny(directory: Path, family: str = "flux2-klein") -> Path:
    """Build (once) a tiny pipeline of `family` in `directory` and return the directory.

    Idempotent: when the directory already holds a complete tiny model of the same family and
    version it is left as is.
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
    directory = Path(directory)
    marker = directory / _MARKER
    if marker.is_file() and (directory / "model_index.json").is_file():
        try:
            existing = json.loads(marker.read_text())
        except ValueError:
            existing = {}
        if existing == {"family": family, "version": _TINY_VERSION}:
            return directory
    directory.mkdir(parents=True, exist_ok=True)
    builder = {
        "flux2-klein": _build_klein,
        "flux2-klein-kv": lambda d: _build_klein(d, kv=True),
        "flux2-dev": _build_dev,
        "qwen-image": _build_qwen_image,
    }[family]
    builder(directory)
    marker.write_text(json.dumps({"family": family, "version": _TINY_VERSION}))
    return directory


def _seeded(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


def _flux2_vae() -> Any:
    from diffusers import AutoencoderKLFlux2

    _seeded(1)
    # Four blocks like the real FLUX.2 VAE (x8); no mid-block attention, which would be
    # quadratic in the latent area and is the only part that does not scale to 4 MP cheaply.
    return AutoencoderKLFlux2(
        block_out_channels=(4, 4, 4, 4),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=2,
        sample_size=64,
        mid_block_add_attention=False,
    )


def _flux2_transformer(joint_attention_dim: int, *, guidance_embeds: bool) -> Any:
    from diffusers import Flux2Transformer2DModel

    _seeded(2)
    return Flux2Transformer2DModel(
        patch_size=1,
        in_channels=16,  # 4 latent channels x 2x2 patch
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=1,
        joint_attention_dim=joint_attention_dim,
        timestep_guidance_channels=32,
        mlp_ratio=2.0,
        axes_dims_rope=(4, 4, 4, 4),
        guidance_embeds=guidance_embeds,
    )


def _flux2_scheduler() -> Any:
    from diffusers import FlowMatchEulerDiscreteScheduler

    # Dynamic shifting as in the FLUX.2 checkpoints (the pipelines pass `mu`).
    return FlowMatchEulerDiscreteScheduler(
        num_train_timesteps=1000,
        shift=3.0,
        use_dynamic_shifting=True,
        base_shift=0.5,
        max_shift=1.15,
        base_image_seq_len=256,
        max_image_seq_len=4096,
    )


def _qwen3_text_encoder(vocab_size: int, *, pad: int, eos: int, layers: int) -> Any:
    from transformers import Qwen3Config, Qwen3ForCausalLM

    config = Qwen3Config(
        vocab_size=vocab_size,
        hidden_size=_TEXT_HIDDEN,
        intermediate_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=8,
        max_position_embeddings=8192,
        tie_word_embeddings=True,
        pad_token_id=pad,
        eos_token_id=eos,
        bos_token_id=None,
    )
    _seeded(3)
    return Qwen3ForCausalLM(config).eval()


def _build_klein(directory: Path, *, kv: bool = False) -> None:
    from diffusers import Flux2KleinKVPipeline, Flux2KleinPipeline

    from opendream.engine.tokenizer import build_qwen_tokenizer

    tokenizer = build_qwen_tokenizer()
    text_encoder = _qwen3_text_encoder(
        len(tokenizer),
        pad=tokenizer.pad_token_id,
        eos=tokenizer.eos_token_id,
        layers=_KLEIN_TEXT_LAYERS,
    )
    pipe = (Flux2KleinKVPipeline if kv else Flux2KleinPipeline)(
        scheduler=_flux2_scheduler(),
        vae=_flux2_vae(),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=_flux2_transformer(3 * _TEXT_HIDDEN, guidance_embeds=False),
        is_distilled=True,
    )
    pipe.save_pretrained(directory)


def _build_dev(directory: Path) -> None:
    # The real checkpoint's `tokenizer` slot holds a PixtralProcessor, which transformers only
    # constructs with torchvision installed. Flux2Pipeline uses that slot only through
    # `apply_chat_template` when encoding text, which the tokenizer alone provides, so the tiny
    # model stores the tokenizer there and runs without torchvision.
    from diffusers import Flux2Pipeline
    from transformers import Mistral3Config, Mistral3ForConditionalGeneration

    from opendream.engine.tokenizer import build_mistral_tokenizer

    tokenizer = build_mistral_tokenizer()
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in ("<s>", "</s>", "<pad>", "[IMG]")}
    config = Mistral3Config(
        text_config={
            "model_type": "mistral",
            "vocab_size": len(tokenizer),
            "hidden_size": _TEXT_HIDDEN,
            "intermediate_size": 32,
            "num_hidden_layers": _DEV_TEXT_LAYERS,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "head_dim": 8,
            "max_position_embeddings": 8192,
            "sliding_window": None,
            "bos_token_id": ids["<s>"],
            "eos_token_id": ids["</s>"],
            "pad_token_id": ids["<pad>"],
        },
        vision_config={
            "model_type": "pixtral",
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "head_dim": 8,
            "image_size": 1024,
            "patch_size": 16,
            "num_channels": 3,
        },
        image_token_index=ids["[IMG]"],
        spatial_merge_size=2,
        vision_feature_layer=-1,
        multimodal_projector_bias=False,
        projector_hidden_act="gelu",
    )
    _seeded(3)
    text_encoder = Mistral3ForConditionalGeneration(config).eval()
    pipe = Flux2Pipeline(
        scheduler=_flux2_scheduler(),
        vae=_flux2_vae(),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=_flux2_transformer(3 * _TEXT_HIDDEN, guidance_embeds=True),
    )
    pipe.save_pretrained(directory)


def _build_qwen_image(directory: Path) -> None:
    from opendream.engine.backends.qwen_image import build_tiny_qwen_image

    build_tiny_qwen_image(directory)
