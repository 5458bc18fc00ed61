"""Batched ingest: events stored in batches, each acknowledged only after its batch committed.

Through the real Mosquitto into SQLite and PostgreSQL: a burst with resends stored once in few batches; an
instance killed while its batch waits inside the database loses nothing (the broker redelivers what was not
acknowledged); a value the database refuses rejects that message alone; two instances on one shared
subscription store each event once.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from central.ingest_batch import BatchLimits
from central.receiver import Central
from central.settings import CentralSettings
from sync.contract import encode_event, gate_topics
from tests.central.central_db import Database, open_database
from tests.sync.broker import Mosquitto
from tests.sync.conftest import REPO, broker_config, wait_for
from tests.sync.observer import Observer

PREFIX = "customs/v1/gates/{gate_id}/"
AT = datetime(2025, 3, 1, 8, tzinfo=UTC)
EVENT_LOCK = "gate-edge-central:events:g1"  # the advisory lock a batch of g1's events takes (store_pg)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from open_database(request.param, tmp_path)


def envelopes(gate: str, count: int, first_seq: int = 1) -> list[bytes]:
    return [
        encode_event(
            event_id=str(uuid.uuid4()),
            gate_id=gate,
            seq=seq,
            prev_seq=seq - 1 if seq > 1 else None,
            kind="transaction.transition",
            at=AT,
            payload={"lane_id": "L1", "to": "WEIGHING"},
        )
        for seq in range(first_seq, first_seq + count)
    ]


def publish_all(gate: Observer, bodies: list[bytes]) -> None:
    """Publish QoS 1 without waiting for each acknowledgement (as fast as a gate's backlog drains)."""
    infos = []
    for body in bodies:
        gate_id = body.split(b'"gate_id":"', 1)[1].split(b'"', 1)[0].decode()
        infos.append(gate.client.publish(gate_topics(PREFIX, gate_id).events, body, qos=1))
    for info in infos:
        info.wait_for_publish(30)
        assert info.is_published()


def start(broker: Mosquitto, database: Database, name: str, limits: BatchLimits) -> Central:
    settings = CentralSettings(broker=broker_config(broker), name=name, group="central", **database.settings)
    central = Central(settings, batches=limits)
    central.start()
    assert central.subscribed.wait(5), "central did not subscribe"
    return central


def count(database: Database, query: str = "SELECT COUNT(*) FROM events") -> int:
    rows = database.rows(query)
    return int(rows[0][0]) if rows else 0


def test_a_burst_with_resends_is_stored_once_in_few_batches(broker: Mosquitto, database: Database) -> None:
    central = start(broker, database, "central-1", BatchLimits(max_messages=500, max_wait_s=0.05))
    gate = Observer(broker)
    assert gate.wait_ready()
    bodies = envelopes("g1", 1000) + envelopes("g2", 1000)
    publish_all(gate, bodies + bodies[::20])  # 100 resent with the same event_id, as an outbox does
    wait_for(lambda: central.counts["stored"] + central.counts["duplicate"] == 2100, 60, "all handled")
    central.stop()
    gate.close()
    assert count(database) == 2000
    assert count(database, "SELECT COUNT(DISTINCT event_id) FROM events") == 2000
    assert central.counts["duplicate"] == 100
    assert central.counts["batches"] <= 2100 // 10, central.counts  # batched, not one transaction each
    assert database.rows("SELECT gate_id, missing_seq FROM gaps") == []  # in-batch order kept the chain


def _run_instance(broker: Mosquitto, database: Database, name: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "central", "run", "--create", "--port", str(broker.port)),
                *("--name", name, "--group", "central", *database.cli),
            ],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_for(lambda: "receiving" in log.read_text(), 30, f"{name} receiving")
    return proc


class WriteLock:
    """Holds the database's write lock for g1's events from the test, so a batch waits inside it."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._sqlite: sqlite3.Connection | None = None
        self._pg: psycopg.Connection[Any] | None = None

    def take(self) -> None:
        if self.database.db_path is not None:
            self._sqlite = sqlite3.connect(self.database.db_path, isolation_level=None)
            self._sqlite.execute("BEGIN IMMEDIATE")
        else:
            assert self.database.db_url is not None
            self._pg = psycopg.connect(self.database.db_url)  # a transaction, held until commit
            self._pg.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (EVENT_LOCK,))

    def waited_on(self) -> bool:
        """PostgreSQL shows the instance's batch waiting for the lock; SQLite cannot tell (True)."""
        if self._pg is None:
            return True
        rows = self.database.rows(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND application_name = 'central-k'"
        )
        return bool(rows and rows[0][0])

    def release(self) -> None:
        if self._sqlite is not None:
            self._sqlite.execute("ROLLBACK")
            self._sqlite.close()
        if self._pg is not None:
            self._pg.rollback()
            self._pg.close()


def test_an_instance_killed_mid_batch_loses_nothing(
    tmp_path: Path, broker: Mosquitto, database: Database
) -> None:
    log = tmp_path / "central-k.log"
    proc = _run_instance(broker, database, "central-k", log)  # creates the tables
    lock = WriteLock(database)
    lock.take()
    gate = Observer(broker)
    assert gate.wait_ready()
    try:
        publish_all(gate, envelopes("g1", 300))
        wait_for(lock.waited_on, 10, "the batch waiting inside the database")
        time.sleep(0.5)  # SQLite: the batch is taken and waits for the write lock
        proc.send_signal(signal.SIGKILL)  # no goodbye: its transaction dies uncommitted, nothing acked
        proc.wait(10)
    finally:
        lock.release()
    assert count(database) == 0  # nothing committed: had it acknowledged on receipt, all 300 were lost
    proc = _run_instance(broker, database, "central-k", log)  # same client id: its session resumes
    try:
        wait_for(lambda: count(database) == 300, 30, "the unacknowledged batch redelivered and stored")
        time.sleep(0.5)
        assert count(database) == 300
        assert count(database, "SELECT COUNT(DISTINCT seq) FROM events") == 300
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        gate.close()


