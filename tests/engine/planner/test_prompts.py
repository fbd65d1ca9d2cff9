from __future__ import annotations

from opendream.engine.planner.enumeration import Enumeration
from opendream.engine.planner.prompts import fit_prompts, plan_prompts, series_prompt


def test_series_prompt_appends_position() -> None:
    assert series_prompt("a fox", 2, 4) == "a fox, image 2 of 4 in a consistent series"


def test_single_image_keeps_prompt() -> None:
    assert series_prompt("a fox", 1, 1) == "a fox"
    plan = plan_prompts("a fox", 1, None)
    assert plan.prompts == ("a fox",)
    assert plan.metadata["source"] == "single"


def test_empty_prompt_still_gets_a_position() -> None:
    assert series_prompt("", 1, 2) == "image 1 of 2 in a consistent series"


def test_enumerated_items_keep_preamble_as_context() -> None:
    enumeration = Enumeration("labeled", "Watercolours of a fox:", ("asleep", "hunting"))
    plan = plan_prompts("whole", 2, enumeration)
    assert plan.prompts == ("Watercolours of a fox: asleep", "Watercolours of a fox: hunting")
    assert plan.metadata == {
        "source": "enumerated",
        "style": "labeled",
        "items": 2,
        "why": "2 enumerated prompts, one per image",
    }


def test_enumeration_longer_than_count_is_truncated_with_reason() -> None:
    enumeration = Enumeration("numbered", "", ("a", "b", "c", "d"))
    plan = plan_prompts("whole", 2, enumeration)
    assert plan.prompts == ("a", "b")
    assert "kept the first 2" in plan.metadata["why"]


def test_enumeration_shorter_than_count_pads_with_series_prompts() -> None:
    enumeration = Enumeration("numbered", "", ("a", "b"))
    plan = plan_prompts("whole", 3, enumeration)
    assert plan.prompts == ("a", "b", "whole, image 3 of 3 in a consistent series")


def test_fit_prompts_truncates_and_pads() -> None:
    assert fit_prompts(["x", "y", "z"], 2, "p", "rewriter", "w").prompts == ("x", "y")
    padded = fit_prompts(["x"], 2, "p", "rewriter", "w")
    assert padded.prompts == ("x", "p, image 2 of 2 in a consistent series")
    assert padded.metadata["source"] == "rewriter"
