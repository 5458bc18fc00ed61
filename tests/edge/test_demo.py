"""The demo gate end to end: generated traffic through the simulators and the real drivers."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
from pathlib import Path

import yaml

from devices.config import BarrierConfig, DevicesConfig, ModbusLinkConfig
from devices.sim.net import free_tcp_port
from edge.config import DemoConfig, GateConfig, StoreConfig
from edge.decision import Decision, Outcome
from edge.demo.runner import KEEP_DECISIONS, DemoGate, DemoPrinter
from edge.demo.traffic import Scenario, TrafficGenerator
from edge.kiosk import KioskConfig
from edge.lane import LaneConfig
from edge.store import Store


async def test_demo_passes_holds_and_rejects_each_vehicle_as_its_scenario_expects(tmp_path: Path) -> None:
    config = GateConfig(
        lane=LaneConfig(arrive_settle_s=0.1),
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
    # central sent the demo's declarations as a snapshot signed with the run's key, and the gate applied it
    assert gate.feed_key is not None
    assert f"signed with key {gate.feed_key.key_id}" in text
    with Store(tmp_path / "demo.db") as store:
        feed = store.conn.execute("SELECT value FROM meta WHERE key = 'clearances.feed_version'").fetchone()
    assert feed == ("1",)
    results = [line.rsplit(": ", 1)[1] for line in text.splitlines() if " ended: " in line]
    # overweight is rejected by the officer, the correction and the inspection both end in a pass
    assert results == ["rejected", "passed", "passed", "rejected", "passed"]


def test_the_demo_printer_keeps_the_latest_decisions_and_counts_them_all() -> None:
    # `gate-edge demo --vehicles 0` runs for days: what it keeps in memory must not grow with it.
    printer = DemoPrinter(out=io.StringIO())
    traffic = TrafficGenerator(seed=1, declarations=50, mismatch_share=0.5)
    total = KEEP_DECISIONS + 5
    passes_expected = 0
    for n in range(total):
        vehicle = traffic.next_vehicle_unknown() if n % 2 else traffic.next_vehicle()
        passes_expected += vehicle.expected is Outcome.PASS
        printer.vehicle = vehicle
        decision = Decision(Outcome.PASS, (), None, ())
        data = {
            "tx_id": f"tx{n}",
            "decision": decision,
            "identification": vehicle.identification,
            "weight_kg": 1.0,
        }
        printer("decided", data)
        printer("decided", data)  # decided again (an officer's correction): not a second vehicle
    assert printer.decided == total
    assert len(printer.decisions) == KEEP_DECISIONS
    assert printer.decisions[-1][0] is vehicle
    assert 0 < printer.as_expected == passes_expected < total


def test_a_demo_that_cannot_listen_says_which_port_and_leaves_no_broker_behind(tmp_path: Path) -> None:
    port = free_tcp_port()
    config = GateConfig(
        devices=DevicesConfig(io=ModbusLinkConfig(port=port)),
        store=StoreConfig(path=tmp_path / "demo.db"),
        kiosk=KioskConfig(enabled=False),
        demo=DemoConfig(cameras="scripted"),
    )
    config_file = tmp_path / "demo.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    with socket.socket() as taken:  # another demo holds the controller simulator's port
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = subprocess.run(
            [sys.executable, "-m", "edge.cli", "demo", "--config", str(config_file), "--vehicles", "1"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
    assert result.returncode == 1, result.stderr[-2000:]
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
    brokers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert brokers.stdout.strip() == "", "the demo's private broker outlived the failed start"
