from __future__ import annotations

import pytest

from opendream.inputs.rules import (
    MB,
    Measurements,
    check_rules,
    rule_type,
    rules_from_schema,
    size_limit_message,
)
from tests.inputs.conftest import schema_rules

SIZE = "File size must be less than 10 MB."
RATIO = "The aspect ratio range should be 1:3 to 3:1."
SMALL = "The uploaded image width and height must exceed 14 pixels."
LARGE = "The uploaded image width and height must not exceed 6000 pixels."


def failures(size: int, width: int | None, height: int | None, schema: str = "edit-sequential"):
    found = check_rules(Measurements(size, width, height), schema_rules(schema))
    return [(f.type, f.msg) for f in found]


def test_rules_come_from_the_published_schemas() -> None:
    edit = schema_rules("edit")
    assert [r.rule for r in edit] == [
        "file_size_mb<",
        "width/height>",
        "width/height<",
        "width_pixels>",
        "height_pixels>",
    ]
    assert [rule_type(r) for r in edit] == [
        "file_size_mb",
        "aspect_ratio",
        "aspect_ratio",
        "width_pixels",
        "height_pixels",
    ]
    assert len(schema_rules("edit-sequential")) == 7
    assert size_limit_message(edit) == SIZE


def test_a_good_image_passes_every_rule() -> None:
    assert failures(1000, 1024, 768) == []


@pytest.mark.parametrize(
    ("size", "width", "height", "expected"),
    [
        (10 * MB, 100, 100, [("file_size_mb", SIZE)]),
        (10 * MB - 1, 100, 100, []),
        (100, 301, 100, [("aspect_ratio", RATIO)]),
        (100, 300, 100, [("aspect_ratio", RATIO)]),  # "width/height<" 3 is strict, as published
        (100, 299, 100, []),
        (100, 100, 303, []),  # 0.330033 > 0.33
        (100, 100, 304, [("aspect_ratio", RATIO)]),
        (100, 14, 30, [("width_pixels", SMALL)]),
        (100, 30, 14, [("height_pixels", SMALL)]),
        (100, 15, 15, []),
        (100, 6000, 5000, [("width_pixels", LARGE)]),
        (100, 5999, 5999, []),
        (100, 5000, 6000, [("height_pixels", LARGE)]),
    ],
)
def test_each_rule_at_its_boundary(size: int, width: int, height: int, expected: list) -> None:
    assert failures(size, width, height) == expected


def test_every_failure_is_reported_and_shared_messages_once() -> None:
    # 10x10: both pixel rules fail with the same sentence, which is said once.
    assert failures(11 * MB, 10, 10) == [("file_size_mb", SIZE), ("width_pixels", SMALL)]
    # 9000x1000: too wide, too long a ratio, too large.
    assert failures(1, 9000, 1000) == [("aspect_ratio", RATIO), ("width_pixels", LARGE)]


def test_the_edit_schema_has_no_upper_pixel_limit() -> None:
    assert failures(100, 8000, 8000, schema="edit") == []


def test_size_rules_apply_without_dimensions() -> None:
    assert failures(12 * MB, None, None) == [("file_size_mb", SIZE)]
    assert failures(1, None, None) == []


def test_an_unknown_rule_is_refused_loudly() -> None:
    with pytest.raises(ValueError, match="unknown image validation rule"):
        rules_from_schema(
            [{"validation_rule": "duration_s<", "validation_value": 1, "validation_error": "x"}]
        )
