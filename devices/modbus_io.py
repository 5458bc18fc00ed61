"""Async driver of the lane I/O controller (loops, photocell, limit switches, barrier and light coils).

The driver owns the link: it polls the discrete inputs (and the detectors' activation counters, where the
controller has them), turns changes into typed events, and when the controller cannot be read it reports
the link down once, presents the fail-safe snapshot (`InputSnapshot.link_down()`) and reconnects with
bounded exponential backoff. pymodbus's own retry and reconnect machinery is switched off (``retries=0``,
``reconnect_delay=0``) so that exactly one loop, this one, decides when to reconnect and what the lane is
told.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Final

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient, ModbusBaseClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU

from devices.config import DevicesConfig, ModbusLinkConfig, ModbusTransport, WatchdogSafeAction
from devices.controller_watchdog import ControllerWatchdog, WatchdogFault
from devices.lane_inputs import InputChanged, InputSnapshot, LaneIOEvent, LinkChanged
from pacing.backoff import Backoff

DEVICE_JITTER: Final = (1.0, 1.1)
"""Reconnects wait the step plus up to 10 %: lanes that lost one switch do not come back in lockstep."""

log = logging.getLogger(__name__)

#: Modbus allows at most 2000 discrete inputs in one FC2 request, 125 registers in one FC4 request.
_MAX_FC2_COUNT: Final = 2000
_MAX_FC4_COUNT: Final = 125
#: Errors that mean "the controller cannot be talked to right now", as opposed to bugs.
_LINK_ERRORS: Final = (ModbusException, OSError, TimeoutError)


class CoilName(StrEnum):
    """The controller's outputs, by role."""

    BARRIER_OPEN = "barrier_open"
    BARRIER_CLOSE = "barrier_close"
    LIGHT_GREEN = "light_green"
    LIGHT_RED = "light_red"


def watchdog_safe_values(action: WatchdogSafeAction) -> dict[CoilName, bool]:
    """Each coil's value when the controller's watchdog expires: nothing drives the arm down or waves a
    vehicle on; the open coil is ON only for hold_open."""
    return {
        CoilName.BARRIER_OPEN: action is WatchdogSafeAction.HOLD_OPEN,
        CoilName.BARRIER_CLOSE: False,
        CoilName.LIGHT_GREEN: False,
        CoilName.LIGHT_RED: True,
    }


class IOWriteError(Exception):
    """A coil write was not confirmed: link down, exception response, or read-back differs."""


class EventHandlerError(RuntimeError):
    """The on_event callback raised: a caller bug, so it ends run() rather than pass for a link fault."""


@dataclass(slots=True)
class IOStats:
    """Counters for the lane status page and the benchmarks."""

    polls: int = 0
    errors: int = 0
    reconnects: int = 0
    writes: int = 0
    write_failures: int = 0


class _LinkFault(Exception):
    """Internal: a poll or connect failed; carries the clear-text detail for LinkChanged."""


def input_addresses(devices: DevicesConfig) -> dict[str, int]:
    """InputSnapshot's discrete inputs -> their configured address, in the order a technician walks the lane
    (the poll reads them, and `gate-edge io watch` shows them, from this one map)."""
    return {
        "entry_loop": devices.detectors.entry_loop,
        "exit_loop": devices.detectors.exit_loop,
        "photocell": devices.detectors.photocell,
        "barrier_up": devices.barrier.limits.up,
        "barrier_down": devices.barrier.limits.down,
    }


def counter_addresses(devices: DevicesConfig) -> dict[str, int]:
    """InputSnapshot's count fields -> their configured input register; empty without counters."""
    named = {"exit_count": devices.counters.exit_loop, "photocell_count": devices.counters.photocell}
    return {name: addr for name, addr in named.items() if addr is not None}


