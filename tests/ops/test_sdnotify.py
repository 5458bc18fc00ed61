"""sd_notify over a socket that plays systemd's part; READY only once a real lane has come up."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from pathlib import Path

import pytest

from devices.config import DevicesConfig, ModbusLinkConfig, ScaleConfig
from devices.sim.lane_controller import LaneControllerSim
from devices.sim.net import free_tcp_port
from edge.config import GateConfig, StoreConfig
from edge.daemon import LaneDaemon
from edge.sdnotify import SdNotifier, notify_when_ready, watchdog_interval
from tests.ops.conftest import FakeSystemd
from vision.identity import Identification


def test_ready_reaches_the_notify_socket_as_one_datagram(fake_systemd: FakeSystemd) -> None:
    notifier = SdNotifier.from_env()

    assert notifier.enabled
    assert notifier.ready("lane up")
    assert fake_systemd.drain() == [{"READY": "1", "STATUS": "lane up"}]


def test_abstract_namespace_socket_is_reached() -> None:
    server = FakeSystemd(f"@gate-edge-test-{uuid.uuid4().hex}")
    try:
        notifier = SdNotifier.from_env({"NOTIFY_SOCKET": server.address})
        assert notifier.watchdog()
        assert notifier.stopping()
        assert server.drain() == [{"WATCHDOG": "1"}, {"STOPPING": "1"}]
    finally:
        server.close()


def test_without_notify_socket_every_call_is_a_quiet_noop() -> None:
    notifier = SdNotifier.from_env({})

    assert not notifier.enabled
    assert not notifier.ready()
    assert not notifier.watchdog()


def test_a_status_text_cannot_inject_another_assignment(fake_systemd: FakeSystemd) -> None:
    SdNotifier.from_env().status("controller down\nREADY=1")

    assert fake_systemd.drain() == [{"STATUS": "controller down READY=1"}]


def test_extend_timeout_is_sent_in_microseconds(fake_systemd: FakeSystemd) -> None:
    SdNotifier.from_env().extend_timeout(1.5)

    assert fake_systemd.drain() == [{"EXTEND_TIMEOUT_USEC": "1500000"}]


def test_a_vanished_socket_returns_false_and_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = SdNotifier(str(tmp_path / "gone.sock"))

    with caplog.at_level(logging.WARNING, logger="edge.sdnotify"):
        results = [notifier.watchdog() for _ in range(3)]

    assert results == [False, False, False]
    assert len([r for r in caplog.records if "sd_notify" in r.getMessage()]) == 1


def test_an_address_that_is_not_a_unix_socket_disables_notifications() -> None:
    assert not SdNotifier("vsock:2:1234").enabled


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "junk"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_usec_for_this_process(
    environ: dict[str, str], expected: float | None
) -> None:
    assert watchdog_interval(environ) == expected


async def test_ready_after_grace_names_what_the_lane_waits_for_then_reports_lane_up(
    fake_systemd: FakeSystemd,
) -> None:
    lane_up = asyncio.Event()
    task = asyncio.create_task(
        notify_when_ready(SdNotifier.from_env(), lane_up, grace_s=0.05, waiting=lambda: "controller down")
    )

    ready = await fake_systemd.wait_for("READY")
    assert ready["STATUS"] == "running; lane not up: controller down"
    lane_up.set()
    assert await task is False
    assert fake_systemd.drain() == [{"STATUS": "lane up"}]


class _NoCameras:
    async def identify(self, tx_id: str, window_s: float) -> Identification:
        return Identification(plate=None)


async def test_ready_is_sent_once_the_lane_is_up_and_not_before(
    tmp_path: Path, fake_systemd: FakeSystemd
) -> None:
    port = free_tcp_port()
    devices = DevicesConfig(
        io=ModbusLinkConfig(
            port=port, poll_interval_ms=10, timeout_s=0.2, backoff_initial_s=0.05, backoff_max_s=0.2
        ),
        scale=ScaleConfig(port=str(tmp_path / "no-scale"), reconnect_s=0.2),
    )
    config = GateConfig(devices=devices, store=StoreConfig(path=tmp_path / "gate.db"))
    daemon = LaneDaemon(config, _NoCameras())
    controller = LaneControllerSim(devices, port=port)
    run = asyncio.create_task(daemon.run())
    notify = asyncio.create_task(
        notify_when_ready(SdNotifier.from_env(), daemon.ready, grace_s=None, waiting=lambda: "controller")
    )
    try:
        await asyncio.sleep(0.4)  # the controller is not there yet: the daemon keeps reconnecting
        assert fake_systemd.count("READY") == 0

        await controller.start()
        message = await fake_systemd.wait_for("READY")

        assert message == {"READY": "1", "STATUS": "lane up"}
        assert daemon.status()["devices"]["modbus"]["up"]
        assert await notify is True
        assert fake_systemd.count("READY") == 1
    finally:
        notify.cancel()
        await daemon.stop()
        await run
        await controller.stop()
