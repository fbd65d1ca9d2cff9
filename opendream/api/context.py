"""What the routes share: settings, the request table, the blob store, the URL-signing secret."""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass

from fastapi import Request

from opendream.config import Settings
from opendream.jobs.base import RequestStore
from opendream.storage.base import BlobStore

log = logging.getLogger("opendream.api")


@dataclass
class AppContext:
    settings: Settings
    store: RequestStore
    blobs: BlobStore
    blob_secret: bytes

    @property
    def base_url(self) -> str:
        return self.settings.resolved_public_base_url

    def request_urls(self, request_id: str) -> dict[str, str]:
        base = f"{self.base_url}/v1/requests/{request_id}"
        return {
            "status_url": f"{base}/status",
            "result_url": f"{base}/result",
            "cancel_url": f"{base}/cancel",
        }

    async def image_payload(self, key: str, response_format: str) -> dict[str, str]:
        """An output as the Ark and OpenAI doors return it: `{"b64_json": …}` (encoded off the
        event loop: outputs are megabytes) or a signed `{"url": …}`."""
        if response_format == "b64_json":
            data = await self.blobs.get(key)
            return {"b64_json": await asyncio.to_thread(_b64, data)}
        return {"url": self.blobs.url_for(key, self.settings.url_ttl_s)}

    async def delete_request_blobs(self, request_id: str) -> None:
        """Best effort: a failure here is logged, never hides the error that led here."""
        try:
            await self.blobs.delete_prefix(f"requests/{request_id}/")
        except Exception:
            log.exception("could not delete the blobs of rejected request %s", request_id)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


async def context(request: Request) -> AppContext:
    """FastAPI dependency (async: FastAPI runs a plain `def` dependency in a worker thread)."""
    return request.app.state.ctx
