"""How the central screen listens and who may stay logged in for how long."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WebSettings:
    """The screen's listening address, sessions and login throttle (webauth.login_throttle's rules)."""

    host: str = "127.0.0.1"
    port: int = 8090
    session_idle_timeout_s: float = 15 * 60.0
    session_max_age_s: float = 12 * 3600.0
    cookies_secure: bool = False  # True behind TLS (a reverse proxy): the cookie only goes over https
    max_body_bytes: int = 16 * 1024
    login_rate_per_minute: int = 30
    login_free_failures: int = 3
    login_free_failures_per_address: int = 10
    login_account_alarm_failures: int = 20
    login_first_delay_s: float = 1.0
    login_max_delay_s: float = 300.0
    login_failure_memory_s: float = 3600.0
    live_poll_s: float = 1.0  # how often the live stream looks for new events and presence changes


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` too) as a pair; ValueError naming the value otherwise."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--http {value!r}: expected HOST:PORT, e.g. 127.0.0.1:8090")
    return host.strip("[]"), int(port)
