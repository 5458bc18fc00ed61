"""The driver's side of the I/O controller's communication watchdog: armed at connect, refreshed by polls.

While the daemon polls, the controller's outputs are the daemon's to command; when it stops (killed, hung,
cut off) the controller's own watchdog runs out and every output takes its safe value, so the barrier's
close coil cannot outlive the daemon. The refresh is made by the loop that polls, right after a poll, so a
poller that stops also stops refreshing; an optional `alive` check (the lane loop's heartbeat) withholds
it while the lane itself is stuck. Arming writes the settings and reads each back: a controller that does
not take them is a fault with the register and the reason named, never a lane that runs unprotected.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from pymodbus.client import ModbusBaseClient
from pymodbus.pdu import ModbusPDU

from devices.config import ControllerWatchdogConfig

log = logging.getLogger(__name__)

Request = Callable[[Awaitable[ModbusPDU]], Awaitable[ModbusPDU]]

_CHECK = "check devices.io.watchdog against the controller's register map (docs/deploy.md)"


class WatchdogFault(Exception):
    """The controller's watchdog is not armed, or has expired; the message says which and what to check."""


class ControllerWatchdog:
    """Arms the controller's watchdog over one client and keeps it from expiring while the lane is alive."""

    def __init__(
        self,
        config: ControllerWatchdogConfig,
        safe_values: Mapping[int, bool],
        device_id: int,
        request: Request,
        alive: Callable[[], bool] | None = None,
    ) -> None:
        """`safe_values`: coil address -> value on expiry; `request` bounds one Modbus request in time."""
        self._config = config
        self._safe_values = dict(safe_values)
        self._device_id = device_id
        self._request = request
        self._alive = alive
        self._trigger = 0
        self._next_refresh = 0.0
        self._withheld = False
        self.refreshes = 0

    async def arm(self, client: ModbusBaseClient, now: float) -> None:
        """Write and read back the time and safe values, start the watchdog and check that it runs."""
        cfg = self._config
        if self._alive is not None and not self._alive():
            raise WatchdogFault(
                "lane loop not responding: controller watchdog left unarmed, outputs stay safe"
            )
        if cfg.timeout_register is not None and await self._time_must_be_written(client):
            await self._write_checked(client, cfg.timeout_register, cfg.timeout_units, "watchdog time")
        if cfg.safe_values_register is not None:
            for coil, value in sorted(self._safe_values.items()):
                await self._write_checked(
                    client, cfg.safe_values_register + coil, int(value), f"safe value of coil {coil}"
                )
        if cfg.trigger_register is not None:
            current = await self._read(client, cfg.trigger_register, "watchdog trigger")
            self._trigger = current % 0xFFFF + 1  # 1..65535: never 0, never the value it holds
            await self._write(client, cfg.trigger_register, self._trigger, "watchdog trigger")
        if cfg.status_register is not None:
            status = await self._read(client, cfg.status_register, "watchdog status")
            if status != cfg.status_running:
                raise WatchdogFault(
                    f"controller watchdog not running after setup: status register {cfg.status_register} "
                    f"reads {status}, expected {cfg.status_running}; {_CHECK}"
                )
        self._next_refresh = now + cfg.refresh_s
        self._withheld = False
        log.info(
            "controller watchdog armed: outputs safe (%s) %.1f s after the last refresh",
            cfg.safe_action.value,
            cfg.timeout_s,
        )

    async def _time_must_be_written(self, client: ModbusBaseClient) -> bool:
        """False when the watchdog already counts down with the configured time: leave it running.

        On a WAGO-style controller writing the time stops a running watchdog until the next trigger. A
        reconnect whose answers are lost after that write (a link that garbles them) would then leave the
        outputs as they were, unguarded, while each retry stopped the watchdog again. So the time is read
        first (a link that garbles answers fails here, before anything is written, and the running watchdog
        expires as it should) and written only when it differs or the watchdog has expired (re-arming it
        then is what the time write is for, and the outputs are already safe). Without a status register
        an expiry cannot be told apart, so the time is always written, as the re-arm needs.
        """
        cfg = self._config
        if cfg.status_register is None or cfg.timeout_register is None:
            return True
        status = await self._read(client, cfg.status_register, "watchdog status")
        if status == cfg.status_expired:
            return True
        return await self._read(client, cfg.timeout_register, "watchdog time") != cfg.timeout_units

    async def refresh_if_due(self, client: ModbusBaseClient, now: float) -> None:
        """Every refresh_s: read the status (WatchdogFault if expired), then trigger it if the lane lives."""
        if now < self._next_refresh:
            return
        cfg = self._config
        self._next_refresh = now + cfg.refresh_s
        if cfg.status_register is not None:
            status = await self._read(client, cfg.status_register, "watchdog status")
            if status == cfg.status_expired:
                raise WatchdogFault(
                    f"controller watchdog expired (not refreshed for {cfg.timeout_s} s): the controller set "
                    "its outputs to their safe values; re-arming"
                )
        if self._alive is not None and not self._alive():
            if not self._withheld:
                log.error(
                    "lane loop not responding: controller watchdog no longer refreshed, outputs go safe "
                    "within %.1f s",
                    cfg.timeout_s,
                )
            self._withheld = True
            return
        self._withheld = False
        if cfg.trigger_register is not None:
            self._trigger = self._trigger % 0xFFFF + 1
            await self._write(client, cfg.trigger_register, self._trigger, "watchdog trigger")
        self.refreshes += 1

    async def _write_checked(self, client: ModbusBaseClient, register: int, value: int, what: str) -> None:
        await self._write(client, register, value, what)
        back = await self._read(client, register, what)
        if back != value:
            raise WatchdogFault(
                f"controller did not accept the {what}: register {register} reads back {back} after "
                f"writing {value}; {_CHECK}"
            )

    async def _write(self, client: ModbusBaseClient, register: int, value: int, what: str) -> None:
        response = await self._request(client.write_register(register, value, device_id=self._device_id))
        if response.isError():
            raise WatchdogFault(
                f"controller refused the {what} (write of register {register}) with Modbus exception code "
                f"{getattr(response, 'exception_code', '?')}; {_CHECK}"
            )

    async def _read(self, client: ModbusBaseClient, register: int, what: str) -> int:
        response = await self._request(
            client.read_holding_registers(register, count=1, device_id=self._device_id)
        )
        if response.isError() or not response.registers:
            code = getattr(response, "exception_code", "?")
            raise WatchdogFault(
                f"controller refused the {what} (read of register {register}) with Modbus exception code "
                f"{code}; {_CHECK}"
            )
        return int(response.registers[0])
