"""Storage trouble is loud and safe: the real daemon and simulators, with the lane's store made full.

The store is made full with SQLite's `PRAGMA max_page_count` on the writer's own connection: the lane's
writes then fail with a real SQLITE_FULL ("database or disk is full"), as on a full file system, while
the kiosk's connection (officer actions, these assertions) still writes.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

import edge.storage_health
from edge.daemon import LaneDaemon
from edge.decision import Decision, Outcome, Reason
from edge.kiosk.app import create_app
from edge.kiosk.config import KioskConfig
from edge.kiosk.views import lane_view
from edge.lane import LaneState
from edge.storage_health import StorageHealth
from edge.store import TxStatus

from .conftest import RunningGate, declaration, eventually, plate
from .test_lane_writer import FILLER, fill_store, free_store

MB = 1024 * 1024


@asynccontextmanager
async def kiosk(daemon: LaneDaemon) -> AsyncIterator[httpx.AsyncClient]:
    """The daemon's kiosk app, called in process (its probes need no login)."""
    transport = httpx.ASGITransport(app=create_app(daemon, KioskConfig()))
    async with httpx.AsyncClient(transport=transport, base_url="http://kiosk") as client:
        yield client


async def test_a_full_store_holds_the_vehicle_raises_the_alarm_and_every_record_arrives_later(
    gate: RunningGate,
) -> None:
    daemon = gate.daemon
    daemon.store.declarations.upsert(declaration())
    gate.identifier.current = plate("51C12345")
    await gate.start()
    await asyncio.wait_for(daemon.ready.wait(), 5)
    await eventually(lambda: daemon.view.state is LaneState.IDLE, what="lane idle")
    await daemon.writer.call(fill_store, in_order=False)

    # A cleared truck arrives: its decision cannot be recorded, so it is held at once, not passed.
    await gate.controller.vehicle_arrives()
    gate.scale.drive_on(28_000, settle_s=0.6)
    await eventually(lambda: daemon.view.state is LaneState.HOLD, what="held")
    vehicle = daemon.view.current
    assert vehicle is not None
    tx_id = vehicle.tx_id
    assert vehicle.hold_cause == "decision HOLD"  # not "no decision within 5.0s"
    assert vehicle.reasons == (Reason.NOT_RECORDED,)
    assert vehicle.declaration_number == "105000000001"  # an approval still uses the declaration up
    [decided] = gate.kinds("decided")
    decision = decided["decision"]
    assert isinstance(decision, Decision)
    assert decision.outcome is Outcome.HOLD
    assert decision.details[0].startswith("The decision could not be recorded (database or disk is full")
    assert gate.controller.barrier_down
    assert not (await gate.controller.read_coils())["barrier_open"]

    # The kiosk and /readyz say so, until it is cleared.
    [fault] = [f for f in daemon.faults() if f.startswith("store: ")]
    assert "writes failing (database or disk is full)" in fault
    view = lane_view(daemon, {}, {}, {})
    assert not view.storage.ok
    assert view.storage.pending_writes > 0
    async with kiosk(daemon) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["store"] is False
    assert "database or disk is full" in ready.json()["storage"]
    scrape = daemon.metrics.render().decode()
    assert "gate_store_ok 0.0" in scrape
    assert re.search(r"^gate_store_pending_writes [1-9]", scrape, re.MULTILINE)

    # A vehicle on the exit loop with the barrier down: the alarm waits for the store too.
    delayed = daemon.storage.delayed_writes
    gate.controller.set_exit_loop(True)
    await eventually(lambda: daemon.storage.delayed_writes > delayed, what="the alarm waits for the store")
    gate.controller.set_exit_loop(False)

    # The truck backs out: its transaction ends while the store is still full.
    gate.scale.drive_off(settle_s=0.3)
    await gate.controller.vehicle_backs_out()
    await eventually(lambda: daemon.view.state is LaneState.IDLE, what="lane idle")
    assert daemon.store.transactions.get(tx_id) is None  # nothing of it written yet
    assert any(f.startswith("store: ") for f in daemon.faults())

    # Room returns: the storage watch has the waiting records written, in order, and the alarm clears.
    await daemon.writer.call(free_store, in_order=False)
    await eventually(lambda: daemon.storage.ok, timeout=30, what="storage recovered")
    await eventually(lambda: daemon.view.link_up, what="controller link up")  # readiness needs it too
    assert not any(f.startswith("store: ") for f in daemon.faults())
    async with kiosk(daemon) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.json()
    assert "storage" not in ready.json()

    events = [e for e in daemon.store.outbox.pending(limit=10_000) if e.kind != FILLER]
    mine = [e for e in events if e.payload.get("tx_id") == tx_id]
    kinds = [e.kind for e in mine if e.kind.startswith("transaction.")]
    assert kinds[0] == "transaction.started"
    assert kinds[-1] == "transaction.ended"
    [recorded] = [e.payload for e in mine if e.kind == "transaction.decision"]
    assert (recorded["outcome"], recorded["reasons"]) == ("HOLD", ["not_recorded"])
    assert recorded["declaration_number"] == "105000000001"
    [ended] = [e.payload for e in mine if e.kind == "transaction.ended"]
    assert (ended["result"], ended["outcome"]) == ("left", "HOLD")
    codes = {e.payload["code"] for e in events if e.kind == "lane.alarm"}
    assert {"unauthorized_passage", "decision_not_recorded", "store_write_failed"} <= codes
    assert not any(e.payload.get("outcome") == "PASS" for e in events if e.kind == "transaction.decision")
    record = daemon.store.transactions.get(tx_id)
    assert record is not None
    assert (record.status, record.outcome) == (TxStatus.COMPLETED, Outcome.HOLD)
    states = [t.to_state for t in record.transitions]
    assert states[:4] == ["ARRIVED", "IDENTIFYING", "WEIGHING", "DECIDING"]
    assert states[-1] == "IDLE"
    scrape = daemon.metrics.render().decode()
    assert "gate_store_ok 1.0" in scrape
    assert "gate_store_pending_writes 0.0" in scrape
    assert re.search(r"^gate_store_delayed_writes_total [1-9]", scrape, re.MULTILINE)
    assert "gate_store_dropped_writes_total 0.0" in scrape


