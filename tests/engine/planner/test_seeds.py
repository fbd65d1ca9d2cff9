from __future__ import annotations

from opendream.engine.planner.seeds import SEED_MODULUS, image_seed, resolve_seed


def test_given_seed_is_kept() -> None:
    assert resolve_seed(1234) == (1234, False)
    assert resolve_seed(0) == (0, False)


def test_missing_or_minus_one_draws_from_source() -> None:
    assert resolve_seed(None, lambda: 99) == (99, True)
    assert resolve_seed(-1, lambda: 2**40 + 5) == ((2**40 + 5) % SEED_MODULUS, True)


def test_random_seed_without_source_is_in_range() -> None:
    for _ in range(20):
        seed, drawn = resolve_seed(None)
        assert drawn and 0 <= seed <= 2147483647


def test_out_of_range_seed_wraps() -> None:
    assert resolve_seed(2**31 + 3) == (3, False)
    assert resolve_seed(-5) == (SEED_MODULUS - 5, False)


def test_image_seeds_derive_from_plan_seed() -> None:
    assert [image_seed(10, k) for k in range(3)] == [10, 11, 12]
    assert image_seed(SEED_MODULUS - 1, 1) == 0
