"""The PostgreSQL half of this suite must never vanish silently in CI: with PostgreSQL
unreachable it fails under CI (or OPENDREAM_REQUIRE_POSTGRES=1) and is skipped, saying why,
elsewhere. Checked by running one PostgreSQL test in a child pytest against a dead port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opendream.jobs.testing import postgres_required

ROOT = Path(__file__).resolve().parents[2]
ONE_PG_TEST = "tests/jobs/test_testing.py::test_fresh_database_is_created_and_dropped"


def _run_child(**env: str) -> subprocess.CompletedProcess[str]:
    child_env = {
        k: v for k, v in os.environ.items() if k not in ("CI", "OPENDREAM_REQUIRE_POSTGRES")
    }
    child_env.update(OPENDREAM_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:1/postgres")
    child_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", ONE_PG_TEST, "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_required_in_ci_or_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("OPENDREAM_REQUIRE_POSTGRES", raising=False)
    assert not postgres_required()
    monkeypatch.setenv("OPENDREAM_REQUIRE_POSTGRES", "1")
    assert postgres_required()
    monkeypatch.delenv("OPENDREAM_REQUIRE_POSTGRES")
    monkeypatch.setenv("CI", "true")
    assert postgres_required()


def test_missing_postgres_fails_in_ci() -> None:
    out = _run_child(CI="true")
    assert out.returncode != 0, out.stdout
    assert "PostgreSQL is required here" in out.stdout
    assert "127.0.0.1:1" in out.stdout


def test_missing_postgres_skips_with_a_reason_elsewhere() -> None:
    out = _run_child()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 skipped" in out.stdout
    reason = "jobs: PostgreSQL tests skipped: PostgreSQL at 127.0.0.1:1 is not reachable"
    assert reason in out.stdout
