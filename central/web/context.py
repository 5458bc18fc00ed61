"""What every request of the central screen reaches: the database thread, accounts' sessions, throttles."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request

from central.accounts import StaffRole
from central.web.database import ScreenDatabase
from central.web.settings import WebSettings
from webauth.login_throttle import LoginThrottle
from webauth.sessions import RateLimiter, SessionStore


@dataclass
class ScreenContext:
    settings: WebSettings
    db: ScreenDatabase
    sessions: SessionStore[StaffRole]
    login_limiter: RateLimiter
    login_throttle: LoginThrottle
    wall: Callable[[], datetime]


def screen(request: Request) -> ScreenContext:
    context: ScreenContext = request.app.state.screen
    return context
