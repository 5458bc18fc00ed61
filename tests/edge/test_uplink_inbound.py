"""No inbound message stops the gate's inbound handling, and only clearances central signed change its cache.

Against a real Mosquitto and the reference central, as in test_uplink.py: each hostile message here once
stopped the task that handles clearances and commands (silently; revocations were ignored from then on),
or changed the cache or the feed version. A revocation sent after them must apply. The fuzz tests send
thousands of hostile payloads per topic through the handler the broker path calls (GateSync.handle), then
a smaller batch through Mosquitto, and end with a revocation applied within one second.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from central.receiver import Central
from edge.decision import Outcome
from edge.store import Store
from edge.uplink import Uplink
from sync.client import Inbound
from sync.commands import Command, SignedCommand, sign, signature
from sync.config import SyncConfig
from sync.contract import gate_topics
from sync.feed_signature import sign_feed_body
from sync.signing_keys import SigningKey
from tests.edge.test_uplink import (
    KEY,
    decide_for,
    declaration,
    outbox_payloads,
    running,
    sync_config,
    until,
)
from tests.sync.broker import Mosquitto, free_port
from tests.sync.conftest import FEED_KEY, trusted
from tests.sync.observer import Observer

NOW = datetime.now(UTC)
PLATE = "51C12345"


def wire(number: str, plate: str, status: str = "cleared", version: int = 1) -> dict[str, Any]:
    return declaration(number, plate, status, version).model_dump(mode="json")


def delta(base: int, version: int, *upserts: dict[str, Any], gate: str = "g1") -> dict[str, Any]:
    return {
        "type": "delta",
        "gate_id": gate,
        "feed_version": version,
        "base_version": base,
        "issued_at": NOW.isoformat(),
        "upserts": list(upserts),
        "removals": [],
    }


def snapshot(version: int, *declarations: dict[str, Any], gate: str = "g1") -> dict[str, Any]:
    return {
        "type": "snapshot",
        "gate_id": gate,
        "feed_version": version,
        "issued_at": NOW.isoformat(),
        "declarations": list(declarations),
    }


@asynccontextmanager
async def cleared_uplink(config: SyncConfig, db: Path, central: Central) -> AsyncIterator[Uplink]:
    """The gate's uplink, running, once it has applied central's clearance of D1 for PLATE."""
    uplink = Uplink(config, "g1", db)
    async with running(uplink):
        central.publish_clearances("g1", [declaration("D1", PLATE)])
        await until(lambda: uplink.status()["clearance_version"] == 1, what="cleared")
        yield uplink


def rejected_reports(store: Store) -> list[str]:
    """topic:reason of every sync.message_rejected event the gate wrote."""
    reports = outbox_payloads(store, "sync.message_rejected")
    return sorted(f"{p['topic'].rsplit('/', 1)[-1]}:{p['reason']}" for p in reports)


# -- finding 4: one message stopped all inbound processing ---------------------------------------------------
HUGE_INT_COMMAND = b'{"command": "x", "hmac_sha256": "' + b"0" * 64 + b'", "n": ' + b"9" * 5000 + b"}"
SURROGATE_COMMAND = b'{"command": "\\ud800", "hmac_sha256": "' + b"0" * 64 + b'"}'
OVERFLOW_DELTA = json.dumps(delta(1, 2, wire("D7", "30A11111") | {"version": 2**64})).encode()


@pytest.mark.parametrize(
    ("topic", "payload", "reported"),
    [
        ("commands", HUGE_INT_COMMAND, "commands:malformed"),
        ("commands", SURROGATE_COMMAND, "commands:malformed"),
        ("clearances", OVERFLOW_DELTA, "clearances:malformed"),
    ],
    ids=["5000-digit-integer", "lone-surrogate", "version-2**64"],
)
async def test_one_hostile_message_never_stops_the_gate_receiving_revocations(
    tmp_path: Path,
    broker: Mosquitto,
    start_central: Callable[..., Central],
    observe: Callable[..., Observer],
    topic: str,
    payload: bytes,
    reported: str,
) -> None:
    central = start_central()
    db = tmp_path / "gate.db"
    config = sync_config(broker, command_key=KEY)
    topics = gate_topics(config.topic_prefix, "g1")
    intruder = observe()
    with Store(db) as store:
        async with cleared_uplink(config, db, central) as uplink:
            intruder.publish(getattr(topics, topic), payload)
            await until(lambda: uplink.status()["sync"]["rejected"].get(reported) == 1, what="rejected")
            central.publish_clearances("g1", [declaration("D1", PLATE, status="revoked")])
            await until(lambda: decide_for(store, PLATE)[0] is Outcome.REJECT, what="revocation applied")
            status = uplink.status()
            assert status["inbound_alive"]
            assert status["connected"]
            assert status["task_restarts"] == {}
        assert rejected_reports(store) == [reported]


# -- finding 5: clearances were not authenticated ------------------------------------------------------------
async def test_only_clearances_signed_by_a_trusted_central_key_change_the_gate(
    tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central], observe: Callable[..., Observer]
) -> None:
    central = start_central()
    db = tmp_path / "gate.db"
    config = sync_config(broker, clearance_max_version_jump=1000)
    topics = gate_topics(config.topic_prefix, "g1")
    feed = observe(topics.clearances)  # sees what central sends, to replay it
    forger = SigningKey.generate(FEED_KEY.key_id)  # central's key id, another key
    smuggled = wire("D9", "29H99999")
    attacks = [
        (json.dumps(snapshot(2, smuggled)).encode(), "clearances:unauthenticated"),
        (sign_feed_body(snapshot(2, smuggled), forger), "clearances:unauthenticated"),
        (json.dumps(delta(1, 2**62, smuggled)).encode(), "clearances:unauthenticated"),
        (sign_feed_body(delta(1, 1 + 2**62, smuggled), FEED_KEY), "clearances:version_jump"),
    ]
    with Store(db) as store:
        async with cleared_uplink(config, db, central) as uplink:
            for payload, _ in attacks:
                feed.publish(topics.clearances, payload)
            await until(lambda: len(rejected_reports(store)) == len(attacks), what="attacks rejected")
            assert uplink.status()["clearance_version"] == 1
            assert store.declarations.get("D9") is None

            central.publish_clearances("g1", [declaration("D1", PLATE), declaration("D2", "30A11111")])
            await until(lambda: uplink.status()["clearance_version"] == 2, what="central's delta applied")
            from_central = [m.payload for m in feed.on(topics.clearances)][-1]
            central.publish_clearances(
                "g1", [declaration("D1", PLATE, status="revoked"), declaration("D2", "30A11111")]
            )
            await until(lambda: uplink.status()["clearance_version"] == 3, what="revocation applied")
            feed.publish(topics.clearances, from_central)  # central's own delta 1->2, replayed
            await until(lambda: uplink.status()["sync"]["rejected"].get("clearances:replayed") == 1)
            assert uplink.status()["clearance_version"] == 3
        assert decide_for(store, PLATE)[0] is Outcome.REJECT
        assert store.declarations.get("D9") is None
        assert rejected_reports(store) == sorted([reason for _, reason in attacks] + ["clearances:replayed"])


# -- supervision ---------------------------------------------------------------------------------------------
async def test_a_store_fault_while_handling_restarts_inbound_raises_the_alarm_and_loses_no_revocation(
    tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central], observe: Callable[..., Observer]
) -> None:
    central = start_central()
    db = tmp_path / "gate.db"
    config = sync_config(broker)
    topics = gate_topics(config.topic_prefix, "g1")
    intruder = observe()
    with Store(db) as store:
        async with cleared_uplink(config, db, central) as uplink:
            # A real SQLite failure on every outbox write, as a full or failing disk gives.
            with sqlite3.connect(db) as fault:
                fault.execute(
                    "CREATE TRIGGER outbox_fails BEFORE INSERT ON outbox"
                    " BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
                )
            intruder.publish(topics.clearances, b"{not json")
            await until(lambda: uplink.status()["task_restarts"].get("inbound", 0) >= 1, what="restarted")
            status = uplink.status()
            assert "inbound_restarted" in status["alarms"]
            assert "disk trouble" in status["sync"]["inbound"]["last_crash"]
            assert status["inbound_alive"]
            with sqlite3.connect(db) as repair:
                repair.execute("DROP TRIGGER outbox_fails")
            central.publish_clearances("g1", [declaration("D1", PLATE, status="revoked")])
            await until(lambda: decide_for(store, PLATE)[0] is Outcome.REJECT, what="revocation applied")
            await until(
                lambda: "inbound_restarted" in [a["code"] for a in outbox_payloads(store, "lane.alarm")],
                what="the alarm recorded once the store takes writes again",
            )
            assert uplink.inbound_alive()


# -- fuzz ----------------------------------------------------------------------------------------------------
HOLE = "@@HOLE@@"
HOSTILE_TEXT = st.sampled_from(
    [
        "9" * 5000,
        "-" + "9" * 4400,
        str(2**64),
        str(2**63),
        str(2**63 - 1),
        str(-(2**63) - 1),
        "1e999",
        "-1e999",
        "NaN",
        "Infinity",
        "1e308",
        '"\\ud800"',
        '"ok\\udfff"',
        '"\\ud83d"',
        '"\\u0000"',
        '"' + "x" * 3000 + '"',
        "true",
        "null",
        "[]",
        "{}",
    ]
)
DEEP_TEXT = st.integers(2, 3000).flatmap(
    lambda n: st.sampled_from(["[" * n + "]" * n, '{"a":' * n + "1" + "}" * n])
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**64, 2**63, 2**63 - 1, -(2**63) - 1, 2**62, 10**30, -1, 0])
    # No subnormals: onnxruntime (loaded by other tests in this process) sets the CPU to flush them to zero.
    | st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)
FRAGMENT = HOSTILE_TEXT | DEEP_TEXT | JSON_VALUES.map(json.dumps)
DEEP_VALUE = st.integers(17, 60).map(lambda n: json.loads("[" * n + "]" * n))


def paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value a mutation can go (and one new key per object)."""
    found = [at] if at else []
    if isinstance(value, dict):
        found.append((*at, "extra"))
        for key, item in value.items():
            found += paths(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*at, index))
    return found


