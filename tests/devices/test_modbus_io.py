"""LaneIO against the simulated controller over real Modbus TCP on loopback, faults included."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from devices.config import DetectorInputs, DevicesConfig
from devices.lane_inputs import InputChanged, InputSnapshot, LaneIOEvent, LinkChanged
from devices.modbus_io import CoilName, EventHandlerError, IOWriteError, LaneIO
from devices.sim.lane_controller import LaneControllerSim
from devices.sim.net import free_tcp_port
from tests.devices.conftest import TRAVEL_S, RunningLaneIO, eventually, lane_config


def input_changes(running: RunningLaneIO) -> list[InputChanged]:
    return [e for e in running.events if isinstance(e, InputChanged)]


async def test_first_poll_after_connect_reports_link_up_with_the_inputs(lane_io: RunningLaneIO) -> None:
    [event] = lane_io.events
    assert isinstance(event, LinkChanged)
    assert event.up
    assert event.snapshot == InputSnapshot(barrier_down=True, exit_count=0, photocell_count=0)
    assert "127.0.0.1" in event.detail
    assert lane_io.io.snapshot == event.snapshot
    assert lane_io.io.stats.polls >= 1


async def test_input_change_emits_one_event_naming_what_changed(
    lane_io: RunningLaneIO, sim: LaneControllerSim
) -> None:
    sim.set_entry_loop(True)
    await eventually(lambda: len(input_changes(lane_io)) == 1)
    [event] = input_changes(lane_io)
    assert event.changed == frozenset({"entry_loop"})
    assert event.snapshot == InputSnapshot(
        entry_loop=True, barrier_down=True, exit_count=0, photocell_count=0
    )
    assert lane_io.io.snapshot.entry_loop

    sim.set_exit_loop(True)
    sim.set_photocell(True)
    await eventually(lambda: len(input_changes(lane_io)) == 2)
    assert input_changes(lane_io)[1].changed == {"exit_loop", "photocell", "exit_count", "photocell_count"}
    await asyncio.sleep(0.05)  # polls keep going, but an unchanged input is not an event
    assert len(input_changes(lane_io)) == 2


async def test_write_coil_is_confirmed_by_read_back_and_reaches_the_controller(
    lane_io: RunningLaneIO, sim: LaneControllerSim
) -> None:
    await lane_io.io.write_coil(CoilName.LIGHT_GREEN, True)
    assert (await sim.read_coils())["light_green"] is True
    await lane_io.io.write_coil(CoilName.LIGHT_GREEN, False)
    assert (await sim.read_coils())["light_green"] is False
    assert lane_io.io.stats.writes == 2
    assert lane_io.io.stats.write_failures == 0


async def test_write_coil_raises_when_read_back_differs(
    lane_io: RunningLaneIO, sim: LaneControllerSim
) -> None:
    await sim.force_coil("light_red", False)
    with pytest.raises(IOWriteError, match="reads back False after writing True"):
        await lane_io.io.write_coil(CoilName.LIGHT_RED, True)
    assert lane_io.io.stats.write_failures == 1
    assert lane_io.io.link_up  # a refused write is not a link fault


async def test_barrier_moves_and_limit_switch_events_follow(
    lane_io: RunningLaneIO, sim: LaneControllerSim
) -> None:
    await lane_io.io.write_coil(CoilName.BARRIER_OPEN, True)
    await eventually(lambda: lane_io.io.snapshot.barrier_up, timeout=3 * TRAVEL_S)
    changes = [e.changed for e in input_changes(lane_io)]
    assert changes == [frozenset({"barrier_down"}), frozenset({"barrier_up"})]

    await lane_io.io.write_coil(CoilName.BARRIER_OPEN, False)
    await lane_io.io.write_coil(CoilName.BARRIER_CLOSE, True)
    await eventually(lambda: lane_io.io.snapshot.barrier_down, timeout=3 * TRAVEL_S)
    assert sim.barrier_down


async def test_link_loss_reports_down_once_and_snapshot_becomes_fail_safe(
    lane_io: RunningLaneIO, sim: LaneControllerSim
) -> None:
    sim.set_entry_loop(True)
    await eventually(lambda: lane_io.io.snapshot.entry_loop)
    await sim.pause()
    await lane_io.wait_link(up=False)
    await asyncio.sleep(0.5)  # several failed reconnects (backoff 50..200 ms) must stay silent
    downs = [e for e in lane_io.link_events() if not e.up]
    assert len(downs) == 1
    assert downs[0].snapshot == InputSnapshot.link_down()
    assert downs[0].detail == f"connection to tcp 127.0.0.1:{sim.port} device 1 lost"
    assert lane_io.io.snapshot == InputSnapshot.link_down()
    assert lane_io.io.stats.reconnects >= 2
    with pytest.raises(IOWriteError, match="down"):
        await lane_io.io.write_coil(CoilName.LIGHT_RED, True)


async def test_resume_reconnects_and_reports_link_up_with_current_inputs(
    lane_io: RunningLaneIO, sim: LaneControllerSim
) -> None:
    await sim.pause()
    await lane_io.wait_link(up=False)
    sim.set_photocell(True)
    await sim.resume()
    await lane_io.wait_link(up=True, timeout=5.0)
    ups = [e.up for e in lane_io.link_events()]
    assert ups == [True, False, True]
    assert lane_io.link_events()[-1].snapshot.photocell
    await lane_io.io.write_coil(CoilName.LIGHT_GREEN, True)


async def test_rtu_transport_polls_and_writes_through_the_rtu_framer(port: int) -> None:
    devices = lane_config(port, transport="rtu", serial_port=f"socket://127.0.0.1:{port}")
    async with LaneControllerSim(devices, "127.0.0.1", port, rtu=True) as sim:
        running = await RunningLaneIO.connected(devices)
        assert running.io.endpoint == f"rtu socket://127.0.0.1:{port} device 1"
        sim.set_exit_loop(True)
        await eventually(lambda: running.io.snapshot.exit_loop)
        await running.io.write_coil(CoilName.LIGHT_RED, True)
        assert (await sim.read_coils())["light_red"] is True
        await running.close()


async def test_unreachable_controller_reports_down_once_without_busy_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="devices.modbus_io")
    running = RunningLaneIO(lane_config(free_tcp_port(), backoff_initial_s=0.05, backoff_max_s=0.4))
    running.start()
    await asyncio.sleep(1.0)
    assert not running.run_task.done()  # no exception escaped
    assert not running.io.link_up
    assert running.io.snapshot == InputSnapshot.link_down()
    [event] = running.events
    assert isinstance(event, LinkChanged)
    assert not event.up
    assert "cannot connect to tcp 127.0.0.1" in event.detail
    # 0, .05, .15, .35, .75 s (+10 % jitter): a handful of attempts, not thousands.
    assert 3 <= running.io.stats.reconnects <= 6
    assert len([r for r in caplog.records if "link down" in r.getMessage()]) == 1
    await running.close()


async def test_controller_exception_response_is_a_link_fault_with_clear_detail(
    sim: LaneControllerSim, port: int
) -> None:
    # The driver is configured with a photocell address the controller does not have.
    devices = lane_config(port)
    wrong = devices.model_copy(update={"detectors": DetectorInputs(photocell=40)})
    running = RunningLaneIO(wrong)
    running.start()
    await eventually(lambda: bool(running.events))
    [event] = running.events
    assert isinstance(event, LinkChanged)
    assert not event.up
    assert "exception code 2" in event.detail
    await running.close()


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts TCP connections and never answers: a hung controller or a broken gateway."""
    writers: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        while await reader.read(256):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in writers:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_silent_controller_times_out_into_link_down(silent_server: int) -> None:
    running = RunningLaneIO(lane_config(silent_server, timeout_s=0.1))
    running.start()
    await eventually(lambda: bool(running.events), timeout=5.0)
    [event] = running.events
    assert isinstance(event, LinkChanged)
    assert not event.up
    assert event.detail == f"no valid answer from tcp 127.0.0.1:{silent_server} device 1 within 0.1 s"
    await running.close()


