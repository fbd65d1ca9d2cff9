"""A schema's published `validations` list, as rules, and their verdict on one image."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from opendream.inputs.types import ImageRule

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {"<": operator.lt, ">": operator.gt}

# The quantity a rule measures, keyed by the rule's name without its comparison sign, and the
# problem type reported when it fails.
_MEASURES: dict[str, str] = {
    "file_size_mb": "file_size_mb",
    "width/height": "aspect_ratio",
    "width_pixels": "width_pixels",
    "height_pixels": "height_pixels",
}

MB = 1024 * 1024


@dataclass(frozen=True)
class Measurements:
    size_bytes: int
    width: int | None = None  # None when the image could not be read: size rules still apply
    height: int | None = None


@dataclass(frozen=True)
class RuleFailure:
    type: str
    msg: str


def rules_from_schema(validations: list[dict]) -> tuple[ImageRule, ...]:
    """The schema's `validations` list (validation_rule / _value / _error) as `ImageRule`s.

    An unknown rule is a programming error in the catalog, not bad user input: it raises, so a
    published rule can never be silently skipped."""
    rules = []
    for entry in validations:
        name = str(entry["validation_rule"])
        _split(name)
        rules.append(
            ImageRule(
                rule=name,
                value=float(entry["validation_value"]),
                error=str(entry["validation_error"]),
            )
        )
    return tuple(rules)


def rule_type(rule: ImageRule) -> str:
    return _MEASURES[_split(rule.rule)[0]]


def size_limit_message(rules: Sequence[ImageRule]) -> str | None:
    """The published sentence of the file size rule, reused when a download is cut off."""
    for rule in rules:
        if _split(rule.rule)[0] == "file_size_mb":
            return rule.error
    return None


def check_rules(m: Measurements, rules: Sequence[ImageRule]) -> list[RuleFailure]:
    """Every failed rule, in schema order, each published message once (width and height rules
    share one sentence; an image failing both is told once)."""
    failures: list[RuleFailure] = []
    seen: set[str] = set()
    for rule in rules:
        measure, sign = _split(rule.rule)
        value = _measure(measure, m)
        if value is None or _COMPARISONS[sign](value, rule.value):
            continue
        if rule.error in seen:
            continue
        seen.add(rule.error)
        failures.append(RuleFailure(type=_MEASURES[measure], msg=rule.error))
    return failures


def _split(name: str) -> tuple[str, str]:
    measure, sign = name[:-1], name[-1:]
    if measure not in _MEASURES or sign not in _COMPARISONS:
        raise ValueError(f"unknown image validation rule {name!r}")
    return measure, sign


def _measure(measure: str, m: Measurements) -> float | None:
    if measure == "file_size_mb":
        return m.size_bytes / MB
    if m.width is None or m.height is None:
        return None
    if measure == "width/height":
        return m.width / m.height
    if measure == "width_pixels":
        return float(m.width)
    return float(m.height)
