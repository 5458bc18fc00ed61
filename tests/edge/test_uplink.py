"""The lane's uplink against a real Mosquitto and the reference central: the faults the issue names.

Each test starts its own broker (tests/sync/broker.py) and, where central must receive, an in-process
reference central sharing tmp_path/central.db. Outages are real: the broker is stopped and restarted on the
same port, the uplink process is SIGKILLed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from central.receiver import Central
from central.settings import CentralSettings
from edge.decision import DecisionConfig, Outcome, Reason, decide
from edge.lane_core import LaneBusy
from edge.store import Store
from edge.uplink import Uplink
from sync.clearances import WireDeclaration
from sync.commands import Command, CommandAck, sign
from sync.config import BrokerConfig, SyncConfig
from sync.contract import EventEnvelope, TelemetryBody, gate_topics
from sync.feed_signature import sign_feed_body
from tests.central.central_db import sqlite_rows
from tests.sync.broker import Mosquitto
from tests.sync.conftest import FEED_KEY, trusted
from tests.sync.observer import Observer
from tests.waiting import poll_until
from vision.identity import Identification, Read, ReadKind

REPO = Path(__file__).resolve().parents[2]
WORKER = REPO / "tests" / "sync" / "uplink_worker.py"
FAST = {"backoff_initial_s": 0.05, "backoff_max_s": 0.3, "idle_poll_s": 0.05, "telemetry_period_s": 3600}
NOW = datetime.now(UTC)
KEY = "0123456789abcdef0123456789abcdef"


def sync_config(mosquitto: Mosquitto, **overrides: Any) -> SyncConfig:
    broker_settings = {"host": mosquitto.host, "port": mosquitto.port, **overrides.pop("broker", {})}
    settings = {"broker": broker_settings, **FAST, "clearance_keys": trusted(), **overrides}
    return SyncConfig.model_validate(settings)


@asynccontextmanager
async def running(uplink: Uplink, connect: bool = True) -> AsyncIterator[Uplink]:
    task = asyncio.create_task(uplink.run())
    try:
        if connect:
            await asyncio.wait_for(uplink.sync.link.wait_connected(), 5)
        yield uplink
    finally:
        await uplink.stop()
        await asyncio.wait_for(task, 10)


until = poll_until(every_s=0.02, timeout=5.0)


def central_rows(db: Path, sql: str = "SELECT seq, event_id, kind FROM events ORDER BY id") -> list[Any]:
    """Rows from central's database ([] until central has created it)."""
    return sqlite_rows(db, sql)


def assert_all_once_in_order(db: Path, expected_seqs: set[int]) -> None:
    rows = central_rows(db)
    seqs = [row[0] for row in rows]
    assert len({row[1] for row in rows}) == len(rows), "an event id was stored twice"
    assert set(seqs) >= expected_seqs, f"missing at central: {sorted(expected_seqs - set(seqs))[:10]}"
    assert seqs == sorted(seqs), "central stored events out of sequence order"
    assert central_rows(db, "SELECT * FROM gaps") == []


def declaration(number: str, plate: str, status: str = "cleared", version: int = 1) -> WireDeclaration:
    return WireDeclaration.model_validate(
        {
            "number": number,
            "version": version,
            "status": status,
            "channel": "green",
            "plates": [plate],
            "valid_from": NOW - timedelta(days=1),
            "valid_until": NOW + timedelta(days=30),
        }
    )


def decide_for(store: Store, plate: str) -> tuple[Outcome, tuple[Reason, ...]]:
    ident = Identification(plate=Read(ReadKind.PLATE, plate, 0.99, True))
    candidates = store.declarations.find_by_plate(plate)
    decision = decide(
        ident, None, candidates, {}, set(), datetime.now(UTC), DecisionConfig(require_weight=False)
    )
    return decision.outcome, decision.reasons


