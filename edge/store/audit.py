"""The officer and configuration audit trail, hash-chained so edits, deletions and reordering show.

Each record's ``hash`` is SHA-256 over the canonical JSON of its fields (its ``id`` included, so moving a row
breaks it) and the previous record's hash. The chain proves the rows were not changed after the fact by
someone without this code; it cannot stop whoever can rewrite the whole chain, which is why the newest hash is
worth sending to central (the caller may put it in an outbox event).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edge.store.db import (
    JsonObject,
    StoreConnection,
    dump_json,
    from_text,
    load_json,
    placeholders,
    to_text,
)

GENESIS_HASH = "0" * 64
_IN_BATCH = 500  # subjects per IN list: far below sqlite's bound-parameter limit


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    reason: str | None
    before: JsonObject | None
    after: JsonObject | None
    prev_hash: str
    hash: str


def record_hash(
    record_id: int,
    at: str,
    actor: str,
    action: str,
    subject: str,
    reason: str | None,
    before: str | None,
    after: str | None,
    prev_hash: str,
) -> str:
    """The chain hash over the stored text of one record; ``before``/``after`` as their stored JSON text."""
    canonical = dump_json(
        {
            "id": record_id,
            "at": at,
            "actor": actor,
            "action": action,
            "subject": subject,
            "reason": reason,
            "before": before,
            "after": after,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_COLUMNS = "id, at, actor, action, subject, reason, before, after, prev_hash, hash"


def _optional_json(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else dump_json(dict(value))


class AuditRepo:
    """Append-only audit records; :meth:`verify` walks the chain."""

    def __init__(self, conn: StoreConnection) -> None:
        self._conn = conn

    def append(
        self,
        actor: str,
        action: str,
        subject: str,
        reason: str | None,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        at: datetime,
    ) -> AuditRecord:
        """Append one record chained to the newest; joins the caller's ``with conn:`` if one is open."""
        at_text = to_text(at)
        before_text = _optional_json(before)
        after_text = _optional_json(after)
        with self._conn:
            # BEGIN IMMEDIATE holds the write lock, so no other writer can slip a record in between.
            row = self._conn.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
            prev_hash = GENESIS_HASH if row is None else str(row[0])
            # The id is part of the hash and AUTOINCREMENT only reveals it on insert: insert, then seal.
            cursor = self._conn.execute(
                "INSERT INTO audit (at, actor, action, subject, reason, before, after, prev_hash, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, '')",
                (at_text, actor, action, subject, reason, before_text, after_text, prev_hash),
            )
            record_id = cursor.lastrowid
            if record_id is None:  # pragma: no cover - always set after an INSERT into a rowid table
                raise RuntimeError("sqlite returned no rowid for the audit insert")
            digest = record_hash(
                record_id, at_text, actor, action, subject, reason, before_text, after_text, prev_hash
            )
            self._conn.execute("UPDATE audit SET hash = ? WHERE id = ?", (digest, record_id))
        return AuditRecord(
            id=record_id,
            at=from_text(at_text),
            actor=actor,
            action=action,
            subject=subject,
            reason=reason,
            before=None if before_text is None else load_json(before_text),
            after=None if after_text is None else load_json(after_text),
            prev_hash=prev_hash,
            hash=digest,
        )

    def records(self, subject: str | None = None, limit: int = 100) -> list[AuditRecord]:
        """Newest records first, optionally for one subject."""
        if subject is None:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM audit ORDER BY id DESC LIMIT ?",  # noqa: S608 - fixed column list
                (limit,),
            ).fetchall()
        else:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM audit WHERE subject = ? ORDER BY id DESC LIMIT ?",  # noqa: S608 - fixed column list
                (subject, limit),
            ).fetchall()
        return [_row_to_record(row) for row in rows]

    def records_of(self, subjects: Sequence[str]) -> dict[str, list[AuditRecord]]:
        """Each subject's records, oldest first (one query for a page of transactions)."""
        found: dict[str, list[AuditRecord]] = {subject: [] for subject in subjects}
        for start in range(0, len(found), _IN_BATCH):
            batch = list(found)[start : start + _IN_BATCH]
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM audit WHERE subject IN ({placeholders(len(batch))})"  # noqa: S608 - '?' marks only
                " ORDER BY id",
                batch,
            ).fetchall()
            for row in rows:
                record = _row_to_record(row)
                found[record.subject].append(record)
        return found

    def count(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0])

    def summary(self, record_id: int) -> str | None:
        """`at actor action subject` of one record as stored, unparsed: a tampered record may not parse."""
        row = self._conn.execute(
            "SELECT at, actor, action, subject FROM audit WHERE id = ?", (record_id,)
        ).fetchone()
        return None if row is None else " ".join(str(value) for value in row)

    def head(self) -> str:
        """The newest hash (the genesis hash for an empty trail): the value to anchor outside the gate."""
        row = self._conn.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        return GENESIS_HASH if row is None else str(row[0])

    def verify(self) -> int | None:
        """None if the chain is intact, else the id of the first broken (or first missing) record.

        A deleted record breaks the link of the record after it, so that one is named. A deleted newest record
        leaves no successor; AUTOINCREMENT's counter then runs past the last id and the missing id is named.
        """
        prev_hash = GENESIS_HASH
        last_id = 0
        with self._conn.read_snapshot():  # a concurrent append cannot look like a break
            cursor = self._conn.execute(
                "SELECT id, at, actor, action, subject, reason, before, after, prev_hash, hash"
                " FROM audit ORDER BY id"
            )
            for row in cursor:
                record_id, at, actor, action, subject, reason, before, after, stored_prev, stored_hash = row
                expected = record_hash(
                    record_id, at, actor, action, subject, reason, before, after, prev_hash
                )
                if stored_prev != prev_hash or stored_hash != expected:
                    return int(record_id)
                prev_hash = stored_hash
                last_id = int(record_id)
            issued = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit'").fetchone()
        if issued is not None and int(issued[0]) > last_id:
            return last_id + 1
        return None


def _row_to_record(row: tuple[Any, ...]) -> AuditRecord:
    record_id, at, actor, action, subject, reason, before, after, prev_hash, digest = row
    return AuditRecord(
        id=int(record_id),
        at=from_text(at),
        actor=str(actor),
        action=str(action),
        subject=str(subject),
        reason=reason,
        before=None if before is None else load_json(before),
        after=None if after is None else load_json(after),
        prev_hash=str(prev_hash),
        hash=str(digest),
    )
