"""Why central could not store a message: one reason per kind of trouble, each counted and recorded.

Nothing a gate (or anyone on the broker) sends is dropped unseen: a message central cannot store is
acknowledged (holding it would block the ones behind it for ever), logged, counted per reason in the
instance's counters and written to the ``rejected`` table, which ``central report`` totals per reason.
"""

from __future__ import annotations

from pydantic import ValidationError

from central.store import MessageUnstorable

REASONS = {
    "not_a_gate_topic": "the topic names no gate under central's prefix",
    "unknown_topic": "a gate's topic that central does not read",
    "too_large": "larger than central takes",
    "bad_json": "not JSON, not UTF-8, or JSON no database keeps as sent (NaN, Infinity, a key twice)",
    "bad_schema": "JSON, but not the contract's message for its topic",
    "wrong_gate": "one gate's message on another gate's topic",
    "seq_conflict": "an event with a new event id at a seq its gate already used (a seq is never reused)",
    "seq_jump": "a seq further ahead of its gate's highest than central takes (max_seq_jump)",
    "unstorable": "the database refuses its values (a number beyond its range, a constraint)",
    "internal_error": "central failed while handling it (a bug: see the log)",
}


class Rejected(Exception):
    """A message central will not store; ``reason`` is a key of :data:`REASONS`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class RefusedSeq(MessageUnstorable):
    """The store refuses a message for its seq; nothing of its batch was stored (the receiver rejects it
    alone, with ``reason``)."""

    reason = "internal_error"

    def __init__(self, detail: str) -> None:
        super().__init__(f"cannot store the message: {detail}")


class SeqConflict(RefusedSeq):
    """An event whose (gate, seq) another event id already holds."""

    reason = "seq_conflict"


class SeqJump(RefusedSeq):
    """A seq further ahead of its gate's highest than the store takes (a forged 2**63-1 would stay in the
    report for good)."""

    reason = "seq_jump"


def invalid(exc: ValidationError) -> Rejected:
    """A pydantic refusal as a rejection: unreadable JSON, or a message of the wrong shape."""
    errors = exc.errors()
    reason = "bad_json" if any(e["type"] == "json_invalid" for e in errors) else "bad_schema"
    first = errors[0] if errors else {"loc": (), "msg": str(exc)}
    where = ".".join(map(str, first["loc"])) or "message"
    return Rejected(reason, f"{where}: {first['msg']} ({len(errors)} error(s))")
