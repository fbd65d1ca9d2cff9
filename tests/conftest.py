"""Suite-wide settings: offline hub, and the session-wide tiny demo model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_klein_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny FLUX.2 [klein] pipeline, built once per test session, offline."""
    from opendream.engine.tiny import make_tiny

    return make_tiny(tmp_path_factory.mktemp("tiny") / "flux2-klein", family="flux2-klein")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Where PostgreSQL is required (CI, OPENDREAM_REQUIRE_POSTGRES=1), a skipped PostgreSQL test
    (marked `postgres`, or the `postgres` case of a parametrised one) is a failure, whatever made
    it skip: the PostgreSQL suite never vanishes quietly."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _about_postgres(item):
        from opendream.jobs.testing import postgres_required

        if postgres_required() and not hasattr(report, "wasxfail"):
            report.outcome = "failed"
            report.longrepr = (
                "a PostgreSQL test was skipped where PostgreSQL is required "
                f"(CI / OPENDREAM_REQUIRE_POSTGRES=1): {report.longrepr}"
            )


def _about_postgres(item: pytest.Item) -> bool:
    if item.get_closest_marker("postgres") is not None:
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "postgres" in callspec.params.values()
