"""Same-origin checks: a request a browser marks as coming from another site changes nothing."""

from __future__ import annotations

from fastapi import HTTPException, Request, status


def check_same_origin(request: Request) -> None:
    """Refuse (403) a request a browser marks as coming from another site."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site request refused")
    origin = request.headers.get("origin")
    if origin is None:
        return
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin != own:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "request from another origin refused")
