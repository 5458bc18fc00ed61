"""The live lane: its view, the stream of views, the officer actions on it, and evidence images."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge.kiosk import actions
from edge.kiosk.actions import ActionRefused
from edge.kiosk.auth import ACTING_ROLES, Ctx, SessionFirstRoute, actor, reader, refuse
from edge.kiosk.closest import LIMIT, CloseDeclaration, CloseText, closest_declarations
from edge.kiosk.context import KioskContext
from edge.kiosk.fields import ContainerText, PlateText, ReasonText, TxId
from edge.kiosk.live import CLOSED
from edge.kiosk.refusals import WordedRefusal
from edge.kiosk.sessions import Session
from edge.kiosk.users import Role
from edge.kiosk.views import ErrorBody, LaneView
from edge.store import DeclarationRepo
from edge.store.connect import open_db

router = APIRouter(prefix="/api/v1", tags=["lane"], route_class=SessionFirstRoute)  # 401 before the body

KEEPALIVE_S = 5.0

_ACTION_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "Not logged in."},
    403: {"model": ErrorBody, "description": "CSRF token missing, wrong origin, or role not allowed."},
    409: {"model": ErrorBody, "description": "The lane is not in a state that allows this."},
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecisionBody(_Body):
    tx_id: TxId
    reason: ReasonText


class CorrectBody(_Body):
    tx_id: TxId
    reason: ReasonText
    plate: PlateText | None = Field(None, description="The plate as it really is.")
    containers: list[ContainerText] | None = Field(
        None, max_length=10, description="Every container number on the vehicle."
    )

    @model_validator(mode="after")
    def _needs_a_correction(self) -> CorrectBody:
        if self.plate is None and self.containers is None:
            raise ValueError("give a plate, containers, or both")
        return self


class OpenBody(_Body):
    reason: ReasonText


class ActionAccepted(BaseModel):
    """The action is on record and handed to the lane; the live view shows what the lane does."""

    action: Literal["approve", "reject", "correct", "inspection_done", "manual_open"]
    tx_id: str | None


Actor = Annotated[Session, Depends(actor(*ACTING_ROLES))]


def _accepted(action: str, tx_id: str | None, ctx: Ctx) -> ActionAccepted:
    ctx.hub.poke()  # a rejection changes no lane state: the screens must still hear of it
    return ActionAccepted.model_validate({"action": action, "tx_id": tx_id})


@router.get("/lane", response_model=LaneView, responses={401: {"model": ErrorBody}})
async def lane(_: Annotated[Session, Depends(reader())], ctx: Ctx) -> LaneView:
    """The lane now: state, light, barrier, detectors, devices, sync, vehicle, decision."""
    return ctx.hub.view()


def _still_allowed(ctx: Ctx, session: Session) -> bool:
    """The account behind a long-lived stream was not disabled or removed meanwhile."""
    user = ctx.users.get(session.user)
    return user is not None and not user.disabled


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "`lane` events, each a LaneView."},
        401: {"model": ErrorBody},
    },
)
async def events(session: Annotated[Session, Depends(reader())], ctx: Ctx) -> StreamingResponse:
    """Server-sent events: a `lane` event with the whole LaneView on every lane step; `expired` at timeout."""
    subscriber = ctx.hub.subscribe()

    async def stream() -> AsyncIterator[str]:
        try:
            yield f"event: lane\ndata: {ctx.hub.view().model_dump_json()}\n\n"
            while True:
                item = await subscriber.next(KEEPALIVE_S)
                if item is CLOSED:
                    return
                if not ctx.sessions.alive(session) or not _still_allowed(ctx, session):
                    yield "event: expired\ndata: {}\n\n"
                    return
                yield ": keepalive\n\n" if item is None else f"event: lane\ndata: {item}\n\n"
        finally:
            ctx.hub.unsubscribe(subscriber)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _carry_out(action: str, tx_id: str | None, ctx: Ctx, do: Callable[[], None]) -> ActionAccepted:
    """Run an officer action; a refusal becomes its HTTP error, an accepted action its 202 body."""
    try:
        do()
    except ActionRefused as exc:
        if exc.words is not None:
            raise WordedRefusal(exc.code, exc.detail, exc.words) from None
        raise refuse(exc.code, exc.detail) from None
    return _accepted(action, tx_id, ctx)


@router.post("/lane/approve", status_code=202, response_model=ActionAccepted, responses=_ACTION_ERRORS)
async def approve(body: DecisionBody, session: Actor, ctx: Ctx) -> ActionAccepted:
    """Let the held vehicle pass (a REJECT decision takes a supervisor)."""
    return _carry_out(
        "approve",
        body.tx_id,
        ctx,
        lambda: actions.approve(ctx.lane, session.user, session.role, body.tx_id, body.reason),
    )


@router.post("/lane/reject", status_code=202, response_model=ActionAccepted, responses=_ACTION_ERRORS)
async def reject(body: DecisionBody, session: Actor, ctx: Ctx) -> ActionAccepted:
    """Refuse the held vehicle: it must back out."""
    return _carry_out(
        "reject", body.tx_id, ctx, lambda: actions.reject(ctx.lane, session.user, body.tx_id, body.reason)
    )


@router.post("/lane/correct", status_code=202, response_model=ActionAccepted, responses=_ACTION_ERRORS)
async def correct(body: CorrectBody, session: Actor, ctx: Ctx) -> ActionAccepted:
    """Correct the plate and/or containers: the decision runs again; both reads stay on record."""
    return _carry_out(
        "correct",
        body.tx_id,
        ctx,
        lambda: actions.correct(
            ctx.lane, session.user, body.tx_id, body.reason, body.plate, body.containers, session.role
        ),
    )


@router.post(
    "/lane/inspection-done", status_code=202, response_model=ActionAccepted, responses=_ACTION_ERRORS
)
async def inspection_done(body: DecisionBody, session: Actor, ctx: Ctx) -> ActionAccepted:
    """Record the red-channel inspection as done: the decision runs again."""
    return _carry_out(
        "inspection_done",
        body.tx_id,
        ctx,
        lambda: actions.inspection_done(ctx.lane, session.user, body.tx_id, body.reason),
    )


@router.post("/lane/open", status_code=202, response_model=ActionAccepted, responses=_ACTION_ERRORS)
async def manual_open(
    body: OpenBody, session: Annotated[Session, Depends(actor(Role.SUPERVISOR))], ctx: Ctx
) -> ActionAccepted:
    """Open the barrier by hand, outside the decision (supervisors only); it closes by the interlock."""
    tx_id = ctx.lane.view.tx_id
    return _carry_out(
        "manual_open", tx_id, ctx, lambda: actions.manual_open(ctx.lane, session.user, body.reason)
    )


class CloseTextView(BaseModel):
    """A declared text beside the read it was compared with."""

    text: str
    read: str | None = Field(description="The vehicle's read it was compared with; null: none near.")
    distance: int | None = Field(description="Edits between the two normalised texts; null: not near.")
    differs: list[int] = Field(description="Positions in `text` that differ from the read.")


class CloseDeclarationView(BaseModel):
    """One cleared declaration near the reads: what a correction to it would send, and how far it is."""

    plate: CloseTextView
    containers: list[CloseTextView]
    distance: int


class ClosestView(BaseModel):
    tx_id: str
    declarations: list[CloseDeclarationView] = Field(
        description=f"At most {LIMIT}, nearest first; only cleared declarations valid now, only texts "
        "a few edits from a read, and only what a correction would send (no number, seal or weight)."
    )


def _close_text(c: CloseText) -> CloseTextView:
    return CloseTextView(text=c.text, read=c.read, distance=c.distance, differs=list(c.differs))


_CLOSEST_ONE_AT_A_TIME = threading.Lock()


def _closest_in_file(
    path: Path, plate: str | None, boxes: list[str], now: datetime
) -> list[CloseDeclaration]:
    """On a worker thread, with a connection of its own: one search at a time, however many screens ask."""
    with _CLOSEST_ONE_AT_A_TIME, closing(open_db(path)) as conn:
        return closest_declarations(DeclarationRepo(conn).all(), plate, boxes, now)


async def _closest_off_the_loop(
    ctx: KioskContext, plate: str | None, boxes: list[str]
) -> list[CloseDeclaration]:
    """The closest declarations, read and compared off the daemon's loop: the uplink and every screen share
    that loop, and a cache of 10,000 declarations took 3.5 s to read and compare (A12's measurement)."""
    path = ctx.lane.store.path
    if path is None:  # an in-memory store has one connection, the loop's: small by nature
        return closest_declarations(ctx.lane.store.declarations.all(), plate, boxes, ctx.wall())
    return await asyncio.to_thread(_closest_in_file, path, plate, boxes, ctx.wall())


@router.get(
    "/lane/closest",
    response_model=ClosestView,
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
async def closest(
    tx_id: Annotated[TxId, Query(description="The held vehicle's transaction.")],
    _: Annotated[Session, Depends(reader(*ACTING_ROLES))],
    ctx: Ctx,
) -> ClosestView:
    """The cleared declarations closest to the held vehicle's reads, so a correction is one tap away.

    Only for the vehicle held for an officer now, and only for those who may correct it.
    """
    vehicle = ctx.lane.view.awaiting_officer()
    if vehicle is None or vehicle.tx_id != tx_id:
        raise refuse(status.HTTP_409_CONFLICT, "no vehicle with that transaction waits for an officer")
    ident = vehicle.identification
    plate = ident.plate.text if ident is not None and ident.plate is not None else None
    boxes = [r.text for r in ident.containers] if ident is not None else []
    found = await _closest_off_the_loop(ctx, plate, boxes)
    return ClosestView(
        tx_id=tx_id,
        declarations=[
            CloseDeclarationView(
                plate=_close_text(d.plate),
                containers=[_close_text(c) for c in d.containers],
                distance=d.distance,
            )
            for d in found
        ],
    )


_IMAGE_TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


@router.get(
    "/evidence/{sha256}",
    response_class=FileResponse,
    responses={
        200: {"content": {t: {} for t in _IMAGE_TYPES.values()}, "description": "The evidence image."},
        401: {"model": ErrorBody},
        404: {"model": ErrorBody},
    },
)
async def evidence(
    sha256: Annotated[str, PathParam(pattern=r"^[0-9a-f]{64}$")],
    _: Annotated[Session, Depends(reader())],
    ctx: Ctx,
) -> FileResponse:
    """An evidence image by its SHA-256 (the name is checked, so no path leaves the evidence folder)."""
    folder = ctx.config.evidence_dir or ctx.lane.evidence_dir
    if folder is not None:
        for suffix, media_type in _IMAGE_TYPES.items():
            path = Path(folder) / f"{sha256}{suffix}"
            if path.is_file():
                return FileResponse(path, media_type=media_type)
    raise refuse(status.HTTP_404_NOT_FOUND, "no evidence image with that hash")
