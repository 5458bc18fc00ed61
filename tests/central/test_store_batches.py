"""A batch stored in one go (store_events: PostgreSQL's set-based statements, SQLite's row by row) ends
in the state of its events stored one by one in seq order: same events, gaps and confirmations, and a
repeat inside the batch counted once, as its first copy."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sync.contract import EventEnvelope, encode_event
from tests.central.central_db import Database, open_database
from tests.central.confirm_events import ended

AT = datetime(2026, 3, 1, 8, tzinfo=UTC)
RECEIVED = datetime(2026, 3, 1, 8, 0, 5, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database(kind: str, tmp_path: Path) -> Iterator[Database]:
    (tmp_path / "batch").mkdir()
    yield from open_database(kind, tmp_path / "batch")


@pytest.fixture
def reference(kind: str, tmp_path: Path) -> Iterator[Database]:
    """A second database of the same kind, the events stored one by one."""
    (tmp_path / "one-by-one").mkdir()
    yield from open_database(kind, tmp_path / "one-by-one")


def envelope(gate: str, seq: int, prev: int | None, body: bytes | None = None) -> EventEnvelope:
    raw = body or encode_event(
        event_id=str(uuid.uuid4()),
        gate_id=gate,
        seq=seq,
        prev_seq=prev,
        kind="transaction.transition",
        at=AT,
        payload={"lane_id": "L1", "to": "WEIGHING", "note": 'tab\tquote" nul\u0000'},
    )
    return EventEnvelope.model_validate_json(raw)


def state(db: Database) -> dict[str, list[tuple[object, ...]]]:
    return {
        "events": db.rows("SELECT event_id, gate_id, seq, prev_seq, kind, payload FROM events ORDER BY 1"),
        "gaps": db.rows("SELECT gate_id, missing_seq, noticed_seq FROM gaps ORDER BY 1, 2"),
        "confirmations": db.rows(
            "SELECT confirmation_id, declaration_number, gate_id, event_id, body, state"
            " FROM confirmations ORDER BY 1"
        ),
    }


def payload_text(event: EventEnvelope) -> str:
    return json.dumps(event.payload, sort_keys=True, separators=(",", ":"))


EARLIER = envelope("g3", 3, 2)  # stored before the batch: g3's seq 2 is missing


def batch() -> list[EventEnvelope]:
    """Three gates interleaved and out of order: a gap opened, two events naming the same missing seq,
    a gap closed (and the next one opened) by an event of the batch, exits, and a resend of an event
    already in the batch."""
    exit_5 = envelope("g1", 5, 4, ended(5, [("D-1", "MSCU1234565"), ("D-2", "TCLU4140020")]))
    events = [
        envelope("g2", 3, 2),  # g2's seq 2 missing
        envelope("g1", 2, 1),
        exit_5,
        envelope("g3", 2, 1),  # closes g3's gap at 2, opens one at 1
        envelope("g1", 1, None),
        envelope("g1", 7, 3),  # names 3, later in seq order than 4: the gap says noticed by 4
        envelope("g1", 4, 3),  # g1's 3 missing
        envelope("g2", 4, 3),
    ]
    return [*events, exit_5]  # the resend, in the same batch


def test_a_batch_ends_as_its_events_stored_one_by_one(database: Database, reference: Database) -> None:
    events = batch()
    pairs = [(e, payload_text(e)) for e in events]
    store, one = database.open(), reference.open()
    try:
        for target in (store, one):
            assert target.store_event(EARLIER, payload_text(EARLIER), "c0", RECEIVED)
        flags = store.store_events(pairs, "c1", RECEIVED)
        seq_order = sorted(range(8), key=lambda i: (events[i].gate_id, events[i].seq))
        singles = [one.store_event(*pairs[i], "c1", RECEIVED) for i in seq_order]
        resend = one.store_event(*pairs[8], "c1", RECEIVED)
    finally:
        store.close()
        one.close()
    assert flags == [True] * 8 + [False]  # the resend is the duplicate, its first copy the new one
    assert singles == [True] * 8
    assert resend is False

    batched, expected = state(database), state(reference)
    assert len(batched["events"]) == 9
    assert len(batched["confirmations"]) == 2
    assert expected["gaps"] == [("g1", 3, 4), ("g2", 2, 3), ("g3", 1, 2)]
    assert batched == expected


def test_a_batch_of_resends_only_adds_nothing(database: Database) -> None:
    events = batch()
    pairs = [(e, "{}") for e in events]
    store = database.open()
    try:
        store.store_events(pairs, "c1", RECEIVED)
        before = state(database)
        assert store.store_events(list(reversed(pairs)), "c2", RECEIVED) == [False] * len(pairs)
    finally:
        store.close()
    assert state(database) == before
