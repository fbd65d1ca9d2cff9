"""The real-size architectures are checked on the meta device: no memory, no time."""

from __future__ import annotations

import pytest

from bench.klein_arch import ARCHS, build_pipeline, parameter_count


@pytest.mark.parametrize(
    ("arch", "transformer_b", "text_b"),
    [("4B", 3.88, 4.02), ("9B", 9.08, 8.19)],
)
def test_published_sizes(arch: str, transformer_b: float, text_b: float) -> None:
    import torch

    pipe = build_pipeline(ARCHS[arch], "meta", torch.bfloat16)
    assert parameter_count(pipe.transformer) / 1e9 == pytest.approx(transformer_b, abs=0.01)
    assert parameter_count(pipe.text_encoder) / 1e9 == pytest.approx(text_b, abs=0.01)
    assert pipe.transformer.dtype == torch.bfloat16
    # The transformer's text input is three stacked hidden layers of the encoder.
    assert (
        ARCHS[arch].transformer["joint_attention_dim"]
        == 3 * ARCHS[arch].text_encoder["hidden_size"]
    )
