"""The `opendream` command's own subcommands, run as real processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from opendream.jobs.migrate import current_revision, head_revision
from opendream.jobs.testing import drop_database, fresh_postgres_url
from tests.e2e.fleet_fixtures import require_postgres


def opendream(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opendream", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    created = opendream("keys", "create", "--name", "ci", data_dir=tmp_path)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("od_") and len(token) >= 43
    listed = opendream("keys", "list", data_dir=tmp_path).stdout
    assert "ci" in listed and "active" in listed and token not in listed
    assert token not in (tmp_path / "opendream.db").read_bytes().decode("latin-1")  # hash only
    assert opendream("keys", "revoke", "ci", data_dir=tmp_path).returncode == 0
    assert "revoked" in opendream("keys", "list", data_dir=tmp_path).stdout
    again = opendream("keys", "revoke", "nobody", data_dir=tmp_path)
    assert again.returncode == 1 and "no active key" in again.stderr


def test_a_model_that_cannot_load_is_one_clear_line(tmp_path: Path) -> None:
    r = opendream(
        "serve", "--port", "1", "--model-dir", str(tmp_path / "missing"), data_dir=tmp_path
    )
    assert r.returncode == 2
    assert (
        f"cannot load the model: model directory {tmp_path / 'missing'} does not exist" in r.stderr
    )
    assert "Traceback" not in r.stderr + r.stdout


def test_db_upgrade(tmp_path: Path) -> None:
    r = opendream("db", "upgrade", data_dir=tmp_path)
    assert r.returncode == 0 and "up to date" in r.stdout
    assert (tmp_path / "opendream.db").exists()


def test_worker_on_a_gpu_this_host_lacks_is_one_clear_line(
    tmp_path: Path, tiny_klein_dir: Path
) -> None:
    argv = ["worker", "--device", "cuda:7", "--model-dir", str(tiny_klein_dir)]
    r = subprocess.run(
        [sys.executable, "-m", "opendream", *argv, "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert r.returncode == 2, r.stderr
    assert "cannot load the model: device 'cuda:7'" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr + r.stdout


@pytest.mark.postgres
def test_db_upgrade_on_postgres(tmp_path: Path) -> None:
    """The fleet's migration step: `opendream db upgrade` with OPENDREAM_DATABASE_URL."""
    require_postgres()
    url = asyncio.run(fresh_postgres_url())
    try:
        r = subprocess.run(
            [sys.executable, "-m", "opendream", "db", "upgrade", "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "OPENDREAM_DATABASE_URL": url},
        )
        assert r.returncode == 0 and "up to date" in r.stdout, r.stderr
        assert asyncio.run(current_revision(url)) == head_revision()
        assert not (tmp_path / "opendream.db").exists()  # nothing went to SQLite
    finally:
        asyncio.run(drop_database(url))
