"""Engine.generate on the tiny pipelines: sizes, progress, seeds, references, equivalence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from opendream.engine import (
    Engine,
    GenerationError,
    GenerationRequest,
    ImagePlan,
    Plan,
    Progress,
    RefSource,
    SizeRequest,
)
from opendream.engine.contact_sheet import contact_sheet
from opendream.engine.references import decode_reference
from tests.engine.images import reference, rotated_jpeg_reference


def hand_plan(
    images: list[ImagePlan],
    *,
    references: tuple = (),
    size: tuple[int, int] = (128, 128),
    run: tuple[int, int] | None = None,
    steps: int = 2,
    guidance: float = 1.0,
) -> Plan:
    run = run or size
    request = GenerationRequest(
        mode="edit-sequential" if references else "sequential",
        prompt="a lighthouse",
        references=references,
        size=SizeRequest(width=size[0], height=size[1]),
        max_images=len(images),
        seed=images[0].seed,
    )
    return Plan(
        request=request,
        images=tuple(images),
        width=size[0],
        height=size[1],
        run_width=run[0],
        run_height=run[1],
        steps=steps,
        guidance=guidance,
        seed=images[0].seed,
        metadata={"from": "test"},
    )


def pixels(image: Any) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


class Spy:
    """Records each call's keyword arguments and runs the real pipeline underneath."""

    def __init__(self, pipe: Any):
        self.pipe = pipe
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return self.pipe(**kwargs)


