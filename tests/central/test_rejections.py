"""Every message central cannot store is counted per reason, logged and reported, never dropped silently.

Hostile messages go through the real Mosquitto to a central on a real SQLite file; a valid event sent
after them is still stored (none of them blocks the queue), and `gate-central report` totals them.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from central.receiver import MAX_MESSAGE_BYTES, Central
from central.store_sqlite import SqliteCentralStore
from sync.contract import encode_event, gate_topics
from tests.sync.broker import Mosquitto
from tests.sync.conftest import run_module, wait_for
from tests.sync.observer import Observer

PREFIX = "customs/v1/gates/{gate_id}/"
G1 = gate_topics(PREFIX, "g1")
AT = datetime(2025, 3, 1, 8, tzinfo=UTC)


def envelope(seq: int, prev: int | None, gate: str = "g1", kind: str = "transaction.started") -> bytes:
    return encode_event(
        event_id=str(uuid.uuid4()), gate_id=gate, seq=seq, prev_seq=prev, kind=kind, at=AT, payload={}
    )


def test_hostile_messages_are_counted_per_reason_logged_and_reported_and_block_nothing(
    tmp_path: Path,
    broker: Mosquitto,
    start_central: Callable[..., Central],
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = tmp_path / "central.db"
    SqliteCentralStore(db).close()
    with sqlite3.connect(db) as conn:  # the database itself refuses one kind of event
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.kind = 'refused.by.db'"
            " BEGIN SELECT RAISE(ABORT, 'refused by the database'); END"
        )
    conn.close()
    caplog.set_level(logging.WARNING, logger="central.receiver")
    central = start_central(group=None)
    gate = Observer(broker)
    assert gate.wait_ready()
    hostile = [
        (G1.events, b"{not json"),
        (G1.events, b"\xff\xfe\x00"),  # not UTF-8
        (G1.telemetry, b"[1, 2, 3]"),
        (G1.events, b'{"not": "an envelope"}'),
        (G1.status, b'{"state": "exploded"}'),
        (G1.commands_ack, b"{}"),
        (gate_topics(PREFIX, "g2").events, envelope(1, None)),  # g1's event on g2's topic
        (G1.events, b" " * (MAX_MESSAGE_BYTES + 1)),
        (G1.events, envelope(1, None, kind="refused.by.db")),
    ]
    for topic, payload in hostile:
        gate.publish(topic, payload)
    gate.publish(G1.events, envelope(2, None))  # after them all: still stored
    wait_for(lambda: central.counts["stored"] == 1, 10, "the valid event stored")
    gate.close()
    expected = {
        "bad_json": 2,
        "bad_schema": 4,
        "wrong_gate": 1,
        "too_large": 1,
        "unstorable": 1,
    }
    assert central.counts["rejected"] == len(hostile)
    assert {
        k.removeprefix("rejected."): v for k, v in central.counts.items() if k.startswith("rejected.")
    } == (expected)
    logged = [r.getMessage() for r in caplog.records if r.name == "central.receiver"]
    assert sum("rejected (" in line for line in logged) == len(hostile)
    assert any("rejected (unstorable)" in line and "refused by the database" in line for line in logged)

    report = run_module("central", "report", "--db", str(db), check=True)
    shown = json.loads(report.stdout)
    assert shown["rejected"] == {"total": len(hostile), "by_reason": dict(sorted(expected.items()))}
    assert shown["gates"]["g1"]["events"] == 1
