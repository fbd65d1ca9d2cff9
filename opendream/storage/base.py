"""Blob storage contract: inputs and outputs under string keys, and the URLs clients fetch
them by."""

from __future__ import annotations

from abc import ABC, abstractmethod


class BlobNotFound(KeyError):
    pass


class BlobStore(ABC):
    @abstractmethod
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    @abstractmethod
    async def get(self, key: str) -> bytes:
        """Raises BlobNotFound."""

    @abstractmethod
    async def delete_prefix(self, prefix: str) -> int:
        """Deletes every blob under `prefix`; returns how many."""

    @abstractmethod
    async def exists(self, key: str) -> bool: ...

    @abstractmethod
    def url_for(self, key: str, expires_in_s: int) -> str:
        """An absolute URL a client can GET without a token until it expires: HMAC-signed API
        URL for the local store, a presigned URL for S3 (or an API URL when proxying)."""
