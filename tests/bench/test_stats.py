from __future__ import annotations

import numpy as np
import pytest

from bench.stats import percentile, summarize


@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 99, 100])
def test_percentile_matches_numpy_linear(q: float) -> None:
    samples = [3.0, 1.0, 4.0, 1.5, 9.0, 2.6, 5.3]
    assert percentile(samples, q) == pytest.approx(float(np.percentile(samples, q)))


def test_summary_and_scaling() -> None:
    s = summarize([0.001, 0.002, 0.003])
    assert (s.n, s.min, s.max) == (3, 0.001, 0.003)
    assert s.p50 == pytest.approx(0.002)
    ms = s.scaled(1000)
    assert ms.p50 == pytest.approx(2.0) and ms.mean == pytest.approx(2.0)


def test_no_samples_is_an_error() -> None:
    with pytest.raises(ValueError):
        summarize([])
    with pytest.raises(ValueError):
        percentile([1.0], 101)
