"""Seeds: the plan's seed and each image's.

A missing seed or -1 draws one uniformly from [0, 2**31 - 1] (from `rng_seed_source` when
given, else `secrets`), which is recorded so the run can be repeated. Other values are taken
modulo 2**31. Image k uses `(seed + k) mod 2**31`: image 0 uses the plan seed itself, so a
one-image plan reproduces a plain pipeline call with that seed, and neighbouring images never
share a seed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

SEED_MODULUS = 2**31  # seeds lie in [0, 2147483647]
RANDOM = -1


def resolve_seed(seed: int | None, source: Callable[[], int] | None = None) -> tuple[int, bool]:
    """(seed, drawn): the seed to use and whether it was drawn at random."""
    if seed is None or seed == RANDOM:
        drawn = source() if source is not None else secrets.randbelow(SEED_MODULUS)
        return int(drawn) % SEED_MODULUS, True
    return int(seed) % SEED_MODULUS, False


def image_seed(seed: int, index: int) -> int:
    return (seed + index) % SEED_MODULUS
