"""One entry point from a storage URL to a BlobStore.

- `file:///abs/dir` (or a bare absolute path): local directory, API-signed URLs.
- `s3://bucket[/prefix]`: S3-compatible bucket, presigned URLs (API-signed when `proxy`).
- `memory://`: in-process, API-signed URLs; for tests and throwaway runs only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from obstore.store import MemoryStore

from opendream.storage.base import BlobStore
from opendream.storage.local import open_local_blob_store
from opendream.storage.obstore_blobs import ObstoreBlobStore
from opendream.storage.s3 import open_s3_blob_store
from opendream.storage.signing import ApiSignedUrls


def open_blob_store(
    url: str,
    *,
    public_base_url: str,
    secret: bytes,
    proxy: bool = False,
    env: Mapping[str, str] | None = None,
) -> BlobStore:
    """Raises ValueError for a URL it cannot serve, naming the accepted forms."""
    if url.startswith("/"):
        return open_local_blob_store(Path(url), public_base_url=public_base_url, secret=secret)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file storage URL must be file:///absolute/dir, got {url!r}")
        path = Path(unquote(parts.path))
        return open_local_blob_store(path, public_base_url=public_base_url, secret=secret)
    if scheme in ("s3", "s3a"):
        return open_s3_blob_store(
            parts.netloc,
            unquote(parts.path),
            public_base_url=public_base_url,
            secret=secret,
            proxy=proxy,
            env=env,
        )
    if scheme == "memory":
        return ObstoreBlobStore(
            MemoryStore(), ApiSignedUrls(public_base_url, secret), keeps_content_type=False
        )
    raise ValueError(
        f"unsupported storage URL {url!r}: use file:///abs/dir, s3://bucket/prefix or memory://"
    )
