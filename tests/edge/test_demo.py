"""The demo gate end to end: generated traffic through the simulators and the real drivers."""

from __future__ import annotations

import io
from pathlib import Path

from devices.config import BarrierConfig, DevicesConfig, ModbusLinkConfig
from devices.sim.net import free_tcp_port
from edge.config import DemoConfig, GateConfig, StoreConfig
from edge.decision import Outcome
from edge.demo.runner import DemoGate
from edge.demo.traffic import Scenario
from edge.kiosk import KioskConfig
from edge.lane import LaneConfig
from edge.store import Store


async def test_demo_passes_holds_and_rejects_each_vehicle_as_its_scenario_expects(tmp_path: Path) -> None:
    config = GateConfig(
        lane=LaneConfig(arrive_settle_s=0.1, close_hold_s=0.3),
        devices=DevicesConfig(
            io=ModbusLinkConfig(port=free_tcp_port(), poll_interval_ms=10),
            barrier=BarrierConfig(close_hold_s=0.3),
        ),
        store=StoreConfig(path=tmp_path / "demo.db"),
        kiosk=KioskConfig(enabled=False),
        demo=DemoConfig(
            cameras="scripted",
            seed=9,
            mismatch_share=0.5,
            interval_s=0.1,
            barrier_move_s=0.3,
            officer_auto_s=0.2,
        ),
    )
    out = io.StringIO()
    gate = DemoGate(config, out=out)
    decisions = await gate.run(vehicles=5)
    text = out.getvalue()
    scenarios = [vehicle.scenario for vehicle, _ in decisions]
    assert scenarios == [
        Scenario.OVERWEIGHT,
        Scenario.CLEARED,
        Scenario.LOW_CONFIDENCE,
        Scenario.ALREADY_EXITED,
        Scenario.RED_UNINSPECTED,
    ]
    assert [d.outcome for _, d in decisions] == [v.expected for v, _ in decisions]
    assert {d.outcome for _, d in decisions} == {Outcome.PASS, Outcome.HOLD, Outcome.REJECT}
    assert "decided again after the officer's correction" in text
    assert gate.controller.collisions == 0
    # every lane event reached the reference central office over the private Mosquitto, once
    assert gate.central is not None
    with Store(tmp_path / "demo.db") as store:
        assert store.outbox.depth() == 0
        sent = store.conn.execute("SELECT COUNT(*) FROM outbox WHERE critical = 1").fetchone()[0]
    assert gate.central.counts["stored"] == sent > 0
    results = [line.rsplit(": ", 1)[1] for line in text.splitlines() if " ended: " in line]
    # overweight is rejected by the officer, the correction and the inspection both end in a pass
    assert results == ["rejected", "passed", "passed", "rejected", "passed"]
