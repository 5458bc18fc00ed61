"""Simulated lane I/O controller: a real pymodbus TCP server with the configured point map and a small
physical model of the barrier, loops and photocell.

It speaks the same bytes as the field device, so LaneIO is tested and benchmarked through the whole
Modbus stack, faults included (pause() takes the controller off the network, resume() brings it back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.server import ModbusBaseServer, ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from devices.config import WAGO_WATCHDOG_STATUS, WAGO_WATCHDOG_TIME, WAGO_WATCHDOG_TRIGGER, DevicesConfig
from devices.lane_inputs import COUNTER_MODULUS
from devices.sim.comm_watchdog import CommWatchdog, WatchdogStatus

log = logging.getLogger(__name__)

_FC_READ_DISCRETE_INPUTS = 2
_FC_READ_INPUT_REGISTERS = 4
_FC_READ_COILS = 1
_FC_WRITE_COILS = (5, 15)
_FC_READ_HOLDING_REGISTERS = 3
_FC_WRITE_REGISTERS = (6, 16)
#: Where the simulated controller keeps each coil's watchdog safe value when the config names no register.
_SAFE_VALUES_BASE = 0x1010

#: Coil names as LaneIO's CoilName values, so tests can compare without importing the driver.
COIL_NAMES = ("barrier_open", "barrier_close", "light_green", "light_red")


def _bit_block(highest_address: int) -> list[SimData]:
    """One block of bits from address 0, rounded up to whole 16-bit registers as pymodbus stores them."""
    size = (highest_address // 16 + 1) * 16
    return [SimData(0, values=[False] * size, datatype=DataType.BITS)]


@dataclass(slots=True)
class _Detectors:
    entry_loop: bool = False
    exit_loop: bool = False
    photocell: bool = False
    exit_count: int = 0  # rising edges of the exit loop, as a 16-bit counter input
    photocell_count: int = 0


class LaneControllerSim:
    """Modbus TCP lane controller with a barrier that takes time to move and vehicles to choreograph.

    Barrier position runs from 0.0 (down) to 1.0 (up) at open_time_s / close_time_s per full travel,
    towards the coils: open coil ON drives it up, close coil ON drives it down, both ON (or both OFF)
    stop it. `collisions` counts each time the arm descends to `contact_position` or below while the
    photocell or exit loop is occupied: the arm touching a vehicle. Tests assert it stays 0.

    Like a field controller's counter inputs, it counts each activation (rising edge) of the exit loop
    and the photocell in 16-bit input registers that wrap, whether or not anyone is polling: paused
    included. Registers are always served; the driver reads them where its config names them.

    Communication watchdog (`devices/sim/comm_watchdog.py`, modelled on WAGO's 750-352): holding
    registers for its time, trigger and status, at the addresses `devices.io.watchdog` names (WAGO's where
    it names none), and one safe-value register per coil (safe-values register + coil address, 0 OFF).
    When the master stops triggering it, every coil takes its safe value, coil writes are refused
    (exception 4) and the status reads expired until the master writes the time register again.

    With ``obstacle_input_wired`` the photocell and the exit loop are also wired to the barrier's own
    obstacle input, as on a real barrier controller: a close under way reverses to fully up at once, and
    a close does not start, while either is occupied, whatever the coils say; the arm then stays up until
    the close coil is released and given again. Without it only the software reverses the arm.

    With ``rtu=True`` it answers Modbus RTU frames on the TCP socket, as a serial-to-Ethernet
    converter would; the driver reaches it with transport rtu and serial_port ``socket://host:port``.
    """

    TICK_S = 0.01

    def __init__(
        self,
        devices: DevicesConfig,
        host: str = "127.0.0.1",
        port: int = 5020,
        open_time_s: float = 1.0,
        close_time_s: float = 1.0,
        *,
        vehicle_speed: float = 1.0,
        contact_position: float = 0.5,
        initial_position: float = 0.0,
        rtu: bool = False,
        obstacle_input_wired: bool = False,
    ) -> None:
        if open_time_s <= 0 or close_time_s <= 0 or vehicle_speed <= 0:
            raise ValueError("open_time_s, close_time_s and vehicle_speed must be positive")
        self._host = host
        self._port = port
        self._rtu = rtu
        self._open_time_s = open_time_s
        self._close_time_s = close_time_s
        self.vehicle_speed = vehicle_speed
        self._contact_position = contact_position
        self._position = min(max(initial_position, 0.0), 1.0)
        self.obstacle_input_wired = obstacle_input_wired
        self._reversed = False  # the barrier's own obstacle reversal, latched until the close coil drops
        self._device_id = devices.io.device_id
        self._coil_addr = dict(
            zip(
                COIL_NAMES,
                (
                    devices.barrier.coils.open,
                    devices.barrier.coils.close,
                    devices.light.coils.green,
                    devices.light.coils.red,
                ),
                strict=True,
            )
        )
        self._coil_name = {addr: name for name, addr in self._coil_addr.items()}
        self._input_addr = {
            "entry_loop": devices.detectors.entry_loop,
            "exit_loop": devices.detectors.exit_loop,
            "photocell": devices.detectors.photocell,
            "barrier_up": devices.barrier.limits.up,
            "barrier_down": devices.barrier.limits.down,
        }
        counters = devices.counters
        # Served even when the config names none, at 0 and 1 then, so a test can switch the driver's use.
        self._counter_addr = {
            "exit_count": 0 if counters.exit_loop is None else counters.exit_loop,
            "photocell_count": 1 if counters.photocell is None else counters.photocell,
        }
        if len(set(self._counter_addr.values())) != len(self._counter_addr):
            raise ValueError(f"counter registers must differ: {self._counter_addr}")
        wd = devices.io.watchdog
        self._watchdog = CommWatchdog(wd.timeout_unit_s)
        self._wd_time = WAGO_WATCHDOG_TIME if wd.timeout_register is None else wd.timeout_register
        self._wd_trigger = WAGO_WATCHDOG_TRIGGER if wd.trigger_register is None else wd.trigger_register
        self._wd_status = WAGO_WATCHDOG_STATUS if wd.status_register is None else wd.status_register
        self._safe_base = _SAFE_VALUES_BASE if wd.safe_values_register is None else wd.safe_values_register
        self._coil_count = max(self._coil_addr.values()) + 1
        self._holding_count = (
            max(self._wd_time, self._wd_trigger, self._wd_status, self._safe_base + self._coil_count - 1) + 1
        )
        self._input_count = max(self._input_addr.values()) + 1
        self._register_count = max(self._counter_addr.values()) + 1
        self._detectors = _Detectors()
        self._coils = dict.fromkeys(COIL_NAMES, False)
        self._forced: dict[str, bool] = {}
        self._in_contact = False
        self.collisions = 0
        self._server: ModbusBaseServer | None = None
        self._serving = False
        self._tick_task: asyncio.Task[None] | None = None

    # --- lifecycle ----------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def serving(self) -> bool:
        """True while the controller is on the network (started and not paused)."""
        return self._serving

    async def start(self) -> None:
        """Listen on host:port and start the physical model."""
        if self._server is not None:
            raise RuntimeError("simulator already started")
        device = SimDevice(
            id=self._device_id,
            simdata=(
                _bit_block(self._coil_count - 1),
                _bit_block(self._input_count - 1),
                [SimData(0, values=[0] * self._holding_count, datatype=DataType.REGISTERS)],
                [SimData(0, values=[0] * self._register_count, datatype=DataType.REGISTERS)],
            ),
            action=self._on_request,
        )
        if self._rtu:
            self._server = ModbusSerialServer(
                device, port=f"socket://{self._host}:{self._port}", framer=FramerType.RTU
            )
        else:
            self._server = ModbusTcpServer(device, address=(self._host, self._port))
        await self._server.serve_forever(background=True)
        self._serving = True
        self._tick_task = asyncio.create_task(self._run_physics(), name="lane-sim-physics")
        log.info(
            "lane controller simulator listening on %s:%d (%s)",
            self._host,
            self._port,
            "rtu" if self._rtu else "tcp",
        )

    async def stop(self) -> None:
        """Close the server and its connections and stop the physical model."""
        if self._tick_task is not None:
            self._tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick_task
            self._tick_task = None
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None
        self._serving = False

    async def pause(self) -> None:
        """Go off the network: stop listening and drop every connection. The barrier keeps moving."""
        if self._server is None or not self._serving:
            return
        await self._server.shutdown()  # type: ignore[no-untyped-call]
        self._serving = False
        log.info("lane controller simulator paused (off the network)")

    async def resume(self) -> None:
        """Come back on the same port, with the same coils and inputs."""
        if self._server is None or self._serving:
            return
        await self._server.serve_forever(background=True)
        self._serving = True
        log.info("lane controller simulator resumed on %s:%d", self._host, self._port)

    async def __aenter__(self) -> LaneControllerSim:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    # --- state --------------------------------------------------------------------------------------

    @property
    def position(self) -> float:
        """Arm position, 0.0 (down) .. 1.0 (up)."""
        return self._position

    @property
    def barrier_up(self) -> bool:
        return self._position >= 1.0

    @property
    def barrier_down(self) -> bool:
        return self._position <= 0.0

    @property
    def entry_loop(self) -> bool:
        return self._detectors.entry_loop

    @property
    def exit_loop(self) -> bool:
        return self._detectors.exit_loop

    @property
    def photocell(self) -> bool:
        return self._detectors.photocell

    @property
    def coils(self) -> dict[str, bool]:
        """The coils as of the last physics tick (at most TICK_S old), by COIL_NAMES name."""
        return dict(self._coils)

    async def read_coils(self) -> dict[str, bool]:
        """The coils as stored in the controller right now, by COIL_NAMES name."""
        bits = await self._get_coil_bits()
        return {name: bits[addr] for name, addr in self._coil_addr.items()}

    def set_entry_loop(self, occupied: bool) -> None:
        """Entry loop (stop line, weighbridge); visible to the very next FC2 read."""
        self._detectors.entry_loop = occupied

    def set_exit_loop(self, occupied: bool) -> None:
        """Safety loop under and beyond the arm; a rising edge counts one activation."""
        det = self._detectors
        if occupied and not det.exit_loop:
            det.exit_count = (det.exit_count + 1) % COUNTER_MODULUS
        det.exit_loop = occupied

    def set_photocell(self, blocked: bool) -> None:
        """Photocell across the arm's path; a rising edge counts one interruption."""
        det = self._detectors
        if blocked and not det.photocell:
            det.photocell_count = (det.photocell_count + 1) % COUNTER_MODULUS
        det.photocell = blocked

    @property
    def counters(self) -> dict[str, int]:
        """The activation counters as the controller holds them: exit_count, photocell_count."""
        return {"exit_count": self._detectors.exit_count, "photocell_count": self._detectors.photocell_count}

    def preset_counters(self, exit_count: int, photocell_count: int) -> None:
        """Set the counters, as a controller that has counted for a long while (tests of the 16-bit wrap)."""
        if not (0 <= exit_count < COUNTER_MODULUS and 0 <= photocell_count < COUNTER_MODULUS):
            raise ValueError(f"counters are 16-bit: 0..{COUNTER_MODULUS - 1}")
        self._detectors.exit_count, self._detectors.photocell_count = exit_count, photocell_count

    @property
    def watchdog_status(self) -> WatchdogStatus:
        """The communication watchdog's status, as the status register reads it."""
        return self._watchdog.status

    @property
    def watchdog_expiries(self) -> int:
        """How many times the watchdog has expired and put the outputs to their safe values."""
        return self._watchdog.expiries

    def move_arm_by_hand(self, position: float) -> None:
        """A technician cranks the arm to `position` (0.0 down .. 1.0 up), as a test's starting point."""
        self._position = min(max(position, 0.0), 1.0)

    async def force_coil(self, name: str, value: bool | None) -> None:
        """Hold a coil at `value` from now on, whatever is written (a stuck relay); None releases it."""
        if name not in self._coil_addr:
            raise KeyError(f"unknown coil {name!r}; expected one of {COIL_NAMES}")
        if value is None:
            self._forced.pop(name, None)
            return
        self._forced[name] = value
        await self._require_server().async_setValues(self._device_id, 1, self._coil_addr[name], [value])

    # --- vehicle choreography -----------------------------------------------------------------------

    async def vehicle_arrives(self) -> None:
        """A vehicle stops on the entry loop."""
        self.set_entry_loop(True)
        await asyncio.sleep(0)

    async def vehicle_drives_through(self, timeout: float = 10.0, speed: float | None = None) -> None:
        """Wait for the arm fully up, then cross: photocell, exit loop, leave entry loop, clear both.

        Raises TimeoutError if the barrier is not up within `timeout`. `speed` scales the delays
        (default `vehicle_speed`; 2.0 is twice as fast as a slow truck).
        """
        await self.wait_for_position(up=True, timeout=timeout)
        factor = 1.0 / (speed or self.vehicle_speed)
        self.set_photocell(True)
        await asyncio.sleep(0.4 * factor)
        self.set_exit_loop(True)
        await asyncio.sleep(0.6 * factor)
        self.set_entry_loop(False)
        await asyncio.sleep(0.4 * factor)
        self.set_photocell(False)
        await asyncio.sleep(0.6 * factor)
        self.set_exit_loop(False)

    async def vehicle_backs_out(self) -> None:
        """The vehicle reverses off the entry loop without crossing."""
        self.set_entry_loop(False)
        await asyncio.sleep(0)

    async def wait_for_position(self, *, up: bool, timeout: float) -> None:
        """Wait until the arm reaches its up (or down) limit; TimeoutError otherwise."""
        async with asyncio.timeout(timeout):
            while not (self.barrier_up if up else self.barrier_down):
                await asyncio.sleep(self.TICK_S)

    # --- model --------------------------------------------------------------------------------------

    async def _on_request(
        self,
        function_code: int,
        start_address: int,
        address: int,
        _count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus action hook: present the model's inputs on reads, apply forced coils on writes, run
        the watchdog's registers and refuse coil writes while it is expired."""
        if function_code == _FC_READ_DISCRETE_INPUTS and set_values is None:
            # Written through the server's own API (this hook sees it as a write and lets it pass).
            await self._require_server().async_setValues(self._device_id, 2, 0, self._input_bits())
        elif function_code == _FC_READ_INPUT_REGISTERS and set_values is None:
            await self._require_server().async_setValues(self._device_id, 4, 0, self._counter_registers())
        elif function_code == _FC_READ_HOLDING_REGISTERS and set_values is None:
            status_at = self._wd_status - start_address
            if 0 <= status_at < len(registers):
                registers[status_at] = int(self._watchdog.status)
        elif function_code in _FC_WRITE_REGISTERS and set_values is not None:
            now = time.monotonic()
            for offset, value in enumerate(set_values):
                if address + offset == self._wd_time:
                    self._watchdog.write_time(int(value), now)
                elif address + offset == self._wd_trigger:
                    self._watchdog.write_trigger(int(value), now)
        elif function_code in _FC_WRITE_COILS and set_values is not None:
            if self._watchdog.status is WatchdogStatus.EXPIRED:
                return ExcCodes.DEVICE_FAILURE  # outputs stay safe until the master re-arms the watchdog
            for offset in range(len(set_values)):
                name = self._coil_name.get(address + offset)
                if name in self._forced:
                    set_values[offset] = self._forced[name]
        return None

    def _input_bits(self) -> list[bool]:
        values = {
            "entry_loop": self._detectors.entry_loop,
            "exit_loop": self._detectors.exit_loop,
            "photocell": self._detectors.photocell,
            "barrier_up": self.barrier_up,
            "barrier_down": self.barrier_down,
        }
        bits = [False] * self._input_count
        for name, addr in self._input_addr.items():
            bits[addr] = values[name]
        return bits

    def _counter_registers(self) -> list[int]:
        registers = [0] * self._register_count
        registers[self._counter_addr["exit_count"]] = self._detectors.exit_count
        registers[self._counter_addr["photocell_count"]] = self._detectors.photocell_count
        return registers

    async def _get_coil_bits(self) -> list[bool]:
        values = await self._require_server().async_getValues(
            self._device_id, _FC_READ_COILS, 0, self._coil_count
        )
        return [bool(v) for v in values]

    def _require_server(self) -> ModbusBaseServer:
        if self._server is None:
            raise RuntimeError("simulator not started")
        return self._server

    async def _run_physics(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(self.TICK_S)
            now = time.monotonic()
            if self._watchdog.poll(now):
                await self._apply_safe_values()
            bits = await self._get_coil_bits()
            self._coils = {name: bits[addr] for name, addr in self._coil_addr.items()}
            self._step(now - last)
            last = now

    async def _apply_safe_values(self) -> None:
        server = self._require_server()
        safe = {}
        for name, addr in self._coil_addr.items():
            if name in self._forced:  # a stuck relay stays stuck
                continue
            [value] = await server.async_getValues(
                self._device_id, _FC_READ_HOLDING_REGISTERS, self._safe_base + addr
            )
            safe[name] = bool(value)
            await server.async_setValues(self._device_id, _FC_READ_COILS, addr, [bool(value)])
        log.warning("lane controller simulator: watchdog expired, outputs set to their safe values %s", safe)

    def _step(self, dt: float) -> None:
        up, down = self._coils["barrier_open"], self._coils["barrier_close"]
        before = self._position
        closing_commanded = down and not up
        obstacle = self.obstacle_input_wired and (self._detectors.photocell or self._detectors.exit_loop)
        if not closing_commanded:
            self._reversed = False
        elif obstacle and before > 0.0:
            self._reversed = True
        if self._reversed or (up and not down):
            self._position = min(1.0, before + dt / self._open_time_s)
        elif down and not up:
            self._position = max(0.0, before - dt / self._close_time_s)
        descending = self._position < before
        occupied = self._detectors.photocell or self._detectors.exit_loop
        if descending and occupied and self._position <= self._contact_position:
            if not self._in_contact:
                self.collisions += 1
                log.warning("simulated barrier arm hit a vehicle at position %.2f", self._position)
            self._in_contact = True
        else:
            self._in_contact = False
