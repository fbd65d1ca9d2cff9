"""`make_plan` end to end: count, prompts, references, sizes, seeds, optimize, metadata."""

from __future__ import annotations

import json
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from opendream.engine.planner import Rewrite, make_plan
from opendream.engine.types import GenerationRequest, RefSource, SizeRequest

from .conftest import make_caps, make_refs


class FakeRewriter:
    """A stand-in for a language model: answers what it was told to."""

    def __init__(self, answer: object) -> None:
        self.answer = answer
        self.calls: list[dict[str, object]] = []

    def rewrite(self, prompt: str, *, max_images: int, n_stated: int | None) -> Rewrite:
        self.calls.append({"prompt": prompt, "max_images": max_images, "n_stated": n_stated})
        return self.answer  # type: ignore[return-value]


class ExplodingRewriter:
    def rewrite(self, prompt: str, *, max_images: int, n_stated: int | None) -> Rewrite:
        raise TimeoutError("too slow")


def seq(prompt: str, **kwargs: object) -> GenerationRequest:
    values: dict[str, object] = {"max_images": 6, "seed": 100}
    values.update(kwargs)
    return GenerationRequest("sequential", prompt, **values)  # type: ignore[arg-type]


def test_stated_count_and_metadata() -> None:
    plan = make_plan(seq("Generate 3 images of a fox"), make_caps())
    assert len(plan.images) == 3
    assert plan.metadata["count"] == {
        "requested": 6,
        "stated": 3,
        "produced": 3,
        "why": "the prompt states 3",
    }
    json.dumps(plan.metadata)  # the result's metadata must be JSON


def test_stated_count_capped_by_max_images() -> None:
    plan = make_plan(seq("Generate 10 images of a fox", max_images=4), make_caps())
    assert len(plan.images) == 4
    assert plan.metadata["count"]["why"] == "the prompt states 10, capped at 4 by max_images"


def test_references_plus_outputs_at_most_15() -> None:
    request = GenerationRequest(
        "edit-sequential", "Generate 8 images of this dog", make_refs(10), max_images=15
    )
    plan = make_plan(request, make_caps())
    assert len(plan.images) == 5
    assert plan.metadata["count"]["produced"] == 5
    assert "10 references + outputs <= 15" in plan.metadata["count"]["why"]


def test_fast_without_count_uses_maximum() -> None:
    plan = make_plan(seq("a fox in the snow", max_images=5), make_caps())
    assert len(plan.images) == 5
    assert plan.metadata["count"]["stated"] is None
    assert plan.metadata["optimize"] == {"mode": "fast", "used": "fast", "fallback_reason": None}
    assert plan.images[1].prompt == "a fox in the snow, image 2 of 5 in a consistent series"


def test_fast_never_calls_the_rewriter() -> None:
    fake = FakeRewriter(Rewrite(count=2))
    plan = make_plan(seq("a fox", max_images=5), make_caps(), rewriter=fake)
    assert fake.calls == []
    assert len(plan.images) == 5


def test_standard_lets_the_rewriter_decide_count_and_prompts() -> None:
    fake = FakeRewriter(Rewrite(prompts=["fox asleep", "fox awake"], count=None))
    plan = make_plan(seq("a fox", optimize="standard"), make_caps(), rewriter=fake)
    assert fake.calls == [{"prompt": "a fox", "max_images": 6, "n_stated": None}]
    assert [image.prompt for image in plan.images] == ["fox asleep", "fox awake"]
    assert plan.metadata["optimize"] == {
        "mode": "standard",
        "used": "standard",
        "fallback_reason": None,
    }
    assert plan.metadata["prompts"]["source"] == "rewriter"


def test_standard_rewriter_count_is_capped() -> None:
    fake = FakeRewriter(Rewrite(count=40))
    plan = make_plan(seq("a fox", optimize="standard", max_images=3), make_caps(), rewriter=fake)
    assert len(plan.images) == 3
    assert plan.metadata["count"]["why"] == "the language model chose 40, capped at 3 by max_images"


def test_stated_count_beats_the_rewriter() -> None:
    fake = FakeRewriter(Rewrite(prompts=["a", "b", "c", "d"], count=4))
    plan = make_plan(
        seq("Generate 2 images of a fox", optimize="standard"), make_caps(), rewriter=fake
    )
    assert fake.calls[0]["n_stated"] == 2
    assert [image.prompt for image in plan.images] == ["a", "b"]


