"""The demo gate end to end: generated traffic through the simulators and the real drivers."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devices.config import BarrierConfig, DevicesConfig, ModbusLinkConfig
from devices.sim.net import free_tcp_port
from edge.cli import main
from edge.config import DemoConfig, GateConfig, StoreConfig
from edge.decision import Decision, Outcome
from edge.demo.runner import KEEP_DECISIONS, DemoGate, DemoPrinter
from edge.demo.traffic import Scenario, TrafficGenerator
from edge.kiosk import KioskConfig
from edge.lane import LaneConfig, LaneState
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
            seed=37,
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
        Scenario.WRONG_CONTAINER,
        Scenario.OVERWEIGHT,
        Scenario.CLEARED,
        Scenario.UNCLEARED,
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
    # the wrong container and the overweight truck are rejected by the officer, the uncleared one turns
    # back at the REJECT, the inspection ends in a pass
    assert results == ["rejected", "rejected", "passed", "rejected", "passed"]
    # the officer's rejections name what held each truck, the inspection says what was done
    officer = [
        line.split(" officer demo-officer ", 1)[1]
        for line in text.splitlines()
        if "officer demo-officer" in line
    ]
    assert officer[0].startswith("rejected: Containers differ ")
    assert "read but not declared" in officer[0]
    assert officer[1].startswith("rejected: Measured ")
    assert " kg is outside " in officer[1]
    assert officer[2] == "recorded the inspection done: physical inspection completed, seals intact"
    assert len(officer) == 3


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


def test_a_demo_whose_kiosk_port_is_taken_says_so_instead_of_printing_another_programs_address(
    tmp_path: Path,
) -> None:
    port = free_tcp_port()
    config = GateConfig(
        devices=DevicesConfig(io=ModbusLinkConfig(port=free_tcp_port())),
        store=StoreConfig(path=tmp_path / "demo.db"),
        kiosk=KioskConfig(port=port),
        demo=DemoConfig(cameras="scripted"),
    )
    config_file = tmp_path / "demo.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    with socket.socket() as taken:  # another program serves the kiosk's address
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
    assert f"the kiosk cannot listen on 127.0.0.1:{port} (Address already in use)" in result.stderr
    assert "kiosk on http" not in result.stdout  # no address of someone else's server, no passwords
    assert "Traceback" not in result.stderr


async def _officer_at_the_kiosk(url: str, password: str, gate_task: asyncio.Task[Any]) -> list[str]:
    """A person at the kiosk: rejects the first held truck and approves the second, over the HTTP API."""
    done: list[str] = []
    answers = [
        ("reject", "overweight: reweigh at the customs yard"),
        ("approve", "reweighed by hand, load declared"),
    ]
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        login = await _log_in(client, password)
        headers = {"X-CSRF-Token": login.json()["csrf_token"]}
        while not gate_task.done() and answers:
            lane = (await client.get("/api/v1/lane")).json()
            vehicle = lane["vehicle"]
            if lane["held"] and vehicle["tx_id"] not in done:
                action, reason = answers.pop(0)
                body = {"tx_id": vehicle["tx_id"], "reason": reason}
                response = await client.post(f"/api/v1/lane/{action}", json=body, headers=headers)
                assert response.status_code == 202, response.text
                done.append(vehicle["tx_id"])
            await asyncio.sleep(0.1)
    return done


async def _log_in(client: httpx.AsyncClient, password: str) -> httpx.Response:
    """Log in as the demo's officer once the kiosk listens (it starts after the lane is ready)."""
    for _ in range(300):
        try:
            login = await client.post("/api/v1/login", json={"name": "officer", "password": password})
        except httpx.ConnectError:
            await asyncio.sleep(0.1)
            continue
        assert login.status_code == 200, login.text
        return login
    raise AssertionError("the demo's kiosk never listened")