async def test_stop_ends_run_promptly_and_reports_the_link_down(
    lane_io: RunningLaneIO, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="devices.modbus_io")
    await asyncio.wait_for(lane_io.io.stop(), 0.5)
    assert lane_io.run_task.done()
    last = lane_io.events[-1]
    assert isinstance(last, LinkChanged)
    assert not last.up
    assert last.detail == "driver stopped"
    assert lane_io.io.stats.errors == 0
    # The log says it stopped, at INFO: not a link fault, and nothing reconnects after a stop.
    said = [(r.levelno, r.getMessage()) for r in caplog.records if "lane I/O" in r.getMessage()]
    assert said[-1] == (logging.INFO, "lane I/O stopped: link closed (driver stopped)")
    assert not any("reconnecting" in message for _, message in said)


async def test_handler_bug_ends_run_instead_of_passing_for_a_link_fault(
    sim: LaneControllerSim, devices: DevicesConfig
) -> None:
    def broken(_event: LaneIOEvent) -> None:
        raise OSError("handler bug that looks like I/O")

    io = LaneIO(devices, broken)
    with pytest.raises(EventHandlerError):
        await asyncio.wait_for(io.run(), 2.0)
    assert not io.link_up


def test_shared_input_address_is_rejected_at_construction(devices: DevicesConfig) -> None:
    clash = devices.model_copy(update={"detectors": DetectorInputs(entry_loop=1, exit_loop=1)})
    with pytest.raises(ValueError, match="address 1 is configured for both entry_loop and exit_loop"):
        LaneIO(clash, lambda _event: None)
