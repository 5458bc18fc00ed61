"""Logging in and out, the session's CSRF token, and the screen's words."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from edge.kiosk.auth import Ctx, SessionFirstRoute, csrf_session, current_session
from edge.kiosk.fields import Password, UserName
from edge.kiosk.i18n import Language, strings
from edge.kiosk.sessions import Session
from edge.kiosk.users import Role, verify_password
from edge.kiosk.views import ErrorBody
from webauth.origin import check_same_origin
from webauth.session_cookie import clear_session_cookie, set_session_cookie

log = logging.getLogger("edge.kiosk.auth")

router = APIRouter(prefix="/api/v1", tags=["session"], route_class=SessionFirstRoute)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: UserName
    password: Password


class SessionInfo(BaseModel):
    user: str
    role: Role
    csrf_token: str = Field(description="Send as X-CSRF-Token on every request that changes something.")
    idle_timeout_s: float


class Done(BaseModel):
    ok: bool = True


def _info(session: Session, idle_timeout_s: float) -> SessionInfo:
    return SessionInfo(
        user=session.user, role=session.role, csrf_token=session.csrf, idle_timeout_s=idle_timeout_s
    )


def _error(code: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=code, headers=headers)


def _too_soon(wait_s: float, detail: str) -> JSONResponse:
    retry_after = {"Retry-After": str(max(1, math.ceil(wait_s)))}
    return _error(status.HTTP_429_TOO_MANY_REQUESTS, detail, retry_after)


@router.post(
    "/login",
    response_model=SessionInfo,
    responses={
        401: {"model": ErrorBody, "description": "Wrong name or password (the same answer for both)."},
        403: {"model": ErrorBody, "description": "Request from another origin."},
        429: {
            "model": ErrorBody,
            "description": "Too many attempts from this address, or failed logins not yet waited out: "
            "try again after Retry-After seconds.",
        },
    },
)
async def login(body: LoginRequest, request: Request, ctx: Ctx) -> Response:
    """Check the password (off the lane's loop), open a session and set its HttpOnly cookie.

    Failed logins make the next attempts from that address wait (edge.kiosk.login_throttle); an
    account is never locked, and an unknown name is answered exactly as a wrong password.
    """
    check_same_origin(request)
    address = request.client.host if request.client else "unknown"
    wait_s = ctx.login_limiter.allow(address)
    if wait_s is not None:
        log.warning("login rate limit hit from %s", address)
        return _too_soon(wait_s, "too many login attempts: wait and try again")
    wait_s = ctx.login_throttle.attempt(body.name, address)
    if wait_s is not None:
        log.warning(
            "login for %r from %s refused: %.0f s to wait after failed logins", body.name, address, wait_s
        )
        return _too_soon(wait_s, "too many failed logins: wait and try again")
    user = ctx.users.get(body.name)
    password_hash = user.password_hash if user is not None else None  # None: a dummy hash, same cost
    good = await asyncio.to_thread(verify_password, password_hash, body.password)
    if not good or user is None or user.disabled:
        log.warning("login failed for %r from %s", body.name, address)
        return _error(status.HTTP_401_UNAUTHORIZED, "wrong user name or password")
    ctx.login_throttle.succeeded(body.name, address)
    session = ctx.sessions.create(user.name, user.role)
    log.info("%s %s logged in from %s", user.role, user.name, address)
    response = JSONResponse(_info(session, ctx.config.session_idle_timeout_s).model_dump(mode="json"))
    set_session_cookie(response, session.token, secure=ctx.config.cookies_secure)
    return response


@router.post(
    "/logout",
    response_model=Done,
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)
async def logout(session: Annotated[Session, Depends(csrf_session)], ctx: Ctx, response: Response) -> Done:
    """End the session and clear its cookie."""
    ctx.sessions.drop(session.token)
    clear_session_cookie(response, secure=ctx.config.cookies_secure)
    return Done()


@router.get("/session", response_model=SessionInfo, responses={401: {"model": ErrorBody}})
async def session_info(session: Annotated[Session, Depends(current_session)], ctx: Ctx) -> SessionInfo:
    """Who is logged in, and the CSRF token (a reloaded page gets it here)."""
    return _info(session, ctx.config.session_idle_timeout_s)


@router.get("/i18n/{language}", response_model=dict[str, Any])
async def labels(language: Language) -> dict[str, object]:
    """The screen's labels, reason texts and preset reasons in Vietnamese or English."""
    return strings(language)
