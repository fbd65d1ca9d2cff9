"""The `opendream` command's own subcommands, run as real processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


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
