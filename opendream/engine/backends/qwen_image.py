"""Qwen-Image: `QwenImagePipeline` for text-to-image, `QwenImageEditPlusPipeline` (Qwen-Image-Edit
2509/2511) when a call has references. Qwen2.5-VL text encoder, true CFG with a negative prompt.

The edit pipeline's Qwen2VLProcessor is only constructed by transformers with torchvision
installed, so the backend (and its tiny model) require torchvision and say so up front.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from opendream.engine.backends.base import Backend, PipelineCall
from opendream.engine.capabilities import BackendCapabilities
from opendream.engine.devices import check_device, resolve_dtype_name, torch_dtype
from opendream.engine.errors import EngineLoadError
from opendream.engine.loading import load_pipeline
from opendream.engine.speed import place_and_tune

if TYPE_CHECKING:
    from PIL import Image

    from opendream.engine.config import EngineConfig
    from opendream.engine.rewriter import ChatModel

# The edit checkpoint next to the text-to-image one, when edit_model_dir is not configured
# (this is also where `make_tiny(dir, "qwen-image")` puts it).
EDIT_SUBDIR = "edit"
# What Qwen-Image's own examples pass as the negative prompt when none is wanted: true CFG
# needs a negative branch, and an empty one tokenises to nothing.
NEGATIVE_PROMPT = " "


def torchvision_missing_message() -> str | None:
    if importlib.util.find_spec("torchvision") is not None:
        return None
    return (
        "qwen-image needs torchvision (its edit pipeline's Qwen2VLProcessor cannot be built "
        "without it), and torchvision is not installed; install the torchvision build that "
        "matches your torch, or use --backend flux2-klein"
    )


class QwenImageBackend(Backend):
    name: ClassVar[str] = "qwen-image"
    # Qwen-Image-Edit-Plus is trained for 1-3 input images.
    max_references: ClassVar[int] = 3
    # Native 1328x1328 (~1.76 MP) and its aspect-ratio siblings; larger sizes are upscaled.
    max_pixels: ClassVar[int] = 1328 * 1328
    min_pixels: ClassVar[int] = 256 * 256

    def __init__(
        self, t2i: Any, edit: Any, capabilities: BackendCapabilities, applied: dict[str, Any]
    ):
        super().__init__(capabilities, applied)
        self.t2i = t2i
        self.edit = edit

    @classmethod
    def load(cls, config: EngineConfig) -> QwenImageBackend:
        missing = torchvision_missing_message()
        if missing:
            raise EngineLoadError(missing)
        from diffusers import QwenImageEditPlusPipeline, QwenImagePipeline

        check_device(config.device)
        dtype = resolve_dtype_name(config.device, config.dtype)
        edit_dir = _edit_dir(config)
        t2i = load_pipeline(
            QwenImagePipeline, config.model_dir, ("QwenImagePipeline",), torch_dtype(dtype)
        )
        # Both checkpoints use the same Qwen2.5-VL encoder and VAE: load those once.
        edit = load_pipeline(
            QwenImageEditPlusPipeline,
            edit_dir,
            ("QwenImageEditPlusPipeline",),
            torch_dtype(dtype),
            text_encoder=t2i.text_encoder,
            vae=t2i.vae,
        )
        options = cls.speed_options(config)
        applied = place_and_tune(t2i, options)
        place_and_tune(edit, options)
        capabilities = BackendCapabilities(
            name=cls.name,
            max_references=cls.max_references,
            pixel_multiple=t2i.vae_scale_factor * 2,
            min_pixels=cls.min_pixels,
            max_pixels=cls.max_pixels,
            default_steps=40,
            default_guidance=4.0,
            dtype=dtype,
            can_generate_text=hasattr(t2i.text_encoder, "generate"),
        )
        return cls(t2i, edit, capabilities, applied)

    def pipeline_call(
        self,
        *,
        prompt: str,
        images: list[Image.Image],
        width: int,
        height: int,
        steps: int,
        guidance: float,
        generator: Any,
    ) -> PipelineCall:
        kwargs: dict[str, Any] = {
            "prompt": prompt,
            "negative_prompt": NEGATIVE_PROMPT if guidance > 1 else None,
            "true_cfg_scale": guidance,
            "width": width,
            "height": height,
            "num_inference_steps": steps,
            "generator": generator,
            "output_type": "pil",
        }
        if images:
            return PipelineCall(self.edit, {"image": list(images), **kwargs})
        return PipelineCall(self.t2i, kwargs)

    def chat_model(self) -> ChatModel | None:
        from opendream.engine.rewriter import CausalChatModel

        tokenizer = self.t2i.tokenizer
        if not self.capabilities.can_generate_text or not getattr(tokenizer, "chat_template", None):
            return None
        return CausalChatModel(self.t2i.text_encoder, tokenizer)


def _edit_dir(config: EngineConfig) -> Path:
    if config.edit_model_dir is not None:
        return Path(config.edit_model_dir)
    beside = Path(config.model_dir) / EDIT_SUBDIR
    if (beside / "model_index.json").is_file():
        return beside
    raise EngineLoadError(
        "qwen-image needs the Qwen-Image-Edit-Plus checkpoint for requests with references: set "
        f"--edit-model-dir / OPENDREAM_EDIT_MODEL_DIR (or put it in {beside})"
    )


# --- tiny offline model -------------------------------------------------------------------


def build_tiny_qwen_image(directory: Path) -> None:
    """Text-to-image pipeline in `directory`, edit pipeline in `directory/edit`."""
    missing = torchvision_missing_message()
    if missing:
        raise EngineLoadError(missing)
    build_tiny_qwen_t2i(directory)
    _build_tiny_qwen_edit(directory / EDIT_SUBDIR)


def _tiny_parts() -> dict[str, Any]:
    import torch
    from diffusers import (
        AutoencoderKLQwenImage,
        FlowMatchEulerDiscreteScheduler,
        QwenImageTransformer2DModel,
    )
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from opendream.engine.tokenizer import build_qwen_tokenizer

    tokenizer = build_qwen_tokenizer()
    z_dim = 4
    torch.manual_seed(1)
    # Three temporal/spatial downsamples like the real VAE: x8.
    vae = AutoencoderKLQwenImage(
        base_dim=4,
        z_dim=z_dim,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
        latents_mean=[0.0] * z_dim,
        latents_std=[1.0] * z_dim,
    )
    torch.manual_seed(2)
    transformer = QwenImageTransformer2DModel(
        patch_size=2,
        in_channels=4 * z_dim,
        out_channels=z_dim,
        num_layers=1,
        attention_head_dim=16,
        num_attention_heads=1,
        joint_attention_dim=16,
        guidance_embeds=False,
        axes_dims_rope=(4, 6, 6),
    )
    ids = tokenizer.convert_tokens_to_ids
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "max_position_embeddings": 8192,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 1000000.0,
                "mrope_section": [1, 1, 2],
            },
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "bos_token_id": None,
        },
        vision_config={
            "depth": 1,
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_heads": 2,
            "out_hidden_size": 16,
            "fullatt_block_indexes": [0],
        },
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(3)
    text_encoder = Qwen2_5_VLForConditionalGeneration(config).eval()
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=1.0,
        use_dynamic_shifting=True,
        base_shift=0.5,
        max_shift=0.9,
        base_image_seq_len=256,
        max_image_seq_len=8192,
        time_shift_type="exponential",
    )
    return {
        "scheduler": scheduler,
        "vae": vae,
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "transformer": transformer,
    }


def build_tiny_qwen_t2i(directory: Path) -> None:
    """The text-to-image half (no torchvision needed)."""
    from diffusers import QwenImagePipeline

    QwenImagePipeline(**_tiny_parts()).save_pretrained(directory)


def _build_tiny_qwen_edit(directory: Path) -> None:
    from diffusers import QwenImageEditPlusPipeline
    from transformers import Qwen2VLProcessor
    from transformers.models.qwen2_vl import Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    parts = _tiny_parts()
    processor = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(patch_size=14, merge_size=2, temporal_patch_size=2),
        tokenizer=parts["tokenizer"],
        video_processor=Qwen2VLVideoProcessor(),
        chat_template=parts["tokenizer"].chat_template,
    )
    QwenImageEditPlusPipeline(processor=processor, **parts).save_pretrained(directory)