@dataclass(frozen=True, slots=True)
class _InputMap:
    """Where each InputSnapshot field lives: one FC2 request for the inputs, one FC4 for the counters."""

    addresses: dict[str, int]
    first: int
    count: int
    counters: dict[str, int]  # InputSnapshot count field -> input register; empty without counters

    @classmethod
    def from_config(cls, devices: DevicesConfig) -> _InputMap:
        addresses = input_addresses(devices)
        _reject_shared_addresses("discrete input", addresses)
        first, last = min(addresses.values()), max(addresses.values())
        count = last - first + 1
        if count > _MAX_FC2_COUNT:
            raise ValueError(f"discrete inputs span {count} addresses, more than one FC2 request can read")
        counters = counter_addresses(devices)
        _reject_shared_addresses("counter input register", counters)
        if counters and max(counters.values()) - min(counters.values()) + 1 > _MAX_FC4_COUNT:
            raise ValueError(f"counter registers span more than one FC4 request can read ({_MAX_FC4_COUNT})")
        return cls(addresses=addresses, first=first, count=count, counters=counters)

    @property
    def counter_span(self) -> tuple[int, int]:
        """First register and count of the one FC4 request that reads every counter."""
        first = min(self.counters.values())
        return first, max(self.counters.values()) - first + 1

    def decode(self, bits: list[bool]) -> InputSnapshot:
        if len(bits) < self.count:
            raise _LinkFault(f"controller returned {len(bits)} discrete inputs, expected {self.count}")
        return InputSnapshot(**{name: bool(bits[addr - self.first]) for name, addr in self.addresses.items()})

    def decode_counters(self, snapshot: InputSnapshot, registers: list[int]) -> InputSnapshot:
        first, count = self.counter_span
        if len(registers) < count:
            raise _LinkFault(f"controller returned {len(registers)} counter registers, expected {count}")
        counts = {name: int(registers[addr - first]) & 0xFFFF for name, addr in self.counters.items()}
        return replace(
            snapshot, exit_count=counts.get("exit_count"), photocell_count=counts.get("photocell_count")
        )


def _reject_shared_addresses(kind: str, addresses: dict[str, int]) -> None:
    seen: dict[int, str] = {}
    for name, addr in addresses.items():
        if addr in seen:
            raise ValueError(f"{kind} address {addr} is configured for both {seen[addr]} and {name}")
        seen[addr] = name


def _changed_fields(old: InputSnapshot, new: InputSnapshot) -> frozenset[str]:
    return frozenset(f.name for f in fields(InputSnapshot) if getattr(old, f.name) != getattr(new, f.name))


def _endpoint(link: ModbusLinkConfig) -> str:
    where = f"{link.host}:{link.port}" if link.transport is ModbusTransport.TCP else f"{link.serial_port}"
    return f"{link.transport.value} {where} device {link.device_id}"


def _make_client(link: ModbusLinkConfig) -> ModbusBaseClient:
    """A client with pymodbus's retries and automatic reconnect disabled: LaneIO owns both."""
    if link.transport is ModbusTransport.TCP:
        return AsyncModbusTcpClient(
            link.host,
            port=link.port,
            timeout=link.timeout_s,
            retries=0,
            reconnect_delay=0,
            reconnect_delay_max=0,
            name="lane-io",
        )
    if link.serial_port is None:  # ModbusLinkConfig's validator already refuses this
        raise ValueError("serial_port is required when transport is rtu")
    return AsyncModbusSerialClient(
        link.serial_port,
        framer=FramerType.RTU,
        baudrate=link.baudrate,
        bytesize=link.bytesize,
        parity=link.parity,
        stopbits=link.stopbits,
        timeout=link.timeout_s,
        retries=0,
        reconnect_delay=0,
        reconnect_delay_max=0,
        name="lane-io",
    )


