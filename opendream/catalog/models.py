"""The models the service offers, with their input schemas exactly as published.

The schema files under `schemas/` are copies of the published RunComfy schemas; they are served
verbatim (`GET /v1/models/{id}/schema`) and drive validation, so there is one source of truth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

from opendream.engine.types import Mode

OutputKey = Literal["images", "image"]

SEQUENTIAL = "bytedance/seedream-4-0/sequential"
EDIT = "bytedance/seedream-4-0/edit"
EDIT_SEQUENTIAL = "bytedance/seedream-4-0/edit-sequential"


@dataclass(frozen=True)
class ModelSpec:
    id: str
    mode: Mode
    title: str
    summary: str
    schema_file: str
    output_key: OutputKey  # `images` (a list of URLs) or `image` (one URL)
    prompt_field: Literal["text", "prompt"]
    size_field: Literal["image_size", "resolution"]

    @property
    def input_schema(self) -> dict[str, Any]:
        """The published input schema (a fresh copy: callers may not mutate the original)."""
        return json.loads(_schema_text(self.schema_file))

    @property
    def output_schema(self) -> dict[str, Any]:
        """The published output schema (`output.json` holds it under the key `output`)."""
        return json.loads(_schema_text("output.json"))["output"]

    @property
    def takes_images(self) -> bool:
        return "images" in _properties(self.schema_file)


MODELS: dict[str, ModelSpec] = {
    m.id: m
    for m in (
        ModelSpec(
            id=SEQUENTIAL,
            mode="sequential",
            title="Seedream 4.0 sequential",
            summary="Text to a series of 1..15 consistent images.",
            schema_file="sequential.input.json",
            output_key="images",
            prompt_field="text",
            size_field="image_size",
        ),
        ModelSpec(
            id=EDIT,
            mode="edit",
            title="Seedream 4.0 edit",
            summary="Edit or compose one image from 1..10 reference images.",
            schema_file="edit.input.json",
            output_key="image",
            prompt_field="prompt",
            size_field="resolution",
        ),
        ModelSpec(
            id=EDIT_SEQUENTIAL,
            mode="edit-sequential",
            title="Seedream 4.0 edit sequential",
            summary="1..10 reference images to a series of consistent images.",
            schema_file="edit-sequential.input.json",
            output_key="images",
            prompt_field="text",
            size_field="image_size",
        ),
    )
}


class UnknownModel(KeyError):
    pass


def get_model(model_id: str) -> ModelSpec:
    """Raises UnknownModel."""
    try:
        return MODELS[model_id]
    except KeyError:
        raise UnknownModel(model_id) from None


def image_rules(model_id: str) -> list[dict[str, Any]]:
    """The published `validations` list of the model's `images` field, verbatim (empty when the
    model takes no images). `opendream.inputs.rules_from_schema` turns it into `ImageRule`s."""
    images = _properties(get_model(model_id).schema_file).get("images")
    return json.loads(json.dumps(images.get("validations", []))) if images else []


@cache
def _schema_text(name: str) -> str:
    return (resources.files("opendream.catalog") / "schemas" / name).read_text(encoding="utf-8")


@cache
def _parsed(name: str) -> dict[str, Any]:
    return json.loads(_schema_text(name))


def _properties(name: str) -> dict[str, Any]:
    return _parsed(name)["properties"]


def schema_properties(model_id: str) -> dict[str, Any]:
    """The input schema's `properties` (shared, read-only: do not mutate)."""
    return _properties(get_model(model_id).schema_file)


def schema_required(model_id: str) -> list[str]:
    return list(_parsed(get_model(model_id).schema_file).get("required", []))
