"""First-start state of a data directory: the URL-signing secret, the first API key, the demo
model. Wiring code: it may touch several layers."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from opendream.api.auth import hash_token, new_token
from opendream.config import Settings
from opendream.jobs.base import RequestStore

log = logging.getLogger("opendream")

SECRET_FILE = "secret.key"
FIRST_KEY_FILE = "admin-token.txt"
DEMO_FAMILY = "flux2-klein"


def write_private(path: Path, data: bytes) -> None:
    """Creates `path` readable by the owner only (0600) from the first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def blob_secret(settings: Settings) -> bytes:
    """The HMAC key for signed blob URLs. A fleet sets OPENDREAM_BLOB_SECRET on every API host;
    the embedded default keeps one in the data directory."""
    if settings.blob_secret:
        return settings.blob_secret.encode()
    path = settings.data_dir / SECRET_FILE
    if not path.exists():
        write_private(path, secrets.token_hex(32).encode())
    return path.read_bytes().strip()


async def ensure_first_key(settings: Settings, store: RequestStore) -> str | None:
    """Registers OPENDREAM_ADMIN_TOKEN if given; otherwise, on a first start with no keys, creates
    one, writes it to a 0600 file and returns it so it can be shown once."""
    if settings.admin_token:
        digest = hash_token(settings.admin_token)
        if await store.key_by_hash(digest) is None:
            await store.create_key("admin", digest)
            log.info("registered the key given in OPENDREAM_ADMIN_TOKEN")
        return None
    if await store.list_keys():
        return None
    token = new_token()
    await store.create_key("first", hash_token(token))
    path = settings.data_dir / FIRST_KEY_FILE
    write_private(path, (token + "\n").encode())
    return token


def demo_model_dir(settings: Settings) -> Path:
    return settings.data_dir / "demo-model" / DEMO_FAMILY