def outbox_payloads(store: Store, kind: str) -> list[dict[str, Any]]:
    """Payloads of every event of ``kind`` in the outbox, delivered or not."""
    rows = store.conn.execute("SELECT payload FROM outbox WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
    return [json.loads(row[0]) for row in rows]


async def acked(central: Central, command: Command) -> CommandAck:
    """The gate's ack of ``command``, as central received it within 5 s."""
    ack = await asyncio.to_thread(central.wait_ack, command.command_id, 5)
    assert ack is not None
    return ack


# -- store and forward -------------------------------------------------------------------------------------
async def test_thousand_events_written_while_the_broker_is_down_reach_central_once_and_in_order(
    tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]
) -> None:
    start_central()
    db = tmp_path / "gate.db"
    with Store(db) as store:
        uplink = Uplink(sync_config(broker), "g1", db, lane_id="lane-1")
        async with running(uplink):
            for i in range(1000):
                store.outbox.append("transaction.transition", {"i": i}, datetime.now(UTC))
                uplink.notify()
                if i == 300:
                    broker.stop()  # the outage starts while the lane keeps writing
                if i == 800:
                    assert not uplink.status()["connected"]
                    assert store.outbox.depth() > 0  # nothing leaves while the broker is down
                    broker.start()  # same port: the link comes back by itself
                if i % 25 == 0:
                    await asyncio.sleep(0.02)
            await until(
                lambda: len(central_rows(tmp_path / "central.db")) >= 1000, 20, "1000 events at central"
            )
            await until(lambda: store.outbox.depth() == 0, 5, "outbox drained")
    assert_all_once_in_order(tmp_path / "central.db", set(range(1, 1001)))


async def test_uplink_killed_mid_drain_and_restarted_loses_nothing(
    tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]
) -> None:
    start_central()
    db = tmp_path / "gate.db"
    total = 4000
    with Store(db) as store, store.conn:
        for i in range(total):
            store.outbox.append("transaction.transition", {"i": i}, datetime.now(UTC))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, str(WORKER), str(db), str(broker.port), "8"]
    worker = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == b"connected", worker.stderr.read() if worker.stderr else ""
        # Killed once the gate's own outbox says 600 went out: central stores in batches, behind the
        # broker's acknowledgements, and counting its rows let a fast drain finish before the kill.
        with Store(db) as watching:
            await until(lambda: watching.outbox.depth() <= total - 600, 15, "drain under way")
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        worker.kill()
        worker.wait(10)
    with Store(db) as store:
        depth_after_kill = store.outbox.depth()
    assert 0 < depth_after_kill < total, "the kill must land mid-drain"

    restarted = subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        await until(lambda: len(central_rows(tmp_path / "central.db")) >= total, 30, "every event at central")
        with Store(db) as store:
            await until(lambda: store.outbox.depth() == 0, 10, "outbox drained after restart")
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.kill()
        restarted.wait(10)
    assert_all_once_in_order(tmp_path / "central.db", set(range(1, total + 1)))


# -- clearances --------------------------------------------------------------------------------------------
async def test_clearance_revoked_while_the_gate_is_offline_is_applied_on_reconnect_before_the_next_decision(
    tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]
) -> None:
    central = start_central()
    db = tmp_path / "gate.db"
    cleared = [declaration("D1", "51C12345"), declaration("D2", "29H99999")]
    with Store(db) as store:
        uplink = Uplink(sync_config(broker), "g1", db)
        async with running(uplink):
            central.publish_clearances("g1", cleared)
            await until(lambda: uplink.status()["clearance_version"] == 1, what="snapshot applied")
        # The gate is offline now: it decides from its cache, which says cleared.
        assert decide_for(store, "51C12345")[0] is Outcome.PASS
        revoked = central.publish_clearances(
            "g1", [declaration("D1", "51C12345", status="revoked"), cleared[1]]
        )
        assert revoked is not None
        assert revoked.type == "delta"
        assert decide_for(store, "51C12345")[0] is Outcome.PASS  # not yet delivered

        back = Uplink(sync_config(broker), "g1", db)
        async with running(back):
            await until(lambda: back.status()["clearance_version"] == 2, what="queued revocation delivered")
            outcome, reasons = decide_for(store, "51C12345")
            assert outcome is Outcome.REJECT
            assert Reason.NOT_CLEARED in reasons
            assert decide_for(store, "29H99999")[0] is Outcome.PASS
            assert back.status()["clearance_age_s"] is not None


