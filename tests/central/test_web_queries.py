"""The screen's reads and the staff accounts on both of central's databases (SQLite and PostgreSQL): the
same statements, the same answers, whatever types each driver hands back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from central.accounts import AccountError, Accounts, StaffRole, sql_store
from central.queries import CentralQueries
from central.store import CentralStore
from sync.contract import SCHEMA_VERSION, EventEnvelope
from tests.central.central_db import Database, open_database
from webauth.passwords import verify_password

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CentralStore]:
    database: Database
    for database in open_database(request.param, tmp_path):
        opened = database.open()
        try:
            yield opened
        finally:
            opened.close()


class Gate:
    def __init__(self, store: CentralStore, gate_id: str) -> None:
        self.store, self.gate_id, self.seq = store, gate_id, 0

    def event(self, kind: str, received: datetime = NOW, prev: int | None = -1, **payload: Any) -> None:
        self.seq += 1
        body = {"gate_id": self.gate_id, "lane_id": "L1", **payload}
        envelope = EventEnvelope(
            schema_version=SCHEMA_VERSION,
            event_id=uuid.uuid4(),
            gate_id=self.gate_id,
            seq=self.seq,
            prev_seq=self.seq - 1 if prev == -1 else prev,
            kind=kind,
            at=received - timedelta(seconds=5),
            payload=body,
        )
        # as the receiver stores a payload: sorted keys, compact
        text = json.dumps(envelope.payload, sort_keys=True, separators=(",", ":"))
        self.store.store_event(envelope, text, "central-1", received)


def decision(gate: Gate, tx: str, outcome: str, plate: str, received: datetime = NOW) -> None:
    gate.event("transaction.started", received, tx_id=tx)
    ident = {"plate": {"text": plate, "confidence": 0.9, "evidence_sha256": None}, "containers": []}
    gate.event(
        "transaction.decision",
        received,
        tx_id=tx,
        identification=ident,
        outcome=outcome,
        reasons=[],
        details=[],
        declaration_number="D-" + tx,
    )
    gate.event(
        "transaction.ended", received, tx_id=tx, result="passed" if outcome != "REJECT" else "rejected"
    )


def test_counts_cover_the_last_hour_and_search_and_passage_read_alike_on_both_databases(
    store: CentralStore,
) -> None:
    gate = Gate(store, "g1")
    decision(gate, "old", "PASS", "11A-111.11", received=NOW - timedelta(hours=2))
    decision(gate, "t1", "PASS", "51C-123.45")
    decision(gate, "t2", "REJECT", "51C-999.99")
    gate.event("lane.alarm", code="camera_down", detail="no frames")
    store.store_status("g1", "online", NOW, 0, NOW)
    queries = CentralQueries(sql_store(store))

    (one,) = queries.overview(NOW)
    assert (one["gate_id"], one["state"], one["events"], one["gaps"]) == ("g1", "online", 10, [])
    assert one["state_at"].startswith("2025-03-01T09:00:00")
    (lane,) = one["lanes"]
    assert (lane["vehicles_per_hour"], lane["passed"], lane["rejected"]) == (2, 1, 1)  # "old" is outside
    assert lane["passed_no_officer_share"] == 1.0
    assert lane["alarms"] == [["camera_down", "no frames"]]

    assert [r["tx_id"] for r in queries.search(NOW, plate="51c")] == ["t2", "t1"]
    assert [r["tx_id"] for r in queries.search(NOW, plate="11a111")] == ["old"]
    window = queries.search(NOW, since=NOW - timedelta(minutes=30), until=NOW)
    assert [r["tx_id"] for r in window] == ["t2", "t1"]
    assert queries.search(NOW, declaration="D-T1")[0]["plate"] == "51C-123.45"

    passage = queries.passage("g1", "t2")
    assert passage is not None
    assert (passage["outcome"], passage["result"], passage["declaration_number"]) == (
        "REJECT",
        "rejected",
        "D-t2",
    )
    assert [e["seq"] for e in passage["events"]] == [7, 8, 9]
    assert queries.passage("g1", "t") is None  # a prefix of an id is not the id
    assert queries.passage("g2", "t2") is None

    first = queries.last_event_id()
    gate.event("transaction.started", tx_id="t3")
    assert [(e["kind"], e["tx_id"]) for e in queries.events_after(first)] == [("transaction.started", "t3")]
    assert queries.presence() == [("g1", "online", one["state_at"])]


def test_a_lost_event_is_a_gap_of_its_gate_and_a_telemetry_seq_is_not(store: CentralStore) -> None:
    gate = Gate(store, "g1")
    gate.event("transaction.started", tx_id="a")  # seq 1
    store.store_telemetry("g1", 2, NOW, "{}", NOW)  # seq 2: a telemetry sample
    gate.seq = 3  # seq 3: lost
    gate.event("transaction.started", prev=3, tx_id="b")  # seq 4, naming 3
    (one,) = CentralQueries(sql_store(store)).overview(NOW)
    assert (one["gaps"], one["telemetry_not_received"]) == ([3], 0)


def test_staff_accounts_hash_passwords_refuse_bad_input_and_audit_changes(store: CentralStore) -> None:
    accounts = Accounts(store)
    added = accounts.add("lan.nguyen", StaffRole.SUPERVISOR, "supervisor-pass-1", NOW)
    assert verify_password(added.password_hash, "supervisor-pass-1")
    assert "supervisor-pass-1" not in added.password_hash
    assert accounts.get("lan.nguyen") == added
    with pytest.raises(AccountError, match="already exists"):
        accounts.add("lan.nguyen", StaffRole.ADMIN, "another-pass-1", NOW)
    with pytest.raises(AccountError, match="must match"):
        accounts.add("x'; DROP TABLE staff;--", StaffRole.ADMIN, "another-pass-1", NOW)
    with pytest.raises(AccountError, match="at least 8"):
        accounts.add("short", StaffRole.ADMIN, "short", NOW)
    accounts.set_disabled("lan.nguyen", True, by="ada", at=NOW)
    stored = accounts.get("lan.nguyen")
    assert stored is not None
    assert stored.disabled
    with pytest.raises(AccountError, match="no user 'ghost'"):
        accounts.set_disabled("ghost", True, by="ada", at=NOW)
    Accounts(store)  # opening again keeps what is there
    assert [a.name for a in Accounts(store).all()] == ["lan.nguyen"]
    trail = [(a["actor"], a["action"], a["subject"]) for a in accounts.recent_audit()]
    assert trail == [("ada", "user.disable", "lan.nguyen"), ("lan.nguyen", "user.add", "lan.nguyen")]
