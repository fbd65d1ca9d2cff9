"""A BlobStore over any obstore store. obstore's async calls run on its own Rust runtime, so no
blob I/O blocks the event loop; its puts are atomic (local files are written to a temporary name
and renamed; S3 objects appear whole)."""

from __future__ import annotations

from collections.abc import Callable

import obstore
from obstore.exceptions import NotFoundError
from obstore.store import ObjectStore

from opendream.storage.base import BlobNotFound, BlobStore
from opendream.storage.keys import validate_key, validate_prefix

# (key, expires_in_s) -> absolute URL
UrlMaker = Callable[[str, int], str]

# obstore reports a missing object as its own NotFoundError or, for local files, FileNotFoundError
_MISSING = (NotFoundError, FileNotFoundError)

# deletes go out in batches so an enormous prefix never builds one giant request
_DELETE_BATCH = 500


class ObstoreBlobStore(BlobStore):
    def __init__(self, store: ObjectStore, url_maker: UrlMaker, *, keeps_content_type: bool):
        self._store = store
        self._url_maker = url_maker
        # LocalStore cannot store attributes; the API then derives the type from the key
        self._keeps_content_type = keeps_content_type

    @property
    def store(self) -> ObjectStore:
        return self._store

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        validate_key(key)
        if self._keeps_content_type:
            await obstore.put_async(
                self._store, key, data, attributes={"Content-Type": content_type}
            )
        else:
            await obstore.put_async(self._store, key, data)

    async def get(self, key: str) -> bytes:
        validate_key(key)
        try:
            result = await obstore.get_async(self._store, key)
            return bytes(await result.bytes_async())
        except _MISSING as exc:
            raise BlobNotFound(key) from exc

    async def delete_prefix(self, prefix: str) -> int:
        """Deletes every blob whose key starts with `prefix` followed by `/` (whole segments:
        `requests/ab` never touches `requests/abc/...`). Returns how many were deleted."""
        prefix = validate_prefix(prefix)
        paths: list[str] = []
        async for chunk in obstore.list(self._store, prefix=prefix, chunk_size=_DELETE_BATCH):
            paths.extend(meta["path"] for meta in chunk)
        deleted = 0
        for start in range(0, len(paths), _DELETE_BATCH):
            batch = paths[start : start + _DELETE_BATCH]
            try:
                await obstore.delete_async(self._store, batch)
            except _MISSING:
                # a concurrent delete got there first; fall back to one by one to count truly
                for path in batch:
                    try:
                        await obstore.delete_async(self._store, path)
                    except _MISSING:
                        continue
                    deleted += 1
                continue
            deleted += len(batch)
        return deleted

    async def exists(self, key: str) -> bool:
        validate_key(key)
        try:
            await obstore.head_async(self._store, key)
        except _MISSING:
            return False
        return True

    def url_for(self, key: str, expires_in_s: int) -> str:
        validate_key(key)
        if expires_in_s <= 0:
            raise ValueError("expires_in_s must be positive")
        return self._url_maker(key, int(expires_in_s))
