"""The sd_notify(3) protocol: tell systemd the daemon is ready, alive, stopping, and what it is doing.

systemd passes a datagram socket in ``$NOTIFY_SOCKET`` (a path, or ``@name`` in the abstract namespace);
each message is one datagram of ``KEY=value`` lines. Written here rather than taken from a library because
the protocol is a dozen lines and the daemon must never block or die on it: the socket is non-blocking, a
failed send is logged once and reported as ``False``, and without ``$NOTIFY_SOCKET`` (the demo, a
terminal) every call is a cheap no-op.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Mapping
from typing import Protocol

log = logging.getLogger("edge.sdnotify")


class Notifier(Protocol):
    """What the watchdog and the start-up code need from a notifier (a fake in tests, SdNotifier live)."""

    def ready(self, status: str | None = None) -> bool: ...

    def watchdog(self) -> bool: ...

    def status(self, text: str) -> bool: ...

    def stopping(self) -> bool: ...


class SdNotifier:
    """Sends notifications to the service manager; a no-op when not started by one."""

    def __init__(self, address: str | None) -> None:
        self._address = _socket_address(address) if address else None
        self._sock: socket.socket | None = None
        self._failing = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SdNotifier:
        """The notifier for ``$NOTIFY_SOCKET`` (unset or empty: disabled)."""
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET") or None)

    @property
    def enabled(self) -> bool:
        """True when there is a service manager to talk to."""
        return self._address is not None

    def send(self, **fields: str | int) -> bool:
        """Send one datagram of ``KEY=value`` lines; True if the manager got it (False also when disabled)."""
        if self._address is None:
            return False
        lines = []
        for key, value in fields.items():
            text = str(value)
            if "\n" in text:  # a newline would start a new assignment: never let a status text inject one
                text = text.replace("\n", " ")
            lines.append(f"{key}={text}")
        payload = "\n".join(lines).encode("utf-8")
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)  # the loop must never wait on systemd
            self._sock.sendto(payload, self._address)
        except OSError as exc:
            if not self._failing:
                log.warning("sd_notify to %r failed: %s (further failures are not logged)", self._name, exc)
            self._failing = True
            return False
        if self._failing:
            log.info("sd_notify to %r works again", self._name)
        self._failing = False
        return True

    def ready(self, status: str | None = None) -> bool:
        """Start-up finished: systemd marks the unit active and starts its watchdog clock."""
        if status is None:
            return self.send(READY=1)
        return self.send(READY=1, STATUS=status)

    def watchdog(self) -> bool:
        """Keep-alive: resets systemd's WatchdogSec timer."""
        return self.send(WATCHDOG=1)

    def status(self, text: str) -> bool:
        """Free-text status shown by ``systemctl status``."""
        return self.send(STATUS=text)

    def stopping(self) -> bool:
        """Shutdown has begun: systemd will not treat the coming exit as a crash."""
        return self.send(STOPPING=1)

    def extend_timeout(self, seconds: float) -> bool:
        """Ask for more start-up (or shutdown) time, counted from now."""
        return self.send(EXTEND_TIMEOUT_USEC=int(seconds * 1_000_000))

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    @property
    def _name(self) -> str:
        address = self._address or ""
        return "@" + address[1:] if address.startswith("\0") else address


def _socket_address(address: str) -> str | None:
    """The AF_UNIX address of a ``$NOTIFY_SOCKET`` value; None for kinds this module does not speak."""
    if address.startswith("@"):
        return "\0" + address[1:]  # abstract namespace
    if address.startswith("/"):
        return address
    # systemd ≥ 254 may pass vsock:CID:PORT to VMs; a gate box never runs us inside one.
    log.warning("NOTIFY_SOCKET=%r is not a unix socket address: notifications disabled", address)
    return None


def watchdog_interval(environ: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """How often to ping: half of ``$WATCHDOG_USEC`` in seconds, or None when systemd expects no pings.

    ``$WATCHDOG_PID``, when set, names the process the watchdog is meant for; another process (a child
    that inherited the environment) must not ping on its behalf.
    """
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    owner = env.get("WATCHDOG_PID", "")
    if owner and owner != str(os.getpid() if pid is None else pid):
        return None
    return int(usec) / 1_000_000 / 2


async def notify_when_ready(
    notifier: Notifier,
    lane_up: asyncio.Event,
    grace_s: float | None,
    waiting: Callable[[], str] = lambda: "waiting for the lane",
) -> bool:
    """Send READY=1 once the lane is up (`lane_up` set); True if it came up before READY went out.

    A lane whose I/O controller is unreachable at boot still has a kiosk to serve and a fault to show,
    and a restart would not bring the controller back: after `grace_s` READY goes out anyway, with a
    STATUS naming what the lane waits for, and "lane up" follows when it comes. None waits for ever
    (then the unit's TimeoutStartSec decides).
    """
    try:
        async with asyncio.timeout(grace_s):  # not wait_for: on 3.11 it can swallow a cancellation
            await lane_up.wait()
    except TimeoutError:
        detail = waiting()
        log.warning("lane not up after %g s (%s): reporting ready to serve the kiosk", grace_s or 0, detail)
        notifier.ready(f"running; lane not up: {detail}")
        await lane_up.wait()
        notifier.status("lane up")
        return False
    notifier.ready("lane up")
    return True