@pytest.fixture
def spy(klein_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Spy:
    recorder = Spy(klein_engine.backend.pipe)
    monkeypatch.setattr(klein_engine.backend, "pipe", recorder)
    return recorder


def test_images_have_the_delivered_size_and_progress_counts_every_step(klein_engine: Engine):
    plan = hand_plan(
        [
            ImagePlan(0, "a red boat", 11),
            ImagePlan(1, "a blue boat", 12, (RefSource("generated", (0,)),)),
        ],
        size=(200, 120),
        run=(208, 128),
    )
    progress: list[Progress] = []
    delivered: list[tuple[int, Any]] = []

    result = klein_engine.generate(plan, progress.append, lambda i, im: delivered.append((i, im)))

    assert [im.size for im in result.images] == [(200, 120), (200, 120)]
    assert progress == [Progress(s, 2, i, 2) for i in (1, 2) for s in (1, 2)]
    assert [i for i, _ in delivered] == [0, 1]
    assert [im for _, im in delivered] == result.images
    meta = result.metadata
    assert meta["from"] == "test"  # the plan's metadata is carried over
    assert meta["backend"] == "flux2-klein"
    assert meta["steps"] == 2 and meta["guidance"] == 1.0
    assert meta["seeds"] == [11, 12]
    assert meta["run_size"] == [208, 128] and meta["delivered_size"] == [200, 120]
    assert meta["upscale"]["method"] == "lanczos"
    assert meta["image_references"] == [[], ["generated:0"]]
    assert meta["inference_ms"] >= 0 and len(meta["per_image_ms"]) == 2
    assert json.loads(json.dumps(meta)) == meta


def test_same_seed_is_bit_identical_and_another_seed_is_not(klein_engine: Engine):
    first = klein_engine.generate(hand_plan([ImagePlan(0, "a fox", 1234)]))
    again = klein_engine.generate(hand_plan([ImagePlan(0, "a fox", 1234)]))
    other = klein_engine.generate(hand_plan([ImagePlan(0, "a fox", 1235)]))

    assert np.array_equal(pixels(first.images[0]), pixels(again.images[0]))
    assert not np.array_equal(pixels(first.images[0]), pixels(other.images[0]))


def test_the_pipeline_receives_exactly_the_planned_references(klein_engine: Engine, spy: Spy):
    rotated, upright = rotated_jpeg_reference()
    refs = (
        reference(96, 64, (250, 0, 0)),
        rotated,
        reference(64, 64, (0, 250, 0)),
        reference(128, 64, (0, 0, 250)),
        reference(64, 128, (250, 250, 0)),
    )
    plan = hand_plan(
        [
            ImagePlan(
                0, "one", 5, (RefSource("user", (0,)), RefSource("contact_sheet", (2, 3, 4)))
            ),
            ImagePlan(1, "two", 6, (RefSource("user", (1,)), RefSource("generated", (0,)))),
            ImagePlan(2, "three", 7),
        ],
        references=refs,
    )

    result = klein_engine.generate(plan)

    first, second, third = (call["image"] for call in spy.calls)
    decoded = [decode_reference(r) for r in refs]
    assert len(first) == 2
    assert np.array_equal(pixels(first[0]), pixels(decoded[0]))
    assert np.array_equal(pixels(first[1]), pixels(contact_sheet(decoded[2:5])))
    assert len(second) == 2
    assert second[0].size == (80, 160)  # EXIF orientation applied
    assert np.array_equal(pixels(second[0]), pixels(upright))
    assert np.array_equal(pixels(second[1]), pixels(result.images[0]))
    assert third is None
    assert [c["generator"].initial_seed() for c in spy.calls] == [5, 6, 7]


def test_references_under_64_px_are_enlarged_for_flux2(klein_engine: Engine, spy: Spy):
    plan = hand_plan(
        [ImagePlan(0, "x", 1, (RefSource("user", (0,)),))],
        references=(reference(48, 32, (9, 9, 9)),),
    )

    klein_engine.generate(plan)

    assert spy.calls[0]["image"][0].size == (96, 64)


@pytest.mark.parametrize("family", ["flux2-klein", "flux2-dev"])
def test_engine_images_equal_a_direct_diffusers_call(
    family: str, request: pytest.FixtureRequest
) -> None:
    """The engine adds no hidden divergence: same arguments, same pixels, bit for bit."""
    import diffusers

    engine: Engine = request.getfixturevalue(
        "klein_engine" if family == "flux2-klein" else "dev_engine"
    )
    model_dir: Path = request.getfixturevalue("klein_dir" if family == "flux2-klein" else "dev_dir")
    pipeline_cls = (
        diffusers.Flux2KleinPipeline if family == "flux2-klein" else diffusers.Flux2Pipeline
    )
    user = reference(96, 64, (10, 120, 200))
    plan = hand_plan(
        [
            ImagePlan(0, "a castle at dawn", 42, (RefSource("user", (0,)),)),
            ImagePlan(
                1, "the castle at dusk", 43, (RefSource("user", (0,)), RefSource("generated", (0,)))
            ),
        ],
        references=(user,),
        size=(96, 64),
        guidance=engine.capabilities.default_guidance,
    )

    result = engine.generate(plan)

    pipe = pipeline_cls.from_pretrained(str(model_dir), local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    user_image = decode_reference(user)
    common = {
        "height": 64,
        "width": 96,
        "num_inference_steps": 2,
        "guidance_scale": engine.capabilities.default_guidance,
    }
    direct0 = pipe(
        prompt="a castle at dawn",
        image=[user_image],
        generator=torch.Generator("cpu").manual_seed(42),
        **common,
    ).images[0]
    direct1 = pipe(
        prompt="the castle at dusk",
        image=[user_image, direct0],
        generator=torch.Generator("cpu").manual_seed(43),
        **common,
    ).images[0]
    assert np.array_equal(pixels(result.images[0]), pixels(direct0))
    assert np.array_equal(pixels(result.images[1]), pixels(direct1))


def test_delivered_size_above_the_run_size_is_resampled(klein_engine: Engine):
    result = klein_engine.generate(
        hand_plan([ImagePlan(0, "a tree", 3)], size=(300, 200), run=(144, 96))
    )

    assert result.images[0].size == (300, 200)
    assert result.metadata["upscale"] == {"method": "lanczos", "from": [144, 96], "to": [300, 200]}


def test_a_4_megapixel_image_runs_at_full_size(klein_engine: Engine):
    """The tiny model keeps the real x8 VAE and 2x2 patching: 2048x2048 is really run."""
    plan = hand_plan([ImagePlan(0, "a city", 9)], size=(2048, 2048), steps=2)

    result = klein_engine.generate(plan)

    assert result.images[0].size == (2048, 2048)
    assert result.metadata["upscale"]["method"] == "none"


def test_a_plan_naming_an_image_not_made_yet_is_an_error(klein_engine: Engine):
    plan = hand_plan([ImagePlan(0, "x", 1, (RefSource("generated", (0,)),))])

    with pytest.raises(GenerationError, match="generated image 0"):
        klein_engine.generate(plan)


def test_an_undecodable_reference_is_an_error(klein_engine: Engine):
    from opendream.engine import ReferenceImage

    broken = ReferenceImage(data=b"not an image", width=8, height=8, format="png")
    plan = hand_plan([ImagePlan(0, "x", 1, (RefSource("user", (0,)),))], references=(broken,))

    with pytest.raises(GenerationError, match="reference image 0"):
        klein_engine.generate(plan)


def test_the_kv_variant_is_served_by_the_klein_backend(
    tmp_path_factory: pytest.TempPathFactory, one_torch_thread: None
) -> None:
    """A directory saved as Flux2KleinKVPipeline loads as such (reference K/V cached after the
    first step), says so in what it applied, and matches a direct call of that pipeline."""
    import diffusers

    from opendream.engine import EngineConfig
    from opendream.engine.tiny import make_tiny

    model_dir = make_tiny(tmp_path_factory.mktemp("tiny") / "kv", "flux2-klein-kv")
    engine = Engine.load(EngineConfig(model_dir=model_dir))
    assert isinstance(engine.backend.pipe, diffusers.Flux2KleinKVPipeline)
    assert engine.backend.applied["kv_cached_references"] is True
    user = reference(96, 64, (10, 120, 200))
    plan = hand_plan(
        [
            ImagePlan(0, "a castle at dawn", 42, ()),
            ImagePlan(1, "the castle at dusk", 43, (RefSource("user", (0,)),)),
        ],
        references=(user,),
        size=(96, 64),
    )

    result = engine.generate(plan)

    pipe = diffusers.Flux2KleinKVPipeline.from_pretrained(str(model_dir), local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    common = {"height": 64, "width": 96, "num_inference_steps": 2}
    direct0 = pipe(
        prompt="a castle at dawn", generator=torch.Generator("cpu").manual_seed(42), **common
    ).images[0]
    direct1 = pipe(
        prompt="the castle at dusk",
        image=[decode_reference(user)],
        generator=torch.Generator("cpu").manual_seed(43),
        **common,
    ).images[0]
    assert np.array_equal(pixels(result.images[0]), pixels(direct0))
    assert np.array_equal(pixels(result.images[1]), pixels(direct1))
