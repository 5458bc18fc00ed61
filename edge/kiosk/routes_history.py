"""History: transactions by plate, container, declaration and time, with their timelines; the audit."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar, get_type_hints

from fastapi import APIRouter, Depends, Query, status
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, create_model

from edge.decision import Decision
from edge.kiosk import corrections
from edge.kiosk.auth import Ctx, reader, refuse
from edge.kiosk.causes import translate_cause
from edge.kiosk.endings import DecidedBy, Ending, tell
from edge.kiosk.sessions import Session
from edge.kiosk.users import Role
from edge.kiosk.views import ErrorBody, ReasonView, reason_view
from edge.store import AuditRecord, TransactionRecord
from edge.store.transactions import Transition as StoredTransition
from edge.store.transactions import TxResult
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
    cause_vi: str = Field(description="The cause in Vietnamese, numbers written the Vietnamese way.")
    cause_en: str = Field(description="The cause in English for the screen, thousands separated.")


@fields_of(AuditRecord)
class AuditView(BaseModel):
    pass


@fields_of(
    TransactionRecord,
    without=("decided_at", "note", "transitions", "exits", "unconfirmed_exits", "evidence", "officer"),
    containers=list[str],
    reasons=list[ReasonView],
)
class TransactionSummary(BaseModel):
    ending: Ending = Field(
        description="How it ended: the lane's result told with the officer actions (passed, "
        "passed_by_officer, opened_by_hand, rejected, turned_back, aborted, unconfirmed, interrupted, "
        "in_progress; unknown for a row completed before the result was kept)."
    )
    decided_by: DecidedBy = Field(
        description="officer: an officer approved, rejected or opened by hand (the last of these); "
        "automatic: the lane's decision stood; none: nothing was decided."
    )
    officer: str | None = Field(description="The deciding officer's user name, when an officer decided.")
    camera_plate: str | None = Field(
        description="The plate the camera read, when an officer corrected it to `plate`."
    )


class CorrectionView(BaseModel):
    at: datetime
    officer: str
    reason: str | None
    plate_before: str | None = Field(description="The read before the correction (the camera's first).")
    plate_after: str | None
    containers_before: list[str]
    containers_after: list[str]


class EvidenceView(BaseModel):
    kind: str = Field(description="plate or container")
    text: str = Field(description="What was read on this image.")
    url: str = Field(description="The full frame, from the authenticated evidence endpoint.")


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
    corrections: list[CorrectionView] = Field(description="The officers' corrections of the reads.")
    evidence: list[EvidenceView] = Field(
        description="The passage's evidence images: the camera's, and any after a correction."
    )


class AuditCheck(BaseModel):
    intact: bool
    first_broken: int | None = Field(description="Id of the first record that fails the hash chain.")
    head: str = Field(description="The newest record's hash (anchor it outside the gate).")


_DERIVED = ("reasons", "ending", "decided_by", "officer", "camera_plate")


def _summary_fields(
    record: TransactionRecord, decision: Decision | None, audit: list[AuditRecord]
) -> dict[str, Any]:
    """The record's own fields and what its decision and officer actions tell; `audit` oldest first."""
    fields = {name: getattr(record, name) for name in TransactionSummary.model_fields if name not in _DERIVED}
    told = tell(record, audit)
    return {
        **fields,
        "reasons": [reason_view(r, decision) for r in record.reasons],
        "ending": told.ending,
        "decided_by": told.decided_by,
        "officer": told.officer,
        "camera_plate": corrections.camera_plate(audit),
    }


def transition_view(transition: StoredTransition) -> TransitionView:
    return TransitionView(
        **dataclasses.asdict(transition),
        cause_vi=translate_cause(transition.cause, "vi"),
        cause_en=translate_cause(transition.cause, "en"),
    )


def audit_view(record: AuditRecord) -> AuditView:
    return AuditView.model_validate(record, from_attributes=True)


def _utc(moment: datetime | None, name: str) -> datetime | None:
    """A query time as aware UTC; a time without an offset is taken as UTC. `name`: the query
    parameter, which an out-of-range time's error names."""
    if moment is None:
        return None
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (OverflowError, ValueError):
        error = {
            "type": "value_error",
            "loc": ("query", name),
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
    result: Annotated[
        TxResult | None, Query(description="How the lane saw it end (kept from schema 4 on).")
    ] = None,
) -> list[TransactionSummary]:
    """Transactions matching every given filter, newest first."""
    store = ctx.lane.store
    records = store.transactions.search(
        plate=normalise_plate(plate) if plate is not None else None,
        container=iso6346.normalise(container) if container is not None else None,
        declaration=declaration.strip() if declaration is not None else None,
        since=_utc(since, "since"),
        until=_utc(until, "until"),
        limit=limit,
        result=result,
    )
    audit = store.audit.records_of([r.id for r in records])
    return [
        TransactionSummary(**_summary_fields(r, ctx.hub.decisions.get(r.id), audit[r.id])) for r in records
    ]


@router.get(
    "/transactions/{tx_id}",
    response_model=TransactionDetail,
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
async def transaction(
    tx_id: Annotated[str, PathParam(max_length=64)], _: Reader, ctx: Ctx
) -> TransactionDetail:
    """One transaction with its timeline, exits, officer actions, corrections and evidence images."""
    record = ctx.lane.store.transactions.get(tx_id)
    if record is None:
        raise refuse(status.HTTP_404_NOT_FOUND, "no such transaction")
    audit = ctx.lane.store.audit.records_of([tx_id])[tx_id]
    return TransactionDetail(
        **_summary_fields(record, ctx.hub.decisions.get(record.id), audit),
        transitions=[transition_view(t) for t in record.transitions],
        exits=list(record.exits),
        unconfirmed_exits=list(record.unconfirmed_exits),
        audit=[audit_view(a) for a in audit],
        corrections=[CorrectionView(**dataclasses.asdict(c)) for c in corrections.corrections(audit)],
        evidence=[
            EvidenceView(kind=i.kind, text=i.text, url=f"/api/v1/evidence/{i.sha256}")
            for i in corrections.evidence(record.evidence, audit)
        ],
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