# -- inbound faults ----------------------------------------------------------------------------------------
async def test_malformed_oversized_and_schema_violating_messages_on_every_inbound_topic_change_nothing(
    tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central], observe: Callable[..., Observer]
) -> None:
    central = start_central()
    db = tmp_path / "gate.db"
    config = sync_config(broker, command_key=KEY, clearance_max_bytes=2048, command_max_bytes=512)
    topics = gate_topics(config.topic_prefix, "g1")
    good_delta = {
        "type": "delta",
        "gate_id": "g1",
        "feed_version": 9,
        "base_version": 8,
        "issued_at": NOW.isoformat(),
        "upserts": [],
        "removals": ["D1"],
    }
    forged = sign(
        Command(command_id=uuid.uuid4(), gate_id="g1", name="open_barrier", issuer="x", issued_at=NOW),
        "f" * 32,
    )
    cases = [
        (topics.clearances, b"{not json", "clearances:malformed"),
        (
            topics.clearances,
            b'{"type": "snapshot", "declarations": []}' + b" " * 3000,
            "clearances:oversized",
        ),
        (
            topics.clearances,
            sign_feed_body({"type": "snapshot", "gate_id": "g1"}, FEED_KEY),
            "clearances:schema",
        ),
        (topics.clearances, json.dumps(good_delta).encode(), "clearances:unauthenticated"),
        (topics.clearances, sign_feed_body(good_delta, FEED_KEY), "clearances:out_of_order"),
        (topics.commands, b"\xff\xfe", "commands:malformed"),
        (topics.commands, b"[" + b"1," * 400 + b"1]", "commands:oversized"),
        (topics.commands, json.dumps({"command": "x"}).encode(), "commands:schema"),
        (topics.commands, forged, "commands:unauthenticated"),
    ]
    with Store(db) as store:
        uplink = Uplink(config, "g1", db)
        observer = observe(topics.commands_ack)
        async with running(uplink):
            central.publish_clearances("g1", [declaration("D1", "51C12345")])
            await until(lambda: uplink.status()["clearance_version"] == 1)
            before = (store.declarations.all(), store.audit.records(), uplink.status()["clearance_version"])
            for topic, payload, _ in cases:
                observer.publish(topic, payload)
            expected = Counter(key for _, _, key in cases)
            await until(lambda: Counter(uplink.status()["sync"]["rejected"]) >= expected, what="all rejected")
            # The gap made the gate ask for a snapshot; central answered with the feed as it stands.
            await until(lambda: not uplink.status()["sync"]["clearances"]["want_snapshot"], what="resync")
            await until(lambda: len(observer.on(topics.commands_ack)) == 4, what="rejection acks")
        after = (store.declarations.all(), store.audit.records(), uplink.status()["clearance_version"])
        assert after == before
        reported = sorted(
            f"{p['topic'].rsplit('/', 1)[-1]}:{p['reason']}"
            for p in outbox_payloads(store, "sync.message_rejected")
        )
        assert reported == sorted(expected.elements())
    acks = [m.json() for m in observer.on(topics.commands_ack)]
    assert {a["status"] for a in acks} == {"rejected"}
    assert any(a["command_id"] is not None for a in acks)  # the forged one is answered by its claimed id


