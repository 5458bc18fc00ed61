"""Waiting in async tests: for a condition (polled; the test fails, not hangs, if it never holds), a task."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Protocol

import pytest


class Eventually(Protocol):
    async def __call__(
        self, predicate: Callable[[], bool], timeout: float = ..., what: str = "condition"
    ) -> None: ...


def poll_until(every_s: float, timeout: float) -> Eventually:
    """`eventually(predicate, timeout, what)`: waits until predicate() holds, polling every `every_s`;
    fails the test with "<what> not met within <timeout> s" after `timeout` (this default when not given).

    Each suite picks its own pace: a fast device poll, or a slower one next to a busy daemon.
    """
    default_timeout = timeout

    async def eventually(
        predicate: Callable[[], bool], timeout: float = default_timeout, what: str = "condition"
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                pytest.fail(f"{what} not met within {timeout} s")
            await asyncio.sleep(every_s)

    return eventually


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel `task` and wait until it has ended; the CancelledError it ends with is not the test's."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
