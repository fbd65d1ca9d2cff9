"""A fresh data directory: the first key is created and shown once, the demo model is built and
the log says its images are noise."""

from __future__ import annotations

import stat
import subprocess
import sys

import httpx

from tests.e2e.server import ServerProcess


def test_first_start_creates_a_key_and_the_demo_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = ServerProcess(data_dir=tmp_path / "fresh", env={"OPENDREAM_ADMIN_TOKEN": ""})
    server.data_dir.mkdir()
    server.start(timeout_s=240)
    try:
        token_file = server.data_dir / "admin-token.txt"
        token = token_file.read_text().strip()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert len(token) >= 43  # 32 random bytes, base64url
        log = server.read_log()
        assert token in log  # shown once, on this first start
        assert "TINY OFFLINE DEMO MODEL" in log and "NOISE" in log
        assert (server.data_dir / "demo-model" / "flux2-klein" / "model_index.json").exists()
        assert (server.data_dir / "opendream.db").exists()

        r = httpx.get(f"{server.base_url}/v1/models", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        r = httpx.get(f"{server.base_url}/v1/models", headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401 and r.json()["error_code"] == 400004

        listed = subprocess.run(
            [sys.executable, "-m", "opendream", "keys", "list", "--data-dir", str(server.data_dir)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        assert "first" in listed and token not in listed
    finally:
        server.stop()
    # a second start shows no new key
    server.start()
    server.stop()
    assert server.read_log().count("Created the first API key") == 1
