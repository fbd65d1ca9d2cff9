"""inputs layer (see DESIGN.md): `image_uri` strings in, validated image bytes or problems out.

    rules = rules_from_schema(schema["properties"]["images"]["validations"])
    images = await load_images(uris, rules, policy, resolve_upload=uploads.read_owned)
    # or InputRejected(problems), every problem of every image, loc ["body", field, index]

Problem types (`InputProblem.type`):
- the schema's rules, with the published sentence as `msg`: file_size_mb, aspect_ratio,
  width_pixels, height_pixels (width and height rules share a sentence: said once per image);
- the bytes: image_format (not png/jpeg by magic bytes), image_corrupt, image_too_many_pixels;
- the reference: image_uri (not a string), fetch_scheme, fetch_url (malformed, credentials,
  control characters), data_uri, data_uri_base64, upload_not_found;
- the download: fetch_dns, fetch_refused_address (not a public address; SSRF), fetch_connect,
  fetch_tls, fetch_timeout (connect, read, or the call's deadline), fetch_http_status,
  fetch_redirects, fetch_too_large, fetch_truncated, fetch_protocol.
"""

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