async def test_with_a_person_as_officer_each_truck_follows_the_kiosk_action(tmp_path: Path) -> None:
    # demo.officer_auto_s 0: the held trucks wait for a person at the kiosk. Seed 23 sends two overweight
    # trucks, then a cleared one; one declaration at the start, so customs issues a fresh batch at once
    # and the trucks' declarations are ones the gate got while the demo ran.
    kiosk_port = free_tcp_port()
    config = GateConfig(
        lane=LaneConfig(arrive_settle_s=0.1),
        devices=DevicesConfig(
            io=ModbusLinkConfig(port=free_tcp_port(), poll_interval_ms=10),
            barrier=BarrierConfig(close_hold_s=0.3),
        ),
        store=StoreConfig(path=tmp_path / "demo.db"),
        kiosk=KioskConfig(port=kiosk_port),
        demo=DemoConfig(
            cameras="scripted",
            seed=23,
            declarations=1,
            mismatch_share=0.5,
            interval_s=0.1,
            barrier_move_s=0.3,
            officer_auto_s=0,
        ),
    )
    out = io.StringIO()
    gate = DemoGate(config, out=out)
    task = asyncio.create_task(gate.run(vehicles=3))
    login = await _printed(out, "log in as officer / ", task)
    password = login.split("log in as officer / ", 1)[1].split(",", 1)[0]
    acted = await _officer_at_the_kiosk(f"http://127.0.0.1:{kiosk_port}", password, task)
    decisions = await asyncio.wait_for(task, timeout=120)
    text = out.getvalue()
    assert [v.scenario for v, _ in decisions] == [Scenario.OVERWEIGHT, Scenario.OVERWEIGHT, Scenario.CLEARED]
    assert "customs cleared 10 more declarations" in text
    # and central sent them on its signed feed as the next update, which the gate applied
    assert "central office: 10 declarations sent to the gate, update 2" in text
    with Store(tmp_path / "demo.db") as store:
        feed = store.conn.execute("SELECT value FROM meta WHERE key = 'clearances.feed_version'").fetchone()
    assert feed == ("2",)
    lines = text.splitlines()
    ended = [line for line in lines if " ended: " in line]
    # the rejected truck backed out, the approved one drove through, the cleared one passed: no jam
    assert [line.rsplit(": ", 1)[1] for line in ended] == ["rejected", "passed", "passed"]
    assert gate.daemon.view.state is LaneState.IDLE
    assert "pass_timeout" not in text
    assert "no decision" not in text
    assert gate.controller.collisions == 0
    # each action printed with who, what and why, before the end of its transaction
    officer = [line for line in lines if " officer officer " in line]
    assert [line.split(" officer officer ", 1)[1] for line in officer] == [
        "rejected: overweight: reweigh at the customs yard",
        "approved: reweighed by hand, load declared",
    ]
    for tx_id, action, end in zip(acted, officer, ended[:2], strict=True):
        assert f"tx {tx_id[:8]} " in action
        assert f"tx {tx_id[:8]} " in end
        assert lines.index(action) < lines.index(end)


async def _printed(out: io.StringIO, text: str, task: asyncio.Task[Any]) -> str:
    """The first printed line holding `text`, once the demo prints it."""
    for _ in range(600):
        for line in out.getvalue().splitlines():
            if text in line:
                return line
        assert not task.done(), out.getvalue()
        await asyncio.sleep(0.1)
    raise AssertionError(f"never printed {text!r}: {out.getvalue()}")


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (
            "demo",
            ["until Ctrl-C", "officer_auto_s", "--vehicles N", "--keep-store", "backs out once rejected"],
        ),
        ("run", ["real hardware", "--config FILE", "Exit\nstatus 1", "check-config"]),
    ],
)
def test_demo_and_run_help_say_what_the_command_does_and_its_options(
    command: str, says: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for words in says:
        assert words in text


_TEST_ONLY = (
    "pytest _pytest pytest_asyncio pytest_timeout hypothesis httpx mypy ruff playwright schemathesis build"
)
_BLOCK_TEST_ONLY = f"""
import sys
class _TestOnly:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {_TEST_ONLY.split()!r}:
            raise ImportError(f"{{name}} comes with the test extra only")
        return None
sys.meta_path.insert(0, _TestOnly())
"""


def test_the_demo_runs_without_the_test_extra(tmp_path: Path) -> None:
    # `make demo` installs the runtime only: the demo, its models, kiosk and central office included,
    # must import nothing the test extra brings. A sitecustomize refuses those imports in every process
    # of the demo (the lane process is spawned: it reads the same PYTHONPATH).
    (tmp_path / "block").mkdir()
    (tmp_path / "block" / "sitecustomize.py").write_text(_BLOCK_TEST_ONLY, encoding="utf-8")
    config = GateConfig(
        devices=DevicesConfig(io=ModbusLinkConfig(port=free_tcp_port())),
        store=StoreConfig(path=tmp_path / "demo.db"),
        kiosk=KioskConfig(port=free_tcp_port()),
        demo=DemoConfig(cameras="rendered", interval_s=0.1, officer_auto_s=0.5),
    )
    config_file = tmp_path / "demo.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "block")}
    result = subprocess.run(
        [sys.executable, "-m", "edge.cli", "demo", "--config", str(config_file), "--vehicles", "1"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "demo: 1 vehicles decided" in result.stdout
    assert " ended: " in result.stdout
    assert "comes with the test extra only" not in result.stdout + result.stderr
