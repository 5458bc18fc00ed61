"""Fixtures for the sync tests: a real Mosquitto on a free port, and an in-process reference central."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from central.receiver import Central
from central.settings import CentralSettings
from sync.config import BrokerConfig
from sync.signing_keys import SigningKey
from tests.sync.broker import Mosquitto

REPO = Path(__file__).resolve().parents[2]

FEED_KEY = SigningKey.generate("test-central")
"""The key the tests' central signs clearances with; gates trust it through :func:`trusted`."""


def trusted(*keys: SigningKey) -> list[dict[str, str]]:
    """A gate's ``clearance_keys`` setting trusting ``keys`` (default: the tests' central key)."""
    return [{"key_id": k.key_id, "public_key": k.public_text} for k in (keys or (FEED_KEY,))]


def run_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A started Mosquitto for the length of a test (a fixture body, shared with tests/edge)."""
    mosquitto = Mosquitto(tmp_path / "mosquitto")
    mosquitto.start()
    yield mosquitto
    mosquitto.stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    yield from run_broker(tmp_path)


def broker_config(mosquitto: Mosquitto, **overrides: object) -> BrokerConfig:
    return BrokerConfig.model_validate({"host": mosquitto.host, "port": mosquitto.port, **overrides})


@pytest.fixture
def start_central(tmp_path: Path, broker: Mosquitto) -> Iterator[Callable[..., Central]]:
    yield from central_starter(tmp_path, broker)


def central_starter(tmp_path: Path, broker: Mosquitto) -> Iterator[Callable[..., Central]]:
    """Start reference central instances (stopped at teardown); they share tmp_path/central.db."""
    started: list[Central] = []

    def start(name: str = "central-1", group: str | None = "central") -> Central:
        settings = CentralSettings(
            broker=broker_config(broker),
            db_path=tmp_path / "central.db",
            group=group,
            name=name,
            signing_key=FEED_KEY,
        )
        central = Central(settings)
        central.start()
        assert central.subscribed.wait(5), "central did not subscribe"
        started.append(central)
        return central

    yield start
    for central in started:
        central.stop()


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll ``predicate`` from a plain (non-async) test until it holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not met within {timeout} s")
        time.sleep(0.01)


def run_module(
    module: str, *args: str, env: dict[str, str] | None = None, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """``python -m module args`` from the repository root, as an operator runs the CLIs (30 s at most)."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=check,
    )
