"""Configuration models for the lane hardware: the Modbus I/O controller point map and the weighbridge."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModbusTransport(StrEnum):
    TCP = "tcp"
    RTU = "rtu"


class WatchdogSafeAction(StrEnum):
    """What the barrier does when the controller's watchdog expires (the daemon dead, hung or cut off)."""

    STOP = "stop"  # both barrier coils OFF: the arm stops where it is
    HOLD_OPEN = "hold_open"  # close coil OFF, open coil ON: the arm goes up and stays up


#: WAGO 750-352 (and other 750 fieldbus couplers): watchdog time, trigger and status holding registers.
WAGO_WATCHDOG_TIME: Final = 0x1000
WAGO_WATCHDOG_TRIGGER: Final = 0x1003
WAGO_WATCHDOG_STATUS: Final = 0x1006

#: A Modbus register address or value: 16 bits.
Register = Annotated[int, Field(ge=0, le=65535)]


class ControllerWatchdogConfig(_Strict):
    """The I/O controller's own communication watchdog: its outputs go to safe values when the daemon stops
    refreshing it, so a dead, hung or cut-off daemon cannot leave the barrier's close coil on.

    The defaults are WAGO's 750-352 register map (time in 100 ms units at 0x1000, trigger at 0x1003,
    status at 0x1006), which the simulated controller follows. docs/deploy.md says how to set it on WAGO,
    Moxa and Advantech controllers.
    """

    enabled: bool = Field(
        True, description="Arm the controller's watchdog; false needs waive_reason (check-config says so)."
    )
    waive_reason: str | None = Field(
        None,
        description="Why this lane runs without a controller watchdog (e.g. the barrier controller's own "
        "timer drops the close command); required when enabled is false.",
    )
    timeout_s: float = Field(
        1.0,
        gt=0,
        le=600,
        description="Outputs go to their safe values when the watchdog is not refreshed for this long.",
    )
    timeout_register: Register | None = Field(
        WAGO_WATCHDOG_TIME,
        description="Holding register of the watchdog time, written and read back at connect; null: the "
        "time is set on the controller itself (Moxa web console, Advantech utility).",
    )
    timeout_unit_s: float = Field(
        0.1, gt=0, le=60, description="Unit of the time register, in seconds (WAGO: 0.1)."
    )
    trigger_register: Register | None = Field(
        WAGO_WATCHDOG_TRIGGER,
        description="Holding register written with a new value at every refresh (WAGO's trigger); null: "
        "the controller counts any request, and the polls refresh it.",
    )
    refresh_s: float = Field(
        0.1, gt=0, le=60, description="How often the poll loop refreshes the watchdog (and reads its status)."
    )
    status_register: Register | None = Field(
        WAGO_WATCHDOG_STATUS,
        description="Holding register of the watchdog status, read at connect and at every refresh; null: "
        "none can be read (an expiry is then seen only as refused writes).",
    )
    status_running: Register = Field(1, description="Status value of a running watchdog.")
    status_expired: Register = Field(2, description="Status value of an expired watchdog.")
    safe_values_register: Register | None = Field(
        None,
        description="First of one holding register per coil address (register + coil) holding the coil's "
        "safe value (1 ON, 0 OFF), written and read back at connect; null: the safe values are the "
        "controller's own (WAGO couplers switch outputs off; Moxa and Advantech: set them to match).",
    )
    safe_action: WatchdogSafeAction = Field(
        WatchdogSafeAction.STOP,
        description="On expiry the close coil and green lamp go OFF, the red lamp ON, and the open coil OFF "
        "(stop: the arm stops where it is) or ON (hold_open: the arm goes up and stays).",
    )

    @model_validator(mode="after")
    def _armed_or_waived(self) -> ControllerWatchdogConfig:
        waived = bool(self.waive_reason and self.waive_reason.strip())
        if not self.enabled and not waived:
            raise ValueError(
                "the controller watchdog is disabled: a dead or hung daemon would leave the barrier's close "
                "coil on. Configure it for this controller (docs/deploy.md) or set waive_reason to say why "
                "this lane is safe without it"
            )
        if self.enabled and waived:
            raise ValueError("waive_reason is for a disabled watchdog; remove it or set enabled: false")
        if self.enabled and self.refresh_s * 2 > self.timeout_s:
            raise ValueError(
                f"refresh_s ({self.refresh_s}) must be at most half of timeout_s ({self.timeout_s})"
            )
        if self.enabled and self.timeout_register is not None:
            units = self.timeout_s / self.timeout_unit_s
            if abs(units - round(units)) > 1e-6 or not 1 <= round(units) <= 65535:
                raise ValueError(
                    f"timeout_s ({self.timeout_s}) must be 1..65535 whole units of {self.timeout_unit_s} s"
                )
        if self.status_running == self.status_expired:
            raise ValueError("status_running and status_expired must differ")
        return self

    @property
    def timeout_units(self) -> int:
        """The time register's value."""
        return round(self.timeout_s / self.timeout_unit_s)


