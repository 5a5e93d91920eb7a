"""The web chat page at `/`, with its assets (no CDN: everything ships with Parley)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse

from parley.server.auth import OWNER_COOKIE, browser_owner, new_browser_token
from parley.server.deps import authenticate, state_of

router = APIRouter(tags=["ui"], include_in_schema=False)

STATIC = Path(__file__).resolve().parent.parent / "static"
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}


# Everything the page loads comes from this server. A header, not a meta tag: browsers ignore
# frame-ancestors in a meta tag.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
OWNER_COOKIE_DAYS = 400  # the longest lifetime browsers allow


@router.get("/")
def index(request: Request) -> FileResponse:
    state = state_of(request)
    if not state.settings.ui or not (STATIC / "index.html").is_file():
        raise HTTPException(404, "the web page is turned off (server.ui = false)")
    response = FileResponse(
        STATIC / "index.html",
        media_type="text/html",
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        },
    )
    if state.keys.open and browser_owner(request.cookies.get(OWNER_COOKIE)) is None:
        # An open server has no keys to tell visitors apart: each browser gets its own id,
        # so its sidebar lists its own conversations only.
        response.set_cookie(
            OWNER_COOKIE,
            new_browser_token(),
            max_age=OWNER_COOKIE_DAYS * 86400,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response


@router.get("/ui/suggestions")
def suggestions(
    request: Request,
    count: int = Query(3, ge=0, le=10),
    _: str | None = Depends(authenticate),
) -> dict[str, Any]:
    """Example questions for the empty chat, from the knowledge base's document titles."""
    retrieval = state_of(request).service.retrieval
    sample = getattr(retrieval, "sample_titles", None)
    titles = sample(count * 4) if sample is not None else []
    usable = [t.strip() for t in titles if 2 < len(t.strip()) <= 60 and not set("<>{}") & set(t)]
    return {"suggestions": [f"Tell me about {title}" for title in usable[:count]]}


@router.get("/static/{name:path}")
def asset(name: str, request: Request) -> FileResponse:
    path = (STATIC / name).resolve()
    if not state_of(request).settings.ui or STATIC not in path.parents or not path.is_file():
        raise HTTPException(404, f"no asset {name}")
    return FileResponse(path, media_type=TYPES.get(path.suffix, "application/octet-stream"))
