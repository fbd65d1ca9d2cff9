"""The serving process's own set-up (the rest of `opendream.service` is exercised end to end by
tests/e2e through `opendream serve` and `opendream worker`)."""

from __future__ import annotations

import gc

from opendream.service import settle_heap


def test_settle_heap_takes_what_is_loaded_out_of_the_collectors_sight() -> None:
    kept = [object() for _ in range(1000)]
    try:
        settle_heap()
        assert gc.get_freeze_count() >= len(kept)
        assert gc.isenabled()  # what is made afterwards is still collected
    finally:
        gc.unfreeze()
