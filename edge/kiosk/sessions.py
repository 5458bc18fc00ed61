"""The kiosk's sessions: webauth's, holding a kiosk :class:`~edge.kiosk.users.Role`."""

from __future__ import annotations

from edge.kiosk.users import Role
from webauth import sessions
from webauth.sessions import CSRF_HEADER, SESSION_COOKIE, RateLimiter

Session = sessions.Session[Role]
SessionStore = sessions.SessionStore[Role]

__all__ = ["CSRF_HEADER", "SESSION_COOKIE", "RateLimiter", "Session", "SessionStore"]
