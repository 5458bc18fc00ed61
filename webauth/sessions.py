"""Login sessions held in memory, each with its own CSRF token, and a per-address login rate limit.

Sessions live in the server's memory on purpose: a restart logs everyone out, and nothing that grants
access is ever written to disk. Shared by the gate's kiosk and the central office's screen; each names its
own role type (``SessionStore[Role]``). Time is the monotonic clock given at construction (tests pass a
fake one), so idle timeouts do not jump with the wall clock.
"""

from __future__ import annotations

import hmac
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

R = TypeVar("R", bound=str)

SESSION_COOKIE = "gate_session"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(slots=True)
class Session(Generic[R]):
    token: str
    user: str
    role: R
    csrf: str
    created: float
    last_seen: float

    def csrf_matches(self, candidate: str | None) -> bool:
        return candidate is not None and hmac.compare_digest(self.csrf.encode(), candidate.encode())


class SessionStore(Generic[R]):
    """Sessions by cookie token; a session idle past `idle_s`, or older than `max_age_s`, is gone."""

    def __init__(self, idle_s: float, max_age_s: float, clock: Callable[[], float]) -> None:
        self._idle_s = idle_s
        self._max_age_s = max_age_s
        self._clock = clock
        self._sessions: dict[str, Session[R]] = {}

    def create(self, user: str, role: R) -> Session[R]:
        now = self._clock()
        session = Session(secrets.token_urlsafe(32), user, role, secrets.token_urlsafe(32), now, now)
        self._sessions[session.token] = session
        return session

    def get(self, token: str | None, *, touch: bool = True) -> Session[R] | None:
        """The live session for `token`, its idle timer restarted unless `touch` is False."""
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None:
            return None
        now = self._clock()
        if now - session.last_seen > self._idle_s or now - session.created > self._max_age_s:
            del self._sessions[token]
            return None
        if touch:
            session.last_seen = now
        return session

    def alive(self, session: Session[R]) -> bool:
        """Still valid, without counting as activity (a live stream is not an officer at the screen)."""
        return self.get(session.token, touch=False) is session

    def drop(self, token: str) -> None:
        self._sessions.pop(token, None)

    def drop_user(self, user: str) -> None:
        for token in [t for t, s in self._sessions.items() if s.user == user]:
            del self._sessions[token]

    def __len__(self) -> int:
        return len(self._sessions)


class RateLimiter:
    """At most `limit` events per `window_s` per key (a sliding window); keys expire with their events."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._window_s = window_s
        self._clock = clock
        self._events: dict[str, deque[float]] = {}

    def allow(self, key: str) -> float | None:
        """Record one event for `key`; None if allowed, else the seconds until one is allowed again."""
        now = self._clock()
        events = self._events.setdefault(key, deque())
        while events and now - events[0] >= self._window_s:
            events.popleft()
        if len(events) >= self._limit:
            return self._window_s - (now - events[0])
        events.append(now)
        if len(self._events) > 10_000:  # a flood of distinct addresses must not grow memory without bound
            self._events = {k: v for k, v in self._events.items() if v and now - v[-1] < self._window_s}
        return None
