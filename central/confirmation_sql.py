"""The statements of central's confirmations to the clearance system, written once for both databases.

Same style as central.sql: ``?`` parameters and ``{type}`` columns that a :class:`central.sql.Dialect`
fills. ``confirmation_id`` is the primary key and every insert is ``ON CONFLICT DO NOTHING``: an exit event
delivered twice, or stored by two instances, makes one row. The body is kept as ``text`` (not ``json``): it
is sent byte for byte as stored, so a retry carries exactly what the first attempt signed.

A row is *claimed* for one attempt by moving its ``next_attempt_at`` past the attempt's end in a
conditional UPDATE: of two instances sharing the database only one sees its row count at 1, so one
confirmation is never in flight twice at once.
"""

from __future__ import annotations

from central.sql import Dialect

SCHEMA = (
    # state: pending (to deliver), delivered (acknowledged with a 2xx), rejected (a 4xx: kept, not retried).
    "CREATE TABLE IF NOT EXISTS confirmations (confirmation_id {uuid} PRIMARY KEY,"
    " declaration_number {text} NOT NULL, gate_id {text} NOT NULL, event_id {uuid} NOT NULL,"
    " exited_at {time} NOT NULL, body {text} NOT NULL, state {text} NOT NULL, attempts {int} NOT NULL,"
    " next_attempt_at {time} NOT NULL, last_status {int}, last_error {text}, created_at {time} NOT NULL,"
    " delivered_at {time})",
    "CREATE INDEX IF NOT EXISTS confirmations_due ON confirmations (state, next_attempt_at)",
    "CREATE INDEX IF NOT EXISTS confirmations_by_declaration ON confirmations (declaration_number)",
)
TABLE = "confirmations"


def schema(dialect: Dialect) -> tuple[str, ...]:
    """The confirmations' tables in ``dialect``, created with central's other tables."""
    return tuple(statement.format_map(dialect.types) for statement in SCHEMA)


INSERT = (
    "INSERT INTO confirmations (confirmation_id, declaration_number, gate_id, event_id, exited_at, body,"
    " state, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)"
    " ON CONFLICT (confirmation_id) DO NOTHING"
)
# Parameters: now, how many. Oldest passage first.
DUE = (
    "SELECT CAST(confirmation_id AS TEXT), body FROM confirmations"
    " WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY exited_at, confirmation_id LIMIT ?"
)
# Parameters: claimed until, id, now. Row count 1: this sender holds the row until "claimed until".
CLAIM = (
    "UPDATE confirmations SET next_attempt_at = ?, attempts = attempts + 1"
    " WHERE confirmation_id = ? AND state = 'pending' AND next_attempt_at <= ?"
)
# Parameters: status, at, id.
DELIVERED = (
    "UPDATE confirmations SET state = 'delivered', last_status = ?, last_error = NULL, delivered_at = ?"
    " WHERE confirmation_id = ?"
)
# Parameters: status, error, id.
REJECTED = (
    "UPDATE confirmations SET state = 'rejected', last_status = ?, last_error = ? WHERE confirmation_id = ?"
)
# Parameters: next attempt at, status (or NULL), error, id.
RETRY = (
    "UPDATE confirmations SET next_attempt_at = ?, last_status = ?, last_error = ?"
    " WHERE confirmation_id = ? AND state = 'pending'"
)
# Parameters: now, id. An operator sends a rejected confirmation again (the receiver was fixed).
REQUEUE = (
    "UPDATE confirmations SET state = 'pending', next_attempt_at = ?"
    " WHERE confirmation_id = ? AND state = 'rejected'"
)
_COLUMNS = (
    "SELECT CAST(confirmation_id AS TEXT), declaration_number, gate_id, CAST(event_id AS TEXT), exited_at,"
    " body, state, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at"
    " FROM confirmations"
)
LIST_ALL = _COLUMNS + " ORDER BY exited_at, confirmation_id"
# Parameter: the state.
LIST_IN_STATE = _COLUMNS + " WHERE state = ? ORDER BY exited_at, confirmation_id"
# Parameter: the declaration number.
LIST_DECLARATION = _COLUMNS + " WHERE declaration_number = ? ORDER BY exited_at, confirmation_id"
COUNT_PER_STATE = "SELECT state, COUNT(*) FROM confirmations GROUP BY state"