async def test_free_space_below_the_watermark_raises_the_alarm_and_readyz_recovers_with_room(
    gate: RunningGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The free-space probe is replaced: a file system cannot be filled here (no tmpfs to mount).

    The probe is the one function that asks the kernel (os.statvfs); everything after it is real.
    """
    free = {"bytes": 50 * MB}
    monkeypatch.setattr(edge.storage_health, "free_bytes", lambda _folder: free["bytes"])
    daemon = gate.daemon
    await gate.start()
    await asyncio.wait_for(daemon.ready.wait(), 5)
    await eventually(lambda: daemon.storage.low_space, what="low space seen")
    [fault] = [f for f in daemon.faults() if f.startswith("store: ")]
    assert "free space 50 MB, below 200 MB" in fault
    async with kiosk(daemon) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert "free space 50 MB, below 200 MB" in ready.json()["storage"]
    await daemon.settle()
    alarms = [e.payload for e in daemon.store.outbox.pending(limit=1000) if e.kind == "lane.alarm"]
    assert [a["code"] for a in alarms] == ["storage_low"]  # written while there is still room for it

    free["bytes"] = 5_000 * MB
    await eventually(lambda: not daemon.storage.low_space, timeout=30, what="space back")
    assert not any(f.startswith("store: ") for f in daemon.faults())
    async with kiosk(daemon) as client:
        assert (await client.get("/readyz")).status_code == 200


def test_a_record_being_written_is_no_storage_fault_until_the_storage_refuses_it() -> None:
    """/readyz read 'writes failing' while the writer was merely busy with one record (a CI flake)."""
    health = StorageHealth(min_free_bytes=0)
    health.pending_writes = 1  # the writer holds one record for the moment of its write
    assert health.fault() is None
    health.write_error = "database or disk is full"
    assert health.fault() == "writes failing (database or disk is full); 1 records wait in memory"
