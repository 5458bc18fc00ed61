"""Watchdog pings go to systemd only while every liveness check passes; a stuck part stops them."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from devices.config import DevicesConfig, ModbusLinkConfig
from devices.lane_inputs import LaneIOEvent
from devices.modbus_io import LaneIO
from devices.sim.lane_controller import LaneControllerSim
from devices.sim.net import free_tcp_port
from edge.sdnotify import SdNotifier
from edge.watchdog import Heartbeat, Watchdog, all_of, freshness_check, progress_check, task_check
from tests.ops.conftest import FakeSystemd

INTERVAL_S = 0.02


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_pings_at_half_of_watchdog_usec_while_every_check_passes(
    fake_systemd: FakeSystemd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "40000")  # systemd's WatchdogSec=40ms: ping every 20 ms
    watchdog = Watchdog(SdNotifier.from_env(), {"lane-loop": lambda: True, "modbus-poller": lambda: True})
    assert watchdog.interval_s == pytest.approx(0.02)

    task = asyncio.create_task(watchdog.run())
    await asyncio.sleep(0.25)
    task.cancel()

    assert fake_systemd.count("WATCHDOG") >= 5
    assert fake_systemd.count("WATCHDOG") == watchdog.pings


async def test_a_stuck_poller_stops_the_pings_and_is_named_in_the_log_once(
    fake_systemd: FakeSystemd, caplog: pytest.LogCaptureFixture
) -> None:
    heartbeat = Heartbeat(max_age_s=0.1)
    unstick = asyncio.Event()
    stuck = asyncio.Event()

    async def poller() -> None:
        while True:
            heartbeat.beat()
            if stuck.is_set():
                await unstick.wait()  # a request that never returns
            await asyncio.sleep(0.01)

    poll_task = asyncio.create_task(poller())
    watchdog = Watchdog(
        SdNotifier.from_env(), {"lane-loop": lambda: True, "modbus-poller": heartbeat.alive}, INTERVAL_S
    )
    wd_task = asyncio.create_task(watchdog.run())
    try:
        await asyncio.sleep(0.15)
        assert fake_systemd.count("WATCHDOG") > 0

        with caplog.at_level(logging.INFO, logger="edge.watchdog"):
            stuck.set()
            await asyncio.sleep(0.15)  # past max_age: the check fails
            pings_when_stuck = fake_systemd.count("WATCHDOG")
            await asyncio.sleep(0.3)

            assert fake_systemd.count("WATCHDOG") == pings_when_stuck
            assert watchdog.failing == {"modbus-poller"}
            failures = [r for r in caplog.records if "failed" in r.getMessage()]
            assert len(failures) == 1
            assert "modbus-poller" in failures[0].getMessage()
            assert {"STATUS": "stuck: modbus-poller"} in fake_systemd.messages
    finally:
        poll_task.cancel()
        wd_task.cancel()


async def test_pings_resume_when_the_stuck_check_recovers(fake_systemd: FakeSystemd) -> None:
    alive = {"value": False}
    watchdog = Watchdog(SdNotifier.from_env(), {"camera:entry": lambda: alive["value"]}, INTERVAL_S)

    assert not watchdog.beat()
    assert fake_systemd.count("WATCHDOG") == 0
    alive["value"] = True
    assert watchdog.beat()
    assert fake_systemd.count("WATCHDOG") == 1
    assert fake_systemd.messages[-2:] == [{"STATUS": "running"}, {"WATCHDOG": "1"}]


def test_a_check_that_raises_counts_as_stuck(
    fake_systemd: FakeSystemd, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> bool:
        raise RuntimeError("reader state unreadable")

    watchdog = Watchdog(SdNotifier.from_env(), {"scale-reader": broken}, INTERVAL_S)

    with caplog.at_level(logging.ERROR, logger="edge.watchdog"):
        assert not watchdog.beat()
        assert not watchdog.beat()

    assert fake_systemd.count("WATCHDOG") == 0
    assert len([r for r in caplog.records if "raised" in r.getMessage()]) == 1
    assert watchdog.status() == {"scale-reader": False}


async def test_without_watchdog_usec_run_returns_and_never_pings(
    fake_systemd: FakeSystemd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    watchdog = Watchdog(SdNotifier.from_env(), {"lane-loop": lambda: True})

    await asyncio.wait_for(watchdog.run(), 1.0)

    assert fake_systemd.count("WATCHDOG") == 0


def test_registering_a_check_twice_is_refused() -> None:
    watchdog = Watchdog(SdNotifier(None), {"lane-loop": lambda: True}, INTERVAL_S)
    watchdog.register("camera:exit", lambda: True)

    with pytest.raises(ValueError, match="already registered"):
        watchdog.register("camera:exit", lambda: True)


def test_a_dead_reader_thread_fails_its_heartbeat_check() -> None:
    heartbeat = Heartbeat(max_age_s=0.1)
    stop = threading.Event()

    def reader() -> None:
        while not stop.wait(0.01):
            heartbeat.beat()

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.05)
    assert heartbeat.alive()
    stop.set()
    thread.join()
    time.sleep(0.15)

    assert not heartbeat.alive()


def test_progress_check_fails_only_when_the_counter_stalls_past_its_bound() -> None:
    clock = FakeClock()
    counter = {"n": 0}
    check = progress_check(lambda: counter["n"], max_stall_s=5.0, clock=clock)

    clock.now += 4.0
    assert check()
    clock.now += 2.0
    assert not check()  # 6 s without a poll, an error or a reconnect
    counter["n"] += 1
    assert check()
    clock.now += 5.5
    assert not check()


def test_freshness_check_needs_a_recent_timestamp() -> None:
    clock = FakeClock()
    last: dict[str, float | None] = {"at": None}
    check = freshness_check(lambda: last["at"], max_age_s=2.0, clock=clock)

    assert not check()  # no frame yet
    last["at"] = clock.now - 1.0
    assert check()
    clock.now += 2.0
    assert not check()


async def test_a_poller_reconnecting_to_a_dead_controller_stays_alive_but_a_finished_one_does_not() -> None:
    port = free_tcp_port()
    devices = DevicesConfig(
        io=ModbusLinkConfig(
            port=port, poll_interval_ms=10, timeout_s=0.1, backoff_initial_s=0.02, backoff_max_s=0.1
        )
    )
    controller = LaneControllerSim(devices, port=port)
    await controller.start()
    events: list[LaneIOEvent] = []
    io = LaneIO(devices, events.append)
    task = asyncio.create_task(io.run())
    # The bound the daemon would use: one full backoff plus the request guard, with room.
    check = all_of(
        task_check(task), progress_check(lambda: io.stats.polls + io.stats.errors + io.stats.reconnects, 0.5)
    )
    try:
        await asyncio.sleep(0.2)
        assert io.link_up
        assert check()

        await controller.stop()  # link faults: errors and reconnects keep counting
        for _ in range(8):
            await asyncio.sleep(0.1)
            assert check()
        assert not io.link_up

        await io.stop()
        await task
        assert not check()
    finally:
        await io.stop()
        await controller.stop()
