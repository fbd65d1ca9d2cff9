"""How `opendream generate` arguments become a model and an input body."""

from __future__ import annotations

import pytest

from opendream.catalog.models import schema_properties
from opendream.client.generate import (
    EDIT,
    EDIT_SEQUENTIAL,
    FALLBACK_PROPERTIES,
    SEQUENTIAL,
    GenerateArgs,
    GenerateArgumentError,
    build_input,
    match_enum,
)


def test_text_only_picks_sequential() -> None:
    model, body = build_input(GenerateArgs("Generate 3 images of a fox", max_images=4, seed=7))
    assert model == SEQUENTIAL
    assert body == {
        "text": "Generate 3 images of a fox",
        "sequential_image_generation_options": 4,
        "seed": 7,
    }


def test_images_pick_edit_sequential_and_edit_picks_edit() -> None:
    model, body = build_input(GenerateArgs("two of them", images=("https://x/a.png",)))
    assert model == EDIT_SEQUENTIAL and body == {
        "text": "two of them",
        "images": ["https://x/a.png"],
    }
    model, body = build_input(GenerateArgs("make it blue", images=("https://x/a.png",), edit=True))
    assert model == EDIT and body == {"prompt": "make it blue", "images": ["https://x/a.png"]}


def test_edit_without_images_is_refused() -> None:
    with pytest.raises(GenerateArgumentError, match="--edit needs"):
        build_input(GenerateArgs("x", edit=True))


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("16:9", "2560:1440 (16:9)"),
        ("9:16", "1440:2560 (9:16)"),
        ("21:9", "3024:1296 (21:9)"),
        ("2304x1728", "2304:1728 (4:3)"),
        ("2304:1728", "2304:1728 (4:3)"),
        ("2048:2048 (1:1)", "2048:2048 (1:1)"),
    ],
)
def test_size_maps_to_the_image_size_entry(size: str, expected: str) -> None:
    _, body = build_input(GenerateArgs("x", size=size))
    assert body["image_size"] == expected


@pytest.mark.parametrize(
    ("size", "resolution", "expected"),
    [
        ("16:9", None, "2560x1440 (16:9)"),
        ("3:2", "2K", "2496x1664 (3:2)"),
        (None, "4K", "4K"),
        (None, "1k", "1K"),
        (None, "1664x2496", "1664x2496 (2:3)"),
    ],
)
def test_edit_size_and_resolution_map_to_the_resolution_entry(
    size: str | None, resolution: str | None, expected: str
) -> None:
    args = GenerateArgs(
        "x", images=("https://x/a.png",), edit=True, size=size, resolution=resolution
    )
    assert build_input(args)[1]["resolution"] == expected


def test_the_published_schema_gives_the_same_mapping_as_the_builtin_copy() -> None:
    # The catalog holds the schemas exactly as published.
    for model, args in [
        (SEQUENTIAL, GenerateArgs("x", size="4:3", max_images=15, optimize="standard", seed=1)),
        (EDIT, GenerateArgs("x", images=("u",), edit=True, size="9:16")),
        (EDIT_SEQUENTIAL, GenerateArgs("x", images=("u",), size="2:3", max_images=2)),
    ]:
        props = schema_properties(model)
        for name, prop in FALLBACK_PROPERTIES[model].items():
            assert prop.get("enum", props[name].get("enum")) == props[name].get("enum")
        assert set(FALLBACK_PROPERTIES[model]) <= set(props)
        assert build_input(args, props) == build_input(args, None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (GenerateArgs("x", size="5:4"), "--size '5:4' is not one of"),
        (GenerateArgs("x", max_images=16), "--max-images must be between 1 and 15"),
        (GenerateArgs("x", optimize="turbo"), "--optimize 'turbo'"),
        (GenerateArgs("x", resolution="4K"), "--resolution 4K is not available"),
        (GenerateArgs("x", images=("u",), edit=True, max_images=2), "--max-images does not apply"),
        (GenerateArgs("x", images=("u",), edit=True, seed=3), "--seed does not apply"),
        (GenerateArgs("x", images=("u",), edit=True, optimize="fast"), "--optimize does not apply"),
        (GenerateArgs("x", images=("u",), edit=True, size="16:9", resolution="4K"), "drop --size"),
    ],
)
def test_arguments_that_do_not_fit_are_refused_by_name(args: GenerateArgs, message: str) -> None:
    with pytest.raises(GenerateArgumentError, match=message.replace("(", r"\(")):
        build_input(args)


def test_resolution_2k_is_accepted_for_the_series_models() -> None:
    _, body = build_input(GenerateArgs("x", size="1:1", resolution="2K"))
    assert body == {"text": "x", "image_size": "2048:2048 (1:1)"}


def test_match_enum_ignores_case_for_exact_entries() -> None:
    assert match_enum("STANDARD", ["fast", "standard"], "--optimize") == "standard"
