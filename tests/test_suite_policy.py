"""The suite's own rules, checked in a child pytest: where PostgreSQL is required, a skipped
`postgres` test fails (tests/conftest.py), so the PostgreSQL suite never vanishes from CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SAMPLE = """
import pytest

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")


@pytest.mark.postgres
def test_needs_the_database():
    pytest.skip("PostgreSQL is not reachable")


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_each_database(db):
    if db == "postgres":
        pytest.skip("PostgreSQL is not reachable")


def test_other_skip():
    pytest.skip("unrelated")
"""


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    sample = tmp_path / "test_sample.py"
    sample.write_text(SAMPLE)
    child_env = {
        k: v for k, v in os.environ.items() if k not in ("CI", "OPENDREAM_REQUIRE_POSTGRES")
    }
    child_env.update(env)
    argv = [sys.executable, "-m", "pytest", str(sample), "-q", "-p", "no:cacheprovider"]
    # the root conftest as a plugin: the sample lives outside tests/
    argv += ["-p", "tests.conftest", "--rootdir", str(tmp_path)]
    return subprocess.run(
        argv,
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_skipped_postgres_test_fails_where_postgres_is_required(tmp_path: Path) -> None:
    out = _run(tmp_path, OPENDREAM_REQUIRE_POSTGRES="1")
    assert out.returncode != 0, out.stdout
    assert "2 failed, 1 passed, 1 skipped" in out.stdout, out.stdout
    assert "skipped where PostgreSQL is required" in out.stdout


def test_elsewhere_it_stays_a_skip(tmp_path: Path) -> None:
    out = _run(tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed, 3 skipped" in out.stdout, out.stdout
