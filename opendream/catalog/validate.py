"""Validation of a submitted body against a model's published input schema.

Every problem is reported at once, each as `{"loc": ["body", field, ...], "msg", "type", "input"}`
(the shape FastAPI/pydantic use, so clients that parse 422s already understand it).

Decisions beyond the schema text:
- Unknown top-level fields are ignored (clients written for RunComfy may send extra keys); known
  fields are validated strictly.
- `null` for an optional field means "not given" (the default applies); for a required field it
  is a type error.
- `true`/`false` are not integers; a JSON number with no fractional part (`3.0`) is an integer.
- `seed` must lie in -1..2147483647 (the official API's range; -1 means random).
- `sequential_image_generation` is `auto` (the published default) or `disabled` (the official
  API's other value, which means one image).
- Image content (`validations`: size, aspect ratio, pixels) is checked by the inputs layer once
  the images are fetched; this module checks only the shape of the `images` list.
"""

from __future__ import annotations

import math
from typing import Any

from opendream.catalog.models import get_model, schema_properties, schema_required

SEED_MIN = -1
SEED_MAX = 2_147_483_647
SEQUENTIAL_GENERATION_VALUES = ("auto", "disabled")

Problem = dict[str, Any]
_ABSENT = object()


def validate_input(model_id: str, body: Any) -> tuple[dict[str, Any], list[Problem]]:
    """Returns (the input with defaults applied, problems). The input is meaningful only when
    there are no problems. Raises `UnknownModel` for an unknown model id."""
    spec = get_model(model_id)
    props = schema_properties(model_id)
    required = schema_required(model_id)
    if not isinstance(body, dict):
        return {}, [_problem([], "Input should be a JSON object", "dict_type", body)]

    clean: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, prop in props.items():
        value = body.get(name, _ABSENT)
        if value is _ABSENT or (value is None and name not in required):
            if name in required:
                problems.append(_missing(name, spec.prompt_field, body))
            elif "default" in prop:
                clean[name] = prop["default"]
            continue
        checked, field_problems = _check(name, prop, value)
        problems.extend(field_problems)
        if not field_problems:
            clean[name] = checked
    return clean, problems


def _missing(name: str, prompt_field: str, body: dict[str, Any]) -> Problem:
    msg = "Field required"
    # The two prompt names differ between the models; say so when the other one was sent.
    other = {"text": "prompt", "prompt": "text"}.get(name)
    if name == prompt_field and other in body:
        msg = f"Field required (this model takes its prompt in `{name}`, not `{other}`)"
    return _problem([name], msg, "missing", None)


def _check(name: str, prop: dict[str, Any], value: Any) -> tuple[Any, list[Problem]]:
    kind = prop.get("type")
    if kind == "string":
        return _check_string(name, prop, value)
    if kind == "integer":
        return _check_integer(name, prop, value)
    if kind == "array":
        return _check_array(name, prop, value)
    return value, []


def _check_string(name: str, prop: dict[str, Any], value: Any) -> tuple[Any, list[Problem]]:
    if not isinstance(value, str):
        return value, [_problem([name], "Input should be a valid string", "string_type", value)]
    problems: list[Problem] = []
    limit = prop.get("maxLength")
    if limit is not None and len(value) > limit:
        problems.append(
            _problem(
                [name],
                f"String should have at most {limit} characters (got {len(value)})",
                "string_too_long",
                value,
                ctx={"max_length": limit},
            )
        )
    allowed = prop.get("enum")
    if allowed is None and name == "sequential_image_generation":
        allowed = list(SEQUENTIAL_GENERATION_VALUES)
    if allowed is not None and value not in allowed:
        problems.append(_enum_problem(name, allowed, value))
    return value, problems


def _check_integer(name: str, prop: dict[str, Any], value: Any) -> tuple[Any, list[Problem]]:
    number = _as_int(value)
    if number is None:
        return value, [_problem([name], "Input should be a valid integer", "int_type", value)]
    allowed = prop.get("enum")
    if allowed is not None and number not in allowed:
        return value, [_enum_problem(name, allowed, value)]
    if name == "seed":
        if number < SEED_MIN:
            msg = f"Input should be greater than or equal to {SEED_MIN} (-1 means random)"
            return value, [_problem([name], msg, "greater_than_equal", value, ctx={"ge": SEED_MIN})]
        if number > SEED_MAX:
            msg = f"Input should be less than or equal to {SEED_MAX}"
            return value, [_problem([name], msg, "less_than_equal", value, ctx={"le": SEED_MAX})]
    return number, []


def _check_array(name: str, prop: dict[str, Any], value: Any) -> tuple[Any, list[Problem]]:
    if not isinstance(value, list):
        return value, [_problem([name], "Input should be a valid list", "list_type", value)]
    problems: list[Problem] = []
    low, high = prop.get("minItems"), prop.get("maxItems")
    hint = f" ({prop['description']})" if prop.get("description") else ""
    if low is not None and len(value) < low:
        msg = f"List should have at least {low} item{'s' if low != 1 else ''}, not {len(value)}"
        problems.append(_problem([name], msg + hint, "too_short", value, ctx={"min_length": low}))
    if high is not None and len(value) > high:
        msg = f"List should have at most {high} items, not {len(value)}"
        problems.append(
            _problem([name], msg + hint, "too_long", _shorten(value), ctx={"max_length": high})
        )
    item_type = prop.get("items", {}).get("type")
    if item_type == "string":
        for i, item in enumerate(value):
            if not isinstance(item, str):
                problems.append(
                    _problem([name, i], "Input should be a valid string", "string_type", item)
                )
            elif not item.strip():
                problems.append(
                    _problem([name, i], "Image URI should not be empty", "string_too_short", item)
                )
    return value, problems


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _enum_problem(name: str, allowed: list[Any], value: Any) -> Problem:
    shown = [repr(a) if isinstance(a, str) else str(a) for a in allowed]
    listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"
    return _problem([name], f"Input should be {listed}", "enum", value, ctx={"expected": allowed})


def _problem(
    loc: list[str | int],
    msg: str,
    type_: str,
    value: Any,
    ctx: dict[str, Any] | None = None,
) -> Problem:
    problem: Problem = {"loc": ["body", *loc], "msg": msg, "type": type_, "input": _shorten(value)}
    if ctx:
        problem["ctx"] = ctx
    return problem


def _shorten(value: Any, limit: int = 200) -> Any:
    """Keeps error bodies small: a data URI or a long prompt is echoed only in part."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"… ({len(value)} characters)"
    if isinstance(value, list):
        return [_shorten(v, limit) for v in value[:20]]
    if isinstance(value, dict):
        return {k: _shorten(v, limit) for k, v in list(value.items())[:20]}
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN/Infinity are not JSON; echo them as text
    return value
