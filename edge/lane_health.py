"""What the lane status says about each device, written in the lane process and mirrored to the daemon's."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class DeviceHealth:
    """The latest word from the I/O controller and the weighbridge (each field one atomic store)."""

    modbus_up: bool = False
    modbus_detail: str = "connecting"
    scale_ok: bool = False
    scale_detail: str = "waiting for first frame"
    last_weight_kg: float | None = None

    def fault_list(self, lane_fault: str | None) -> list[str]:
        """Every device fault now, in words, for the lane status and the kiosk."""
        found = []
        if not self.modbus_up:
            found.append(f"I/O controller: {self.modbus_detail}")
        if not self.scale_ok:
            found.append(f"weighbridge: {self.scale_detail}")
        if lane_fault:
            found.append(f"lane: {lane_fault}")
        return found

    def devices(self) -> dict[str, object]:
        return {
            "modbus": {"up": self.modbus_up, "detail": self.modbus_detail},
            "scale": {
                "ok": self.scale_ok,
                "detail": self.scale_detail,
                "last_weight_kg": self.last_weight_kg,
            },
        }
