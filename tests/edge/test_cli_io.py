"""`gate-edge io watch|pulse` against the simulated lane controller (a real pymodbus server), run as the
installer runs them: a separate process, ended with Ctrl-C (SIGINT)."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from devices.config import BarrierConfig, DevicesConfig, ModbusLinkConfig
from devices.sim.comm_watchdog import WatchdogStatus
from devices.sim.lane_controller import LaneControllerSim
from devices.sim.net import free_tcp_port
from edge.config import GateConfig
from tests.devices.conftest import RunningLaneIO

pytestmark = pytest.mark.timeout(60)


def _devices(port: int) -> DevicesConfig:
    return DevicesConfig(
        io=ModbusLinkConfig(port=port, poll_interval_ms=20, timeout_s=0.3, backoff_initial_s=0.05),
        barrier=BarrierConfig(close_hold_s=0.3, move_timeout_s=2.0),
    )


@pytest.fixture
async def sim() -> AsyncIterator[LaneControllerSim]:
    port = free_tcp_port()
    controller = LaneControllerSim(_devices(port), port=port, open_time_s=3, close_time_s=3)
    async with controller:
        yield controller


@pytest.fixture
def config_file(tmp_path: Path, sim: LaneControllerSim) -> Path:
    config = GateConfig.model_validate(
        {"kiosk": {"port": free_tcp_port()}, "store": {"path": str(tmp_path / "gate.db")}}
    ).model_copy(update={"devices": _devices(sim.port)})
    path = tmp_path / "gate.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    return path


class Cli:
    """One `gate-edge` process with its output read line by line as it comes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    @classmethod
    async def start(cls, *args: str) -> Cli:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "edge.cli",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def line_with(self, text: str, timeout: float = 15.0) -> str:
        """The next stdout line containing `text` (earlier ones are kept in `lines`)."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.proc.stdout.readline()
                if not raw:
                    pytest.fail(f"output ended before {text!r}; so far: {self.lines}")
                line = raw.decode().rstrip("\n")
                self.lines.append(line)
                if text in line:
                    return line

    async def finish(self, timeout: float = 20.0) -> tuple[int, str, str]:
        async with asyncio.timeout(timeout):
            out, err = await self.proc.communicate()
        self.lines += out.decode().splitlines()
        return int(self.proc.returncode or 0), "\n".join(self.lines), err.decode()


async def _cli(*args: str) -> tuple[int, str, str]:
    return await (await Cli.start(*args)).finish()


async def _coil_history(sim: LaneControllerSim, name: str, until: asyncio.Task[object]) -> list[bool]:
    """The coil's value every 10 ms, as the controller holds it, until `until` is done."""
    seen: list[bool] = []
    while not until.done():
        seen.append((await sim.read_coils())[name])
        await asyncio.sleep(0.01)
    seen.append((await sim.read_coils())[name])
    return seen


async def test_io_watch_prints_the_named_inputs_then_each_change_and_ends_on_ctrl_c(
    sim: LaneControllerSim, config_file: Path
) -> None:
    cli = await Cli.start("io", "watch", "--config", str(config_file))
    await cli.line_with("link up")
    assert "clear" in await cli.line_with("photocell")
    assert "IR 1" in await cli.line_with("photocell_count")
    sim.set_photocell(True)
    change = await cli.line_with("photocell:")
    assert "photocell: clear -> blocked" in change
    assert "photocell_count: 0 -> 1" in change
    sim.set_entry_loop(True)
    assert "entry_loop: clear -> occupied" in await cli.line_with("entry_loop:")
    cli.proc.send_signal(signal.SIGINT)
    code, out, err = await cli.finish()
    assert code == 0, err
    assert out.splitlines()[-1] == "io watch: stopped"
    assert "Traceback" not in err
    # Reading only: the controller's watchdog was never armed, so no output was taken over.
    assert sim.watchdog_status is WatchdogStatus.NOT_ACTIVE


async def test_io_pulse_switches_the_named_light_on_then_off(
    sim: LaneControllerSim, config_file: Path
) -> None:
    run = asyncio.create_task(_cli("io", "pulse", "light_green", "--ms", "400", "--config", str(config_file)))
    seen = await _coil_history(sim, "light_green", run)
    code, out, err = run.result()
    assert code == 0, err
    assert "light_green ON for 400 ms" in out
    assert "light_green OFF (read back)" in out
    assert True in seen
    assert seen[-1] is False


