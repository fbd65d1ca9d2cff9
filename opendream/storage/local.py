"""The embedded default: blobs in a local directory (obstore LocalStore), served by the API under
HMAC-signed expiring URLs."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

from obstore.store import LocalStore

from opendream.storage.keys import validate_prefix
from opendream.storage.obstore_blobs import ObstoreBlobStore
from opendream.storage.signing import ApiSignedUrls

# obstore writes `<name>#<n>` and renames it to `<name>` once complete; a process killed between
# the two leaves the staging file, which obstore's listings never show (and no key can contain #).
_STAGING = re.compile(r"#\d+$")


class LocalBlobStore(ObstoreBlobStore):
    def __init__(self, store: LocalStore, root: Path, signer: ApiSignedUrls) -> None:
        super().__init__(store, signer, keeps_content_type=False)
        self._root = root

    async def delete_prefix(self, prefix: str) -> int:
        """Also removes staging files left under the prefix by a killed writer (not counted:
        they never were blobs), so retention frees the disk of killed runs too."""
        deleted = await super().delete_prefix(prefix)
        await asyncio.to_thread(self._remove_staging, self._root / validate_prefix(prefix))
        return deleted

    @staticmethod
    def _remove_staging(top: Path) -> None:
        if not top.is_dir():
            return
        for path in top.rglob("*#*"):
            if path.is_file() and _STAGING.search(path.name):
                path.unlink(missing_ok=True)
        # the folders only those files kept (automatic_cleanup removes the others), deepest first
        for folder in sorted((p for p in top.rglob("*") if p.is_dir()), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()


def open_local_blob_store(root: Path, *, public_base_url: str, secret: bytes) -> LocalBlobStore:
    """`root` must be absolute; it is created if missing. Empty directories left by deletes are
    removed (`automatic_cleanup`) so retention does not leave a tree of empty folders behind."""
    if not root.is_absolute():
        raise ValueError(f"local blob directory must be absolute, got {str(root)!r}")
    root.mkdir(parents=True, exist_ok=True)
    store = LocalStore(root, mkdir=True, automatic_cleanup=True)
    return LocalBlobStore(store, root, ApiSignedUrls(public_base_url, secret))
