"""Who is asking, and may they: the session cookie, the CSRF header, same-origin checks and roles.

Every state-changing request needs a live session, the session's CSRF token in `X-CSRF-Token` (a page on
another site can make the browser send the cookie, never read the token) and, when the browser says where
it came from, this very origin. The user's role is read from the store on each request, so disabling an
account or changing its role takes effect at once. A request without a session is refused before its
body is read (SessionFirstRoute).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response, Security, status
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, APIKeyHeader

from edge.kiosk.context import KioskContext, kiosk
from edge.kiosk.sessions import CSRF_HEADER, SESSION_COOKIE, Session
from edge.kiosk.users import Role
from webauth.origin import check_same_origin

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


NOT_LOGGED_IN = "not logged in, or the session expired"


async def current_session(ctx: Ctx, token: Annotated[str | None, Security(session_cookie)] = None) -> Session:
    """The caller's live session (its idle timer restarted), or 401."""
    session = ctx.sessions.get(token)
    if session is None:
        raise refuse(status.HTTP_401_UNAUTHORIZED, NOT_LOGGED_IN)
    user = ctx.users.get(session.user)
    if user is None or user.disabled:
        ctx.sessions.drop(session.token)
        raise refuse(status.HTTP_401_UNAUTHORIZED, "account disabled")
    session.role = user.role
    return session


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


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


class SessionFirstRoute(APIRoute):
    """A route that answers 401 to a request without a live session before reading its body.

    FastAPI reads and parses a JSON body before it runs any dependency, so an anonymous caller would
    otherwise have its body parsed (up to the body cap) only to be refused. The check here is only that
    a live session exists; the route's own dependencies still decide the rest (account, role, CSRF).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None or not _depends_on(self.dependant, current_session):
            return handler

        async def session_first(request: Request) -> Response:
            if kiosk(request).sessions.get(request.cookies.get(SESSION_COOKIE), touch=False) is None:
                return JSONResponse({"detail": NOT_LOGGED_IN}, status_code=status.HTTP_401_UNAUTHORIZED)
            return await handler(request)

        return session_first