def test_standard_without_rewriter_falls_back_to_maximum() -> None:
    plan = make_plan(seq("a fox", optimize="standard", max_images=4), make_caps())
    assert len(plan.images) == 4
    assert plan.metadata["optimize"]["used"] == "fast"
    assert "no prompt rewriter" in plan.metadata["optimize"]["fallback_reason"]


def test_standard_with_failing_rewriter_falls_back() -> None:
    plan = make_plan(seq("a fox", optimize="standard"), make_caps(), rewriter=ExplodingRewriter())
    assert plan.metadata["optimize"] == {
        "mode": "standard",
        "used": "fast",
        "fallback_reason": "rewriter raised TimeoutError: too slow",
    }
    assert len(plan.images) == 6


def test_standard_with_garbage_rewriter_falls_back() -> None:
    plan = make_plan(seq("a fox", optimize="standard"), make_caps(), rewriter=FakeRewriter(42))
    assert plan.metadata["optimize"]["used"] == "fast"
    assert "unusable" in plan.metadata["optimize"]["fallback_reason"]


def test_enumeration_sets_count_and_prompts() -> None:
    prompt = "A fox in watercolour. Image 1: asleep. Image 2: hunting. Image 3: at dawn."
    plan = make_plan(seq(prompt, max_images=15), make_caps())
    assert [image.prompt for image in plan.images] == [
        "A fox in watercolour: asleep",
        "A fox in watercolour: hunting",
        "A fox in watercolour: at dawn",
    ]
    assert plan.metadata["count"]["why"] == "the prompt enumerates (labeled) 3"
    assert plan.metadata["prompts"]["style"] == "labeled"


def test_enumeration_truncated_to_cap_with_reason() -> None:
    plan = make_plan(seq("1) a 2) b 3) c 4) d", max_images=2), make_caps())
    assert [image.prompt for image in plan.images] == ["a", "b"]
    assert "capped at 2 by max_images" in plan.metadata["count"]["why"]
    assert "kept the first 2" in plan.metadata["prompts"]["why"]


def test_sequence_words_do_not_hide_a_stated_count() -> None:
    prompt = "First, generate 4 images of a cat, then make them blue"
    plan = make_plan(seq(prompt, max_images=8), make_caps())
    assert len(plan.images) == 4
    assert plan.metadata["count"]["stated"] == 4


def test_count_inside_items_is_not_the_series_count() -> None:
    plan = make_plan(seq("1) two photos on a desk 2) a cat 3) a dog", max_images=8), make_caps())
    assert len(plan.images) == 3
    assert plan.metadata["count"]["stated"] is None


def test_edit_makes_one_image_with_all_references() -> None:
    request = GenerationRequest(
        "edit", "Generate 4 images, make it blue", make_refs(6), SizeRequest(resolution_class="1K")
    )
    plan = make_plan(request, make_caps())
    assert len(plan.images) == 1
    assert plan.images[0].prompt == "Generate 4 images, make it blue"
    assert plan.images[0].references == (
        RefSource("user", (0,)),
        RefSource("user", (1,)),
        RefSource("user", (2,)),
        RefSource("contact_sheet", (3, 4, 5)),
    )
    assert plan.metadata["count"]["produced"] == 1
    assert plan.metadata["references"]["contact_sheet"] == [3, 4, 5]


def test_text_only_series_references() -> None:
    plan = make_plan(seq("Generate 3 images of a fox"), make_caps())
    assert [image.references for image in plan.images] == [
        (),
        (RefSource("generated", (0,)),),
        (RefSource("generated", (0,)), RefSource("generated", (1,))),
    ]


def test_sizes_and_upscale_metadata() -> None:
    request = GenerationRequest(
        "edit-sequential",
        "Generate 2 images",
        make_refs(1, 1200, 800),
        SizeRequest(resolution_class="4K"),
        max_images=2,
    )
    plan = make_plan(request, make_caps(max_pixels=2048 * 2048))
    assert (plan.width, plan.height) == (5024, 3344)
    assert plan.run_width * plan.run_height <= 2048 * 2048
    assert plan.metadata["size"] == {
        "requested": "5024x3344",
        "source": "4K",
        "run": f"{plan.run_width}x{plan.run_height}",
        "upscale": True,
        "resize": True,
    }


def test_exact_size_within_range_needs_no_upscale() -> None:
    plan = make_plan(seq("a fox", size=SizeRequest(2560, 1440)), make_caps(max_pixels=4 * 2**20))
    assert (plan.width, plan.height, plan.run_width, plan.run_height) == (2560, 1440, 2560, 1440)
    assert plan.metadata["size"]["upscale"] is False


