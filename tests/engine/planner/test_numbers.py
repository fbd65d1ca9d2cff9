from __future__ import annotations

import pytest

from opendream.engine.planner.numbers import ENGLISH, KOREAN, alternation, cjk_int, to_int


@pytest.mark.parametrize(
    ("text", "value"),
    [("一", 1), ("两", 2), ("十", 10), ("十五", 15), ("二十", 20), ("二十三", 23), ("十十", None)],
)
def test_cjk_int(text: str, value: int | None) -> None:
    assert cjk_int(text) == value


@pytest.mark.parametrize(
    ("token", "table", "value"),
    [
        ("3", None, 3),
        ("３", None, 3),  # full-width digit
        ("⑤", None, 5),
        ("Fifteen", ENGLISH, 15),
        ("half  a dozen", ENGLISH, 6),
        ("열다섯", KOREAN, 15),
        ("三", None, 3),
        ("", None, None),
        ("cat", ENGLISH, None),
    ],
)
def test_to_int(token: str, table: dict[str, int] | None, value: int | None) -> None:
    assert to_int(token, table) == value


def test_alternation_tries_longer_words_first() -> None:
    assert alternation(["five", "fifteen", "a.b"]) == r"fifteen|five|a\.b"
