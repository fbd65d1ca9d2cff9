"""One settings object: flags over environment over the TOML file over defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from opendream.config import load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("OPENDREAM_"):
            monkeypatch.delenv(name)


def test_defaults_are_the_embedded_deployment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert (
        s.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path / '.opendream' / 'opendream.db'}"
    )
    assert s.resolved_storage_url == f"file://{tmp_path / '.opendream' / 'blobs'}"
    assert s.resolved_public_base_url == "http://127.0.0.1:8000"
    assert s.worker and s.backend == "flux2-klein" and s.model_dir is None
    assert s.output_format == "png" and s.url_ttl_s == 24 * 3600


def test_precedence_flags_env_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "opendream.toml"
    toml.write_text(
        'port = 9000\nhost = "0.0.0.0"\noutput_format = "webp"\nfetch_allow_list = ["10.0.0.0/8"]\n'
    )
    monkeypatch.setenv("OPENDREAM_CONFIG", str(toml))
    s = load_settings()
    assert (s.port, s.output_format, s.fetch_allow_list) == (9000, "webp", ["10.0.0.0/8"])
    # a bind-all host still yields a URL a client can reach
    assert s.resolved_public_base_url == "http://127.0.0.1:9000"

    monkeypatch.setenv("OPENDREAM_PORT", "9100")
    assert load_settings().port == 9100
    assert load_settings(port=9200).port == 9200
    assert load_settings(port=None).port == 9100  # a flag not given does not override


def test_public_base_url_is_used_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENDREAM_PUBLIC_BASE_URL", "https://images.example.com/")
    assert load_settings().resolved_public_base_url == "https://images.example.com"


def test_invalid_values_are_refused_with_the_field_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("OPENDREAM_OUTPUT_FORMAT", "gif")
    with pytest.raises(ValidationError, match="output_format"):
        load_settings()
