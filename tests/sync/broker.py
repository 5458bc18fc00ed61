"""A real Mosquitto for tests: its own config and port, and stop, kill and restart to inject outages."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

SBIN = Path("/usr/sbin/mosquitto")


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or (str(SBIN) if SBIN.exists() else None)
    if found is None:
        pytest.fail("mosquitto not found on PATH or in /usr/sbin: install Debian's mosquitto package")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mosquitto:
    """One broker on 127.0.0.1, with persistence (as a production broker has) unless told otherwise."""

    def __init__(
        self,
        workdir: Path,
        *,
        users: dict[str, str] | None = None,
        persistence: bool = True,
        extra: tuple[str, ...] = (),
    ) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.host = "127.0.0.1"
        self._proc: subprocess.Popen[bytes] | None = None
        lines = [
            # Run as whoever runs the tests: as root, mosquitto would switch to its own user, which cannot
            # read pytest's private tmp folders (password file, persistence, log).
            f"user {getpass.getuser()}",
            f"listener {self.port} 127.0.0.1",
            "set_tcp_nodelay true",
            "max_queued_messages 200000",
            f"log_dest file {workdir / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if persistence:
            lines += ["persistence true", f"persistence_location {workdir}/"]
        if users:
            passwords = workdir / "passwords"
            for index, (name, password) in enumerate(users.items()):
                flags = ["-b", "-c"] if index == 0 else ["-b"]
                subprocess.run(
                    ["mosquitto_passwd", *flags, str(passwords), name, password],
                    check=True,
                    capture_output=True,
                )
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines += ["allow_anonymous true"]
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text("\n".join([*lines, *extra]) + "\n")

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                pytest.fail(f"mosquitto exited at start ({self._proc.returncode}): {err}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        pytest.fail("mosquitto did not start listening within 10 s")

    def stop(self) -> None:
        """A clean stop: mosquitto saves its persistent sessions and queued messages."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        self._end(signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _end(self, sig: signal.Signals) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            os.kill(proc.pid, sig)
            proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()
