"""From `opendream generate` arguments to a model id and an input body: which of the three models,
which field each flag fills, and how `--size 16:9` becomes the schema's enum entry. Pure, so the
mapping is tested without a server."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SEQUENTIAL = "bytedance/seedream-4-0/sequential"
EDIT = "bytedance/seedream-4-0/edit"
EDIT_SEQUENTIAL = "bytedance/seedream-4-0/edit-sequential"

_SIZES = ["2048{s}2048 (1:1)", "2304{s}1728 (4:3)", "1728{s}2304 (3:4)", "2560{s}1440 (16:9)"]
_SIZES += ["1440{s}2560 (9:16)", "2496{s}1664 (3:2)", "1664{s}2496 (2:3)", "3024{s}1296 (21:9)"]

# The published choices, used when a server (RunComfy itself) offers no schema endpoint.
FALLBACK_PROPERTIES: dict[str, dict[str, dict[str, Any]]] = {
    SEQUENTIAL: {
        "text": {},
        "sequential_image_generation_options": {"enum": list(range(1, 16))},
        "image_size": {"enum": [s.format(s=":") for s in _SIZES]},
        "seed": {},
        "optimize_prompt_options": {"enum": ["fast", "standard"]},
    },
    EDIT: {
        "prompt": {},
        "images": {},
        "resolution": {"enum": ["1K", "2K", "4K", *(s.format(s="x") for s in _SIZES)]},
    },
    EDIT_SEQUENTIAL: {
        "images": {},
        "text": {},
        "sequential_image_generation_options": {"enum": list(range(1, 16))},
        "image_size": {"enum": [s.format(s=":") for s in _SIZES]},
        "seed": {},
        "optimize_prompt_options": {"enum": ["fast", "standard"]},
    },
}

_ENTRY = re.compile(r"^\s*(\d+)\s*[x:×]\s*(\d+)\s*\((\d+:\d+)\)\s*$", re.IGNORECASE)
_PIXELS = re.compile(r"^\s*(\d+)\s*[x:×*]\s*(\d+)\s*$", re.IGNORECASE)
_TIERS = ("1K", "2K", "4K")


class GenerateArgumentError(ValueError):
    """An argument that does not fit the chosen model; the message names the flag and the rule."""


@dataclass(frozen=True)
class GenerateArgs:
    prompt: str
    images: tuple[str, ...] = ()
    max_images: int | None = None
    size: str | None = None
    resolution: str | None = None
    seed: int | None = None
    optimize: str | None = None
    edit: bool = False


def choose_model(has_images: bool, edit: bool) -> str:
    """Text only -> sequential; references -> edit-sequential, or edit with `--edit`."""
    if edit:
        if not has_images:
            raise GenerateArgumentError("--edit needs at least one --image to edit")
        return EDIT
    return EDIT_SEQUENTIAL if has_images else SEQUENTIAL


def match_enum(value: str, choices: list[Any], flag: str) -> str:
    """The enum entry a short spelling means: the entry itself (any case), its ratio (`16:9`), or
    its pixels (`2560x1440`, `2560:1440`)."""
    wanted = value.strip()
    for choice in choices:
        if str(choice).lower() == wanted.lower():
            return str(choice)
    pixels = _PIXELS.match(wanted)
    for choice in choices:
        entry = _ENTRY.match(str(choice))
        if entry is None:
            continue
        width, height, ratio = entry.groups()
        if ratio == wanted.replace(" ", ""):
            return str(choice)
        if pixels and pixels.groups() == (width, height):
            return str(choice)
    listed = ", ".join(repr(str(c)) for c in choices)
    raise GenerateArgumentError(f"{flag} {value!r} is not one of {listed}")


def build_input(
    args: GenerateArgs, properties: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    """(model id, input body) for the arguments; `properties` is the model's published input
    schema `properties` (the built-in copy when None). Every flag that the model does not take is
    refused by name, rather than silently dropped."""
    model = choose_model(bool(args.images), args.edit)
    props = properties if properties is not None else FALLBACK_PROPERTIES[model]

    def enum_of(name: str) -> list[Any]:
        return list(props.get(name, {}).get("enum") or [])

    def need(name: str, flag: str) -> None:
        if name not in props:
            raise GenerateArgumentError(f"{flag} does not apply to {model}")

    body: dict[str, Any] = {}
    prompt_field = "prompt" if "prompt" in props else "text"
    body[prompt_field] = args.prompt
    if args.images:
        body["images"] = list(args.images)
    if args.max_images is not None:
        need("sequential_image_generation_options", "--max-images")
        choices = enum_of("sequential_image_generation_options")
        if choices and args.max_images not in choices:
            raise GenerateArgumentError(
                f"--max-images must be between {min(choices)} and {max(choices)}"
            )
        body["sequential_image_generation_options"] = args.max_images
    if args.seed is not None:
        need("seed", "--seed")
        body["seed"] = args.seed
    if args.optimize is not None:
        need("optimize_prompt_options", "--optimize")
        choices = enum_of("optimize_prompt_options")
        body["optimize_prompt_options"] = (
            match_enum(args.optimize, choices, "--optimize") if choices else args.optimize
        )
    if "resolution" in props:
        resolution = _edit_resolution(args, enum_of("resolution"))
        if resolution is not None:
            body["resolution"] = resolution
    elif args.size is not None or args.resolution is not None:
        need("image_size", "--size")
        if args.resolution is not None and args.resolution.strip().upper() != "2K":
            raise GenerateArgumentError(
                f"--resolution {args.resolution} is not available for {model}: its sizes are "
                "all 2K; use --edit for 1K or 4K"
            )
        if args.size is not None:
            choices = enum_of("image_size")
            body["image_size"] = match_enum(args.size, choices, "--size") if choices else args.size
    return model, body


def _edit_resolution(args: GenerateArgs, choices: list[Any]) -> str | None:
    """The edit model has one field for both: a tier (`1K|2K|4K`, aspect ratio from the first
    reference) or an exact `WxH (ratio)`. `--size` picks the exact entry; with `--resolution 2K`
    too it is the same thing, since those entries are the 2K sizes."""
    resolution, size = args.resolution, args.size
    if size is not None:
        if resolution is not None and resolution.strip().upper() != "2K":
            raise GenerateArgumentError(
                f"--size {size} with --resolution {resolution}: the exact sizes are 2K; with 1K "
                "or 4K the aspect ratio follows the first image, so drop --size"
            )
        exact = [c for c in choices if str(c).upper() not in _TIERS]
        return match_enum(size, exact or choices, "--size")
    if resolution is not None:
        return match_enum(resolution, choices, "--resolution") if choices else resolution
    return None
