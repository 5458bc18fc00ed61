"""What an attacker found on central's receiver (issue #14, "Bad input"), each through the real Mosquitto
into SQLite and PostgreSQL: the message is rejected with its reason, counted, reported, and never stored."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from central.receiver import Central
from central.rejections import SeqConflict
from central.settings import CentralSettings
from sync.contract import EventEnvelope, encode_event, gate_topics
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


def test_a_seq_reused_with_a_new_event_id_is_a_seq_conflict_and_the_same_id_again_a_duplicate(
    central: Central, gate: Observer, database: Database
) -> None:
    first = str(uuid.uuid4())
    for _ in range(3):
        gate.publish(G1.events, event(100, first))
    gate.publish(G1.events, event(100))  # same seq, another id
    gate.publish(G1.events, event(101))
    wait_for(lambda: central.counts["stored"] == 2, 10, "seq 100 and 101 stored")
    wait_for(lambda: central.counts["rejected"] == 1, 10, "the conflict rejected")
    assert central.counts["rejected.seq_conflict"] == 1
    assert central.counts["duplicate"] == 2
    assert stored_seqs(database) == [100, 101]
    ids = database.rows("SELECT CAST(event_id AS TEXT) FROM events WHERE seq = 100")
    assert ids == [(first,)]
    assert report(database)["rejected"] == {"total": 1, "by_reason": {"seq_conflict": 1}}


def test_two_instances_storing_one_seq_under_two_ids_at_once_store_one(database: Database) -> None:
    stores = [database.open(f"c{i}") for i in range(2)]
    try:
        for round_ in range(10):
            seq = 10 + round_
            twins = [EventEnvelope.model_validate_json(event(seq)) for _ in stores]

            def store(i: int, twins: list[EventEnvelope] = twins) -> str:
                try:
                    stores[i].store_events([(twins[i], "{}")], f"c{i}", AT)
                    return "stored"
                except SeqConflict:
                    return "conflict"

            with ThreadPoolExecutor(2) as pool:
                outcomes = sorted(pool.map(store, range(2)))
            assert outcomes == ["conflict", "stored"]
        one_batch = [EventEnvelope.model_validate_json(event(50)) for _ in range(2)]
        with pytest.raises(SeqConflict, match="seq 50"):
            stores[0].store_events([(e, "{}") for e in one_batch], "c0", AT)
    finally:
        for s in stores:
            s.close()
    assert stored_seqs(database) == list(range(10, 20))


def test_a_seq_far_ahead_of_its_gates_highest_is_a_seq_jump_and_the_report_stays_sane(
    central: Central, gate: Observer, database: Database
) -> None:
    top = 2**63 - 1
    gate.publish(G1.events, event(1))
    wait_for(lambda: central.counts["stored"] == 1, 10, "seq 1 stored")
    telemetry = encode_event(
        event_id=str(uuid.uuid4()), gate_id="g1", seq=top, prev_seq=None, kind="telemetry", at=AT, payload={}
    )
    gate.publish(G1.telemetry, telemetry)
    gate.publish(G1.events, event(top))
    gate.publish(G1.events, event(10_000_002))  # 10,000,001 ahead of 1: just over the default bound
    wait_for(lambda: central.counts["rejected"] == 3, 10, "three rejected")
    gate.publish(G1.events, event(10_000_001))  # just within it
    wait_for(lambda: central.counts["stored"] == 2, 10, "seq 10,000,001 stored")
    assert central.counts["rejected.seq_jump"] == 3
    assert stored_seqs(database) == [1, 10_000_001]
    shown = report(database)
    assert shown["rejected"] == {"total": 3, "by_reason": {"seq_jump": 3}}
    gates = shown["gates"]
    assert isinstance(gates, dict)
    assert gates["g1"]["max_seq"] == 10_000_001
    assert gates["g1"]["telemetry"]["latest_seq"] is None


def handled_once(instance: Central) -> bool:
    return instance.counts["rejected"] + instance.counts["rejected_retained_again"] >= 1


def test_a_retained_bad_message_is_counted_once_across_reconnects_and_restarts(
    broker: Mosquitto, database: Database
) -> None:
    settings = CentralSettings(
        broker=broker_config(broker), name="central-r", group=None, **database.settings
    )
    publisher = Observer(broker)
    assert publisher.wait_ready()
    bad = b'{"schema_version":1,"gate_id":"g1","state":"exploded"}'
    publisher.client.publish(G1.status, bad, qos=1, retain=True).wait_for_publish(5)
    publisher.close()
    for run in range(3):  # a restart each time; the broker delivers the retained message again
        instance = Central(settings)
        instance.start()
        try:
            assert instance.subscribed.wait(5), "central did not subscribe"
            wait_for(partial(handled_once, instance), 10, "the retained message handled")
            if run == 0:
                assert instance.counts["rejected.bad_schema"] == 1
            else:
                assert instance.counts["rejected_retained_again"] == 1
                assert instance.counts["rejected"] == 0
        finally:
            instance.stop()
    assert report(database)["rejected"] == {"total": 1, "by_reason": {"bad_schema": 1}}


def test_two_instances_with_one_name_log_one_clear_error_each_naming_the_clash(
    broker: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="central.receiver")
    settings = CentralSettings(broker=broker_config(broker), name="central-twin", db_path=tmp_path / "c.db")
    twins = [Central(settings), Central(settings)]
    try:
        for twin in twins:
            twin.start()
            assert twin.connected.wait(5)
        # Each throws the other off on reconnecting (Mosquitto 2.0.11 closes without naming why).
        wait_for(lambda: all(t.counts["session_flapping"] >= 2 for t in twins), 30, "both flapping")
    finally:
        for twin in twins:
            twin.stop()
    errors = [r.getMessage() for r in caplog.records if r.name == "central.receiver"]
    clash = [line for line in errors if "same client id" in line]
    assert len(clash) == 2, errors  # one per instance, however often it happened
    assert all("'central-twin'" in line and "own --name" in line for line in clash)


def test_a_broker_naming_a_session_takeover_is_reported_at_once(
    broker: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="central.receiver")
    settings = CentralSettings(broker=broker_config(broker), name="central-x", db_path=tmp_path / "c.db")
    instance = Central(settings)
    taken = ReasonCode(PacketTypes.DISCONNECT, identifier=142)  # what Mosquitto 2.0.15+ sends
    for _ in range(2):
        instance._on_disconnect(instance._client, None, None, taken, None)
    assert instance.counts["session_taken_over"] == 2
    clash = [r.getMessage() for r in caplog.records if "took over its session" in r.getMessage()]
    assert len(clash) == 1
    assert "'central-x'" in clash[0]