async def test_without_credentials_the_gate_is_refused_reported_and_nothing_is_delivered(
    tmp_path: Path,
) -> None:
    secured = Mosquitto(tmp_path / "secured", users={"g1": "gate-secret", "central": "central-secret"})
    secured.start()
    db = tmp_path / "gate.db"
    try:
        with Store(db) as store:
            store.outbox.append("transaction.started", {"tx_id": "t1"}, datetime.now(UTC))
            anonymous = Uplink(sync_config(secured), "g1", db)
            async with running(anonymous, connect=False):
                await until(lambda: anonymous.status()["sync"]["broker"]["refusals"] >= 1, what="refused")
                await until(lambda: bool(outbox_payloads(store, "sync.connect_refused")), what="reported")
                assert "broker_refused" in anonymous.status()["alarms"]
                assert not anonymous.status()["connected"]
            assert store.outbox.depth() == 2  # the lane's event and the refusal report, both kept

            intruder = Observer(secured)  # no credentials: cannot even connect, let alone command the gate
            assert not intruder.wait_ready()
            assert intruder.refused is not None
            intruder.close()

            settings = {"username": "g1", "password": "gate-secret"}
            gate = Uplink(sync_config(secured, broker=settings), "g1", db)
            central = Central(
                CentralSettings(
                    broker=BrokerConfig(
                        port=secured.port, username="central", password=SecretStr("central-secret")
                    ),
                    db_path=tmp_path / "central.db",
                )
            )
            central.start()
            assert central.subscribed.wait(5)
            try:
                async with running(gate):
                    await until(lambda: store.outbox.depth() == 0, what="drained with credentials")
                await until(lambda: len(central_rows(tmp_path / "central.db")) == 2)
            finally:
                central.stop()
    finally:
        secured.stop()


