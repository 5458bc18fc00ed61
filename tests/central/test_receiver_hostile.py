"""What an attacker found on central's receiver (issue #14, "Bad input"), each through the real Mosquitto
into SQLite and PostgreSQL: the message is rejected with its reason, counted, reported, and never stored."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from central.receiver import Central
from central.settings import CentralSettings
from sync.contract import encode_event, gate_topics
from tests.central.central_db import Database, open_database
from tests.sync.broker import Mosquitto
from tests.sync.conftest import broker_config, run_module, wait_for
from tests.sync.observer import Observer

PREFIX = "customs/v1/gates/{gate_id}/"
G1 = gate_topics(PREFIX, "g1")
AT = datetime(2025, 3, 1, 8, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from open_database(request.param, tmp_path)


@pytest.fixture
def central(broker: Mosquitto, database: Database) -> Iterator[Central]:
    settings = CentralSettings(
        broker=broker_config(broker), name="central-t", group=None, **database.settings
    )
    instance = Central(settings)
    instance.start()
    assert instance.subscribed.wait(5), "central did not subscribe"
    yield instance
    instance.stop()


@pytest.fixture
def gate(broker: Mosquitto) -> Iterator[Observer]:
    observer = Observer(broker)
    assert observer.wait_ready()
    yield observer
    observer.close()


def event(seq: int, event_id: str | None = None, payload: dict[str, object] | None = None) -> bytes:
    return encode_event(
        event_id=event_id or str(uuid.uuid4()),
        gate_id="g1",
        seq=seq,
        prev_seq=None,
        kind="transaction.started",
        at=AT,
        payload=payload if payload is not None else {"tx_id": f"t{seq}"},
    )


def report(database: Database) -> dict[str, object]:
    shown = json.loads(run_module("central", "report", *database.cli, check=True).stdout)
    assert isinstance(shown, dict)
    return shown


def stored_seqs(database: Database) -> list[int]:
    return sorted(int(seq) for (seq,) in database.rows("SELECT seq FROM events WHERE gate_id = 'g1'"))


def test_nan_and_infinity_in_a_payload_are_bad_json_and_never_stored(
    central: Central, gate: Observer, database: Database
) -> None:
    for seq, value in ((1, "NaN"), (2, "Infinity"), (3, "-Infinity")):
        raw = event(seq).replace(b'"payload":{', b'"payload":{"weight_kg":' + value.encode() + b",")
        assert value.encode() in raw
        gate.publish(G1.events, raw)
    gate.publish(G1.events, event(4))  # after them: still stored
    wait_for(lambda: central.counts["stored"] == 1, 10, "the valid event stored")
    assert central.counts["rejected.bad_json"] == 3
    assert stored_seqs(database) == [4]
    assert report(database)["rejected"] == {"total": 3, "by_reason": {"bad_json": 3}}
