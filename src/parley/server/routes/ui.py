"""The web chat page at `/`, with its assets (no CDN: everything ships with Parley)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from parley.server.deps import state_of

router = APIRouter(tags=["ui"], include_in_schema=False)

STATIC = Path(__file__).resolve().parent.parent / "static"
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}


@router.get("/")
def index(request: Request) -> FileResponse:
    if not state_of(request).settings.ui or not (STATIC / "index.html").is_file():
        raise HTTPException(404, "the web page is turned off (server.ui = false)")
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/static/{name:path}")
def asset(name: str, request: Request) -> FileResponse:
    path = (STATIC / name).resolve()
    if not state_of(request).settings.ui or STATIC not in path.parents or not path.is_file():
        raise HTTPException(404, f"no asset {name}")
    return FileResponse(path, media_type=TYPES.get(path.suffix, "application/octet-stream"))