# -- commands ----------------------------------------------------------------------------------------------
class LaneStub:
    """The lane as commands see it: a status, and a record of remote openings."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, str]] = []
        self.refusal: str | None = None

    def lane_status(self) -> dict[str, Any]:
        return {
            "lane": {"state": "IDLE"},
            "devices": {"modbus": {"up": True}},
            "recognition_latency_ms": 41.5,
        }

    def open_refusal(self) -> str | None:
        return self.refusal

    def open_barrier(self, actor: str, reason: str) -> None:
        self.opened.append((actor, reason))


@pytest.mark.parametrize("remote_open_allowed", [False, True])
async def test_commands_are_authenticated_audited_answered_and_never_executed_twice(
    tmp_path: Path,
    broker: Mosquitto,
    start_central: Callable[..., Central],
    observe: Callable[..., Observer],
    remote_open_allowed: bool,
) -> None:
    central = start_central()
    db = tmp_path / "gate.db"
    lane = LaneStub()
    config = sync_config(broker, command_key=KEY, remote_open_allowed=remote_open_allowed)
    topics = gate_topics(config.topic_prefix, "g1")
    with Store(db) as store:
        uplink = Uplink(config, "g1", db, gate=lane)
        async with running(uplink):
            report = central.send_command("g1", "status_report", KEY, "ops-anna")
            ack = await acked(central, report)
            assert ack.status == "accepted"
            assert ack.result is not None
            assert ack.result["lane"]["lane"] == {"state": "IDLE"}
            assert ack.result["sync"]["broker"]["connected"] is True

            opening = central.send_command("g1", "open_barrier", KEY, "ops-anna", reason="stuck truck")
            ack = await acked(central, opening)
            assert ack.status == ("accepted" if remote_open_allowed else "refused")
            assert lane.opened == ([("central:ops-anna", "stuck truck")] if remote_open_allowed else [])

            # A replay of the very same signed message is answered but not executed again.
            replay = observe(topics.commands_ack)
            replay.publish(topics.commands, sign(opening, KEY))
            await until(
                lambda: any(m.json()["status"] == "duplicate" for m in replay.on(topics.commands_ack))
            )
            assert len(lane.opened) == (1 if remote_open_allowed else 0)

            central.publish_clearances("g1", [declaration("D1", "51C12345")])
            await until(lambda: uplink.status()["clearance_version"] == 1)
            reload = central.send_command("g1", "reload_clearances", KEY, "ops-anna")
            ack = await acked(central, reload)
            assert ack.status == "accepted"
            await until(
                lambda: len(outbox_payloads(store, "clearance.applied")) == 2, what="snapshot re-applied"
            )
        audit = {r.subject: r for r in store.audit.records()}
        for sent, status in [
            (report, "accepted"),
            (opening, "accepted" if remote_open_allowed else "refused"),
        ]:
            record = audit[f"command:{sent.command_id}"]
            assert record.actor == "central:ops-anna"
            assert record.after is not None
            assert record.after["status"] == status
        assert store.audit.verify() is None
        handled = [p["status"] for p in outbox_payloads(store, "command.handled")]
        assert handled == ["accepted", "accepted" if remote_open_allowed else "refused", "accepted"]


# -- telemetry, disk policy, alarms ------------------------------------------------------------------------
async def test_telemetry_is_published_with_a_message_expiry_and_describes_the_lane(
    tmp_path: Path, broker: Mosquitto, observe: Callable[..., Observer]
) -> None:
    config = sync_config(broker, telemetry_period_s=0.1, telemetry_expiry_s=30, require_subscriber=False)
    topics = gate_topics(config.topic_prefix, "g1")
    observer = observe(topics.telemetry)
    uplink = Uplink(config, "g1", tmp_path / "gate.db", gate=LaneStub())
    async with running(uplink):
        await until(lambda: len(observer.on(topics.telemetry)) >= 2, what="telemetry samples")
    sample = observer.on(topics.telemetry)[0]
    assert sample.expiry_s is not None
    assert 0 < sample.expiry_s <= 30
    envelope = EventEnvelope.model_validate_json(sample.payload)
    assert envelope.kind == "telemetry"
    assert envelope.expires_at is not None
    body = TelemetryBody.model_validate(envelope.payload)
    assert body.lane == {"state": "IDLE"}
    assert body.recognition_latency_ms == 41.5
    assert body.outbox.depth >= 0


async def test_offline_gate_drops_oldest_telemetry_beyond_its_keep_limit_but_never_an_event(
    tmp_path: Path, broker: Mosquitto, observe: Callable[..., Observer]
) -> None:
    broker.stop()  # offline from the start
    db = tmp_path / "gate.db"
    config = sync_config(broker, telemetry_period_s=0.05, telemetry_keep=3, outbox_warning_events=5)
    with Store(db) as store:
        for i in range(8):
            store.outbox.append("transaction.transition", {"i": i}, datetime.now(UTC))
        uplink = Uplink(config, "g1", db, gate=LaneStub())
        async with running(uplink, connect=False):
            await until(lambda: uplink.status()["sync"]["outbox"]["telemetry_dropped"] >= 3, what="drops")
            assert "outbox_backlog" in uplink.status()["alarms"]
            assert uplink.status()["oldest_undelivered_age_s"] is not None
        telemetry = store.conn.execute("SELECT COUNT(*) FROM outbox WHERE critical = 0").fetchone()[0]
        events = store.conn.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'transaction.transition'")
        assert telemetry <= 3 + 1  # the keep limit, plus at most one sample written since the last upkeep
        assert events.fetchone()[0] == 8
        alarm = outbox_payloads(store, "lane.alarm")
        assert [a["code"] for a in alarm] == ["outbox_backlog"]

        broker.start()
        observe(gate_topics(config.topic_prefix, "g1").events)  # a receiver for the drained events
        back = Uplink(config.model_copy(update={"telemetry_period_s": 3600.0}), "g1", db)
        async with running(back):
            await until(lambda: store.outbox.depth() == 0, what="drained")
            await until(lambda: "outbox_backlog" not in back.status()["alarms"], what="alarm cleared")
        assert [a["code"] for a in outbox_payloads(store, "lane.alarm_cleared")] == ["outbox_backlog"]


async def test_events_stay_in_the_outbox_while_no_central_subscribes(
    tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]
) -> None:
    db = tmp_path / "gate.db"
    with Store(db) as store:
        store.outbox.append("transaction.started", {"tx_id": "t1"}, datetime.now(UTC))
        uplink = Uplink(sync_config(broker), "g1", db)
        async with running(uplink):
            await until(lambda: uplink.status()["sync"]["outbox"]["refused"] >= 1, what="no subscriber seen")
            assert store.outbox.depth() == 1
            start_central()
            await until(lambda: store.outbox.depth() == 0, 8, "delivered once central subscribed")
            # The broker acknowledged it; central commits it with its next batch, a moment later.
            await until(lambda: central_rows(tmp_path / "central.db") != [], 8, "stored at central")
    assert [row[2] for row in central_rows(tmp_path / "central.db")] == ["transaction.started"]


async def test_mqtt_311_gate_delivers_events_and_receives_clearances(
    tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]
) -> None:
    central = start_central()
    db = tmp_path / "gate.db"
    with Store(db) as store:
        store.outbox.append("transaction.started", {"tx_id": "t1"}, datetime.now(UTC))
        uplink = Uplink(sync_config(broker, broker={"protocol": "3.1.1"}), "g1", db)
        async with running(uplink):
            assert uplink.status()["sync"]["broker"]["protocol"] == "3.1.1"
            await until(lambda: store.outbox.depth() == 0)
            central.publish_clearances("g1", [declaration("D1", "51C12345")])
            await until(lambda: uplink.status()["clearance_version"] == 1)
            await until(lambda: central_rows(tmp_path / "central.db") != [], 8, "stored at central")
    assert "transaction.started" in [row[2] for row in central_rows(tmp_path / "central.db")]


async def test_remote_open_the_lane_cannot_act_on_is_refused_and_audited_as_refused(
    tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]
) -> None:
    central = start_central()
    db = tmp_path / "gate.db"
    lane = LaneStub()
    lane.refusal = "the lane controller is not reachable"
    config = sync_config(broker, command_key=KEY, remote_open_allowed=True)
    with Store(db) as store:
        uplink = Uplink(config, "g1", db, gate=lane)
        async with running(uplink):
            opening = central.send_command("g1", "open_barrier", KEY, "ops-anna", reason="stuck truck")
            ack = await acked(central, opening)
            assert ack.status == "refused"
            assert "not reachable" in ack.detail
        assert lane.opened == []
        record = {r.subject: r for r in store.audit.records()}[f"command:{opening.command_id}"]
        assert record.after is not None
        assert record.after["status"] == "refused"


class BusyLane(LaneStub):
    """A lane whose event queue is full: it says it could open, then does not take the order."""

    def open_barrier(self, actor: str, reason: str) -> None:
        raise LaneBusy("the lane's inbound queue is full")


async def test_remote_open_the_lane_does_not_take_is_answered_refused_and_audited_and_inbound_goes_on(
    tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]
) -> None:
    central = start_central()
    db = tmp_path / "gate.db"
    config = sync_config(broker, command_key=KEY, remote_open_allowed=True)
    with Store(db) as store:
        uplink = Uplink(config, "g1", db, gate=BusyLane())
        async with running(uplink):
            opening = central.send_command("g1", "open_barrier", KEY, "ops-anna", reason="stuck truck")
            ack = await acked(central, opening)
            assert ack.status == "refused"
            assert "queue is full" in ack.detail
            report = central.send_command("g1", "status_report", KEY, "ops-anna")
            ack = await acked(central, report)
            assert ack.status == "accepted"
        records = [r for r in store.audit.records() if r.subject == f"command:{opening.command_id}"]
        assert sorted(r.after["status"] for r in records if r.after is not None) == ["accepted", "refused"]
        handled = [p["status"] for p in outbox_payloads(store, "command.handled")]
        assert handled == ["refused", "accepted"]
