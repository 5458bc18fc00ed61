"""Fixtures for the central office's tests: the sync tests' real Mosquitto and in-process central."""

from __future__ import annotations

from tests.sync.conftest import broker, start_central

__all__ = ["broker", "start_central"]
