"""The stylesheet the kiosk and the central screen share (webauth/static/base.css), mounted by both apps so
their common look lives in one file."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

BASE_STATIC_DIR = Path(__file__).parent / "static"


def mount_base_style(app: FastAPI) -> None:
    """Serve base.css at /static/base/base.css; call before the app mounts its own /static."""
    app.mount("/static/base", StaticFiles(directory=BASE_STATIC_DIR), name="base-static")
