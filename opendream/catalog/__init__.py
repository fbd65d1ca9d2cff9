"""catalog layer (see DESIGN.md): the models offered, their published schemas, validation, and how
an input becomes a `GenerationRequest`. No HTTP, no database, no torch."""

from opendream.catalog.models import (
    EDIT,
    EDIT_SEQUENTIAL,
    MODELS,
    SEQUENTIAL,
    ModelSpec,
    UnknownModel,
    get_model,
    image_rules,
)
from opendream.catalog.requests import delivered_pixels, parse_size, to_generation_request
from opendream.catalog.validate import validate_input

__all__ = [
    "EDIT",
    "EDIT_SEQUENTIAL",
    "MODELS",
    "SEQUENTIAL",
    "ModelSpec",
    "UnknownModel",
    "delivered_pixels",
    "get_model",
    "image_rules",
    "parse_size",
    "to_generation_request",
    "validate_input",
]
