"""The playground: a page at `/` for trying models in a browser, its assets under /playground/.

The page is built from web/playground/ (Preact, bundled by esbuild) into plantain/playground/ and
shipped with the package, so that serving it needs no Node. It talks only to this server: the
content security policy forbids every other origin, and the API key stays in the browser's storage.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).resolve().parent.parent / "playground"
# Images arrive as data: URLs (streamed previews) and blob: URLs (uploads); nothing else leaves.
POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; connect-src 'self' data:; style-src 'self'; "
    "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
router = APIRouter(include_in_schema=False)


@router.get("/")
async def page() -> FileResponse:
    headers = {"content-security-policy": POLICY, "x-content-type-options": "nosniff", "cache-control": "no-cache"}
    return FileResponse(ASSETS / "index.html", headers=headers)


def assets() -> StaticFiles:
    return StaticFiles(directory=ASSETS)
