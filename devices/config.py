"""Configuration models for the lane hardware: the Modbus I/O controller point map and the weighbridge."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModbusTransport(StrEnum):
    TCP = "tcp"
    RTU = "rtu"


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
    backoff_initial_s: float = Field(0.2, gt=0, description="First reconnect delay after the link drops.")
    backoff_max_s: float = Field(10.0, gt=0, description="Upper bound of the exponential reconnect delay.")

    @model_validator(mode="after")
    def _rtu_needs_port(self) -> ModbusLinkConfig:
        if self.transport is ModbusTransport.RTU and not self.serial_port:
            raise ValueError("serial_port is required when transport is rtu")
        return self


class BarrierCoils(_Strict):
    open: int = Field(..., ge=0, description="Coil that drives the barrier up (held ON to open).")
    close: int = Field(..., ge=0, description="Coil that drives the barrier down (held ON to close).")


class BarrierLimits(_Strict):
    up: int = Field(..., ge=0, description="Discrete input of the barrier's up (open) limit switch.")
    down: int = Field(..., ge=0, description="Discrete input of the barrier's down (closed) limit switch.")


class BarrierConfig(_Strict):
    """The barrier's points and its safety timing."""

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
    light: LightConfig = Field(default_factory=LightConfig, description="Traffic light points.")
    scale: ScaleConfig = Field(default_factory=ScaleConfig, description="Weighbridge indicator.")
