"""inputs layer (see DESIGN.md): `image_uri` strings in, validated image bytes or problems out."""

from opendream.inputs.fetch import Resolver
from opendream.inputs.loader import load_images
from opendream.inputs.rules import rules_from_schema
from opendream.inputs.sniff import inspect_image
from opendream.inputs.types import (
    FetchPolicy,
    ImageRule,
    InputProblem,
    InputRejected,
    InvalidImage,
    ValidatedImage,
)
from opendream.inputs.uploads import UPLOAD_URI_PREFIX, UploadResolver, upload_uri

__all__ = [
    "UPLOAD_URI_PREFIX",
    "FetchPolicy",
    "ImageRule",
    "InputProblem",
    "InputRejected",
    "InvalidImage",
    "Resolver",
    "UploadResolver",
    "ValidatedImage",
    "inspect_image",
    "load_images",
    "rules_from_schema",
    "upload_uri",
]