class ModbusLinkConfig(_Strict):
    """How to reach the lane I/O controller."""

    transport: ModbusTransport = Field(
        ModbusTransport.TCP, description="tcp (Modbus TCP) or rtu (Modbus RTU over serial)."
    )
    host: str = Field("127.0.0.1", description="Controller address, for tcp.")
    port: int = Field(5020, ge=1, le=65535, description="Controller TCP port, for tcp (502 on most devices).")
    serial_port: str | None = Field(None, description="Serial device, for rtu (e.g. /dev/ttyUSB0).")
    baudrate: int = Field(9600, description="Serial speed, for rtu.")
    parity: Literal["N", "E", "O"] = Field("N", description="Serial parity, for rtu.")
    bytesize: Literal[7, 8] = Field(8, description="Serial data bits, for rtu.")
    stopbits: Literal[1, 2] = Field(1, description="Serial stop bits, for rtu.")
    device_id: int = Field(1, ge=0, le=247, description="Modbus device (unit/slave) id of the controller.")
    timeout_s: float = Field(0.5, gt=0, le=30, description="Timeout of one Modbus request.")
    poll_interval_ms: int = Field(50, ge=5, le=5000, description="How often the discrete inputs are read.")
    # Bounded and finite: an infinite or NaN bound grows the delay without end, and the lane never reconnects.
    backoff_initial_s: float = Field(
        0.2, gt=0, le=10, allow_inf_nan=False, description="First reconnect delay after the link drops."
    )
    backoff_max_s: float = Field(
        10.0, gt=0, le=300, allow_inf_nan=False, description="Upper bound of the exponential reconnect delay."
    )
    watchdog: ControllerWatchdogConfig = Field(
        default_factory=ControllerWatchdogConfig,
        description="The controller's communication watchdog: outputs safe when the daemon stops.",
    )

    @model_validator(mode="after")
    def _rtu_needs_port(self) -> ModbusLinkConfig:
        if self.transport is ModbusTransport.RTU and not self.serial_port:
            raise ValueError("serial_port is required when transport is rtu")
        return self

    @model_validator(mode="after")
    def _watchdog_outlasts_a_slow_refresh(self) -> ModbusLinkConfig:
        # A refresh waits for the poll before it and may itself take a whole request timeout: a watchdog
        # shorter than that would expire on a healthy but slow link and drop the barrier's outputs.
        wd = self.watchdog
        gap = max(wd.refresh_s, self.poll_interval_ms / 1000)
        if wd.enabled and wd.timeout_s < 2 * gap + self.timeout_s - 1e-9:
            raise ValueError(
                f"watchdog.timeout_s ({wd.timeout_s}) must be at least twice the refresh interval plus the "
                f"request timeout ({2 * gap + self.timeout_s:.2f} s here), or a slow link trips it"
            )
        return self


