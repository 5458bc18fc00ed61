"""Who is asking, and may they: the kiosk's rules (webauth) with the office's roles.

Reads need a live session; every change (logout) also needs the session's CSRF token in `X-CSRF-Token`
and, when the browser says where it came from, this very origin. The account is read from central's
database on each request, so a disabled account is logged out at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyCookie, APIKeyHeader

from central.accounts import StaffRole
from central.web.context import ScreenContext, screen
from webauth.origin import check_same_origin
from webauth.sessions import CSRF_HEADER, SESSION_COOKIE, Session

session_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Set by POST /api/v1/login.")
csrf_header = APIKeyHeader(name=CSRF_HEADER, auto_error=False, description="The session's csrf_token.")

Ctx = Annotated[ScreenContext, Depends(screen)]
StaffSession = Session[StaffRole]
NOT_LOGGED_IN = "not logged in, or the session expired"


async def current_session(
    ctx: Ctx, token: Annotated[str | None, Security(session_cookie)] = None
) -> StaffSession:
    """The caller's live session (its idle timer restarted), or 401."""
    session = ctx.sessions.get(token)
    if session is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, NOT_LOGGED_IN)
    name = session.user
    account = await ctx.db(lambda _q, accounts: accounts.get(name))
    if account is None or account.disabled:
        ctx.sessions.drop(session.token)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "account disabled")
    session.role = account.role
    return session


async def csrf_session(
    request: Request,
    session: Annotated[StaffSession, Depends(current_session)],
    token: Annotated[str | None, Security(csrf_header)] = None,
) -> StaffSession:
    """A session whose request carries its CSRF token and comes from this origin, or 403."""
    check_same_origin(request)
    if not session.csrf_matches(token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "CSRF token missing or wrong")
    return session


def reader(*roles: StaffRole) -> Callable[..., Awaitable[StaffSession]]:
    """Dependency: a logged-in session with one of ``roles`` (any role when none given)."""
    allowed = roles or tuple(StaffRole)

    async def _check(session: Annotated[StaffSession, Depends(current_session)]) -> StaffSession:
        if session.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {session.role} may not do this")
        return session

    return _check
