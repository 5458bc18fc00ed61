"""Is the lane daemon driving this controller now? Asked before `gate-edge io pulse` touches a coil.

Two signs, either enough to refuse:
- on the controller itself: its communication watchdog is being refreshed by someone (the trigger register
  changes within a few refresh periods, or, where only the status can be read, it still reads running
  after a whole watchdog time without our requests). This catches a daemon on any machine;
- on this machine: something accepts connections on the kiosk's address (the daemon serves the kiosk).

A controller whose watchdog has neither a trigger nor a status register cannot tell; then only the local
sign is checked and the operator is told so (docs/deploy.md: stop the daemon first).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient, ModbusBaseClient
from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerType

from devices.config import ModbusLinkConfig, ModbusTransport

#: Kept short: the check runs before every pulse, and a daemon refreshes its watchdog every 0.1 s or so.
_MIN_WINDOW_S = 0.3


class ControllerUnreachable(Exception):
    """The controller did not answer the check; the message says which request."""


def kiosk_listening(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """Something accepts TCP connections on the kiosk's address (the daemon, on this machine)."""
    target = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host  # noqa: S104
    try:
        with socket.create_connection((target, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _client(link: ModbusLinkConfig) -> ModbusBaseClient:
    if link.transport is ModbusTransport.TCP:
        return AsyncModbusTcpClient(link.host, port=link.port, timeout=link.timeout_s, retries=0)
    return AsyncModbusSerialClient(
        link.serial_port or "",
        framer=FramerType.RTU,
        baudrate=link.baudrate,
        bytesize=link.bytesize,
        parity=link.parity,
        stopbits=link.stopbits,
        timeout=link.timeout_s,
        retries=0,
    )


async def _register(client: ModbusBaseClient, link: ModbusLinkConfig, address: int, what: str) -> int:
    try:
        async with asyncio.timeout(link.timeout_s * 2 + 0.1):
            response = await client.read_holding_registers(address, count=1, device_id=link.device_id)
    except (ModbusException, OSError, TimeoutError) as exc:
        raise ControllerUnreachable(f"no answer to reading the {what} (register {address}): {exc}") from exc
    if response.isError() or not response.registers:
        code = getattr(response, "exception_code", "?")
        raise ControllerUnreachable(
            f"the controller refused the read of the {what} (register {address}), Modbus exception {code}"
        )
    return int(response.registers[0])


async def watchdog_in_use(link: ModbusLinkConfig) -> str | None:
    """Why another master is refreshing the controller's watchdog now, or None; "" when it cannot tell."""
    wd = link.watchdog
    if not wd.enabled or (wd.trigger_register is None and wd.status_register is None):
        return ""
    client = _client(link)
    try:
        async with asyncio.timeout(link.timeout_s * 2 + 0.1):
            connected = await client.connect()
        if not connected:
            raise ControllerUnreachable("cannot connect")
        if wd.trigger_register is not None:
            window = max(_MIN_WINDOW_S, 3 * wd.refresh_s)
            first = await _register(client, link, wd.trigger_register, "watchdog trigger")
            await asyncio.sleep(window)
            second = await _register(client, link, wd.trigger_register, "watchdog trigger")
            if second != first:
                return (
                    f"the controller's watchdog trigger (register {wd.trigger_register}) changed from "
                    f"{first} to {second} in {window:g} s: the lane daemon (or another master) is driving it"
                )
            return None
        status_register = wd.status_register
        if status_register is None:  # checked above; keeps mypy sure of it
            return ""
        if await _register(client, link, status_register, "watchdog status") != wd.status_running:
            return None
        # Running: refreshed within its time. Wait that long without a request of ours and look again.
        client.close()
        await asyncio.sleep(wd.timeout_s + _MIN_WINDOW_S)
        async with asyncio.timeout(link.timeout_s * 2 + 0.1):
            await client.connect()
        if await _register(client, link, status_register, "watchdog status") == wd.status_running:
            return (
                f"the controller's watchdog (status register {status_register}) still runs after "
                f"{wd.timeout_s + _MIN_WINDOW_S:g} s: the lane daemon (or another master) refreshes it"
            )
        return None
    except TimeoutError as exc:
        raise ControllerUnreachable(f"no answer within {link.timeout_s} s") from exc
    finally:
        with contextlib.suppress(Exception):
            client.close()