def put(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of ``value`` with ``new`` at ``path``."""
    copy = json.loads(json.dumps(value))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copy


def with_fragment(value: Any, path: tuple[Any, ...], fragment: str) -> str:
    """JSON text of ``value`` with raw JSON text (which Python may not even parse) at ``path``."""
    return json.dumps(put(value, path, HOLE)).replace(json.dumps(HOLE), fragment, 1)


def clearance_payloads() -> st.SearchStrategy[bytes]:
    """Bytes, fragments, central's messages altered unsigned, and altered then signed by central's key.

    A signed mutation is for another gate and never touches gate_id, so nothing fuzzed can apply; it
    still goes through the signature and the models before that last check.
    """
    ours = json.loads(sign_feed_body(delta(1, 2, wire("D5", "30A55555", version=3)), FEED_KEY))
    theirs = [
        delta(1, 2, wire("D5", "30A55555", version=3), gate="g2"),
        snapshot(2, wire("D6", "30A66666"), gate="g2"),
    ]

    def unsigned(path: tuple[Any, ...], fragment: str) -> bytes:
        text = with_fragment(ours, path, fragment)
        assume(text != json.dumps(ours))
        return text.encode()

    def signed(message: dict[str, Any], path: tuple[Any, ...], new: Any) -> bytes:
        assume("gate_id" not in path)
        return sign_feed_body(put(message, path, new), FEED_KEY)

    resigned = st.sampled_from(theirs).flatmap(
        lambda m: st.builds(signed, st.just(m), st.sampled_from(paths(m)), JSON_VALUES | DEEP_VALUE)
    )
    return (
        st.binary(max_size=600)
        | FRAGMENT.map(str.encode)
        | st.builds(unsigned, st.sampled_from(paths(ours)), FRAGMENT)
        | resigned
    )


def command_payloads() -> st.SearchStrategy[bytes]:
    """Bytes, fragments, a signed command altered outside, and its text altered then HMAC-signed again."""
    command = Command(
        command_id=uuid.uuid4(), gate_id="g1", name="status_report", issuer="ops", issued_at=NOW, reason="x"
    )
    outer = json.loads(sign(command, KEY))
    inner = json.loads(SignedCommand.model_validate(outer).command)

    def unsigned(path: tuple[Any, ...], fragment: str) -> bytes:
        return with_fragment(outer, path, fragment).encode()

    def resigned(path: tuple[Any, ...], fragment: str) -> bytes:
        text = with_fragment(inner, path, fragment)
        try:
            mac = signature(text, KEY)
        except UnicodeEncodeError:  # a raw lone surrogate cannot be signed: sent as is
            mac = "0" * 64
        return json.dumps({"command": text, "hmac_sha256": mac}).encode()

    return (
        st.binary(max_size=600)
        | FRAGMENT.map(str.encode)
        | st.builds(unsigned, st.sampled_from(paths(outer)), FRAGMENT)
        | st.builds(resigned, st.sampled_from(paths(inner)), FRAGMENT)
    )


FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)


def inbound(topic: str, payload: bytes) -> Inbound:
    return Inbound(generation=0, mid=0, qos=1, topic=topic, payload=payload, size=len(payload))


def revocation(base: int) -> bytes:
    return sign_feed_body(delta(base, base + 1, wire("D1", PLATE, "revoked", version=2)), FEED_KEY)


def test_thousands_of_hostile_payloads_per_topic_are_each_rejected_and_a_revocation_still_applies(
    tmp_path: Path,
) -> None:
    db = tmp_path / "gate.db"
    config = SyncConfig.model_validate(
        {
            "broker": {"port": free_port()},  # nobody listens: the handler is called directly
            "clearance_keys": trusted(),
            "command_key": KEY,
            "command_max_age_s": 86400,
            "command_max_bytes": 8192,
        }
    )
    topics = gate_topics(config.topic_prefix, "g1")
    with asyncio.Runner() as runner, Store(db) as store:
        uplink = Uplink(config, "g1", db)
        handle = uplink.sync.handle
        first = sign_feed_body(snapshot(1, wire("D1", PLATE)), FEED_KEY)
        assert runner.run(handle(inbound(topics.clearances, first))) == "applied"
        outcomes: dict[str, set[str]] = {"clearances": set(), "commands": set()}

        @settings(FUZZ, max_examples=2000)
        @given(clearance_payloads())
        def clearances(payload: bytes) -> None:
            outcome = runner.run(handle(inbound(topics.clearances, payload)))
            outcomes["clearances"].add(outcome)
            assert outcome == "rejected"

        @settings(FUZZ, max_examples=2000)
        @given(command_payloads())
        def commands(payload: bytes) -> None:
            outcome = runner.run(handle(inbound(topics.commands, payload)))
            outcomes["commands"].add(outcome)
            assert outcome in {"rejected", "accepted", "refused", "duplicate"}

        clearances()
        commands()
        assert uplink.sync.inbound_handled >= 4000
        assert [d.number for d in store.declarations.all()] == ["D1"]
        assert runner.run(handle(inbound(topics.clearances, revocation(1)))) == "applied"
        assert decide_for(store, PLATE)[0] is Outcome.REJECT
        rejected = uplink.sync.status()["rejected"]
        assert not any(key.endswith(":failed") for key in rejected), rejected
        runner.run(uplink.stop())
        runner.run(uplink.run())  # not connected: stop() already set, it closes the store thread
    assert outcomes["clearances"] == {"rejected"}


def test_a_flood_of_bad_messages_is_all_counted_but_reported_at_the_configured_rate(tmp_path: Path) -> None:
    db = tmp_path / "gate.db"
    config = SyncConfig.model_validate(
        {"broker": {"port": free_port()}, "clearance_keys": trusted(), "rejection_reports_per_min": 5}
    )
    topics = gate_topics(config.topic_prefix, "g1")
    with asyncio.Runner() as runner, Store(db) as store:
        uplink = Uplink(config, "g1", db)
        for _ in range(40):
            assert runner.run(uplink.sync.handle(inbound(topics.clearances, b"{not json"))) == "rejected"
        assert uplink.sync.status()["rejected"] == {"clearances:malformed": 40}
        assert rejected_reports(store) == ["clearances:malformed"] * 5
        runner.run(uplink.stop())
        runner.run(uplink.run())


async def test_hostile_payloads_through_mosquitto_leave_a_revocation_applied_within_one_second(
    tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central], observe: Callable[..., Observer]
) -> None:
    central = start_central()
    db = tmp_path / "gate.db"
    config = sync_config(broker, command_key=KEY, command_max_age_s=86400, command_max_bytes=8192)
    topics = gate_topics(config.topic_prefix, "g1")
    intruder = observe()
    sent: list[bytes] = []

    def send(topic: str) -> Callable[[bytes], None]:
        def publish(payload: bytes) -> None:
            intruder.publish(topic, payload)
            sent.append(payload)

        return publish

    with Store(db) as store:
        async with cleared_uplink(config, db, central) as uplink:
            handled = uplink.sync.inbound_handled
            # The gate's loop waits while hypothesis publishes: the broker holds what the gate has not taken.
            settings(FUZZ, max_examples=150)(given(clearance_payloads())(send(topics.clearances)))()
            settings(FUZZ, max_examples=150)(given(command_payloads())(send(topics.commands)))()
            await until(
                lambda: uplink.sync.inbound_handled >= handled + len(sent), 60, what="every payload handled"
            )
            started = time.monotonic()
            central.publish_clearances("g1", [declaration("D1", PLATE, status="revoked")])
            await until(lambda: decide_for(store, PLATE)[0] is Outcome.REJECT, 1.0, what="revocation in 1 s")
            took = time.monotonic() - started
            status = uplink.status()
            assert status["task_restarts"] == {}
            assert status["inbound_alive"]
            assert not any(key.endswith(":failed") for key in status["sync"]["rejected"])
    assert len(sent) >= 200
    assert took < 1.0
