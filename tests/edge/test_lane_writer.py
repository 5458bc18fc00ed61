"""The lane writer on a real SQLite store made full with `PRAGMA max_page_count` (real SQLITE_FULL errors)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.lane_writer import LaneWriter, StoreUnavailable
from edge.recorder import Recorder
from edge.storage_health import StorageHealth, is_storage_error
from edge.store import Store

FILLER = "test.filler"


def fill_store(r: Recorder) -> int:
    """Cap the writer's database at its size and fill what room is left: every outbox insert then fails.

    Runs on the writer thread (its connection); returns how many filler events it took.
    """
    conn = r.store.conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    added = 0
    while True:
        try:
            r.store.outbox.append(FILLER, {}, datetime.now(UTC), critical=False)
        except sqlite3.OperationalError as exc:
            if not is_storage_error(exc):
                raise
            return added
        added += 1


def free_store(r: Recorder) -> None:
    r.store.conn.execute("PRAGMA max_page_count = 1000000000")


def alarms(path: Path) -> list[tuple[str, str, datetime]]:
    """The lane alarms in the outbox, in order, read through a connection of the test's own."""
    with Store(path) as store:
        return [
            (e.payload["code"], e.payload["detail"], e.created_at)
            for e in store.outbox.pending(limit=10_000)
            if e.kind == "lane.alarm"
        ]


@pytest.fixture
async def writer(tmp_path: Path) -> AsyncIterator[LaneWriter]:
    lane_writer = LaneWriter(tmp_path / "gate.db", "g", "lane-1", StorageHealth(min_free_bytes=0))
    await lane_writer.open()
    try:
        yield lane_writer
    finally:
        await lane_writer.close()


async def test_records_the_full_store_refuses_wait_in_order_and_are_written_when_room_returns(
    writer: LaneWriter, tmp_path: Path
) -> None:
    assert await writer.call(fill_store, in_order=False) > 0
    posted_before = datetime.now(UTC)
    for n in range(5):
        writer.post("Alarm", lambda r, n=n: r.alarm(None, "test", f"alarm {n}"))  # type: ignore[misc]
    await writer.flush()
    health = writer.health
    assert health.write_error == "database or disk is full"
    assert health.pending_writes == 6  # the five, and the alarm that says the store refused them
    assert health.delayed_writes == 6
    assert health.fault() is not None
    assert alarms(tmp_path / "gate.db") == []
    with pytest.raises(
        StoreUnavailable, match="database or disk is full; 6 earlier records wait for the store"
    ):
        await writer.call(lambda r: r.alarm(None, "test", "out of order"))

    freed_at = datetime.now(UTC)
    await writer.call(free_store, in_order=False)
    writer.retry()
    await writer.flush()

    assert (health.pending_writes, health.write_error, health.fault()) == (0, None, None)
    written = alarms(tmp_path / "gate.db")
    assert [(code, detail) for code, detail, _ in written] == [
        ("test", "alarm 0"),
        ("store_write_failed", "the store refused writes: database or disk is full"),
        ("test", "alarm 1"),
        ("test", "alarm 2"),
        ("test", "alarm 3"),
        ("test", "alarm 4"),
    ]
    assert all(posted_before <= at < freed_at for *_, at in written)  # when posted, not when written
    await writer.call(lambda r: r.alarm(None, "test", "in order again"))  # no longer refused


async def test_a_full_wait_queue_drops_new_records_and_counts_them(tmp_path: Path) -> None:
    writer = LaneWriter(tmp_path / "gate.db", "g", "lane-1", StorageHealth(min_free_bytes=0), max_waiting=3)
    await writer.open()
    try:
        await writer.call(fill_store, in_order=False)
        for n in range(5):
            writer.post("Alarm", lambda r, n=n: r.alarm(None, "test", f"alarm {n}"))  # type: ignore[misc]
        await writer.flush()
        assert (writer.health.pending_writes, writer.health.dropped_writes) == (3, 3)
        assert "3 records lost" in (writer.health.fault() or "")
    finally:
        await writer.close()


async def test_records_still_refused_at_shutdown_are_each_logged_as_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer = LaneWriter(tmp_path / "gate.db", "g", "lane-1", StorageHealth(min_free_bytes=0))
    await writer.open()
    await writer.call(fill_store, in_order=False)
    writer.post("TransactionEnded", lambda r: r.alarm(None, "test", "never written"))
    await writer.close()
    lost = [r.getMessage() for r in caplog.records if "lost at shutdown" in r.getMessage()]
    assert len(lost) == 2  # the record and the store_write_failed alarm
    assert "TransactionEnded (posted " in lost[0]
