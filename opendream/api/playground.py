"""The web playground: `/` is its page, `/static/…` its assets, all served from this package so
the page works with no internet access. The page talks to the public API like any client."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from opendream.api import routes_history

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Everything the page loads comes from here; images may come from the blob store's origin
# (presigned S3 URLs) or from wherever a reference URL points, and previews use blob: URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob: http: https:; connect-src 'self'; "
    "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

router = APIRouter()
# The history list is the playground's; it rides along here until the app includes it itself.
router.include_router(routes_history.router)


def _file_response(path: Path) -> FileResponse:
    media_type = _MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        # No build step means no hashed names: revalidate instead of caching stale assets.
        "Cache-Control": "no-cache",
    }
    return FileResponse(path, media_type=media_type, headers=headers)


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return _file_response(STATIC_DIR / "index.html")


@router.get("/static/{asset:path}", include_in_schema=False)
async def static_asset(asset: str) -> FileResponse:
    path = (STATIC_DIR / asset).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        raise HTTPException(status_code=404, detail=f"no static asset {asset!r}")
    return _file_response(path)