def refuse_kind(database: Database, kind: str) -> None:
    """A trigger in central's database that refuses events of ``kind`` (a constraint central cannot know)."""
    database.open().close()  # central's tables
    if database.db_path is not None:
        with sqlite3.connect(database.db_path) as conn:
            conn.execute(
                f"CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.kind = '{kind}'"
                " BEGIN SELECT RAISE(ABORT, 'refused by the database'); END"
            )
        conn.close()
        return
    assert database.db_url is not None
    with psycopg.connect(database.db_url, autocommit=True) as pg:
        pg.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF NEW.kind = '{kind}' THEN RAISE EXCEPTION 'refused by the database'; END IF;"
            " RETURN NEW; END $$"
        )
        pg.execute("CREATE TRIGGER refuse BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse()")


def test_a_refused_message_in_a_batch_is_rejected_alone(broker: Mosquitto, database: Database) -> None:
    central = start(broker, database, "central-1", BatchLimits(max_messages=1000, max_wait_s=1.0))
    gate = Observer(broker)
    assert gate.wait_ready()
    refuse_kind(database, "refused.by.db")
    bodies = envelopes("g1", 200)
    poisoned = encode_event(  # valid JSON and schema; the database refuses it
        event_id=str(uuid.uuid4()),
        gate_id="g1",
        seq=500,
        prev_seq=None,
        kind="refused.by.db",
        at=AT,
        payload={},
    )
    publish_all(gate, [*bodies[:120], poisoned, *bodies[120:]])
    wait_for(lambda: central.counts["stored"] == 200 and central.counts["rejected"] == 1, 30, "stored")
    central.stop()
    gate.close()
    assert central.counts["batches_split"] >= 1, central.counts  # it arrived in a batch that was split
    assert central.counts["rejected.unstorable"] == 1
    assert count(database) == 200
    assert database.rows("SELECT reason, topic FROM rejected") == [
        ("unstorable", gate_topics(PREFIX, "g1").events)
    ]


def test_two_instances_on_a_shared_subscription_store_each_event_once(
    broker: Mosquitto, database: Database
) -> None:
    limits = BatchLimits(max_messages=200, max_wait_s=0.02)
    a = start(broker, database, "central-a", limits)
    b = start(broker, database, "central-b", limits)
    gate = Observer(broker)
    assert gate.wait_ready()
    bodies = [body for g in range(4) for body in envelopes(f"g{g}", 300)]
    publish_all(gate, bodies + bodies[::10])  # 120 resent

    def handled() -> bool:
        return sum(c.counts["stored"] + c.counts["duplicate"] for c in (a, b)) == 1320

    wait_for(handled, 60, "all handled")
    a.stop()
    b.stop()
    gate.close()
    assert a.counts["stored"] > 0, a.counts  # the load was split
    assert b.counts["stored"] > 0, b.counts
    assert a.counts["stored"] + b.counts["stored"] == 1200
    assert count(database) == 1200
    assert count(database, "SELECT COUNT(DISTINCT event_id) FROM events") == 1200
    assert database.rows("SELECT gate_id, missing_seq FROM gaps") == []


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[Database]:
    yield from open_database("postgres", tmp_path)


def test_the_documented_partitioned_events_table_stores_once(broker: Mosquitto, postgres: Database) -> None:
    """docs/central.md's partitioned table, made before central starts: batches land, resends drop."""
    doc = (REPO / "docs" / "central.md").read_text(encoding="utf-8")
    section = doc.split("\n## National deployment", 1)[1]
    ddl = section.split("```sql\n", 1)[1].split("```", 1)[0]
    database = postgres
    assert database.db_url is not None
    with psycopg.connect(database.db_url, autocommit=True) as pg:
        pg.execute(ddl)  # one simple-protocol call runs all the statements
    central = start(broker, database, "central-1", BatchLimits(max_messages=500, max_wait_s=0.05))
    gate = Observer(broker)
    assert gate.wait_ready()
    dec = [b.replace(b"2025-03-01T08:00:00", b"2026-12-31T23:59:59") for b in envelopes("g1", 300)]
    jan = [b.replace(b"2025-03-01T08:00:00", b"2027-01-01T00:00:01") for b in envelopes("g1", 300, 301)]
    publish_all(gate, dec + jan + dec[::10] + jan[::10])
    wait_for(lambda: central.counts["stored"] + central.counts["duplicate"] == 660, 30, "all handled")
    central.stop()
    gate.close()
    assert central.counts["duplicate"] == 60
    assert count(database) == 600
    per_partition = database.rows(
        "SELECT tableoid::regclass::text, COUNT(*) FROM events GROUP BY 1 ORDER BY 1"
    )
    assert per_partition == [("events_2026_12", 300), ("events_2027_01", 300)]
    assert database.rows("SELECT gate_id, missing_seq FROM gaps") == []
