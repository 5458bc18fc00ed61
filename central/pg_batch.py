"""PostgreSQL's set-based forms of the per-row statements a batch of events runs: one statement per batch.

Why: run row by row, even pipelined, every row of a batch costs psycopg a Python round of dumping,
sending and reading a result. Given as arrays, one per column (``%b``: binary, which psycopg dumps
without quoting each element), and ``unnest``-ed on the server, a batch of 500 rows is one statement:
the writer's CPU per event fell from about 120 to 87 us (benchmarks/bench_central_writer.py). Each
form does what running its row statement once per row, in the rows' order, does: ``ON CONFLICT DO
NOTHING`` also skips a row that repeats an earlier row of the same statement. The row statements (central.sql,
central.confirmation_sql) stay the one definition of each write; a form names the row statement it
stands for and which of that statement's parameters it takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from central import confirmation_sql as csql
from central import sql


@dataclass(frozen=True)
class SetForm:
    """``statement`` with one array parameter per entry of ``columns``: the row statement's parameters
    at those positions (a row statement that repeats a parameter takes it once here)."""

    statement: str
    columns: tuple[int, ...]

    def arrays(self, rows: Sequence[Sequence[Any]]) -> tuple[list[Any], ...]:
        """The rows' parameters as one list per column."""
        return tuple([row[i] for row in rows] for i in self.columns)


# RETURNING the key (the row statement's first parameter) says which rows were inserted.
INSERT_EVENTS = SetForm(
    "INSERT INTO events (event_id, gate_id, seq, prev_seq, kind, at, payload, received_at, receiver)"
    " SELECT e, g, s, p, k, a, j::json, r, n FROM unnest(%b::uuid[], %b::text[], %b::bigint[],"
    " %b::bigint[], %b::text[], %b::timestamptz[], %b::text[], %b::timestamptz[], %b::text[])"
    " AS t(e, g, s, p, k, a, j, r, n)"
    " ON CONFLICT DO NOTHING RETURNING event_id",
    (0, 1, 2, 3, 4, 5, 6, 7, 8),
)
CLOSE_GAPS = SetForm(
    "DELETE FROM gaps USING unnest(%b::text[], %b::bigint[]) AS c(g, s)"
    " WHERE gaps.gate_id = c.g AND gaps.missing_seq = c.s",
    (0, 1),
)
# WITH ORDINALITY ... ORDER BY: the first row noticing a missing seq is the one kept, as row by row.
OPEN_GAPS = SetForm(
    "INSERT INTO gaps (gate_id, missing_seq, noticed_seq, noticed_at)"
    " SELECT g, m, s, a FROM unnest(%b::text[], %b::bigint[], %b::bigint[], %b::timestamptz[])"
    " WITH ORDINALITY AS o(g, m, s, a, n)"
    " WHERE NOT EXISTS (SELECT 1 FROM events WHERE events.gate_id = o.g AND events.seq = o.m)"
    " ORDER BY n ON CONFLICT DO NOTHING",
    (0, 1, 2, 3),
)
INSERT_CONFIRMATIONS = SetForm(
    "INSERT INTO confirmations (confirmation_id, declaration_number, gate_id, event_id, exited_at, body,"
    " state, attempts, next_attempt_at, created_at)"
    " SELECT c, d, g, e, x, b, 'pending', 0, t, r FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::uuid[],"
    " %b::timestamptz[], %b::text[], %b::timestamptz[], %b::timestamptz[]) AS u(c, d, g, e, x, b, t, r)"
    " ON CONFLICT (confirmation_id) DO NOTHING",
    (0, 1, 2, 3, 4, 5, 6, 7),
)

#: Row statement -> its set-based form.
SET_FORMS: dict[str, SetForm] = {
    sql.INSERT_EVENT: INSERT_EVENTS,
    sql.CLOSE_GAP: CLOSE_GAPS,
    sql.OPEN_GAP: OPEN_GAPS,
    csql.INSERT: INSERT_CONFIRMATIONS,
}


def inserted_flags(rows: Sequence[Sequence[Any]], returned: Sequence[Sequence[Any]]) -> list[bool]:
    """Per row, whether the set-based insert added it: its key (first parameter) came back, and no
    earlier row of the batch had the same key (that earlier one is the row inserted)."""
    new = {r[0] for r in returned}
    flags = []
    for row in rows:
        flags.append(row[0] in new)
        new.discard(row[0])
    return flags
