"""The whole lane on the real drivers: Modbus TCP to the controller simulator, Toledo frames over a pty."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from edge.decision import Outcome
from edge.evidence import prune_evidence
from edge.lane import LaneState
from edge.store import TxStatus
from tests.waiting import cancel_and_wait
from vision.identity import Identification

from .conftest import RunningGate, declaration, eventually, plate


async def _start_ready(gate: RunningGate, **start: bool) -> None:
    """The daemon started (with the simulators that `start` does not leave out) and ready."""
    await gate.start(**start)
    await asyncio.wait_for(gate.daemon.ready.wait(), 5)


async def _start_cleared(gate: RunningGate, reads: str = "51C12345", **start: bool) -> None:
    """A cleared declaration for 51C12345 cached, the cameras reading `reads`, the daemon ready."""
    gate.daemon.store.declarations.upsert(declaration())
    gate.identifier.current = plate(reads)
    await _start_ready(gate, **start)


async def _vehicle_on(gate: RunningGate, kg: float) -> None:
    await gate.controller.vehicle_arrives()
    gate.scale.drive_on(kg, settle_s=0.6)


async def test_cleared_truck_passes_barrier_opens_then_closes_behind_it(gate: RunningGate) -> None:
    await _start_cleared(gate)
    await _vehicle_on(gate, 28_100)
    await eventually(lambda: gate.daemon.view.state is LaneState.PASSING, what="barrier up")
    assert gate.controller.barrier_up
    gate.scale.drive_off(settle_s=0.3)
    await gate.controller.vehicle_drives_through(timeout=5)
    await eventually(lambda: gate.daemon.view.state is LaneState.IDLE, what="lane idle")
    assert gate.controller.barrier_down
    assert gate.controller.collisions == 0
    await gate.daemon.settle()
    [decided] = gate.kinds("decided")
    assert decided["decision"].outcome is Outcome.PASS  # type: ignore[attr-defined]
    assert decided["weight_kg"] == 28_100
    [record] = gate.daemon.store.transactions.search(plate="51C12345")
    assert record.status is TxStatus.COMPLETED
    assert record.outcome is Outcome.PASS
    assert record.exits == (("105000000001", "MSKU3866036"),)
    states = [t.to_state for t in record.transitions]
    assert states[:4] == ["ARRIVED", "IDENTIFYING", "WEIGHING", "DECIDING"]
    assert states[-1] == "IDLE"
    events = gate.daemon.store.outbox.pending(limit=1000)
    assert events[0].kind == "lane.transition"  # FAULT -> IDLE at start-up, outside any transaction
    kinds = [e.kind for e in events if e.kind.startswith("transaction.")]
    assert kinds[0] == "transaction.started"
    assert "transaction.decision" in kinds
    assert kinds[-1] == "transaction.ended"


async def test_same_declaration_twice_is_rejected_the_second_time(gate: RunningGate) -> None:
    await _start_cleared(gate)
    for _ in range(2):
        await eventually(lambda: gate.daemon.view.state is LaneState.IDLE, what="lane idle")
        await _vehicle_on(gate, 28_000)
        await eventually(lambda: bool(gate.daemon.view.current and gate.daemon.view.current.outcome))
        if gate.daemon.view.current and gate.daemon.view.current.outcome is Outcome.PASS:
            await eventually(lambda: gate.daemon.view.state is LaneState.PASSING)
            gate.scale.drive_off(settle_s=0.3)
            await gate.controller.vehicle_drives_through(timeout=5)
    assert [d["decision"].outcome for d in gate.kinds("decided")] == [Outcome.PASS, Outcome.REJECT]  # type: ignore[attr-defined]
    assert gate.daemon.view.state is LaneState.HOLD
    assert gate.controller.barrier_down


async def test_held_truck_keeps_barrier_down_until_an_officer_approves(gate: RunningGate) -> None:
    gate.identifier.current = plate("99Z99999")  # no declaration for this plate
    await _start_ready(gate)
    await _vehicle_on(gate, 20_000)
    await eventually(lambda: gate.daemon.view.state is LaneState.HOLD, what="held")
    await asyncio.sleep(0.5)
    assert gate.controller.barrier_down
    assert (await gate.controller.read_coils())["barrier_open"] is False
    gate.daemon.officer.approve("officer-1", "paper declaration checked")
    await eventually(lambda: gate.controller.barrier_up, what="barrier up after approval")
    assert gate.daemon.store.audit.verify() is None
    [record] = gate.daemon.store.audit.records()
    assert (record.actor, record.action, record.reason) == (
        "officer-1",
        "approve",
        "paper declaration checked",
    )


async def test_corrected_plate_re_runs_the_decision_and_passes(gate: RunningGate) -> None:
    await _start_cleared(gate, reads="51C12846")  # misread of 51C12345
    await _vehicle_on(gate, 28_000)
    await eventually(lambda: gate.daemon.view.state is LaneState.HOLD, what="held")
    gate.daemon.officer.correct("officer-1", "plate misread", plate="51C-123.45")
    await eventually(lambda: gate.controller.barrier_up, what="barrier up after correction")
    outcomes = [d["decision"].outcome for d in gate.kinds("decided")]  # type: ignore[attr-defined]
    assert outcomes == [Outcome.HOLD, Outcome.PASS]
    [audit] = gate.daemon.store.audit.records()
    assert audit.before["plate"]["text"] == "51C12846"  # type: ignore[index]
    assert audit.after["plate"]["text"] == "51C12345"  # type: ignore[index]


async def test_unreachable_controller_is_a_visible_fault_not_a_crash(gate: RunningGate) -> None:
    await gate.start(controller=False)
    await eventually(lambda: gate.daemon.health.modbus_detail != "connecting", what="link reported down")
    status = gate.daemon.status()
    assert status["lane"]["state"] == "FAULT"
    assert status["devices"]["modbus"]["up"] is False
    assert f"127.0.0.1:{gate.io_port}" in status["devices"]["modbus"]["detail"]
    assert status["faults"][0].startswith("I/O controller: ")
    await gate.controller.start()  # the controller comes online later: the lane comes up by itself
    await eventually(lambda: gate.daemon.view.state is LaneState.IDLE, what="lane up after controller start")


async def test_controller_lost_mid_wait_faults_and_recovers_without_opening(gate: RunningGate) -> None:
    gate.identifier.current = plate("99Z99999")
    await _start_ready(gate)
    await _vehicle_on(gate, 20_000)
    await eventually(lambda: gate.daemon.view.state is LaneState.HOLD, what="held")
    await gate.controller.pause()
    await eventually(lambda: gate.daemon.view.state is LaneState.FAULT, what="fault on link loss")
    assert gate.daemon.status()["devices"]["modbus"]["up"] is False
    await gate.controller.resume()
    await eventually(lambda: gate.daemon.view.state is not LaneState.FAULT, what="recovered")
    assert gate.controller.barrier_down
    await gate.daemon.settle()
    alarms = [e for e in gate.daemon.store.outbox.pending(limit=1000) if e.kind == "lane.alarm"]
    assert any(a.payload["code"] == "link_lost" for a in alarms)


async def test_missing_scale_port_is_a_scale_fault_and_vehicles_are_held(gate: RunningGate) -> None:
    gate.scale.close()  # unplugged before the daemon starts
    await _start_cleared(gate, scale=False)
    await eventually(lambda: gate.daemon.health.scale_detail != "waiting for first frame", what="scale fault")
    status = gate.daemon.status()
    assert status["devices"]["scale"]["ok"] is False
    port = gate.config.devices.scale.port
    assert any(f.startswith("weighbridge: ") and port in f for f in status["faults"]), status["faults"]
    await gate.controller.vehicle_arrives()
    await eventually(lambda: gate.daemon.view.state is LaneState.HOLD, what="held without weight")
    assert gate.kinds("decided")[0]["weight_kg"] is None


async def test_garbage_on_the_serial_line_is_skipped_and_weighing_still_works(gate: RunningGate) -> None:
    await _start_cleared(gate)
    for _ in range(20):
        gate.scale.inject(b"\x00\xff garbage \x02\x31\x30")
    await _vehicle_on(gate, 28_000)
    await eventually(lambda: gate.daemon.view.state is LaneState.PASSING, what="passed despite garbage")
    assert gate.kinds("decided")[0]["weight_kg"] == 28_000


async def test_a_failing_store_write_is_logged_and_the_lane_keeps_working(
    gate: RunningGate, caplog: pytest.LogCaptureFixture
) -> None:
    def disk_full(*_: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    await _start_cleared(gate)
    gate.daemon.writer.recorder.transition = disk_full  # type: ignore[method-assign]
    await _vehicle_on(gate, 28_000)
    await eventually(lambda: gate.daemon.view.state is LaneState.PASSING, what="lane still decides and opens")
    failures = [r for r in caplog.records if "Transition failed: database or disk is full" in r.getMessage()]
    assert len(failures) >= 3
    assert sum(1 for r in failures if r.exc_info) == 1  # one traceback, then one line each


async def test_evidence_images_are_kept_by_their_sha256_and_a_mismatch_is_refused(gate: RunningGate) -> None:
    jpeg = b"\xff\xd8\xff\xe0 evidence frame"
    good = hashlib.sha256(jpeg).hexdigest()
    ident = plate("51C12345")
    assert ident.plate is not None
    gate.identifier.current = Identification(
        plate=replace(ident.plate, evidence_jpeg=jpeg, evidence_sha256=good),
        containers=(replace(ident.containers[0], evidence_jpeg=b"other bytes", evidence_sha256="0" * 64),),
    )
    await _start_ready(gate)
    await _vehicle_on(gate, 20_000)
    await eventually(lambda: bool(gate.kinds("decided")), what="decision")
    folder = gate.config.store.evidence_dir
    assert sorted(p.name for p in folder.iterdir()) == [f"{good}.jpg"]
    assert (folder / f"{good}.jpg").read_bytes() == jpeg


async def test_restart_switches_off_an_open_coil_left_on_by_the_last_run(gate: RunningGate) -> None:
    await gate.controller.start()
    # The previous daemon died after commanding open while the arm was jammed at its down limit: the I/O
    # module keeps the coil ON across the disconnect (both coils ON hold the simulated arm still).
    for coil in ("barrier_open", "barrier_close"):
        await gate.controller.force_coil(coil, True)
        await gate.controller.force_coil(coil, None)
    await _start_ready(gate, controller=False)
    await eventually(lambda: gate.daemon.view.state is LaneState.IDLE, what="lane idle")
    await eventually(lambda: not gate.controller.coils["barrier_open"], timeout=5, what="open coil off")
    # The jam clears: with the open coil still ON the arm would now rise for nobody.
    await gate.controller.force_coil("barrier_close", False)
    await gate.controller.force_coil("barrier_close", None)
    await asyncio.sleep(0.6)
    assert gate.controller.barrier_down


async def test_lane_keeps_reacting_while_another_writer_holds_the_database_and_loses_no_record(
    gate: RunningGate,
) -> None:
    await _start_cleared(gate)
    blocker = sqlite3.connect(gate.config.store.path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")  # e.g. the uplink applying a large clearance snapshot
    try:
        t0 = asyncio.get_running_loop().time()
        await _vehicle_on(gate, 28_000)
        await eventually(
            lambda: gate.daemon.view.state is LaneState.IDENTIFYING, timeout=2, what="lane moved"
        )
        assert asyncio.get_running_loop().time() - t0 < 1.5  # not stuck behind the 5 s lock wait
        await asyncio.sleep(1.0)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    await eventually(lambda: gate.daemon.view.state is LaneState.PASSING, what="decided after the lock")
    await eventually(lambda: bool(gate.daemon.store.transactions.search(plate="51C12345")), what="records")
    [record] = gate.daemon.store.transactions.search(plate="51C12345")
    assert [t.to_state for t in record.transitions][:4] == ["ARRIVED", "IDENTIFYING", "WEIGHING", "DECIDING"]


async def test_metrics_carry_the_uplink_state_and_clearance_age(gate: RunningGate) -> None:
    await _start_ready(gate)
    body, _ = gate.daemon.metrics.render_for(None)
    assert "gate_mqtt_connected" not in body.decode()  # no uplink: the metric is absent, not a false 0
    gate.daemon.uplink_status = lambda: {"connected": True, "clearance_age_s": 12.5}
    text = gate.daemon.metrics.render_for(None)[0].decode()
    assert "gate_mqtt_connected 1.0" in text
    assert "gate_clearance_cache_age_seconds 12.5" in text


def test_evidence_older_than_the_retention_is_pruned_and_newer_kept(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    old, new, other = tmp_path / ("a" * 64 + ".jpg"), tmp_path / ("b" * 64 + ".jpg"), tmp_path / "notes.txt"
    for path, age_days in ((old, 91), (new, 89), (other, 400)):
        path.write_bytes(b"x")
        os.utime(path, (now - age_days * 86400, now - age_days * 86400))
    assert prune_evidence(tmp_path, 90 * 86400, now=now) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([new.name, other.name])
    assert prune_evidence(tmp_path / "missing", 90 * 86400, now=now) == 0


async def test_open_refusal_names_why_a_remote_open_would_be_ignored(gate: RunningGate) -> None:
    assert gate.daemon.officer.open_refusal() == "the lane has not started"
    await _start_ready(gate)
    assert gate.daemon.officer.open_refusal() is None
    await gate.controller.pause()
    await eventually(lambda: gate.daemon.view.state is LaneState.FAULT, what="fault")
    assert gate.daemon.officer.open_refusal() == "the lane controller is not reachable"
    await gate.controller.resume()


@pytest.mark.parametrize("always", [False, True])
async def test_a_task_that_swallows_its_cancellation_does_not_keep_the_daemon_from_stopping(
    gate: RunningGate, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, always: bool
) -> None:
    # Python 3.11's wait_for can swallow a cancellation; a poller that did would have kept the
    # shutdown awaiting it forever (seen once in CI: the kiosk tests' teardown hung 180 s). Swallowed
    # once, the task is cancelled again and ends; swallowed always, it is left behind and named.
    monkeypatch.setattr("edge.daemon.STOP_WAIT_S", 0.5)
    swallowed = 0
    release = asyncio.Event()

    async def stubborn() -> None:
        nonlocal swallowed
        while not release.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                swallowed += 1
                if not always:
                    raise

    async def swallow_first() -> None:
        nonlocal swallowed
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            swallowed += 1
        await asyncio.sleep(3600)  # the second cancellation ends it

    await _start_ready(gate)
    stuck = asyncio.create_task(stubborn() if always else swallow_first(), name="stubborn")
    gate.daemon._side_tasks.add(stuck)
    await gate.daemon.stop()
    assert gate._task is not None
    await asyncio.wait_for(gate._task, timeout=5)
    assert swallowed >= 1
    assert stuck.done() is not always
    assert any("stubborn did not end" in r.getMessage() for r in caplog.records) is always
    # the drivers were stopped and the store closed all the same
    assert not any(t.name == "scale-reader" and t.is_alive() for t in threading.enumerate())
    with pytest.raises(sqlite3.ProgrammingError):
        gate.daemon.store.conn.execute("SELECT 1")
    release.set()
    await cancel_and_wait(stuck)


async def test_a_second_cancellation_during_the_stop_still_closes_the_store(
    gate: RunningGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("edge.daemon.STOP_WAIT_S", 2.0)
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)

    await _start_ready(gate)
    stuck = asyncio.create_task(stubborn(), name="stubborn")
    gate.daemon._side_tasks.add(stuck)
    await gate.daemon.stop()
    assert gate._task is not None
    await asyncio.sleep(0.2)  # the daemon is now waiting for the stubborn task
    await cancel_and_wait(gate._task)  # a caller's own timeout cancels the daemon mid-stop
    with pytest.raises(sqlite3.ProgrammingError):
        gate.daemon.store.conn.execute("SELECT 1")
    release.set()
    stuck.cancel()
    await stuck
