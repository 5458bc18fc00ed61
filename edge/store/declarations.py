"""The gate's cache of cleared declarations from central, the exits made against them, and the watchlist.

Central is the source of truth; the gate keeps the newest version it has seen of each declaration so it can
decide while the link is down. An older or repeated version is ignored, so replaying a sync batch is harmless.
Exits are the gate's own record and outlive the cached declaration they consumed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from edge.declaration import Declaration
from edge.store.db import DuplicateExitError, StoreConnection, dump_json, from_text, load_json, to_text

log = logging.getLogger(__name__)

_COLUMNS = (
    "number, version, status, channel, inspection_done, plates, containers, gross_kg, valid_from, valid_until"
)


def _validity_text(at: datetime) -> str:
    # Central may send naive times; they are kept naive so the model round-trips unchanged.
    if at.tzinfo is None:
        return at.isoformat(timespec="microseconds")
    return to_text(at)


def _declarations(rows: Iterable[tuple[Any, ...]]) -> list[Declaration]:
    """The rows that are still valid declarations.

    A row stored by an older version under looser rules (an empty or overlong plate, since refused at import)
    no longer validates: it is left on disk, logged, and treated as absent, so its vehicle is held for an
    officer rather than the lookup failing. Re-import the declaration to use it.
    """
    found = []
    for row in rows:
        try:
            found.append(_row_to_declaration(row))
        except ValidationError as exc:
            log.error(
                "declaration %r in the store no longer validates, ignored: %s", row[0], exc.errors()[0]["msg"]
            )
    return found


def _row_to_declaration(row: tuple[Any, ...]) -> Declaration:
    number, version, status, channel, inspected, plates, containers, gross_kg, valid_from, valid_until = row
    return Declaration.model_validate(
        {
            "number": number,
            "version": version,
            "status": status,
            "channel": channel,
            "inspection_done": bool(inspected),
            "plates": load_json(plates),
            "containers": load_json(containers),
            "gross_kg": gross_kg,
            "valid_from": from_text(valid_from),
            "valid_until": from_text(valid_until),
        }
    )


class DeclarationRepo:
    """Versioned upserts and lookups by number, plate and container."""

    def __init__(self, conn: StoreConnection) -> None:
        self._conn = conn

    def upsert(self, decl: Declaration, at: datetime | None = None) -> bool:
        """Store ``decl`` if it is new or newer than the stored version; True if it was applied.

        ``at`` is when the gate received it (the current time if omitted).
        """
        received = to_text(at if at is not None else datetime.now(UTC))
        containers = [{"number": c.number, "seal": c.seal} for c in decl.containers]
        with self._conn:
            cursor = self._conn.execute(
                f"INSERT INTO declarations ({_COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608 - fixed column list
                " ON CONFLICT (number) DO UPDATE SET"
                " version = excluded.version, status = excluded.status, channel = excluded.channel,"
                " inspection_done = excluded.inspection_done, plates = excluded.plates,"
                " containers = excluded.containers, gross_kg = excluded.gross_kg,"
                " valid_from = excluded.valid_from, valid_until = excluded.valid_until,"
                " updated_at = excluded.updated_at"
                " WHERE excluded.version > declarations.version",
                (
                    decl.number,
                    decl.version,
                    decl.status.value,
                    decl.channel.value,
                    int(decl.inspection_done),
                    dump_json(list(decl.plates)),
                    dump_json(containers),
                    decl.gross_kg,
                    _validity_text(decl.valid_from),
                    _validity_text(decl.valid_until),
                    received,
                ),
            )
            if cursor.rowcount == 0:
                return False
            self._conn.execute("DELETE FROM declaration_plates WHERE declaration_number = ?", (decl.number,))
            self._conn.execute(
                "DELETE FROM declaration_containers WHERE declaration_number = ?", (decl.number,)
            )
            self._conn.executemany(
                "INSERT OR IGNORE INTO declaration_plates (plate, declaration_number) VALUES (?, ?)",
                [(plate, decl.number) for plate in decl.plates],
            )
            self._conn.executemany(
                "INSERT OR IGNORE INTO declaration_containers (container, declaration_number) VALUES (?, ?)",
                [(c.number, decl.number) for c in decl.containers],
            )
        return True

    def mark_inspected(self, number: str, at: datetime) -> bool:
        """Record at the gate that a red-channel declaration's inspection is done; False if unknown.

        A later version from central replaces the flag with central's own (central's word wins).
        """
        with self._conn:
            cursor = self._conn.execute(
                "UPDATE declarations SET inspection_done = 1, updated_at = ? WHERE number = ?",
                (to_text(at), number),
            )
        return cursor.rowcount == 1

    def upsert_many(self, decls: Iterable[Declaration], at: datetime | None = None) -> int:
        """Apply a sync batch in one transaction; returns how many were applied."""
        with self._conn:
            return sum(self.upsert(decl, at) for decl in decls)

    def get(self, number: str) -> Declaration | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM declarations WHERE number = ?",  # noqa: S608 - fixed column list
            (number,),
        ).fetchone()
        found = _declarations([row]) if row is not None else []
        return found[0] if found else None

    def version_of(self, number: str) -> int | None:
        """The stored version, so a sync can ask central only for what changed."""
        row = self._conn.execute("SELECT version FROM declarations WHERE number = ?", (number,)).fetchone()
        return None if row is None else int(row[0])

    def find_by_plate(self, plate: str) -> list[Declaration]:
        """Every cached declaration naming this (normalised) plate, by number."""
        return self._naming("declaration_plates", "plate", plate)

    def find_by_container(self, container: str) -> list[Declaration]:
        """Every cached declaration listing this container number, by number."""
        return self._naming("declaration_containers", "container", container)

    def _naming(self, table: str, column: str, value: str) -> list[Declaration]:
        """The declarations with a row in an index table (`table`, `column`: fixed names, not input)."""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM declarations WHERE number IN"  # noqa: S608 - fixed names only
            f" (SELECT declaration_number FROM {table} WHERE {column} = ?) ORDER BY number",
            (value,),
        ).fetchall()
        return _declarations(rows)

    def all(self) -> list[Declaration]:
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM declarations ORDER BY number").fetchall()  # noqa: S608 - fixed column list
        return _declarations(rows)

    def delete(self, number: str) -> bool:
        """Drop a declaration from the cache (its exits stay); True if it was there."""
        with self._conn:
            cursor = self._conn.execute("DELETE FROM declarations WHERE number = ?", (number,))
        return cursor.rowcount > 0

    def count(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM declarations").fetchone()[0])


@dataclass(frozen=True)
class WatchEntry:
    plate: str
    reason: str
    added_at: datetime


class WatchlistRepo:
    """Plates an officer must see whatever the declaration says."""

    def __init__(self, conn: StoreConnection) -> None:
        self._conn = conn

    def add(self, plate: str, reason: str, at: datetime) -> None:
        """Add or replace the entry for ``plate``."""
        with self._conn:
            self._conn.execute(
                "INSERT INTO watchlist (plate, reason, added_at) VALUES (?, ?, ?)"
                " ON CONFLICT (plate) DO UPDATE SET reason = excluded.reason, added_at = excluded.added_at",
                (plate, reason, to_text(at)),
            )

    def remove(self, plate: str) -> bool:
        """True if the plate was listed."""
        with self._conn:
            cursor = self._conn.execute("DELETE FROM watchlist WHERE plate = ?", (plate,))
        return cursor.rowcount > 0

    def contains(self, plate: str) -> bool:
        return self._conn.execute("SELECT 1 FROM watchlist WHERE plate = ?", (plate,)).fetchone() is not None

    def get(self, plate: str) -> WatchEntry | None:
        row = self._conn.execute(
            "SELECT plate, reason, added_at FROM watchlist WHERE plate = ?", (plate,)
        ).fetchone()
        return None if row is None else WatchEntry(row[0], row[1], from_text(row[2]))

    def all(self) -> list[WatchEntry]:
        rows = self._conn.execute("SELECT plate, reason, added_at FROM watchlist ORDER BY plate").fetchall()
        return [WatchEntry(row[0], row[1], from_text(row[2])) for row in rows]


class ExitRepo:
    """One exit per declaration and container ('' for a vehicle with no container).

    An exit is confirmed (the lane saw the vehicle pass) or unconfirmed (the barrier was open while the lane
    could not watch it): an unconfirmed exit still uses the declaration, and the next vehicle under it is held
    for an officer rather than turned back; a confirmed exit of the same pair later takes it over.
    """

    def __init__(self, conn: StoreConnection) -> None:
        self._conn = conn

    def has_exited(self, declaration_number: str, container: str = "") -> bool:
        """A confirmed exit of this pair."""
        return self._confirmed(declaration_number, container) is True

    def exited_pairs(self, declaration_number: str) -> set[str]:
        """The containers of this declaration that have exited ('' for a containerless exit)."""
        return self._pairs(declaration_number, confirmed=True)

    def unconfirmed_pairs(self, declaration_number: str) -> set[str]:
        """The containers of this declaration whose exit could not be confirmed ('' for containerless)."""
        return self._pairs(declaration_number, confirmed=False)

    def record(
        self, tx_id: str, pairs: Iterable[tuple[str, str]], at: datetime, *, confirmed: bool = True
    ) -> None:
        """Record exits for a transaction, all or nothing.

        A confirmed exit takes over an unconfirmed one of the same pair; any other exit already recorded
        raises :class:`DuplicateExitError` and writes none.
        """
        wanted = sorted(set(pairs))
        at_text = to_text(at)
        with self._conn:
            found = {pair: self._confirmed(*pair) for pair in wanted}
            taken = [pair for pair, was in found.items() if was is True or (was is False and not confirmed)]
            if taken:
                raise DuplicateExitError(taken)
            self._conn.executemany(
                "UPDATE exits SET tx_id = ?, at = ?, confirmed = 1"
                " WHERE declaration_number = ? AND container = ? AND confirmed = 0",
                [
                    (tx_id, at_text, decl, container)
                    for (decl, container), was in found.items()
                    if was is False
                ],
            )
            self._conn.executemany(
                "INSERT INTO exits (declaration_number, container, tx_id, at, confirmed)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (decl, cont, tx_id, at_text, int(confirmed))
                    for (decl, cont), was in found.items()
                    if was is None
                ],
            )

    def _confirmed(self, declaration_number: str, container: str) -> bool | None:
        """True or False for a confirmed or unconfirmed exit of the pair, None for no exit."""
        row = self._conn.execute(
            "SELECT confirmed FROM exits WHERE declaration_number = ? AND container = ?",
            (declaration_number, container),
        ).fetchone()
        return None if row is None else bool(row[0])

    def _pairs(self, declaration_number: str, *, confirmed: bool) -> set[str]:
        rows = self._conn.execute(
            "SELECT container FROM exits WHERE declaration_number = ? AND confirmed = ?",
            (declaration_number, int(confirmed)),
        ).fetchall()
        return {str(row[0]) for row in rows}
