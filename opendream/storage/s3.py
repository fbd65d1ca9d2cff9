"""S3-compatible buckets (AWS, MinIO, R2, moto) through obstore's S3Store.

Credentials come from the usual variables, read here so that the endpoint decides whether plain
http is allowed: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION (or
AWS_DEFAULT_REGION), AWS_ENDPOINT_URL; OPENDREAM_S3_ENDPOINT overrides the endpoint for the service
alone. obstore still reads any other AWS_* variable itself (roles, web identity, ...).

Clients download outputs by presigned GET URLs, or, with `proxy=True`, by API-signed URLs that the
API answers from the bucket (for buckets clients cannot reach).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import obstore
from obstore.store import S3Store

from opendream.storage.obstore_blobs import ObstoreBlobStore
from opendream.storage.signing import ApiSignedUrls

# AWS caps SigV4 presigned URLs at 7 days; asking for more gives a URL that S3 refuses outright
MAX_PRESIGN_S = 7 * 24 * 3600


def s3_config_from_env(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The S3Store keyword arguments taken from the environment (only what is set)."""
    env = os.environ if env is None else env
    config: dict[str, Any] = {}
    pairs = {
        "access_key_id": "AWS_ACCESS_KEY_ID",
        "secret_access_key": "AWS_SECRET_ACCESS_KEY",
        "session_token": "AWS_SESSION_TOKEN",
    }
    for field, var in pairs.items():
        if env.get(var):
            config[field] = env[var]
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        config["region"] = region
    endpoint = env.get("OPENDREAM_S3_ENDPOINT") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        config["endpoint"] = endpoint.rstrip("/")
    return config


class PresignedUrls:
    def __init__(self, store: S3Store) -> None:
        self._store = store

    def __call__(self, key: str, expires_in_s: int) -> str:
        seconds = min(int(expires_in_s), MAX_PRESIGN_S)
        return obstore.sign(self._store, "GET", key, timedelta(seconds=seconds))


def open_s3_blob_store(
    bucket: str,
    prefix: str,
    *,
    public_base_url: str,
    secret: bytes,
    proxy: bool = False,
    env: Mapping[str, str] | None = None,
) -> ObstoreBlobStore:
    if not bucket:
        raise ValueError("s3 storage URL needs a bucket: s3://bucket[/prefix]")
    config = s3_config_from_env(env)
    endpoint = config.get("endpoint", "")
    client_options = {"allow_http": True} if endpoint.startswith("http://") else None
    store = S3Store(
        bucket,
        prefix=prefix.strip("/") or None,
        client_options=client_options,
        **config,
    )
    urls = ApiSignedUrls(public_base_url, secret) if proxy else PresignedUrls(store)
    return ObstoreBlobStore(store, urls, keeps_content_type=True)
