"""The page itself, and the liveness and readiness probes for systemd or a supervisor."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, status
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from edge.kiosk.auth import Ctx
from edge.kiosk.context import KioskContext

router = APIRouter(tags=["service"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    lane_started: bool
    lane_loop: bool
    controller_link: bool
    store: bool = Field(description="The store is readable, takes the lane's writes and has room.")
    storage: str | None = Field(
        None, description="Why the store is not ready (writes failing, space low); absent when it is."
    )
    inbound: bool | None = Field(
        None,
        description="Clearances and commands from central are being handled (the inbound task runs and no "
        "message is stuck); absent when the daemon runs without its uplink.",
    )


def _index_html() -> str:
    return resources.files("edge.kiosk").joinpath("static/index.html").read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index() -> HTMLResponse:
    """The single-page kiosk (its script and styles come from /static, never a CDN)."""
    return HTMLResponse(_index_html(), headers={"Cache-Control": "no-store"})


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Alive: the daemon's main loop answers (the lane runs in a process of its own: see /readyz)."""
    return Health(status="ok")


def readiness(ctx: KioskContext) -> Readiness:
    facts = ctx.lane.readiness()
    return Readiness(
        ready=facts.ready,
        inbound=facts.inbound,
        lane_started=facts.lane_started,
        lane_loop=facts.lane_loop,
        controller_link=facts.controller_link,
        store=facts.store,
        storage=facts.storage,
    )


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: see which check fails."}},
)
async def readyz(ctx: Ctx) -> JSONResponse:
    """Ready: the lane started, the I/O controller answers, the store is readable, writable and has room."""
    result = readiness(ctx)
    code = status.HTTP_200_OK if result.ready else status.HTTP_503_SERVICE_UNAVAILABLE
    return JSONResponse(result.model_dump(exclude_none=True), status_code=code)
