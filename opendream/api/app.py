"""The HTTP application: `create_app(settings, store, blobs, blob_secret=...)`, served as
`serving_app(app)`.

The caller owns the store's lifecycle (start before serving, close after); the app has no
lifespan of its own, so the same app object works under uvicorn, in tests and behind any ASGI
server.
"""

from __future__ import annotations

import importlib.util

from fastapi import FastAPI
from starlette.types import ASGIApp

import opendream
from opendream.api import (
    routes_ark,
    routes_blobs,
    routes_files,
    routes_health,
    routes_metrics,
    routes_models,
    routes_openai,
    routes_requests,
    routes_stream,
    routes_webhooks,
)
from opendream.api.context import AppContext
from opendream.api.errors import BodySizeLimit, install_error_handlers
from opendream.api.fast_status import FastStatus
from opendream.api.request_log import RequestLogContext
from opendream.config import Settings
from opendream.jobs.base import RequestStore
from opendream.storage.base import BlobStore

DESCRIPTION = """Self-hosted Seedream 4.0: RunComfy's asynchronous model API on open-weight
diffusers pipelines. Every protocol call carries `Authorization: Bearer <token>`. Errors answer
`{error_code, error_message, detail}`."""


def create_app(
    settings: Settings, store: RequestStore, blobs: BlobStore, *, blob_secret: bytes
) -> FastAPI:
    app = FastAPI(
        title="opendream",
        version=getattr(opendream, "__version__", "0"),
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.ctx = AppContext(settings=settings, store=store, blobs=blobs, blob_secret=blob_secret)
    app.state.store = store
    install_error_handlers(app)
    for module in (
        routes_requests,
        routes_stream,
        routes_webhooks,
        routes_ark,
        routes_openai,
        routes_models,
        routes_files,
        routes_blobs,
        routes_health,
        routes_metrics,
    ):
        app.include_router(module.router)
    if importlib.util.find_spec("opendream.api.playground") is not None:
        from opendream.api.playground import router as playground

        app.include_router(playground)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # added last, so outermost of ours: log lines of a call about one request carry its id
    app.add_middleware(RequestLogContext)
    return app


def serving_app(app: FastAPI) -> ASGIApp:
    """What an HTTP server runs: `app` behind the status poll's fast path (see fast_status)."""
    return FastStatus(app, app.state.ctx)
