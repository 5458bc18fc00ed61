"""Who is asking, and may they: the session cookie, the CSRF header, same-origin checks and roles.

Every state-changing request needs a live session, the session's CSRF token in `X-CSRF-Token` (a page on
another site can make the browser send the cookie, never read the token) and, when the browser says where
it came from, this very origin. The user's role is read from the store on each request, so disabling an
account or changing its role takes effect at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyCookie, APIKeyHeader

from edge.kiosk.context import KioskContext, kiosk
from edge.kiosk.sessions import CSRF_HEADER, SESSION_COOKIE, Session
from edge.kiosk.users import Role

session_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="Set by POST /api/v1/login (HttpOnly)."
)
csrf_header = APIKeyHeader(
    name=CSRF_HEADER, auto_error=False, description="The csrf_token of the session; on every change."
)

Ctx = Annotated[KioskContext, Depends(kiosk)]

ACTING_ROLES = (Role.OFFICER, Role.SUPERVISOR)
ALL_ROLES = (Role.VIEWER, Role.OFFICER, Role.SUPERVISOR)


def refuse(code: int, detail: str) -> HTTPException:
    return HTTPException(status_code=code, detail=detail)


async def current_session(ctx: Ctx, token: Annotated[str | None, Security(session_cookie)] = None) -> Session:
    """The caller's live session (its idle timer restarted), or 401."""
    session = ctx.sessions.get(token)
    if session is None:
        raise refuse(status.HTTP_401_UNAUTHORIZED, "not logged in, or the session expired")
    user = ctx.users.get(session.user)
    if user is None or user.disabled:
        ctx.sessions.drop(session.token)
        raise refuse(status.HTTP_401_UNAUTHORIZED, "account disabled")
    session.role = user.role
    return session


def check_same_origin(request: Request) -> None:
    """Refuse a request a browser marks as coming from another site."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise refuse(status.HTTP_403_FORBIDDEN, "cross-site request refused")
    origin = request.headers.get("origin")
    if origin is None:
        return
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin != own:
        raise refuse(status.HTTP_403_FORBIDDEN, "request from another origin refused")


async def csrf_session(
    request: Request,
    session: Annotated[Session, Depends(current_session)],
    token: Annotated[str | None, Security(csrf_header)] = None,
) -> Session:
    """A session whose request carries its CSRF token and comes from this origin, or 403."""
    check_same_origin(request)
    if not session.csrf_matches(token):
        raise refuse(status.HTTP_403_FORBIDDEN, "CSRF token missing or wrong")
    return session


def reader(*roles: Role) -> Callable[..., Awaitable[Session]]:
    """Dependency: a logged-in session with one of `roles` (any role when none given)."""
    allowed = roles or ALL_ROLES

    async def _check(session: Annotated[Session, Depends(current_session)]) -> Session:
        if session.role not in allowed:
            raise refuse(status.HTTP_403_FORBIDDEN, f"role {session.role} may not do this")
        return session

    return _check


def actor(*roles: Role) -> Callable[..., Awaitable[Session]]:
    """Dependency: a CSRF-checked session with one of `roles`, for requests that change something."""
    allowed = roles or ALL_ROLES

    async def _check(session: Annotated[Session, Depends(csrf_session)]) -> Session:
        if session.role not in allowed:
            raise refuse(status.HTTP_403_FORBIDDEN, f"role {session.role} may not do this")
        return session

    return _check