class BarrierCoils(_Strict):
    open: int = Field(..., ge=0, description="Coil that drives the barrier up (held ON to open).")
    close: int = Field(..., ge=0, description="Coil that drives the barrier down (held ON to close).")


class BarrierLimits(_Strict):
    up: int = Field(..., ge=0, description="Discrete input of the barrier's up (open) limit switch.")
    down: int = Field(..., ge=0, description="Discrete input of the barrier's down (closed) limit switch.")


class BarrierConfig(_Strict):
    """The barrier's points and its safety timing: one timing, which the lane (edge/lane.py) and this
    driver both enforce."""

    coils: BarrierCoils = Field(
        default_factory=lambda: BarrierCoils(open=0, close=1), description="Barrier drive coils."
    )
    limits: BarrierLimits = Field(
        default_factory=lambda: BarrierLimits(up=3, down=4), description="Barrier limit switch inputs."
    )
    close_hold_s: float = Field(
        1.0, ge=0.2, le=30, description="Exit loop and photocell must be clear this long before closing."
    )
    move_timeout_s: float = Field(
        8.0, gt=0, le=60, description="A barrier that has not reached its limit switch by then is a fault."
    )


class DetectorInputs(_Strict):
    """Discrete inputs of the vehicle detectors."""

    entry_loop: int = Field(0, ge=0, description="Loop at the stop line, on the weighbridge.")
    exit_loop: int = Field(1, ge=0, description="Safety loop under and beyond the barrier arm.")
    photocell: int = Field(2, ge=0, description="Photocell across the barrier's path (True = beam blocked).")


class DetectorCounters(_Strict):
    """Input registers where the controller counts each detector's activations (rising edges, 16 bits).

    Read with every poll, they let the lane know that a vehicle crossed while the link was down, even one
    that came and went inside the outage. Without them (both null), a passage the lane could not watch
    ends unconfirmed: the declaration counts as used and its next vehicle is held for an officer.
    """

    exit_loop: Register | None = Field(
        0, description="Input register counting exit loop activations; null if none."
    )
    photocell: Register | None = Field(
        1, description="Input register counting photocell interruptions; null if none."
    )


class LightCoils(_Strict):
    green: int = Field(5, ge=0, description="Coil of the green lamp.")
    red: int = Field(6, ge=0, description="Coil of the red lamp.")


class LightConfig(_Strict):
    coils: LightCoils = Field(default_factory=LightCoils, description="Traffic light coils.")


class ScaleProtocol(StrEnum):
    TOLEDO = "toledo"
    MTSICS = "mtsics"
    ASCII = "ascii"


class StabilityConfig(_Strict):
    divisions: int = Field(1, ge=0, le=100, description="Allowed spread of readings, in scale divisions.")
    window_ms: int = Field(
        1000, ge=100, le=60000, description="Readings must stay within the spread this long."
    )


class ScaleConfig(_Strict):
    """The weighbridge indicator on a serial port."""

    protocol: ScaleProtocol = Field(ScaleProtocol.TOLEDO, description="toledo, mtsics or ascii.")
    port: str = Field("/dev/ttyUSB0", description="Serial device of the indicator.")
    baudrate: int = Field(9600, description="Serial speed.")
    parity: Literal["N", "E", "O"] = Field("N", description="Serial parity.")
    bytesize: Literal[7, 8] = Field(8, description="Serial data bits (Toledo indicators often use 7E1).")
    stopbits: Literal[1, 2] = Field(1, description="Serial stop bits.")
    toledo_checksum: bool = Field(True, description="Toledo frames carry a checksum byte after CR.")
    mtsics_mode: Literal["SI", "SIR"] = Field(
        "SIR", description="MT-SICS: poll with SI, or ask for continuous SIR replies."
    )
    mtsics_poll_ms: int = Field(100, ge=20, description="MT-SICS SI poll period.")
    ascii_pattern: str = Field(
        r"^(?P<sign>[-+ ]?)\s*(?P<weight>\d+(?:\.\d+)?)\s*kg\s*(?P<motion>M?)\s*$",
        description="ascii: regex with named group weight, optional sign, motion (non-empty = moving), unit.",
    )
    ascii_terminator: str = Field("\r\n", description="ascii: frame terminator.")
    division_kg: float = Field(20.0, gt=0, description="Scale division (d), in kg.")
    stability: StabilityConfig = Field(default_factory=StabilityConfig, description="Stable weight rule.")
    reconnect_s: float = Field(2.0, gt=0, description="Delay before reopening a lost serial port.")
    stale_s: float = Field(3.0, gt=0, description="No valid frame for this long is a scale fault.")