def test_seeds_given_and_derived() -> None:
    plan = make_plan(seq("Generate 3 images", seed=2**31 - 2), make_caps())
    assert plan.seed == 2**31 - 2
    assert [image.seed for image in plan.images] == [2**31 - 2, 2**31 - 1, 0]
    assert plan.metadata["seed"]["random"] is False


def test_random_seed_is_drawn_once_and_recorded() -> None:
    draws: list[int] = []

    def source() -> int:
        draws.append(777)
        return 777

    plan = make_plan(seq("Generate 2 images", seed=-1), make_caps(), rng_seed_source=source)
    assert draws == [777]
    assert plan.seed == 777
    assert plan.metadata["seed"] == {
        "value": 777,
        "random": True,
        "per_image": "(seed + k) mod 2**31",
    }


def test_given_seed_never_draws() -> None:
    def source() -> int:
        raise AssertionError("must not draw")

    assert make_plan(seq("a fox", seed=5), make_caps(), rng_seed_source=source).seed == 5


def test_steps_and_guidance_from_arguments_or_capabilities() -> None:
    caps = make_caps(default_steps=28, default_guidance=4.0)
    plan = make_plan(seq("a fox"), caps)
    assert (plan.steps, plan.guidance) == (28, 4.0)
    plan = make_plan(seq("a fox"), caps, steps=2, guidance=0.0)
    assert (plan.steps, plan.guidance) == (2, 0.0)


def test_plan_is_deterministic() -> None:
    request = seq("Generate 4 images: 1) a 2) b 3) c 4) d", references=make_refs(3))
    request = replace(request, mode="edit-sequential")
    assert make_plan(request, make_caps()) == make_plan(request, make_caps())


_MODES = st.sampled_from(["sequential", "edit", "edit-sequential"])


@settings(max_examples=200, deadline=None)
@given(
    prompt=st.text(max_size=600),
    mode=_MODES,
    max_images=st.integers(1, 15),
    refs=st.integers(0, 10),
    max_references=st.integers(0, 10),
    optimize=st.sampled_from(["fast", "standard"]),
    seed=st.one_of(st.none(), st.integers(-1, 2**31 - 1)),
)
def test_never_raises_and_stays_within_caps(
    prompt: str,
    mode: str,
    max_images: int,
    refs: int,
    max_references: int,
    optimize: str,
    seed: int | None,
) -> None:
    references = () if mode == "sequential" else make_refs(max(refs, 1))
    request = GenerationRequest(
        mode,  # type: ignore[arg-type]
        prompt,
        references,
        max_images=max_images if mode != "edit" else 1,
        seed=seed,
        optimize=optimize,  # type: ignore[arg-type]
    )
    caps = make_caps(max_references=max_references)
    plan = make_plan(request, caps, rng_seed_source=lambda: 12345)
    cap = 1 if mode == "edit" else min(max_images, 15 - len(references))
    assert 1 <= len(plan.images) <= max(cap, 1)
    assert plan.metadata["count"]["produced"] == len(plan.images)
    assert all(len(image.references) <= max_references for image in plan.images)
    assert all(0 <= image.seed < 2**31 for image in plan.images)
    assert [image.index for image in plan.images] == list(range(len(plan.images)))
    json.dumps(plan.metadata)


@settings(max_examples=50, deadline=None)
@given(
    prompt=st.one_of(
        st.text(alphabet="0123456789 ", max_size=600),
        st.text(alphabet="😀🎨🖼️ \n", max_size=600),
        st.text(alphabet="1234567890.):-•\n 图张枚장第一二三", max_size=600),
    )
)
def test_odd_prompts_plan_fine(prompt: str) -> None:
    plan = make_plan(seq(prompt, max_images=7), make_caps())
    assert 1 <= len(plan.images) <= 7


_ANSWERS = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=20),
    st.builds(
        Rewrite,
        prompts=st.one_of(st.none(), st.lists(st.text(max_size=30), max_size=20)),
        count=st.one_of(st.none(), st.integers(-3, 40)),
    ),
)


@settings(max_examples=100, deadline=None)
@given(answer=_ANSWERS, max_images=st.integers(1, 15), prompt=st.text(max_size=100))
def test_any_rewriter_answer_gives_a_valid_plan(
    answer: object, max_images: int, prompt: str
) -> None:
    request = seq(prompt, max_images=max_images, optimize="standard")
    plan = make_plan(request, make_caps(), rewriter=FakeRewriter(answer))
    assert 1 <= len(plan.images) <= max_images
    assert all(image.prompt is not None for image in plan.images)
    optimize = plan.metadata["optimize"]
    assert (optimize["used"] == "fast") == (optimize["fallback_reason"] is not None)
