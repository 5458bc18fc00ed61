"""Everything the routers share, built once per app and reached through `request.app.state.kiosk`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import Request

from edge.kiosk.config import KioskConfig
from edge.kiosk.live import LiveHub
from edge.kiosk.login_throttle import LoginThrottle
from edge.kiosk.sessions import RateLimiter, SessionStore
from edge.kiosk.users import UsersRepo

if TYPE_CHECKING:
    from edge.kiosk.lane_access import LaneAccess


@dataclass(slots=True)
class KioskContext:
    lane: LaneAccess
    config: KioskConfig
    users: UsersRepo
    sessions: SessionStore
    login_limiter: RateLimiter
    login_throttle: LoginThrottle
    hub: LiveHub
    clock: Callable[[], float]  # monotonic seconds: sessions, rate limits and login delays
    wall: Callable[[], datetime]  # aware UTC


def kiosk(request: Request) -> KioskContext:
    """FastAPI dependency: the kiosk context of the app serving this request."""
    context: KioskContext = request.app.state.kiosk
    return context
