"""How a transaction ended and who decided it, told from its record and the officer actions on it.

The decision column alone said PASS, HOLD or REJECT, and the status "Completed" for a truck that passed and
one that was turned back alike. The record keeps how the lane saw it end (edge.store.transactions.TxResult);
the audit says which officer approved, rejected or opened by hand. Rows recorded before the result was kept
are told from their exits and the audit, and say so when neither tells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from edge.store import AuditRecord, TransactionRecord, TxStatus
from edge.store.transactions import TxResult

DecidedBy = Literal["automatic", "officer", "none"]
_DECISIVE = ("approve", "reject", "manual_open")


class Ending(StrEnum):
    PASSED = "passed"  # crossed on the automatic PASS
    PASSED_BY_OFFICER = "passed_by_officer"  # crossed after an officer approved
    OPENED_BY_HAND = "opened_by_hand"  # a supervisor opened the barrier by hand during it
    REJECTED = "rejected"  # an officer rejected it and it backed out
    TURNED_BACK = "turned_back"  # it left without crossing
    ABORTED = "aborted"  # ended with no passage seen (manual open, recovery)
    UNCONFIRMED = "unconfirmed"  # the barrier was open while the lane could not watch: passage unknown
    INTERRUPTED = "interrupted"  # the daemon stopped while it was open
    IN_PROGRESS = "in_progress"
    UNKNOWN = "unknown"  # completed before the end was recorded, and nothing else tells


@dataclass(frozen=True)
class Told:
    ending: Ending
    decided_by: DecidedBy
    officer: str | None  # the deciding officer's user name, when an officer decided


def _last(audit: Sequence[AuditRecord], *actions: str) -> AuditRecord | None:
    return next((a for a in reversed(audit) if a.action in actions), None)


def _result(record: TransactionRecord, audit: Sequence[AuditRecord]) -> TxResult | None:
    """The stored result, or for an older row what its exits and the audit show."""
    if record.result is not None:
        return record.result
    if record.exits:
        return TxResult.PASSED
    if record.unconfirmed_exits:
        return TxResult.UNCONFIRMED
    if _last(audit, "reject") is not None:
        return TxResult.REJECTED
    return None


def _who(record: TransactionRecord, audit: Sequence[AuditRecord]) -> tuple[DecidedBy, str | None]:
    """The officer whose approval, rejection or manual open came last; else the automatic decision."""
    decisive = _last(audit, *_DECISIVE)
    if decisive is not None:
        return "officer", decisive.actor
    if record.officer:  # a decision recorded with its officer but no audit record of theirs here
        return "officer", record.officer
    return ("automatic" if record.outcome is not None else "none"), None


def _ending(record: TransactionRecord, audit: Sequence[AuditRecord]) -> Ending:
    if record.status is TxStatus.OPEN:
        return Ending.IN_PROGRESS
    if record.status is TxStatus.INTERRUPTED:
        return Ending.INTERRUPTED
    result = _result(record, audit)
    if result is TxResult.PASSED:
        if _last(audit, "manual_open") is not None:
            return Ending.OPENED_BY_HAND
        by_officer = _last(audit, "approve") is not None or bool(record.officer)
        return Ending.PASSED_BY_OFFICER if by_officer else Ending.PASSED
    return {
        TxResult.UNCONFIRMED: Ending.UNCONFIRMED,
        TxResult.REJECTED: Ending.REJECTED,
        TxResult.LEFT: Ending.TURNED_BACK,
        TxResult.ABORTED: Ending.ABORTED,
        None: Ending.UNKNOWN,
    }[result]


def tell(record: TransactionRecord, audit: Sequence[AuditRecord]) -> Told:
    """The transaction's ending and who decided it; `audit` is its officer actions, oldest first."""
    decided_by, officer = _who(record, audit)
    return Told(_ending(record, audit), decided_by, officer)
