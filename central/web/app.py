"""The central screen's app factory: the page, its static files, the JSON API under /api/v1.

Every request that reads the database runs on the screen's own database thread (central.web.database), so
the receiver's connection and thread are never touched from here.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from central.store import StoreUnavailable
from central.web import routes_evidence, routes_metrics, routes_screen, routes_session
from central.web.context import ScreenContext
from central.web.database import Opener, ScreenDatabase
from central.web.settings import WebSettings
from webauth.base_style import mount_base_style
from webauth.body_limit import BodyLimit
from webauth.headers import SecurityHeaders
from webauth.login_throttle import LoginThrottle
from webauth.sessions import RateLimiter, SessionStore

STATIC_DIR = Path(__file__).parent / "static"


def _now() -> datetime:
    return datetime.now(UTC)


async def _invalid(_: Request, exc: Exception) -> JSONResponse:
    """A refused parameter named by its path and message, never echoing the value back whole."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    first = errors[0] if errors else {"loc": (), "msg": str(exc)}
    where = ".".join(str(part) for part in first.get("loc", ()))
    return JSONResponse({"detail": f"{where}: {first.get('msg', 'invalid')}"}, status_code=422)


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": f"central's database is unavailable: {exc}"}, status_code=503)


def create_app(
    opener: Opener,
    settings: WebSettings | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], datetime] = _now,
) -> FastAPI:
    """The screen over the database ``opener`` connects to (called on the screen's database thread)."""
    settings = settings or WebSettings()
    db = ScreenDatabase(opener)
    context = ScreenContext(
        settings=settings,
        db=db,
        sessions=SessionStore(settings.session_idle_timeout_s, settings.session_max_age_s, clock),
        login_limiter=RateLimiter(settings.login_rate_per_minute, 60.0, clock),
        login_throttle=LoginThrottle(settings, clock),
        wall=wall,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            db.close()

    app = FastAPI(
        title="border-gate-edge central screen",
        version="1",
        docs_url=None,  # the interactive docs load from a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.screen = context
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StoreUnavailable, _unavailable)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    mount_base_style(app)  # before /static, which would otherwise answer /static/base/...
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(routes_session.router)
    app.include_router(routes_screen.router)
    app.include_router(routes_evidence.router)
    app.include_router(routes_metrics.router)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    return app
