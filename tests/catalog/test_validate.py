import pytest

from opendream.catalog import EDIT, EDIT_SEQUENTIAL, SEQUENTIAL, validate_input
from opendream.catalog.models import UnknownModel

URL = "https://example.com/a.png"


def _one(model_id, body):
    _, problems = validate_input(model_id, body)
    assert len(problems) == 1, problems
    return problems[0]


def test_defaults_applied_and_unknown_fields_ignored():
    clean, problems = validate_input(SEQUENTIAL, {"text": "hi", "whatever": 1})
    assert problems == []
    assert clean == {
        "text": "hi",
        "sequential_image_generation_options": 3,
        "image_size": "2560:1440 (16:9)",
        "optimize_prompt_options": "fast",
        "sequential_image_generation": "auto",
    }


def test_edit_defaults():
    clean, problems = validate_input(EDIT, {"prompt": "p", "images": [URL]})
    assert problems == []
    assert clean == {"prompt": "p", "images": [URL], "resolution": "2048x2048 (1:1)"}


def test_null_optional_means_default():
    clean, problems = validate_input(SEQUENTIAL, {"text": "hi", "seed": None, "image_size": None})
    assert problems == []
    assert "seed" not in clean
    assert clean["image_size"] == "2560:1440 (16:9)"


@pytest.mark.parametrize(
    ("model_id", "body", "loc", "type_"),
    [
        (SEQUENTIAL, {}, ["body", "text"], "missing"),
        (SEQUENTIAL, {"text": None}, ["body", "text"], "string_type"),
        (SEQUENTIAL, {"text": 5}, ["body", "text"], "string_type"),
        (SEQUENTIAL, {"text": "x" * 601}, ["body", "text"], "string_too_long"),
        (SEQUENTIAL, {"text": "x", "seed": "1"}, ["body", "seed"], "int_type"),
        (SEQUENTIAL, {"text": "x", "seed": True}, ["body", "seed"], "int_type"),
        (SEQUENTIAL, {"text": "x", "seed": 1.5}, ["body", "seed"], "int_type"),
        (SEQUENTIAL, {"text": "x", "seed": -2}, ["body", "seed"], "greater_than_equal"),
        (SEQUENTIAL, {"text": "x", "seed": 2147483648}, ["body", "seed"], "less_than_equal"),
        (
            SEQUENTIAL,
            {"text": "x", "sequential_image_generation_options": 16},
            ["body", "sequential_image_generation_options"],
            "enum",
        ),
        (
            SEQUENTIAL,
            {"text": "x", "sequential_image_generation_options": False},
            ["body", "sequential_image_generation_options"],
            "int_type",
        ),
        (SEQUENTIAL, {"text": "x", "image_size": "1024:1024"}, ["body", "image_size"], "enum"),
        (
            SEQUENTIAL,
            {"text": "x", "optimize_prompt_options": "slow"},
            ["body", "optimize_prompt_options"],
            "enum",
        ),
        (
            SEQUENTIAL,
            {"text": "x", "sequential_image_generation": "always"},
            ["body", "sequential_image_generation"],
            "enum",
        ),
        (EDIT, {"images": [URL]}, ["body", "prompt"], "missing"),
        (EDIT, {"prompt": "p"}, ["body", "images"], "missing"),
        (EDIT, {"prompt": "p", "images": URL}, ["body", "images"], "list_type"),
        (EDIT, {"prompt": "p", "images": []}, ["body", "images"], "too_short"),
        (EDIT, {"prompt": "p", "images": [URL] * 11}, ["body", "images"], "too_long"),
        (EDIT, {"prompt": "p", "images": [URL, 3]}, ["body", "images", 1], "string_type"),
        (EDIT, {"prompt": "p", "images": [URL, " "]}, ["body", "images", 1], "string_too_short"),
        (
            EDIT,
            {"prompt": "p", "images": [URL], "resolution": "8K"},
            ["body", "resolution"],
            "enum",
        ),
        (EDIT_SEQUENTIAL, {"images": [URL]}, ["body", "text"], "missing"),
        (EDIT_SEQUENTIAL, {"text": "t"}, ["body", "images"], "missing"),
    ],
)
def test_single_problem(model_id, body, loc, type_):
    problem = _one(model_id, body)
    assert problem["loc"] == loc
    assert problem["type"] == type_
    assert problem["msg"]


def test_every_problem_at_once():
    body = {
        "text": 3,
        "images": [1, URL, 2],
        "seed": "x",
        "image_size": "huge",
        "sequential_image_generation_options": 0,
    }
    _, problems = validate_input(EDIT_SEQUENTIAL, body)
    locs = [p["loc"] for p in problems]
    assert ["body", "text"] in locs
    assert ["body", "images", 0] in locs
    assert ["body", "images", 2] in locs
    assert ["body", "seed"] in locs
    assert ["body", "image_size"] in locs
    assert ["body", "sequential_image_generation_options"] in locs
    assert len(problems) == 6


@pytest.mark.parametrize("body", [[], "text", 3, None])
def test_body_must_be_an_object(body):
    problem = _one(SEQUENTIAL, body)
    assert problem["loc"] == ["body"]
    assert problem["type"] == "dict_type"


def test_boundaries_accepted():
    for seed in (-1, 0, 2147483647):
        _, problems = validate_input(SEQUENTIAL, {"text": "x", "seed": seed})
        assert problems == []
    _, problems = validate_input(SEQUENTIAL, {"text": "x" * 600})
    assert problems == []
    _, problems = validate_input(EDIT, {"prompt": "p", "images": [URL] * 10})
    assert problems == []


def test_integral_float_is_an_integer():
    clean, problems = validate_input(
        SEQUENTIAL, {"text": "x", "seed": 7.0, "sequential_image_generation_options": 4.0}
    )
    assert problems == []
    assert clean["seed"] == 7 and isinstance(clean["seed"], int)
    assert clean["sequential_image_generation_options"] == 4


def test_enum_message_lists_the_published_values():
    problem = _one(EDIT, {"prompt": "p", "images": [URL], "resolution": "8K"})
    assert "'1K'" in problem["msg"] and "'3024x1296 (21:9)'" in problem["msg"]
    assert problem["input"] == "8K"


def test_max_length_message_names_the_limit():
    problem = _one(EDIT, {"prompt": "é" * 601, "images": [URL]})
    assert "600" in problem["msg"]
    assert problem["ctx"] == {"max_length": 600}


def test_wrong_prompt_name_is_explained():
    problem = _one(EDIT, {"text": "p", "images": [URL]})
    assert problem["loc"] == ["body", "prompt"]
    assert "`prompt`, not `text`" in problem["msg"]


def test_long_inputs_are_shortened_in_problems():
    data_uri = "data:image/png;base64," + "A" * 5000
    problem = _one(EDIT, {"prompt": 5, "images": [data_uri]})
    assert problem["loc"] == ["body", "prompt"]
    _, problems = validate_input(EDIT, {"prompt": "p", "images": [data_uri] * 11})
    assert all(len(s) < 300 for s in problems[0]["input"])


def test_unknown_model_raises():
    with pytest.raises(UnknownModel):
        validate_input("nope/nope", {})
