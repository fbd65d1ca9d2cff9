import pytest

from opendream.catalog import (
    EDIT,
    EDIT_SEQUENTIAL,
    SEQUENTIAL,
    to_generation_request,
    validate_input,
)
from opendream.catalog.requests import parse_size
from opendream.engine.types import ReferenceImage, SizeRequest

REF = ReferenceImage(data=b"\x89PNG", width=64, height=32, format="png")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2560:1440 (16:9)", SizeRequest(width=2560, height=1440)),
        ("3024:1296 (21:9)", SizeRequest(width=3024, height=1296)),
        ("2048x2048 (1:1)", SizeRequest(width=2048, height=2048)),
        ("1440x2560 (9:16)", SizeRequest(width=1440, height=2560)),
        ("1K", SizeRequest(resolution_class="1K")),
        ("4K", SizeRequest(resolution_class="4K")),
    ],
)
def test_parse_size(value, expected):
    assert parse_size(value) == expected


def test_parse_size_rejects_garbage():
    with pytest.raises(ValueError):
        parse_size("big")


def _clean(model_id, body):
    clean, problems = validate_input(model_id, body)
    assert problems == []
    return clean


def test_sequential_defaults():
    req = to_generation_request(SEQUENTIAL, _clean(SEQUENTIAL, {"text": "Generate 2 cats"}))
    assert req.mode == "sequential"
    assert req.prompt == "Generate 2 cats"
    assert req.size == SizeRequest(width=2560, height=1440)
    assert req.max_images == 3
    assert req.seed is None
    assert req.optimize == "fast"
    assert req.references == ()


def test_sequential_all_fields():
    body = {
        "text": "Generate 5 dogs",
        "sequential_image_generation_options": 7,
        "image_size": "1728:2304 (3:4)",
        "seed": 42,
        "optimize_prompt_options": "standard",
    }
    req = to_generation_request(SEQUENTIAL, _clean(SEQUENTIAL, body))
    assert (req.max_images, req.seed, req.optimize) == (7, 42, "standard")
    assert req.size == SizeRequest(width=1728, height=2304)


def test_seed_minus_one_means_random():
    req = to_generation_request(SEQUENTIAL, _clean(SEQUENTIAL, {"text": "x", "seed": -1}))
    assert req.seed is None


def test_sequential_generation_disabled_means_one_image():
    body = {"text": "x", "sequential_image_generation": "disabled"}
    req = to_generation_request(SEQUENTIAL, _clean(SEQUENTIAL, body))
    assert req.max_images == 1


def test_edit_uses_prompt_resolution_and_one_image():
    body = {"prompt": "make it blue", "images": ["https://a/x.png"], "resolution": "2K"}
    req = to_generation_request(EDIT, _clean(EDIT, body), [REF])
    assert req.mode == "edit"
    assert req.prompt == "make it blue"
    assert req.size == SizeRequest(resolution_class="2K")
    assert req.max_images == 1
    assert req.references == (REF,)


def test_edit_default_resolution():
    body = {"prompt": "p", "images": ["https://a/x.png"]}
    req = to_generation_request(EDIT, _clean(EDIT, body), [REF])
    assert req.size == SizeRequest(width=2048, height=2048)


def test_edit_sequential():
    body = {
        "text": "Generate 4 images",
        "images": ["https://a/x.png", "https://a/y.png"],
        "sequential_image_generation_options": 4,
    }
    req = to_generation_request(EDIT_SEQUENTIAL, _clean(EDIT_SEQUENTIAL, body), [REF, REF])
    assert req.mode == "edit-sequential"
    assert req.max_images == 4
    assert len(req.references) == 2
