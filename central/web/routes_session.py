"""Logging in and out of the central screen, and the session's CSRF token; each login is audited."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from central.accounts import StaffRole
from central.web.auth import Ctx, StaffSession, csrf_session, current_session
from webauth.origin import check_same_origin
from webauth.passwords import verify_password
from webauth.session_cookie import clear_session_cookie, set_session_cookie

log = logging.getLogger("central.web.auth")

router = APIRouter(prefix="/api/v1", tags=["session"])


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=32)
    password: str = Field(min_length=1, max_length=256)


class SessionInfo(BaseModel):
    user: str
    role: StaffRole
    csrf_token: str = Field(description="Send as X-CSRF-Token on every request that changes something.")


def _printable(name: str) -> str:
    """A tried name as the audit keeps it: control characters as '?' (PostgreSQL's text refuses NUL)."""
    return "".join(ch if ch.isprintable() else "?" for ch in name[:32])


def _info(session: StaffSession) -> SessionInfo:
    return SessionInfo(user=session.user, role=session.role, csrf_token=session.csrf)


def _error(code: int, detail: str, wait_s: float | None = None) -> JSONResponse:
    headers = None if wait_s is None else {"Retry-After": str(max(1, math.ceil(wait_s)))}
    return JSONResponse({"detail": detail}, status_code=code, headers=headers)


@router.post("/login", response_model=SessionInfo)
async def login(body: LoginRequest, request: Request, ctx: Ctx) -> Response:
    """Check the password off the loop, open a session, set its HttpOnly cookie; wrong: the same 401."""
    check_same_origin(request)
    address = request.client.host if request.client else "unknown"
    wait_s = ctx.login_limiter.allow(address)
    if wait_s is not None:
        return _error(status.HTTP_429_TOO_MANY_REQUESTS, "too many login attempts: wait", wait_s)
    wait_s = ctx.login_throttle.attempt(body.name, address)
    if wait_s is not None:
        return _error(status.HTTP_429_TOO_MANY_REQUESTS, "too many failed logins: wait and try again", wait_s)
    name, now = body.name, ctx.wall()
    account = await ctx.db(lambda _q, accounts: accounts.get(name))
    good = await asyncio.to_thread(verify_password, account.password_hash if account else None, body.password)
    if not good or account is None or account.disabled:
        log.warning("central screen: login failed for %r from %s", name, address)
        shown = _printable(name)
        await ctx.db(lambda _q, a: a.audit(shown, "login.failed", "screen", f"from {address}", now))
        return _error(status.HTTP_401_UNAUTHORIZED, "wrong user name or password")
    ctx.login_throttle.succeeded(name, address)
    session = ctx.sessions.create(account.name, account.role)
    await ctx.db(lambda _q, a: a.audit(name, "login", "screen", f"from {address}", now))
    response = JSONResponse(_info(session).model_dump(mode="json"))
    set_session_cookie(response, session.token, secure=ctx.settings.cookies_secure)
    return response


@router.post("/logout")
async def logout(session: Annotated[StaffSession, Depends(csrf_session)], ctx: Ctx) -> Response:
    """End the session, clear its cookie, audit it."""
    ctx.sessions.drop(session.token)
    name, now = session.user, ctx.wall()
    await ctx.db(lambda _q, a: a.audit(name, "logout", "screen", "", now))
    response = JSONResponse({"ok": True})
    clear_session_cookie(response, secure=ctx.settings.cookies_secure)
    return response


@router.get("/session", response_model=SessionInfo)
async def session_info(session: Annotated[StaffSession, Depends(current_session)]) -> SessionInfo:
    """Who is logged in, and the CSRF token (a reloaded page gets it here)."""
    return _info(session)