class DevicesConfig(_Strict):
    """All lane hardware."""

    io: ModbusLinkConfig = Field(default_factory=ModbusLinkConfig, description="Modbus I/O controller link.")
    barrier: BarrierConfig = Field(default_factory=BarrierConfig, description="Barrier points and timing.")
    detectors: DetectorInputs = Field(default_factory=DetectorInputs, description="Vehicle detector inputs.")
    counters: DetectorCounters = Field(
        default_factory=DetectorCounters, description="Detector activation counters (input registers)."
    )
    light: LightConfig = Field(default_factory=LightConfig, description="Traffic light points.")
    scale: ScaleConfig = Field(default_factory=ScaleConfig, description="Weighbridge indicator.")

    @model_validator(mode="after")
    def _one_point_each(self) -> DevicesConfig:
        """Each output, input and register its own address: one coil for open and close drives the arm both
        ways at once; two detectors on one input cannot be told apart."""
        shared = shared_address(self)
        if shared is not None:
            key, message = shared
            # The error's key path is the offending key, not the section (edge.config.parse_config).
            raise PydanticCustomError("at_key", "{message}", {"key": key, "message": message})
        return self


def shared_address(devices: DevicesConfig) -> tuple[str, str] | None:
    """The first key (dotted, within devices) whose address another key of its kind already uses, and
    what to say of it; None when every address is its own."""
    coils = devices.barrier.coils
    lights = devices.light.coils
    limits = devices.barrier.limits
    loops = devices.detectors
    counters = devices.counters
    watchdog = devices.io.watchdog
    outputs: dict[str, int | None] = {
        "barrier.coils.open": coils.open,
        "barrier.coils.close": coils.close,
        "light.coils.green": lights.green,
        "light.coils.red": lights.red,
    }
    kinds: list[tuple[str, str, dict[str, int | None]]] = [
        ("coil", "output", outputs),
        (
            "discrete input",
            "input",
            {
                "barrier.limits.up": limits.up,
                "barrier.limits.down": limits.down,
                "detectors.entry_loop": loops.entry_loop,
                "detectors.exit_loop": loops.exit_loop,
                "detectors.photocell": loops.photocell,
            },
        ),
        (
            "input register",
            "counter",
            {"counters.exit_loop": counters.exit_loop, "counters.photocell": counters.photocell},
        ),
    ]
    registers: dict[str, int | None] = {
        "io.watchdog.timeout_register": watchdog.timeout_register,
        "io.watchdog.trigger_register": watchdog.trigger_register,
        "io.watchdog.status_register": watchdog.status_register,
    }
    if watchdog.safe_values_register is not None:
        first = watchdog.safe_values_register
        for key, coil in outputs.items():
            registers[f"io.watchdog.safe_values_register (+ {key})"] = first + (coil or 0)
    kinds.append(("holding register", "watchdog register", registers))
    for kind, what, points in kinds:
        seen: dict[int, str] = {}
        for key, address in points.items():
            if address is None:
                continue
            if address in seen:
                name, _, offset = key.partition(" ")
                which = f"{offset} " if offset else ""  # the safe value of which coil
                return name, (
                    f"{kind} {address} {which}is also devices.{seen[address]}: each {what} needs an address "
                    "of its own"
                )
            seen[address] = key
    return None
