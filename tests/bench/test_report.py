from __future__ import annotations

import json
from pathlib import Path

from bench.report import Figure, Series, SuiteResult, Target, suite_markdown, write_suite

MACHINE = {"cpu": "test cpu", "cores": 2, "python": "3.11"}


def _result() -> SuiteResult:
    return SuiteResult(
        "demo",
        "a demo suite",
        figures=[
            Figure(
                "fast thing",
                "ms",
                2.0,
                "baseline",
                4.0,
                target=Target("ratio", "<=", 1.05, "<= 1.05x"),
            ),
            Figure(
                "slow thing",
                "ms",
                6.0,
                "baseline",
                4.0,
                p99=9.0,
                target=Target("p99", "<", 5.0, "p99 < 5"),
            ),
            Figure("no target", "req/s", 10.0, "bare", 0.0),
        ],
        series=[Series("curve", "MP", "µs", [(1.0, 2.0), (4.0, 2.1)])],
        notes=["a note"],
    )


def test_ratio_and_verdicts() -> None:
    fast, slow, untargeted = _result().figures
    assert fast.ratio == 0.5 and fast.passed is True
    assert slow.ratio == 1.5 and slow.passed is False  # judged on its p99
    assert untargeted.ratio is None and untargeted.passed is None  # a zero baseline has no ratio


def test_write_suite_writes_json_markdown_and_index(tmp_path: Path) -> None:
    paths = write_suite(_result(), tmp_path, machine=MACHINE)
    doc = json.loads((tmp_path / "demo.json").read_text())
    assert doc["machine"] == MACHINE
    assert [f["ratio"] for f in doc["figures"]] == [0.5, 1.5, None]
    assert [f["passed"] for f in doc["figures"]] == [True, False, None]
    md = (tmp_path / "demo.md").read_text()
    assert "| fast thing | 2 ms |" in md and "| pass |" in md and "| FAIL |" in md
    index = (tmp_path / "README.md").read_text()
    assert "test cpu" in index and "## demo: a demo suite" in index
    assert tmp_path / "README.md" in paths


def test_markdown_of_a_failed_suite_says_so() -> None:
    doc = SuiteResult("x", "broken", status="error", error="boom").as_dict()
    assert "**error**: boom" in suite_markdown(doc)
