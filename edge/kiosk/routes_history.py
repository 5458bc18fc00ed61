"""History: transactions by plate, container, declaration and time, with their timelines; the audit."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar, get_type_hints

from fastapi import APIRouter, Depends, Query, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, create_model

from edge.decision import Decision
from edge.kiosk.auth import Ctx, reader, refuse
from edge.kiosk.sessions import Session
from edge.kiosk.users import Role
from edge.kiosk.views import ErrorBody, ReasonView, reason_view
from edge.store import AuditRecord, TransactionRecord
from edge.store.transactions import Transition as StoredTransition
from vision import iso6346
from vision.plates import normalise_plate

router = APIRouter(prefix="/api/v1", tags=["history"])

Reader = Annotated[Session, Depends(reader())]
Supervisor = Annotated[Session, Depends(reader(Role.SUPERVISOR))]


M = TypeVar("M", bound=BaseModel)


def fields_of(
    record: type[Any], *, without: Iterable[str] = (), **changed: Any
) -> Callable[[type[M]], type[M]]:
    """A class decorator: the model gets the fields of the store's dataclass `record`, in its order, all
    required, less those `without`, with the types given in `changed` (the record stays their one home)."""

    def derive(model: type[M]) -> type[M]:
        hints = get_type_hints(record)
        fields: dict[str, Any] = {
            f.name: (changed.get(f.name, hints[f.name]), ...)
            for f in dataclasses.fields(record)
            if f.name not in set(without)
        }
        return create_model(model.__name__, __base__=model, __module__=model.__module__, **fields)

    return derive


@fields_of(StoredTransition)
class TransitionView(BaseModel):
    pass


@fields_of(AuditRecord)
class AuditView(BaseModel):
    pass


@fields_of(
    TransactionRecord,
    without=("decided_at", "note", "transitions", "exits", "unconfirmed_exits"),
    containers=list[str],
    reasons=list[ReasonView],
)
class TransactionSummary(BaseModel):
    pass


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
    fields = {name: getattr(record, name) for name in TransactionSummary.model_fields}
    return {**fields, "reasons": [reason_view(r, decision) for r in record.reasons]}


def audit_view(record: AuditRecord) -> AuditView:
    return AuditView.model_validate(record, from_attributes=True)


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
        transitions=[TransitionView.model_validate(t, from_attributes=True) for t in record.transitions],
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
