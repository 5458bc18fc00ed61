"""A private Mosquitto broker for the demo, so the demo gate talks MQTT to a real central office."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from devices.sim.net import free_tcp_port


def mosquitto_binary() -> str | None:
    """Mosquitto on PATH or in /usr/sbin (Debian's package), or None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").is_file() else None


class DemoBroker:
    """A Mosquitto process on a free loopback port, with its configuration in `workdir`."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.port = free_tcp_port()
        self._workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        self._workdir.mkdir(parents=True, exist_ok=True)
        conf = self._workdir / "mosquitto.conf"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self._process = subprocess.Popen(  # noqa: S603 - a fixed binary and our own config file
            [self.binary, "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C stops the demo, which then stops its broker last
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mosquitto did not start on port {self.port}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None
