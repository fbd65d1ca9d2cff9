"""One settings object for the whole service: flags > environment (OPENDREAM_*) > TOML file >
defaults. The TOML file is named by `--config` or OPENDREAM_CONFIG."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPENDREAM_", extra="ignore")

    # where state lives
    data_dir: Path = Path(".opendream")
    database_url: str | None = None  # default: sqlite+aiosqlite:///<data_dir>/opendream.db
    storage_url: str | None = None  # default: file://<data_dir>/blobs ; or s3://bucket/prefix
    public_base_url: str | None = None  # default: http://<host>:<port>

    # HTTP
    host: str = "127.0.0.1"
    port: int = 8000
    admin_token: str | None = None
    blob_secret: str | None = (
        None  # HMAC key for signed URLs; a fleet sets the same on every API host
    )
    max_body_bytes: int = 64 * 1024 * 1024
    rate_limit_per_minute: int = 120
    max_queued_per_key: int = 100
    metrics_token: str | None = None  # /metrics is open unless set (then Bearer <this token>)
    access_log: bool = False  # one log line per HTTP call (uvicorn's, with the request id)
    # The synchronous doors (Ark, OpenAI) hold the POST open at most this long; below the
    # official SDKs' 600 s client timeout, so the server answers (and says "do not retry")
    # before a client gives up and submits again.
    sync_timeout_s: float = 540.0
    # Live progress streams re-read the row at least this often (SQLite has no cross-process
    # notifications; on PostgreSQL it is a safety net only).
    stream_poll_s: float = 2.0

    # webhooks
    webhook_delivery: bool = True  # run the delivery loop in this process (serve and worker)
    webhook_timeout_s: float = 10.0  # per delivery attempt
    webhook_backoff_s: float = 5.0  # first retry delay; doubles per attempt up to the cap
    webhook_backoff_max_s: float = 900.0
    webhook_retry_window_s: float = 2 * 3600.0  # keep retrying this long after the first try

    # outputs
    url_ttl_s: int = 24 * 3600
    retention_s: int = 7 * 24 * 3600
    output_format: Literal["png", "jpeg", "webp"] = "png"
    proxy_downloads: bool = False  # S3: serve through the API instead of presigned URLs
    upload_ttl_s: int = 24 * 3600

    # inputs
    allow_http: bool = False
    fetch_allow_list: list[str] = Field(default_factory=list)
    fetch_ca_file: str | None = None
    fetch_connect_timeout_s: float = 5.0
    fetch_read_timeout_s: float = 10.0
    fetch_deadline_s: float = 30.0

    # worker
    worker: bool = True  # serve runs an in-process worker
    worker_id: str | None = None
    lease_s: float = 30.0
    heartbeat_s: float = 5.0
    max_attempts: int = 3
    shutdown_grace_s: float = 30.0

    # engine
    backend: Literal["flux2-klein", "flux2-dev", "qwen-image"] = "flux2-klein"
    model_dir: Path | None = None
    edit_model_dir: Path | None = None  # qwen-image: the Qwen-Image-Edit-Plus directory
    device: str = "cpu"
    dtype: Literal["bf16", "fp16", "fp32"] | None = None  # default: bf16 on cuda, fp32 on cpu
    compile: bool = False
    attention_backend: str | None = None
    cpu_offload: bool = False
    vae_tiling: bool = False
    steps: int | None = None
    guidance: float | None = None
    upscaler_dir: Path | None = None
    prompt_llm_dir: Path | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = os.environ.get("OPENDREAM_CONFIG")
        if toml:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    # derived ---------------------------------------------------------------------------------
    @property
    def resolved_database_url(self) -> str:
        return (
            self.database_url or f"sqlite+aiosqlite:///{(self.data_dir / 'opendream.db').resolve()}"
        )

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{(self.data_dir / 'blobs').resolve()}"

    @property
    def resolved_public_base_url(self) -> str:
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"


def load_settings(**overrides: Any) -> Settings:
    """Flags arrive as overrides; None means "not given"."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
