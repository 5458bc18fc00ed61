"""The reference central: events stored once across instances, gaps found, clearance feeds from files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from central.feed import FeedFileError, load_declarations, next_message
from central.receiver import Central
from central.store_sqlite import SqliteCentralStore
from sync.clearances import ClearanceDelta, ClearanceSnapshot, FeedRules, parse_clearance
from sync.config import SyncConfig
from sync.contract import encode_event, gate_topics
from tests.central.central_db import Database, open_database, sqlite_rows
from tests.sync.broker import Mosquitto
from tests.sync.conftest import REPO, run_module, wait_for
from tests.sync.observer import Observer

EVENTS = gate_topics("customs/v1/gates/{gate_id}/", "g1").events
AT = datetime(2025, 3, 1, 8, tzinfo=UTC)


def envelope(seq: int, prev: int | None, event_id: str | None = None) -> bytes:
    return encode_event(
        event_id=event_id or str(uuid.uuid4()),
        gate_id="g1",
        seq=seq,
        prev_seq=prev,
        kind="transaction.started",
        at=AT,
        payload={"seq": seq},
    )


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from open_database(request.param, tmp_path)


@pytest.fixture
def two_centrals(broker: Mosquitto, database: Database) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Two `gate-edge central run` processes in one shared-subscription group, on one database."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = []
    for name in ("central-a", "central-b"):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "central",
                "run",
                "--create",
                "--port",
                str(broker.port),
                "--name",
                name,
                *database.cli,
            ],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        procs.append(proc)
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert b"receiving" in line, proc.stderr.read() if proc.stderr else b""
    yield procs
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_two_central_instances_on_a_shared_subscription_store_each_event_exactly_once(
    broker: Mosquitto, database: Database, two_centrals: list[subprocess.Popen[bytes]]
) -> None:
    gate = Observer(broker)
    assert gate.wait_ready()
    ids = [str(uuid.uuid4()) for _ in range(200)]
    for seq, event_id in enumerate(ids, start=1):
        gate.publish(EVENTS, envelope(seq, seq - 1 or None, event_id))
    for seq, event_id in enumerate(ids[:100], start=1):  # the gate resends after a lost ack: duplicates
        gate.publish(EVENTS, envelope(seq, seq - 1 or None, event_id))
    gate.close()
    wait_for(lambda: len(database.rows("SELECT event_id FROM events")) >= 200, 10, "200 events stored")
    stored = database.rows("SELECT event_id, receiver FROM events")
    assert sorted(str(r[0]) for r in stored) == sorted(ids)
    assert {r[1] for r in stored} == {"central-a", "central-b"}  # the broker shared the load
    assert database.rows("SELECT * FROM gaps") == []


def test_central_reports_a_gap_until_the_missing_event_arrives(
    tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]
) -> None:
    central = start_central(group=None)
    gate = Observer(broker)
    assert gate.wait_ready()
    for seq in (1, 2, 4):
        gate.publish(EVENTS, envelope(seq, seq - 1 or None if seq != 4 else 3))
    db = tmp_path / "central.db"
    wait_for(lambda: len(sqlite_rows(db, "SELECT * FROM events")) == 3)
    assert sqlite_rows(db, "SELECT missing_seq FROM gaps") == [(3,)]
    gate.publish(EVENTS, envelope(3, 2))
    wait_for(lambda: sqlite_rows(db, "SELECT * FROM gaps") == [], what="gap closed")
    gate.publish(EVENTS, b'{"not": "an envelope"}')
    gate.publish(gate_topics("customs/v1/gates/{gate_id}/", "g2").events, envelope(5, 4))  # g1 posing as g2
    wait_for(lambda: central.counts["rejected"] == 2, what="rejected messages counted")
    gate.close()
    store = SqliteCentralStore(db)
    report = store.report()
    assert (report["gates"]["g1"]["events"], report["gates"]["g1"]["gaps"]) == (4, [])
    assert report["rejected"] == {"total": 2, "by_reason": {"bad_schema": 1, "wrong_gate": 1}}
    store.close()


def test_feed_from_a_csv_file_sends_a_snapshot_then_deltas_with_bumped_versions(tmp_path: Path) -> None:
    csv_file = tmp_path / "cleared.csv"
    header = "number,status,channel,plates,containers,gross_kg,valid_from,valid_until\n"
    row = (
        "D1,cleared,green,51C12345,MSKU3866036:S1,24000,2025-03-01T00:00:00+00:00,2025-04-01T00:00:00+00:00\n"
    )
    csv_file.write_text(header + row + row.replace("D1", "D2").replace("51C12345", "29H99999"))
    store = SqliteCentralStore(tmp_path / "central.db")
    first = next_message(store, "g1", load_declarations(csv_file), snapshot=False, at=AT)
    assert isinstance(first, ClearanceSnapshot)  # the first message of a feed is always a snapshot
    assert [d.number for d in first.declarations] == ["D1", "D2"]
    assert first.declarations[0].containers[0].seal == "S1"
    assert next_message(store, "g1", load_declarations(csv_file), snapshot=False, at=AT) is None

    csv_file.write_text(header + row.replace("cleared", "revoked"))
    second = next_message(store, "g1", load_declarations(csv_file), snapshot=False, at=AT)
    assert isinstance(second, ClearanceDelta)
    assert (second.base_version, second.feed_version) == (1, 2)
    assert [(d.number, d.status, d.version) for d in second.upserts] == [("D1", "revoked", 2)]
    assert second.removals == ["D2"]
    store.close()


def test_feed_file_errors_name_the_bad_item(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            [
                {
                    "number": "D1",
                    "status": "cleared",
                    "channel": "blue",
                    "plates": ["A1"],
                    "valid_from": "2025-03-01T00:00:00Z",
                    "valid_until": "2025-04-01T00:00:00Z",
                }
            ]
        )
    )
    with pytest.raises(FeedFileError, match=r"item 0\.channel"):
        load_declarations(bad)


def test_central_cli_sends_clearances_from_a_json_file_and_reports_what_it_stored(
    tmp_path: Path, broker: Mosquitto
) -> None:
    feed = tmp_path / "cleared.json"
    feed.write_text(
        json.dumps(
            [
                {
                    "number": "D1",
                    "status": "cleared",
                    "channel": "red",
                    "plates": ["51C12345"],
                    "valid_from": "2025-03-01T00:00:00Z",
                    "valid_until": "2025-04-01T00:00:00Z",
                }
            ]
        )
    )
    topic = gate_topics("customs/v1/gates/{gate_id}/", "g1").clearances
    gate = Observer(broker, topic)
    assert gate.wait_ready()
    db = str(tmp_path / "central.db")
    keys = tmp_path / "keys"
    made = run_module("edge.cli", "keys", "generate", "--out", str(keys), "--key-id", "hq-1")
    assert made.returncode == 0, made.stderr
    assert (keys / "hq-1.key").stat().st_mode & 0o777 == 0o600
    send = ["clearances", "--port", str(broker.port), "--db", db, "--gate", "g1", "--file", str(feed)]
    unsigned = run_module("central", *send)
    assert unsigned.returncode != 0
    assert "--signing-key" in unsigned.stderr
    nowhere = run_module("central", *send, "--signing-key", str(keys / "hq-1.key"))
    assert nowhere.returncode == 1
    assert f"--db {db}: no such database; `gate-central run --create` makes it" in nowhere.stderr
    assert not Path(db).exists()
    SqliteCentralStore(db).close()
    sent = run_module("central", *send, "--signing-key", str(keys / "hq-1.key"))
    assert sent.returncode == 0, sent.stderr
    assert "snapshot at feed version 1 sent" in sent.stdout
    wait_for(lambda: len(gate.on(topic)) == 1)
    trusted = SyncConfig.model_validate({"clearance_keys": yaml.safe_load((keys / "hq-1.pub").read_text())})
    rules = FeedRules("g1", 100_000, trusted.trusted_clearance_keys(), max_version_jump=10)
    received = parse_clearance(gate.on(topic)[0].payload, rules)
    assert received.key_id == "hq-1"
    assert isinstance(received.message, ClearanceSnapshot)
    assert received.message.declarations[0].channel == "red"
    gate.close()
    report = run_module("central", "report", "--db", db, check=True)
    assert json.loads(report.stdout) == {"gates": {}, "rejected": {"total": 0, "by_reason": {}}}


def telemetry(seq: int, expires_at: datetime | None = None) -> bytes:
    return encode_event(
        event_id=str(uuid.uuid4()),
        gate_id="g1",
        seq=seq,
        prev_seq=None,
        kind="telemetry",
        at=AT,
        payload={"fps": 5},
        expires_at=expires_at,
    )


def test_a_complete_run_of_1000_events_reports_no_gaps_and_telemetry_holes_apart(
    tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]
) -> None:
    central = start_central(group=None)
    gate = Observer(broker)
    assert gate.wait_ready()
    for seq in range(1, 1001):  # the first names prev_seq 0: nothing before it, not a missing event 0
        gate.publish(EVENTS, envelope(seq, seq - 1))
    topic = gate_topics("customs/v1/gates/{gate_id}/", "g1").telemetry
    gate.publish(topic, telemetry(1001, datetime(2100, 1, 1, tzinfo=UTC)))
    gate.publish(topic, telemetry(1003))  # 1002 was retired at the gate, never sent
    gate.publish(topic, telemetry(1004, datetime(2000, 1, 1, tzinfo=UTC)))  # arrives past its expiry
    wait_for(lambda: central.counts["stored"] == 1000 and central.counts["telemetry_expired"] == 1, 20)
    gate.close()
    report = run_module("central", "report", "--db", str(tmp_path / "central.db"), check=True)
    assert json.loads(report.stdout)["gates"] == {
        "g1": {
            "events": 1000,
            "max_seq": 1000,
            "gaps": [],
            "telemetry": {"samples": 2, "expired": 1, "latest_seq": 1003, "not_received": 1},
        }
    }
