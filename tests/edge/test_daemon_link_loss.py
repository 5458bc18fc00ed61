"""One declaration, two trucks: a cleared truck drives through while the controller link is down (~2 s).

The whole lane on the real drivers (Modbus TCP to the controller simulator, Toledo over a pty). The first
truck must leave an exit on record, so that a second truck under the same declaration never passes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devices.config import DetectorCounters
from edge.decision import Outcome, Reason
from edge.lane import LaneState
from edge.store import TxStatus

from .conftest import RunningGate, declaration, eventually, plate

NUMBER, CONTAINER = "105000000001", "MSKU3866036"


async def first_truck_crosses_while_the_link_is_down(gate: RunningGate) -> str:
    """Clear a truck, drop the link once the barrier is up, drive it through, restore; its tx id."""
    gate.daemon.store.declarations.upsert(declaration(number=NUMBER))
    gate.identifier.current = plate("51C12345")
    await gate.start()
    await asyncio.wait_for(gate.daemon.ready.wait(), 5)
    await gate.controller.vehicle_arrives()
    gate.scale.drive_on(28_000, settle_s=0.6)
    await eventually(lambda: gate.daemon.view.state is LaneState.PASSING, what="barrier up for the truck")
    tx_id = gate.daemon.view.tx_id
    assert tx_id is not None
    gate.scale.drive_off(settle_s=0.3)
    await gate.controller.pause()
    await eventually(lambda: gate.daemon.view.state is LaneState.FAULT, what="link loss seen")
    await gate.controller.vehicle_drives_through(timeout=5)  # about 2 s, all of it unseen
    await gate.controller.resume()
    await eventually(lambda: gate.daemon.view.tx_id != tx_id, timeout=15, what="first transaction ended")
    await eventually(lambda: gate.daemon.view.state is LaneState.IDLE, timeout=15, what="lane idle again")
    assert gate.controller.barrier_down
    return tx_id


async def second_truck_decision(gate: RunningGate) -> tuple[Outcome, tuple[Reason, ...]]:
    await gate.controller.vehicle_arrives()
    gate.scale.drive_on(28_000, settle_s=0.6)
    await eventually(lambda: len(gate.kinds("decided")) == 2, what="second truck decided")
    decision = gate.kinds("decided")[1]["decision"]
    await asyncio.sleep(0.5)  # whatever it decided, the barrier must not be moving up now
    assert gate.controller.barrier_down
    return decision.outcome, decision.reasons  # type: ignore[attr-defined]


@pytest.fixture
async def gate_without_counters(tmp_path: Path) -> AsyncIterator[RunningGate]:
    running = RunningGate(tmp_path, counters=DetectorCounters(exit_loop=None, photocell=None))
    try:
        yield running
    finally:
        await running.stop()
        running.scale.close()


async def test_truck_crossing_during_a_link_drop_is_exited_and_a_second_truck_is_turned_back(
    gate: RunningGate,
) -> None:
    first = await first_truck_crosses_while_the_link_is_down(gate)
    await gate.daemon.settle()
    record = gate.daemon.store.transactions.get(first)
    assert record is not None
    assert record.status is TxStatus.COMPLETED
    assert record.exits == ((NUMBER, CONTAINER),)
    assert gate.controller.collisions == 0
    assert await second_truck_decision(gate) == (Outcome.REJECT, (Reason.ALREADY_EXITED,))


async def test_without_counters_the_unseen_passage_uses_the_declaration_and_holds_the_next_truck(
    gate_without_counters: RunningGate,
) -> None:
    gate = gate_without_counters
    first = await first_truck_crosses_while_the_link_is_down(gate)
    await gate.daemon.settle()
    record = gate.daemon.store.transactions.get(first)
    assert record is not None
    assert (record.exits, record.unconfirmed_exits) == ((), ((NUMBER, CONTAINER),))
    alarms = [e.payload for e in gate.daemon.store.outbox.pending(limit=1000) if e.kind == "lane.alarm"]
    assert any(a["code"] == "passage_unconfirmed" and first in str(a["detail"]) for a in alarms)
    assert await second_truck_decision(gate) == (Outcome.HOLD, (Reason.EXIT_UNCONFIRMED,))
    # The officer finds the first truck never left after all and lets this one go: the exit is confirmed.
    gate.daemon.officer.approve("officer-1", "first truck still in the yard, checked on camera")
    await eventually(lambda: gate.daemon.view.state is LaneState.PASSING, what="approved truck's barrier up")
    second = gate.daemon.view.tx_id
    gate.scale.drive_off(settle_s=0.3)
    await gate.controller.vehicle_drives_through(timeout=5)
    await eventually(lambda: gate.daemon.view.state is LaneState.IDLE, what="lane idle after the second")
    await gate.daemon.settle()
    assert gate.daemon.store.exits.exited_pairs(NUMBER) == {CONTAINER}
    assert gate.daemon.store.exits.unconfirmed_pairs(NUMBER) == set()
    assert second is not None
    second_record = gate.daemon.store.transactions.get(second)
    assert second_record is not None
    assert second_record.exits == ((NUMBER, CONTAINER),)
