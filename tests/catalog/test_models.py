import json
from pathlib import Path

import pytest

from opendream.catalog import EDIT, EDIT_SEQUENTIAL, MODELS, SEQUENTIAL, get_model, image_rules
from opendream.catalog.models import UnknownModel

PUBLISHED = Path("/work/shared/spec/seedream-4-0")
PACKAGED = Path(__file__).resolve().parents[2] / "opendream" / "catalog" / "schemas"
SOURCE = PUBLISHED if PUBLISHED.is_dir() else PACKAGED

FILES = {
    SEQUENTIAL: "sequential.input.json",
    EDIT: "edit.input.json",
    EDIT_SEQUENTIAL: "edit-sequential.input.json",
}


def test_three_models_offered():
    assert set(MODELS) == set(FILES)


@pytest.mark.parametrize("model_id", sorted(FILES))
def test_input_schema_equals_published(model_id):
    published = json.loads((SOURCE / FILES[model_id]).read_text())
    assert get_model(model_id).input_schema == published


@pytest.mark.parametrize("model_id", sorted(FILES))
def test_packaged_schema_file_is_byte_identical(model_id):
    if not PUBLISHED.is_dir():
        pytest.skip("published spec folder not present")
    name = FILES[model_id]
    assert (PACKAGED / name).read_bytes() == (PUBLISHED / name).read_bytes()


def test_output_schema_equals_published():
    published = json.loads((SOURCE / "output.json").read_text())["output"]
    for spec in MODELS.values():
        assert spec.output_schema == published


def test_schema_copies_are_independent():
    spec = get_model(EDIT)
    spec.input_schema["properties"]["prompt"]["maxLength"] = 1
    assert spec.input_schema["properties"]["prompt"]["maxLength"] == 600


@pytest.mark.parametrize(
    ("model_id", "mode", "output_key", "prompt_field"),
    [
        (SEQUENTIAL, "sequential", "images", "text"),
        (EDIT, "edit", "image", "prompt"),
        (EDIT_SEQUENTIAL, "edit-sequential", "images", "text"),
    ],
)
def test_model_facts(model_id, mode, output_key, prompt_field):
    spec = get_model(model_id)
    assert (spec.mode, spec.output_key, spec.prompt_field) == (mode, output_key, prompt_field)
    assert spec.takes_images is (model_id != SEQUENTIAL)


def test_image_rules_are_the_published_validations():
    assert image_rules(SEQUENTIAL) == []
    edit = image_rules(EDIT)
    assert [r["validation_rule"] for r in edit] == [
        "file_size_mb<",
        "width/height>",
        "width/height<",
        "width_pixels>",
        "height_pixels>",
    ]
    assert edit[0]["validation_error"] == "File size must be less than 10 MB."
    seq = image_rules(EDIT_SEQUENTIAL)
    assert seq[-1] == {
        "validation_rule": "height_pixels<",
        "validation_value": 6000,
        "validation_error": "The uploaded image width and height must not exceed 6000 pixels.",
    }


def test_unknown_model():
    with pytest.raises(UnknownModel):
        get_model("bytedance/seedream-4-0/nope")
