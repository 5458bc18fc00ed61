"""ScaleDriver over a real pty pair, against ScaleSimPeer: settling, bad bytes, outages, MT-SICS modes."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devices.config import ScaleConfig, ScaleProtocol, StabilityConfig
from devices.scale.driver import ScaleDriver
from devices.scale.reading import ScaleEvent, ScaleFault, ScaleRecovered, StableWeight, WeightReading
from devices.scale.toledo import encode_toledo
from devices.sim.scale_peer import ScaleSimPeer


class Recorder:
    """Collects events from the reader thread; tests wait on it instead of sleeping blindly."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[ScaleEvent] = []

    def __call__(self, event: ScaleEvent) -> None:
        with self._lock:
            self._events.append(event)

    def events(self, after: int = 0) -> list[ScaleEvent]:
        with self._lock:
            return self._events[after:]

    def mark(self) -> int:
        with self._lock:
            return len(self._events)

    def of(self, kind: type[Any], after: int = 0) -> list[Any]:
        return [e for e in self.events(after) if isinstance(e, kind)]

    def wait_for(self, match: Callable[[ScaleEvent], bool], after: int = 0, timeout: float = 4.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events(after):
                if match(event):
                    return event
            time.sleep(0.01)
        kinds = Counter(type(e).__name__ for e in self.events(after))
        raise AssertionError(f"no matching event within {timeout} s; saw {dict(kinds)}")


def _config(
    port: str | Path, protocol: ScaleProtocol = ScaleProtocol.TOLEDO, **overrides: Any
) -> ScaleConfig:
    values: dict[str, Any] = {
        "protocol": protocol,
        "port": str(port),
        "stability": StabilityConfig(divisions=1, window_ms=300),
        "stale_s": 0.6,
        "reconnect_s": 0.2,
        "mtsics_poll_ms": 40,
    }
    return ScaleConfig(**(values | overrides))


def _point(link: Path, target: str) -> None:
    """Re-point the port symlink atomically, as udev would for a replugged adapter."""
    tmp = link.with_suffix(".new")
    os.symlink(target, tmp)
    os.replace(tmp, link)


class ScaleRig:
    """The indicators and drivers of one test, and the events its drivers reported."""

    def __init__(self) -> None:
        self.events = Recorder()
        self.peers = contextlib.ExitStack()
        self.drivers = contextlib.ExitStack()

    def peer(self, protocol: ScaleProtocol = ScaleProtocol.TOLEDO, **kwargs: Any) -> ScaleSimPeer:
        """A simulated indicator, talking on its pty (50 frames a second unless `rate_hz`)."""
        peer = ScaleSimPeer(protocol, rate_hz=kwargs.pop("rate_hz", 50), **kwargs)
        self.peers.callback(peer.close)
        peer.start()
        return peer

    def driver(self, config: ScaleConfig) -> ScaleDriver:
        """A started driver reporting to `events`."""
        driver = ScaleDriver(config, self.events)
        self.drivers.callback(driver.stop)
        driver.start()
        return driver


@pytest.fixture
def rig() -> Iterator[ScaleRig]:
    """Drivers are stopped before the peers close."""
    rig = ScaleRig()
    with rig.peers, rig.drivers:
        yield rig


def _is_stable(kg: float) -> Callable[[ScaleEvent], bool]:
    return lambda e: isinstance(e, StableWeight) and e.kg == kg


def test_truck_driving_on_gives_exactly_one_stable_weight_equal_to_the_settled_weight(rig: ScaleRig) -> None:
    peer = rig.peer()
    rig.driver(_config(peer.port_name))
    rig.events.wait_for(_is_stable(0.0))  # the empty bridge settles first
    mark = rig.events.mark()
    peer.drive_on(31_234, settle_s=0.8)
    rig.events.wait_for(_is_stable(31_240.0), after=mark)
    time.sleep(0.4)  # steady weight keeps streaming: nothing more may settle
    assert [e.kg for e in rig.events.of(StableWeight, mark)] == [31_240.0]
    readings = rig.events.of(WeightReading, mark)
    assert any(r.motion for r in readings)
    assert max(r.gross_kg for r in readings) > 31_240.0  # the bounce was seen, and not reported as stable


def test_garbage_bad_checksums_and_cut_frames_are_counted_and_skipped(rig: ScaleRig) -> None:
    peer = rig.peer()
    peer.set_weight(12_000)
    driver = rig.driver(_config(peer.port_name))
    rig.events.wait_for(lambda e: isinstance(e, WeightReading) and e.gross_kg == 12_000)
    before = (driver.stats.garbage_bytes, driver.stats.bad_checksum, driver.stats.cut_frames)
    bad = bytearray(encode_toledo(55_555))
    bad[-1] ^= 0x01
    peer.inject(b"\xffnoise\x00")
    peer.inject(bytes(bad))
    peer.inject(encode_toledo(44_444)[:8])
    time.sleep(0.2)
    mark = rig.events.mark()
    rig.events.wait_for(lambda e: isinstance(e, WeightReading) and e.gross_kg == 12_000, after=mark)
    after = (driver.stats.garbage_bytes, driver.stats.bad_checksum, driver.stats.cut_frames)
    assert [a - b for a, b in zip(after, before, strict=True)] == [7, 1, 1]
    assert not {55_555.0, 44_444.0} & {r.gross_kg for r in rig.events.of(WeightReading)}
    assert rig.events.of(ScaleFault) == []


def test_missing_port_faults_with_clear_detail_then_recovers_when_the_indicator_appears(
    tmp_path: Path, rig: ScaleRig
) -> None:
    link = tmp_path / "ttyScale"
    rig.driver(_config(link))
    fault = rig.events.wait_for(lambda e: isinstance(e, ScaleFault))
    assert f"scale port {link} cannot be opened" in fault.detail
    assert "No such file or directory" in fault.detail
    time.sleep(0.5)  # a few reopen attempts: still one fault for this outage
    assert len(rig.events.of(ScaleFault)) == 1
    peer = rig.peer()
    _point(link, peer.port_name)
    rig.events.wait_for(lambda e: isinstance(e, ScaleRecovered))
    rig.events.wait_for(lambda e: isinstance(e, WeightReading))
    assert len(rig.events.of(ScaleFault)) == 1


def test_unplugged_indicator_faults_once_and_recovers_when_replugged(tmp_path: Path, rig: ScaleRig) -> None:
    link = tmp_path / "ttyScale"
    first = rig.peer()
    _point(link, first.port_name)
    driver = rig.driver(_config(link))
    rig.events.wait_for(lambda e: isinstance(e, WeightReading))
    first.close()
    fault = rig.events.wait_for(lambda e: isinstance(e, ScaleFault))
    assert f"scale port {link} lost" in fault.detail
    time.sleep(0.5)
    second = rig.peer()
    second.set_weight(8_000)
    _point(link, second.port_name)
    mark = rig.events.mark()
    rig.events.wait_for(lambda e: isinstance(e, ScaleRecovered), after=mark)
    rig.events.wait_for(_is_stable(8_000.0), after=mark)
    assert len(rig.events.of(ScaleFault)) == 1
    assert driver.stats.extra["reconnects"] == 1
    assert driver.last_reading is not None
    assert driver.last_reading.gross_kg == 8_000.0


def test_silent_indicator_is_one_stale_fault_and_talking_again_recovers(rig: ScaleRig) -> None:
    peer = rig.peer()
    driver = rig.driver(_config(peer.port_name))
    rig.events.wait_for(lambda e: isinstance(e, WeightReading))
    peer.stop()
    fault = rig.events.wait_for(lambda e: isinstance(e, ScaleFault))
    assert "no valid toledo frame" in fault.detail
    assert "for 0.6 s" in fault.detail
    assert driver.faulted
    time.sleep(0.8)
    assert len(rig.events.of(ScaleFault)) == 1
    peer.start()
    rig.events.wait_for(lambda e: isinstance(e, ScaleRecovered))
    assert not driver.faulted


def test_mtsics_si_mode_polls_and_reads(rig: ScaleRig) -> None:
    peer = rig.peer(ScaleProtocol.MTSICS, division_kg=0.5)
    peer.set_weight(15_000.5)
    rig.driver(_config(peer.port_name, ScaleProtocol.MTSICS, mtsics_mode="SI"))
    rig.events.wait_for(_is_stable(15_000.5))
    assert set(peer.commands_seen) == {b"SI"}
    assert len(peer.commands_seen) >= 5


def test_mtsics_sir_mode_asks_once_and_reads_the_stream(rig: ScaleRig) -> None:
    peer = rig.peer(ScaleProtocol.MTSICS)
    rig.driver(_config(peer.port_name, ScaleProtocol.MTSICS, mtsics_mode="SIR"))
    rig.events.wait_for(_is_stable(0.0))
    mark = rig.events.mark()
    peer.drive_on(22_000, settle_s=0.5)
    rig.events.wait_for(_is_stable(22_000.0), after=mark)
    assert any(r.motion for r in rig.events.of(WeightReading, mark))  # "S D" replies
    assert peer.commands_seen == [b"SIR"]


def test_ascii_indicator_over_pty(rig: ScaleRig) -> None:
    peer = rig.peer(ScaleProtocol.ASCII)
    peer.set_weight(4_020)
    rig.driver(_config(peer.port_name, ScaleProtocol.ASCII))
    rig.events.wait_for(_is_stable(4_020.0))


async def test_events_reach_an_asyncio_loop_through_call_soon_threadsafe(rig: ScaleRig) -> None:
    peer = rig.peer()
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[ScaleEvent] = asyncio.Queue()
    driver = ScaleDriver(_config(peer.port_name), lambda e: loop.call_soon_threadsafe(queue.put_nowait, e))
    driver.start()
    try:
        event = await asyncio.wait_for(queue.get(), 3.0)
    finally:
        await asyncio.to_thread(driver.stop)
    assert isinstance(event, WeightReading)


def test_failing_consumer_does_not_stop_the_reader(rig: ScaleRig) -> None:
    peer = rig.peer()

    def broken(event: ScaleEvent) -> None:
        raise RuntimeError("consumer bug")

    driver = ScaleDriver(_config(peer.port_name), broken)
    driver.start()
    try:
        deadline = time.monotonic() + 3.0
        while driver.stats.extra.get("callback_errors", 0) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        driver.stop()
    assert driver.stats.extra["callback_errors"] >= 5
    assert driver.last_reading is not None


def test_unexpected_error_in_the_reader_is_a_fault_not_a_dead_thread(rig: ScaleRig) -> None:
    peer = rig.peer()
    calls = itertools.count()

    def glitchy_clock() -> float:
        if next(calls) == 10:
            raise RuntimeError("clock glitch")
        return time.monotonic()

    driver = ScaleDriver(_config(peer.port_name), rig.events, clock=glitchy_clock)
    driver.start()
    try:
        fault = rig.events.wait_for(lambda e: isinstance(e, ScaleFault))
        assert "clock glitch" in fault.detail
        rig.events.wait_for(lambda e: isinstance(e, ScaleRecovered))
    finally:
        driver.stop()


def test_mtsics_polling_a_silent_indicator_faults_and_never_hangs(rig: ScaleRig) -> None:
    peer = rig.peer(ScaleProtocol.MTSICS)
    peer.stop()  # plugged in, answers nothing
    driver = ScaleDriver(_config(peer.port_name, ScaleProtocol.MTSICS, mtsics_mode="SI"), rig.events)
    driver.start()
    fault = rig.events.wait_for(lambda e: isinstance(e, ScaleFault))
    assert "no valid mtsics frame" in fault.detail
    started = time.monotonic()
    driver.stop()
    assert time.monotonic() - started < 1.0


def test_stop_joins_the_reader_promptly(rig: ScaleRig) -> None:
    peer = rig.peer()
    driver = ScaleDriver(_config(peer.port_name), lambda e: None)
    driver.start()
    time.sleep(0.2)
    started = time.monotonic()
    driver.stop()
    assert time.monotonic() - started < 0.5
    assert not any(t.name == "scale-reader" and t.is_alive() for t in threading.enumerate())


def test_reader_turns_advance_while_reading_or_reopening_and_stop_when_the_thread_stops(
    rig: ScaleRig, tmp_path: Path
) -> None:
    peer = rig.peer()
    reading = rig.driver(_config(peer.port_name))
    missing = rig.driver(_config(tmp_path / "no-such-port"))  # reopen attempts count as life too
    time.sleep(0.6)
    seen = (reading.turns, missing.turns)
    time.sleep(0.6)
    assert reading.turns > seen[0] > 0
    assert missing.turns > seen[1] > 0
    reading.stop()
    stopped = reading.turns
    time.sleep(0.3)
    assert reading.turns == stopped  # a dead (or hung) reader stops counting: the watchdog sees it
