"""Fixtures for the operations tests: a datagram socket that plays systemd's part for sd_notify."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest


class FakeSystemd:
    """The receiving end of $NOTIFY_SOCKET: collects each datagram as a dict of its KEY=value lines."""

    def __init__(self, address: str) -> None:
        self.address = address  # as systemd writes it into NOTIFY_SOCKET ("@name" for abstract)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self._sock.setblocking(False)
        self.messages: list[dict[str, str]] = []

    def drain(self) -> list[dict[str, str]]:
        """Read whatever has arrived; returns (and keeps) the new messages."""
        new = []
        while True:
            try:
                data = self._sock.recv(4096)
            except BlockingIOError:
                break
            fields = dict(line.split("=", 1) for line in data.decode("utf-8").split("\n") if line)
            new.append(fields)
        self.messages.extend(new)
        return new

    async def wait_for(self, key: str, timeout: float = 3.0) -> dict[str, str]:
        """The first message (already received or arriving within `timeout`) that carries `key`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self.drain()
            for message in self.messages:
                if key in message:
                    return message
            if loop.time() > deadline:
                pytest.fail(f"no {key} notification within {timeout} s (got {self.messages})")
            await asyncio.sleep(0.01)

    def count(self, key: str) -> int:
        self.drain()
        return sum(1 for message in self.messages if key in message)

    def close(self) -> None:
        self._sock.close()


@pytest.fixture
def fake_systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSystemd]:
    """A path socket exported as NOTIFY_SOCKET, as systemd does for Type=notify services."""
    server = FakeSystemd(str(tmp_path / "notify.sock"))
    monkeypatch.setenv("NOTIFY_SOCKET", server.address)
    yield server
    server.close()