class LaneIO:
    """Polls the lane I/O controller and writes its coils, reporting typed events to one callback."""

    def __init__(
        self,
        devices: DevicesConfig,
        on_event: Callable[[LaneIOEvent], None],
        clock: Callable[[], float] = time.monotonic,
        alive: Callable[[], bool] | None = None,
    ) -> None:
        """`alive`: the lane loop's liveness; while it fails the controller's watchdog is not refreshed."""
        self._link = devices.io
        self._on_event = on_event
        self._clock = clock
        self._inputs = _InputMap.from_config(devices)
        self._coils: dict[CoilName, int] = {
            CoilName.BARRIER_OPEN: devices.barrier.coils.open,
            CoilName.BARRIER_CLOSE: devices.barrier.coils.close,
            CoilName.LIGHT_GREEN: devices.light.coils.green,
            CoilName.LIGHT_RED: devices.light.coils.red,
        }
        _reject_shared_addresses("coil", {str(k): v for k, v in self._coils.items()})
        wd = self._link.watchdog
        self._watchdog = (
            ControllerWatchdog(
                wd,
                {self._coils[name]: value for name, value in watchdog_safe_values(wd.safe_action).items()},
                self._link.device_id,
                self._request,
                alive,
            )
            if wd.enabled
            else None
        )
        self._endpoint = _endpoint(self._link)
        # Request guard above pymodbus's own timeout, in case a transport never resolves a request.
        self._guard_s = self._link.timeout_s * 2 + 0.1
        self._client: ModbusBaseClient | None = None
        self._snapshot = InputSnapshot.link_down()
        self._link_up = False
        self._reported_up: bool | None = None
        self._detail = "not started"
        self._down_since: float | None = None
        self._stop = asyncio.Event()
        self._running = False
        self._finished = asyncio.Event()
        self.stats = IOStats()

    @property
    def snapshot(self) -> InputSnapshot:
        """The last polled inputs; `InputSnapshot.link_down()` (all occupied) while the link is down."""
        return self._snapshot if self._link_up else InputSnapshot.link_down()

    @property
    def link_up(self) -> bool:
        """True from the first good poll after a connect until the next error."""
        return self._link_up

    @property
    def link_detail(self) -> str:
        """Clear text of the link state, for the lane status page."""
        return self._detail

    @property
    def endpoint(self) -> str:
        """The controller as named in logs and details, e.g. ``tcp 10.0.0.5:502 device 1``."""
        return self._endpoint

    async def run(self) -> None:
        """Connect, poll and reconnect until stop(); link faults never escape, handler errors do."""
        if self._running:
            raise RuntimeError("LaneIO.run() is already running")
        self._running = True
        self._finished.clear()
        backoff = Backoff(self._link.backoff_initial_s, self._link.backoff_max_s, jitter=DEVICE_JITTER)
        first_attempt = True
        try:
            while not self._stop.is_set():
                if not first_attempt:
                    self.stats.reconnects += 1
                first_attempt = False
                try:
                    await self._connect()
                    await self._poll_until_stopped(backoff)
                except _LINK_ERRORS as exc:
                    self._mark_down(self._describe(exc))
                except (_LinkFault, WatchdogFault) as exc:
                    self._mark_down(str(exc))
                finally:
                    self._close_client()
                if not self._stop.is_set():
                    await self._sleep(backoff.next())
            if self._link_up:
                self._mark_down("driver stopped", error=False)
        finally:
            # Reached with an exception too (cancellation, handler bug): fail safe without calling out.
            self._close_client()
            self._link_up = False
            self._snapshot = InputSnapshot.link_down()
            self._running = False
            self._finished.set()

    def request_stop(self) -> None:
        """Tell run() to end at its next step, without waiting (stop() also waits for it)."""
        self._stop.set()

    async def stop(self) -> None:
        """End run() and wait for it (at most about one request timeout); a stopped LaneIO stays stopped."""
        self._stop.set()
        if self._running:
            await self._finished.wait()

    async def write_coil(self, name: CoilName, value: bool) -> None:
        """Write one coil (FC5) and confirm it by reading it back (FC1); IOWriteError unless confirmed."""
        address = self._coils[name]
        self.stats.writes += 1
        client = self._client
        if not self._link_up or client is None:
            self.stats.write_failures += 1
            raise IOWriteError(f"cannot write {name}: link to {self._endpoint} is down ({self._detail})")
        try:
            written = await self._request(client.write_coil(address, value, device_id=self._link.device_id))
            self._check_response(written, f"write of {name} (coil {address})")
            read = await self._request(client.read_coils(address, count=1, device_id=self._link.device_id))
            self._check_response(read, f"read-back of {name} (coil {address})")
        except _LINK_ERRORS as exc:
            self.stats.write_failures += 1
            raise IOWriteError(f"write of {name} (coil {address}) failed: {self._describe(exc)}") from exc
        except _LinkFault as exc:
            self.stats.write_failures += 1
            raise IOWriteError(str(exc)) from exc
        if not read.bits or bool(read.bits[0]) != value:
            self.stats.write_failures += 1
            actual = bool(read.bits[0]) if read.bits else "nothing"
            raise IOWriteError(f"{name} (coil {address}) reads back {actual} after writing {value}")

    # --- internals -----------------------------------------------------------------------------------

    async def _connect(self) -> None:
        client = _make_client(self._link)
        self._client = client
        async with asyncio.timeout(self._guard_s):
            connected = await client.connect()
        if not connected:
            raise _LinkFault(f"cannot connect to {self._endpoint}")
        if self._watchdog is not None:  # before the first poll: the link is up only with outputs guarded
            await self._watchdog.arm(client, asyncio.get_running_loop().time())

    async def _poll_until_stopped(self, backoff: Backoff) -> None:
        client = self._client
        if client is None:
            raise _LinkFault("internal: polling without a client")
        loop = asyncio.get_running_loop()
        interval = self._link.poll_interval_ms / 1000
        next_poll = loop.time()
        while not self._stop.is_set():
            snapshot = await self._read_inputs(client)
            self.stats.polls += 1
            if self._watchdog is not None:  # the polling loop refreshes it: a stalled poller lets it expire
                await self._watchdog.refresh_if_due(client, loop.time())
            if not self._link_up:
                backoff.reset()
                self._mark_up(snapshot)
            elif snapshot != self._snapshot:
                changed = _changed_fields(self._snapshot, snapshot)
                self._snapshot = snapshot
                self._emit(InputChanged(snapshot=snapshot, changed=changed, at=self._clock()))
            # Fixed rate, but never try to catch up after a slow poll: that would be a burst of requests.
            next_poll = max(next_poll + interval, loop.time())
            await self._sleep(next_poll - loop.time())

    async def _read_inputs(self, client: ModbusBaseClient) -> InputSnapshot:
        response = await self._request(
            client.read_discrete_inputs(
                self._inputs.first, count=self._inputs.count, device_id=self._link.device_id
            )
        )
        self._check_response(response, f"read of discrete inputs {self._inputs.first}+{self._inputs.count}")
        snapshot = self._inputs.decode(list(response.bits))
        if not self._inputs.counters:
            return snapshot
        first, count = self._inputs.counter_span
        counted = await self._request(
            client.read_input_registers(first, count=count, device_id=self._link.device_id)
        )
        self._check_response(counted, f"read of counter input registers {first}+{count}")
        return self._inputs.decode_counters(snapshot, list(counted.registers))

    async def _request(self, call: Awaitable[ModbusPDU]) -> ModbusPDU:
        async with asyncio.timeout(self._guard_s):
            return await call

    def _check_response(self, response: ModbusPDU, what: str) -> None:
        if response.isError():
            code = getattr(response, "exception_code", "?")
            raise _LinkFault(f"{self._endpoint} refused {what} with Modbus exception code {code}")

    def _describe(self, exc: BaseException) -> str:
        """Clear text for the lane status; pymodbus's own messages name its internals, not the problem."""
        if isinstance(exc, TimeoutError | ModbusIOException):
            return f"no valid answer from {self._endpoint} within {self._link.timeout_s} s"
        if isinstance(exc, ConnectionException):
            return f"connection to {self._endpoint} lost"
        text = str(exc).strip() or type(exc).__name__
        return f"{self._endpoint}: {text}"

    def _mark_up(self, snapshot: InputSnapshot) -> None:
        now = self._clock()
        outage = "" if self._down_since is None else f" after {now - self._down_since:.1f} s down"
        self._link_up = True
        self._snapshot = snapshot
        self._detail = f"connected to {self._endpoint}"
        self._down_since = None
        self._reported_up = True
        log.info(
            "lane I/O link up%s (%d reconnect attempts so far)",
            outage,
            self.stats.reconnects,
            extra={"endpoint": self._endpoint, "device_id": self._link.device_id},
        )
        self._emit(LinkChanged(up=True, detail=self._detail, at=now, snapshot=snapshot))

    def _mark_down(self, detail: str, *, error: bool = True) -> None:
        if error:
            self.stats.errors += 1
        self._link_up = False
        self._snapshot = InputSnapshot.link_down()
        if self._reported_up is False:
            # Same outage: one log line and one event per outage, however many reconnects fail.
            log.debug("lane I/O still down: %s", detail, extra={"endpoint": self._endpoint})
            return
        now = self._clock()
        self._detail = detail
        self._down_since = now
        self._reported_up = False
        where = {"endpoint": self._endpoint, "device_id": self._link.device_id}
        if not error:  # a stop asked for (shutdown, Ctrl-C): no fault, and nothing reconnects
            log.info("lane I/O stopped: link closed (%s)", detail, extra=where)
        else:
            log.warning(
                "lane I/O link down: %s; reconnecting with backoff %.2f..%.1f s",
                detail,
                self._link.backoff_initial_s,
                self._link.backoff_max_s,
                extra=where,
            )
        self._emit(LinkChanged(up=False, detail=detail, at=now, snapshot=InputSnapshot.link_down()))

    def _emit(self, event: LaneIOEvent) -> None:
        try:
            self._on_event(event)
        except Exception as exc:
            raise EventHandlerError(f"LaneIO on_event handler raised on {type(event).__name__}") from exc

    def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def _sleep(self, delay: float) -> None:
        """Sleep, but wake at once when stop() is called."""
        if delay <= 0:
            await asyncio.sleep(0)
            return
        # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that arrives as the
        # awaited event is set, and this task would poll on after the daemon cancelled it.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._stop.wait()
