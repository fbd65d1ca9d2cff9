"""The embedded default: blobs in a local directory (obstore LocalStore), served by the API under
HMAC-signed expiring URLs."""

from __future__ import annotations

from pathlib import Path

from obstore.store import LocalStore

from opendream.storage.obstore_blobs import ObstoreBlobStore
from opendream.storage.signing import ApiSignedUrls


def open_local_blob_store(root: Path, *, public_base_url: str, secret: bytes) -> ObstoreBlobStore:
    """`root` must be absolute; it is created if missing. Empty directories left by deletes are
    removed (`automatic_cleanup`) so retention does not leave a tree of empty folders behind."""
    if not root.is_absolute():
        raise ValueError(f"local blob directory must be absolute, got {str(root)!r}")
    root.mkdir(parents=True, exist_ok=True)
    store = LocalStore(root, mkdir=True, automatic_cleanup=True)
    return ObstoreBlobStore(store, ApiSignedUrls(public_base_url, secret), keeps_content_type=False)