async def test_io_pulse_refuses_a_barrier_coil_while_the_photocell_is_blocked(
    sim: LaneControllerSim, config_file: Path
) -> None:
    sim.set_photocell(True)
    run = asyncio.create_task(_cli("io", "pulse", "barrier_close", "--config", str(config_file)))
    seen = await _coil_history(sim, "barrier_close", run)
    code, _, err = run.result()
    assert code == 1
    assert "refused: photocell occupied" in err
    assert True not in seen


async def test_io_pulse_of_a_barrier_coil_ends_at_once_when_a_vehicle_enters_the_path(
    sim: LaneControllerSim, config_file: Path
) -> None:
    cli = await Cli.start("io", "pulse", "barrier_open", "--ms", "8000", "--config", str(config_file))
    await cli.line_with("barrier_open ON")
    assert (await sim.read_coils())["barrier_open"] is True
    sim.set_exit_loop(True)
    started = asyncio.get_running_loop().time()
    while (await sim.read_coils())["barrier_open"]:
        await asyncio.sleep(0.01)
    assert asyncio.get_running_loop().time() - started < 1.0
    code, _, err = await cli.finish()
    assert code == 1
    assert "barrier_open switched off early: exit_loop occupied" in err


async def test_io_pulse_switches_the_coil_off_on_ctrl_c(sim: LaneControllerSim, config_file: Path) -> None:
    cli = await Cli.start("io", "pulse", "light_red", "--ms", "10000", "--config", str(config_file))
    await cli.line_with("light_red ON")
    cli.proc.send_signal(signal.SIGINT)
    code, out, err = await cli.finish()
    assert (await sim.read_coils())["light_red"] is False
    assert code == 1
    assert "light_red OFF (read back)" in out
    assert "interrupted" in err
    assert "Traceback" not in err


async def test_io_pulse_is_refused_while_the_daemon_drives_the_controller(
    sim: LaneControllerSim, config_file: Path
) -> None:
    daemon_io = await RunningLaneIO.connected(_devices(sim.port))  # the daemon's driver, watchdog armed
    try:
        run = asyncio.create_task(_cli("io", "pulse", "light_green", "--config", str(config_file)))
        seen = await _coil_history(sim, "light_green", run)
    finally:
        await daemon_io.close()
    code, _, err = run.result()
    assert code == 1
    assert "watchdog trigger (register 4099) changed" in err
    assert "systemctl stop gate-edge" in err
    assert True not in seen


async def test_io_pulse_is_refused_while_the_kiosk_port_is_served_here(
    tmp_path: Path, sim: LaneControllerSim
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        kiosk_port = listener.getsockname()[1]
        config = GateConfig.model_validate({"kiosk": {"port": kiosk_port}}).model_copy(
            update={"devices": _devices(sim.port)}
        )
        path = tmp_path / "gate.yaml"
        path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
        code, _, err = await _cli("io", "pulse", "light_green", "--config", str(path))
    assert code == 1
    assert f"kiosk's address 127.0.0.1:{kiosk_port}" in err


@pytest.mark.parametrize(
    ("ms", "expected"), [("20000", "--ms must be 1..10000, not 20000"), ("1.5", "whole")]
)
async def test_io_pulse_refuses_an_unbounded_or_malformed_duration(
    config_file: Path, sim: LaneControllerSim, ms: str, expected: str
) -> None:
    code, _, err = await _cli("io", "pulse", "light_green", "--ms", ms, "--config", str(config_file))
    assert code == 2
    assert expected in err
    assert (await sim.read_coils())["light_green"] is False


async def test_io_pulse_names_an_unreachable_controller_without_a_traceback(tmp_path: Path) -> None:
    config = GateConfig.model_validate({"kiosk": {"port": free_tcp_port()}}).model_copy(
        update={"devices": _devices(free_tcp_port())}
    )
    path = tmp_path / "gate.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    code, _, err = await _cli("io", "pulse", "light_green", "--config", str(path))
    assert code == 1
    assert "io pulse: cannot check the controller" in err
    assert "Traceback" not in err
