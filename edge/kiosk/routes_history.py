"""History: transactions by plate, container, declaration and time, with their timelines; the audit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from edge.decision import Decision, Outcome
from edge.kiosk.auth import Ctx, reader, refuse
from edge.kiosk.sessions import Session
from edge.kiosk.users import Role
from edge.kiosk.views import ErrorBody, ReasonView, reason_view
from edge.store import AuditRecord, TransactionRecord, TxStatus
from vision import iso6346
from vision.plates import normalise_plate

router = APIRouter(prefix="/api/v1", tags=["history"])

Reader = Annotated[Session, Depends(reader())]
Supervisor = Annotated[Session, Depends(reader(Role.SUPERVISOR))]


class TransitionView(BaseModel):
    seq: int
    from_state: str
    to_state: str
    cause: str
    at: datetime


class AuditView(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str
    hash: str


class TransactionSummary(BaseModel):
    id: str
    lane_id: str
    started_at: datetime
    ended_at: datetime | None
    state: str
    status: TxStatus
    plate: str | None
    plate_confidence: float | None
    containers: list[str]
    gross_kg: float | None
    outcome: Outcome | None
    reasons: list[ReasonView]
    declaration_number: str | None
    officer: str | None


class TransactionDetail(TransactionSummary):
    transitions: list[TransitionView]
    exits: list[tuple[str, str]] = Field(
        description="(declaration, container or '') pairs the lane saw pass under this transaction."
    )
    unconfirmed_exits: list[tuple[str, str]] = Field(
        description="(declaration, container or '') pairs that may have passed while the lane could not "
        "watch (controller link down): each counts as used until an officer confirms it, and then moves to "
        "the transaction that confirmed it."
    )
    audit: list[AuditView] = Field(description="Officer actions on this transaction, oldest first.")


class AuditCheck(BaseModel):
    intact: bool
    first_broken: int | None = Field(description="Id of the first record that fails the hash chain.")
    head: str = Field(description="The newest record's hash (anchor it outside the gate).")


def _summary_fields(record: TransactionRecord, decision: Decision | None) -> dict[str, Any]:
    return {
        "id": record.id,
        "lane_id": record.lane_id,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "state": record.state,
        "status": record.status,
        "plate": record.plate,
        "plate_confidence": record.plate_confidence,
        "containers": list(record.containers),
        "gross_kg": record.gross_kg,
        "outcome": record.outcome,
        "reasons": [reason_view(r, decision) for r in record.reasons],
        "declaration_number": record.declaration_number,
        "officer": record.officer,
    }


def audit_view(record: AuditRecord) -> AuditView:
    return AuditView(
        id=record.id,
        at=record.at,
        actor=record.actor,
        action=record.action,
        subject=record.subject,
        reason=record.reason,
        before=record.before,
        after=record.after,
        prev_hash=record.prev_hash,
        hash=record.hash,
    )


def _utc(moment: datetime | None) -> datetime | None:
    """A query time as aware UTC; a time without an offset is taken as UTC."""
    if moment is None:
        return None
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (OverflowError, ValueError):
        error = {
            "type": "value_error",
            "loc": ("query", "since/until"),
            "msg": "time out of range",
            "input": None,
        }
        raise RequestValidationError([error]) from None


@router.get(
    "/transactions",
    response_model=list[TransactionSummary],
    responses={401: {"model": ErrorBody}},
)
async def search(
    _: Reader,
    ctx: Ctx,
    plate: Annotated[str | None, Query(max_length=20)] = None,
    container: Annotated[str | None, Query(max_length=20)] = None,
    declaration: Annotated[str | None, Query(max_length=40)] = None,
    since: Annotated[datetime | None, Query(description="Started at or after (UTC if no offset).")] = None,
    until: Annotated[datetime | None, Query(description="Started before (UTC if no offset).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[TransactionSummary]:
    """Transactions matching every given filter, newest first."""
    records = ctx.lane.store.transactions.search(
        plate=normalise_plate(plate) if plate is not None else None,
        container=iso6346.normalise(container) if container is not None else None,
        declaration=declaration.strip() if declaration is not None else None,
        since=_utc(since),
        until=_utc(until),
        limit=limit,
    )
    return [TransactionSummary(**_summary_fields(r, ctx.hub.decisions.get(r.id))) for r in records]


@router.get(
    "/transactions/{tx_id}",
    response_model=TransactionDetail,
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
async def transaction(tx_id: str, _: Reader, ctx: Ctx) -> TransactionDetail:
    """One transaction with its timeline of transitions, its exits and the officer actions on it."""
    record = ctx.lane.store.transactions.get(tx_id)
    if record is None:
        raise refuse(status.HTTP_404_NOT_FOUND, "no such transaction")
    audit = [audit_view(a) for a in reversed(ctx.lane.store.audit.records(subject=tx_id, limit=200))]
    return TransactionDetail(
        **_summary_fields(record, ctx.hub.decisions.get(record.id)),
        transitions=[
            TransitionView(seq=t.seq, from_state=t.from_state, to_state=t.to_state, cause=t.cause, at=t.at)
            for t in record.transitions
        ],
        exits=list(record.exits),
        unconfirmed_exits=list(record.unconfirmed_exits),
        audit=audit,
    )


@router.get(
    "/audit",
    response_model=list[AuditView],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)
async def audit_records(
    _: Supervisor,
    ctx: Ctx,
    subject: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditView]:
    """The audit trail, newest first (supervisors)."""
    return [audit_view(r) for r in ctx.lane.store.audit.records(subject=subject, limit=limit)]


@router.get(
    "/audit/verify",
    response_model=AuditCheck,
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)
async def audit_verify(_: Supervisor, ctx: Ctx) -> AuditCheck:
    """Walk the hash chain; name the first record that was changed, moved or removed (supervisors)."""
    broken = ctx.lane.store.audit.verify()
    return AuditCheck(intact=broken is None, first_broken=broken, head=ctx.lane.store.audit.head())
