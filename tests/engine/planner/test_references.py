"""Exactly which images condition each generated image."""

from __future__ import annotations

from opendream.engine.planner.references import (
    edit_references,
    pack_user_references,
    series_references,
)
from opendream.engine.types import RefSource


def user(i: int) -> RefSource:
    return RefSource("user", (i,))


def gen(i: int) -> RefSource:
    return RefSource("generated", (i,))


def sheet(*indices: int) -> RefSource:
    return RefSource("contact_sheet", indices)


def test_text_only_series_chains_first_and_previous() -> None:
    assert series_references(0, 4, 4) == [(), (gen(0),), (gen(0), gen(1)), (gen(0), gen(2))]


def test_series_with_user_references_that_fit() -> None:
    assert series_references(2, 3, 4) == [
        (user(0), user(1)),
        (user(0), user(1), gen(0)),
        (user(0), user(1), gen(0), gen(1)),
    ]


def test_user_surplus_becomes_one_contact_sheet_leaving_room_for_the_chain() -> None:
    assert series_references(5, 3, 4) == [
        (user(0), sheet(1, 2, 3, 4)),
        (user(0), sheet(1, 2, 3, 4), gen(0)),
        (user(0), sheet(1, 2, 3, 4), gen(0), gen(1)),
    ]


def test_two_image_series_needs_room_for_one_chain_reference() -> None:
    assert series_references(5, 2, 4) == [
        (user(0), user(1), sheet(2, 3, 4)),
        (user(0), user(1), sheet(2, 3, 4), gen(0)),
    ]


def test_single_image_series_uses_whole_budget_for_user_references() -> None:
    assert series_references(5, 1, 4) == [(user(0), user(1), user(2), sheet(3, 4))]


def test_tiny_budget_keeps_user_references_then_first_image() -> None:
    assert series_references(3, 3, 2) == [
        (sheet(0, 1, 2),),
        (sheet(0, 1, 2), gen(0)),
        (sheet(0, 1, 2), gen(0)),
    ]
    assert series_references(3, 3, 1) == [(sheet(0, 1, 2),)] * 3


def test_no_reference_budget_means_no_references() -> None:
    assert series_references(3, 3, 0) == [(), (), ()]


def test_edit_uses_all_user_references() -> None:
    assert edit_references(3, 4) == (user(0), user(1), user(2))
    assert edit_references(10, 4) == (user(0), user(1), user(2), sheet(3, 4, 5, 6, 7, 8, 9))


def test_pack_edges() -> None:
    assert pack_user_references(0, 4) == ()
    assert pack_user_references(2, 1) == (sheet(0, 1),)
    assert pack_user_references(1, 1) == (user(0),)


def test_no_image_references_itself_or_a_later_one() -> None:
    for k, refs in enumerate(series_references(3, 15, 4)):
        generated = [s.indices[0] for s in refs if s.kind == "generated"]
        assert all(i < k for i in generated)
        assert len(generated) == len(set(generated))
        assert len(refs) <= 4
