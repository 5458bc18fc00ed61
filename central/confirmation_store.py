"""The confirmations' reads and writes, over central's SQL store (either database) and its transactions.

Recording runs inside the transaction that stores the exit event (``store_event``): the event and its
confirmations are committed together or not at all, so a passage central has stored is always owed to
customs, even if the process stops right after. The sender's writes are each a transaction of their own.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from central import confirmation_sql as csql
from central.confirmations import confirmations_of
from sync.contract import EventEnvelope

if TYPE_CHECKING:
    from central.sql_store import SqlCentralStore

State = Literal["pending", "delivered", "rejected"]
STATES: tuple[State, ...] = ("pending", "delivered", "rejected")
ERROR_CHARS = 300


def utc(at: datetime) -> datetime:
    """Every time the confirmations store is in UTC: SQLite compares them as text."""
    return at.astimezone(UTC)


def record_exits(store: SqlCentralStore, event: EventEnvelope, at: datetime) -> int:
    """Add the event's confirmations as pending, due at once (in the caller's transaction); how many new."""
    return sum(store._run(csql.INSERT, row).rowcount for row in exit_rows(store, event, at))


def exit_rows(store: SqlCentralStore, event: EventEnvelope, at: datetime) -> list[tuple[Any, ...]]:
    """csql.INSERT's parameters for each of the event's confirmations (a batch inserts them together)."""
    return [
        (
            store._id(confirmation.confirmation_id),
            store._text(confirmation.declaration_number),
            confirmation.gate_id,
            store._id(confirmation.event_id),
            store._time(confirmation.exited_at),
            store._text(confirmation.body().decode()),
            store._time(utc(at)),
            store._time(utc(at)),
        )
        for confirmation in confirmations_of(event)
    ]


def due(store: SqlCentralStore, now: datetime, limit: int) -> list[tuple[str, bytes]]:
    """Pending confirmations whose next attempt is due, oldest passage first: (id, body)."""
    with store._transaction(write=False):
        rows = store._run(csql.DUE, (store._time(utc(now)), limit)).rows
    return [(str(cid), str(body).encode()) for cid, body in rows]


def claim(store: SqlCentralStore, confirmation: str, now: datetime, until: datetime) -> bool:
    """Hold a due confirmation for one attempt until ``until``; False: another sender holds or sent it."""
    with store._transaction():
        result = store._run(
            csql.CLAIM, (store._time(utc(until)), store._id(UUID(confirmation)), store._time(utc(now)))
        )
    return result.rowcount == 1


def mark_delivered(store: SqlCentralStore, confirmation: str, status: int, at: datetime) -> None:
    with store._transaction():
        store._run(csql.DELIVERED, (status, store._time(utc(at)), store._id(UUID(confirmation))))


def mark_rejected(store: SqlCentralStore, confirmation: str, status: int, error: str) -> None:
    with store._transaction():
        store._run(csql.REJECTED, (status, store._text(error[:ERROR_CHARS]), store._id(UUID(confirmation))))


def retry_later(
    store: SqlCentralStore, confirmation: str, at: datetime, status: int | None, error: str
) -> None:
    """Keep the confirmation pending, due again at ``at``, with why the attempt failed."""
    with store._transaction():
        store._run(
            csql.RETRY,
            (store._time(utc(at)), status, store._text(error[:ERROR_CHARS]), store._id(UUID(confirmation))),
        )


def requeue(store: SqlCentralStore, confirmation: str, now: datetime) -> bool:
    """Make a rejected confirmation pending again (the receiver was fixed); False: it is not rejected."""
    with store._transaction():
        result = store._run(csql.REQUEUE, (store._time(utc(now)), store._id(UUID(confirmation))))
    return result.rowcount == 1


@dataclass(frozen=True)
class ConfirmationRow:
    """A confirmation as stored, for `gate-central confirmations`."""

    confirmation_id: str
    declaration_number: str
    gate_id: str
    event_id: str
    exited_at: str
    state: str
    attempts: int
    next_attempt_at: str
    last_status: int | None
    last_error: str | None
    created_at: str
    delivered_at: str | None
    body: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _time_text(value: Any) -> str:
    """A stored time as ISO text in UTC, whichever database returned it (text or datetime)."""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return utc(at).isoformat()


def listing(
    store: SqlCentralStore, state: State | None = None, declaration: str | None = None
) -> list[ConfirmationRow]:
    """Confirmations in ``state`` (None: all), or those of one declaration, oldest passage first."""
    params: tuple[str, ...]
    if declaration is not None:
        statement, params = csql.LIST_DECLARATION, (declaration,)
    elif state is not None:
        statement, params = csql.LIST_IN_STATE, (state,)
    else:
        statement, params = csql.LIST_ALL, ()
    with store._transaction(write=False):
        rows = store._run(statement, params).rows
    found = [_row(row) for row in rows]
    if declaration is not None and state is not None:
        found = [row for row in found if row.state == state]
    return found


def _row(row: tuple[Any, ...]) -> ConfirmationRow:
    cid, decl, gate, event, exited, body, st, attempts, next_at, status, error, created, delivered = row
    return ConfirmationRow(
        confirmation_id=str(cid),
        declaration_number=str(decl),
        gate_id=str(gate),
        event_id=str(event),
        exited_at=_time_text(exited),
        state=str(st),
        attempts=int(attempts),
        next_attempt_at=_time_text(next_at),
        last_status=None if status is None else int(status),
        last_error=None if error is None else str(error),
        created_at=_time_text(created),
        delivered_at=None if delivered is None else _time_text(delivered),
        body=json.loads(str(body)),
    )


def counts(store: SqlCentralStore) -> dict[str, int]:
    """How many confirmations are in each state (every state named, 0 if none)."""
    with store._transaction(write=False):
        rows = store._run(csql.COUNT_PER_STATE).rows
    found = {str(state): int(n) for state, n in rows}
    return {state: found.get(state, 0) for state in STATES}
