"""Central's storage contract, the same on SQLite and on PostgreSQL: each test runs against both."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from central.feed import next_message
from central.pg_url import redact
from central.settings import CentralSettings
from central.store import CentralStore, StoreUnavailable
from central.store_pg import PostgresCentralStore
from sync.clearances import ClearanceDelta, ClearanceSnapshot, WireDeclaration
from sync.config import BrokerConfig
from sync.contract import SCHEMA_VERSION, EventEnvelope
from tests.central.central_db import Database, in_schema, open_database, postgres_server

AT = datetime(2025, 3, 1, 8, tzinfo=UTC)
NO_TELEMETRY = {"samples": 0, "expired": 0, "latest_seq": None, "not_received": 0}
NOTHING_REJECTED = {"total": 0, "by_reason": {}}


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from open_database(request.param, tmp_path)


@pytest.fixture
def store(database: Database) -> Iterator[CentralStore]:
    opened = database.open()
    yield opened
    opened.close()


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[Database]:
    yield from open_database("postgres", tmp_path)


def event(seq: int, prev: int | None, gate: str = "g1", event_id: uuid.UUID | None = None) -> EventEnvelope:
    return EventEnvelope(
        schema_version=SCHEMA_VERSION,
        event_id=event_id or uuid.uuid4(),
        gate_id=gate,
        seq=seq,
        prev_seq=prev,
        kind="transaction.started",
        at=AT,
        payload={"seq": seq},
    )


def put(store: CentralStore, envelope: EventEnvelope, receiver: str = "central-1") -> bool:
    return store.store_event(envelope, f'{{"seq":{envelope.seq}}}', receiver, AT)


def declaration(number: str, status: str = "cleared") -> WireDeclaration:
    return WireDeclaration.model_validate(
        {
            "number": number,
            "version": 1,
            "status": status,
            "channel": "green",
            "plates": ["51C12345"],
            "valid_from": "2025-03-01T00:00:00Z",
            "valid_until": "2025-04-01T00:00:00Z",
        }
    )


def test_an_event_delivered_twice_is_stored_once(store: CentralStore, database: Database) -> None:
    first = event(1, None)
    assert put(store, first, "central-a") is True
    assert put(store, first, "central-b") is False
    assert database.rows("SELECT event_id, gate_id, seq, prev_seq, kind, receiver FROM events") == [
        (str(first.event_id), "g1", 1, None, "transaction.started", "central-a")
    ]
    assert store.report() == {
        "gates": {"g1": {"events": 1, "max_seq": 1, "gaps": [], "telemetry": NO_TELEMETRY}},
        "rejected": NOTHING_REJECTED,
    }


def test_a_gap_stays_recorded_until_the_missing_event_arrives(
    store: CentralStore, database: Database
) -> None:
    for seq, prev in ((1, None), (2, 1), (4, 3), (7, 6)):
        assert put(store, event(seq, prev))
    assert put(store, event(1, None, gate="g2"))  # another gate's sequence is its own
    assert database.rows("SELECT gate_id, missing_seq, noticed_seq FROM gaps ORDER BY 2") == [
        ("g1", 3, 4),
        ("g1", 6, 7),
    ]
    assert put(store, event(3, 2))  # resent late: its gap closes, the other stays
    assert put(store, event(6, 5))  # closes 6, and opens 5
    report = store.report()
    assert report["gates"]["g1"] == {"events": 6, "max_seq": 7, "gaps": [5], "telemetry": NO_TELEMETRY}
    assert report["gates"]["g2"] == {"events": 1, "max_seq": 1, "gaps": [], "telemetry": NO_TELEMETRY}


def test_telemetry_keeps_the_newest_sample_even_when_an_older_one_arrives_late(
    store: CentralStore, database: Database
) -> None:
    store.store_telemetry("g1", 5, AT, '{"fps": 5}', AT)
    store.store_telemetry("g1", 3, AT, '{"fps": 3}', AT)
    assert database.rows("SELECT gate_id, seq FROM telemetry") == [("g1", 5)]
    store.store_telemetry("g1", 7, AT + timedelta(seconds=1), '{"fps": 7}', AT)
    assert database.rows("SELECT gate_id, seq FROM telemetry") == [("g1", 7)]


def test_status_is_the_last_one_acks_are_appended_and_rejected_messages_are_counted_per_reason(
    store: CentralStore, database: Database
) -> None:
    store.store_status("g1", "online", AT, 3, AT)
    store.store_status("g1", "offline", AT, None, AT)
    assert database.rows("SELECT gate_id, state, clearance_version FROM gate_status") == [
        ("g1", "offline", None)
    ]
    command = str(uuid.uuid4())
    store.store_ack("g1", command, "accepted", "done", '{"status": "accepted"}', AT)
    store.store_ack("g1", None, "rejected", "unreadable \x00 command", '{"status": "rejected"}', AT)
    assert database.rows("SELECT command_id, status FROM acks ORDER BY id") == [
        (command, "accepted"),
        (None, "rejected"),
    ]
    store.store_rejected("customs/v1/gates/g1/events", "bad_json", "x" * 2000, 2000, AT)
    store.store_rejected("customs/v1/gates/g1/status", "bad_schema", "state: \x00", 10, AT)
    store.store_rejected("customs/v1/gates/g2/events", "bad_json", "y", 1, AT)
    assert database.rows("SELECT topic, reason, length(detail), size FROM rejected ORDER BY id")[0] == (
        "customs/v1/gates/g1/events",
        "bad_json",
        500,
        2000,
    )
    assert store.report()["rejected"] == {"total": 3, "by_reason": {"bad_json": 2, "bad_schema": 1}}


def test_a_value_the_database_cannot_hold_is_a_value_error_and_stores_nothing(
    store: CentralStore, database: Database
) -> None:
    # The contract's models refuse such a seq; the store holds its own line behind them.
    beyond = event(1, None).model_copy(update={"seq": 2**63, "prev_seq": 2**63 - 1})
    with pytest.raises(ValueError, match="cannot store"):
        put(store, beyond)
    assert put(store, event(1, None))  # the connection is still usable
    assert database.rows("SELECT seq FROM events") == [(1,)]


def test_a_feed_step_is_recorded_at_the_next_version_or_not_at_all(store: CentralStore) -> None:
    assert store.feed("g1") == (0, None)
    assert store.advance_feed("g1", AT, lambda version, sent: None) is None
    assert store.feed("g1") == (0, None)
    assert store.advance_feed("g1", AT, lambda version, sent: ('["a"]', (version, sent))) == (0, None)
    assert store.advance_feed("g1", AT, lambda version, sent: ('["b"]', (version, sent))) == (1, '["a"]')

    def failing(version: int, sent: str | None) -> tuple[str, None]:
        raise ValueError("the step failed")

    with pytest.raises(ValueError, match="the step failed"):
        store.advance_feed("g1", AT, failing)
    assert store.feed("g1") == (2, '["b"]')


def test_clearance_feed_sends_a_snapshot_then_a_delta(store: CentralStore) -> None:
    first = next_message(store, "g1", [declaration("D1"), declaration("D2")], snapshot=False, at=AT)
    assert isinstance(first, ClearanceSnapshot)
    assert next_message(store, "g1", [declaration("D1"), declaration("D2")], snapshot=False, at=AT) is None
    second = next_message(store, "g1", [declaration("D1", "revoked")], snapshot=False, at=AT)
    assert isinstance(second, ClearanceDelta)
    assert (second.base_version, second.feed_version, second.removals) == (1, 2, ["D2"])
    assert [(d.number, d.version) for d in second.upserts] == [("D1", 2)]


def race(database: Database, work: Callable[[CentralStore, int], None], threads: int = 2) -> None:
    """Run ``work(store, index)`` on ``threads`` threads at once, each with its own connection."""
    stores = [database.open(f"racer-{i}") for i in range(threads)]
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            work(stores[index], index)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    for opened in stores:
        opened.close()
    assert errors == []


def test_two_instances_storing_one_gates_events_at_once_record_no_false_gap(database: Database) -> None:
    # Instance 0 stores the odd seqs, instance 1 the even ones, each pair at the same moment: without the
    # per-gate serialisation, each would miss the other's uncommitted event and record a gap.
    pairs = 150
    start = threading.Barrier(2)

    def work(store: CentralStore, index: int) -> None:
        for pair in range(pairs):
            seq = 2 * pair + 1 + index
            start.wait(10)
            put(store, event(seq, seq - 1 or None), f"central-{index}")

    race(database, work)
    assert database.rows("SELECT COUNT(*) FROM events") == [(2 * pairs,)]
    assert database.rows("SELECT missing_seq FROM gaps") == []


def test_two_instances_receiving_one_event_at_once_store_it_once(database: Database) -> None:
    copies = [event(seq, seq - 1 or None) for seq in range(1, 101)]
    new: list[bool] = []
    start = threading.Barrier(2)

    def work(store: CentralStore, index: int) -> None:
        for copy in copies:
            start.wait(10)
            new.append(put(store, copy, f"central-{index}"))

    race(database, work)
    assert new.count(True) == len(copies)
    assert database.rows("SELECT COUNT(*) FROM events") == [(len(copies),)]


def test_two_instances_advancing_one_feed_at_once_never_reuse_a_version(database: Database) -> None:
    seen: list[int] = []
    start = threading.Barrier(2)

    def work(store: CentralStore, index: int) -> None:
        for _ in range(50):
            start.wait(10)
            seen.append(store.advance_feed("g1", AT, lambda version, _sent: ("[]", version + 1)) or 0)

    race(database, work)
    assert sorted(seen) == list(range(1, 101))


def test_instances_starting_together_on_an_empty_postgres_schema_all_create_the_tables(
    postgres: Database,
) -> None:
    # CREATE TABLE IF NOT EXISTS alone is not safe against a twin running it at the same moment.
    start = threading.Barrier(6)
    errors: list[StoreUnavailable] = []

    def open_at_once() -> None:
        start.wait(10)
        try:
            postgres.open().close()
        except StoreUnavailable as exc:
            errors.append(exc)

    workers = [threading.Thread(target=open_at_once) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert errors == []
    assert postgres.rows("SELECT COUNT(*) FROM events") == [(0,)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_postgres_is_store_unavailable_and_the_message_hides_the_password() -> None:
    url = f"postgresql://central:s3cret@127.0.0.1:{free_port()}/customs?connect_timeout=2"
    with pytest.raises(StoreUnavailable, match="cannot connect") as caught:
        PostgresCentralStore(url)
    assert "s3cret" not in str(caught.value)
    assert "postgresql://central:***@127.0.0.1" in str(caught.value)


def test_a_url_naming_a_missing_schema_is_store_unavailable() -> None:
    url = in_schema(postgres_server(), f"nowhere_{uuid.uuid4().hex[:8]}")
    with pytest.raises(StoreUnavailable, match="cannot create central's tables"):
        PostgresCentralStore(url)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://c:pw@db:5432/x", "postgresql://c:***@db:5432/x"),
        ("postgresql://c:p@w/d@db/x", "postgresql://c:***@db/x"),
        (
            "postgres://db/x?user=c&password=pw&sslmode=require",
            "postgres://db/x?user=c&password=***&sslmode=require",
        ),
        ("postgresql://c@db/x", "postgresql://c@db/x"),
    ],
)
def test_redact_hides_the_password_wherever_the_url_holds_it(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_central_settings_need_a_database_and_take_only_a_postgres_url() -> None:
    broker = BrokerConfig()
    with pytest.raises(ValueError, match="needs a database"):
        CentralSettings(broker=broker)
    with pytest.raises(ValueError, match="not a postgresql:// URL"):
        CentralSettings(broker=broker, db_url="mysql://c:pw@db/x")
    settings = CentralSettings(broker=broker, db_path=Path("unused.db"), db_url="postgresql://c@db/x")
    assert settings.db_url == "postgresql://c@db/x"  # the URL wins; the file is never opened


def test_a_gate_whose_events_ran_1_to_1000_complete_has_no_gaps_even_if_the_first_names_prev_seq_0(
    store: CentralStore,
) -> None:
    # seq starts at 1: a prev_seq of 0 names no event, so it is no missing one (the report said gaps: [0]).
    for seq in range(1, 1001):
        assert put(store, event(seq, seq - 1))
    assert store.report()["gates"]["g1"] == {
        "events": 1000,
        "max_seq": 1000,
        "gaps": [],
        "telemetry": NO_TELEMETRY,
    }


def test_telemetry_holes_in_the_shared_sequence_are_reported_apart_and_are_no_lost_events(
    store: CentralStore,
) -> None:
    # seq 1..12: events at 1, 2, 5, 6, 9, 12 (each naming the previous event); telemetry samples at 3, 4
    # and 10, 7 arrived past its expiry, 8 and 11 never arrived (retired at the gate).
    prev = None
    for seq in (1, 2, 5, 6, 9, 12):
        assert put(store, event(seq, prev))
        prev = seq
    for seq in (3, 4, 10):
        assert store.store_telemetry("g1", seq, AT, '{"fps": 5}', AT)
    assert not store.store_telemetry("g1", 10, AT, '{"fps": 5}', AT)  # a resend of the kept sample
    store.count_expired_telemetry("g1", 7)
    report = store.report()["gates"]["g1"]
    assert (report["events"], report["max_seq"], report["gaps"]) == (6, 12, [])
    assert report["telemetry"] == {"samples": 3, "expired": 1, "latest_seq": 10, "not_received": 2}
