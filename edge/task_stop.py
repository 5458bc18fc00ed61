"""Stopping asyncio tasks within a bound, even ones that swallow their cancellation."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("edge.task_stop")


async def cancel_within(
    tasks: list[asyncio.Task[Any]], wait_s: float, also: list[asyncio.Task[Any]] | None = None
) -> None:
    """Cancel `tasks` and wait (at most `wait_s`) for them and for `also`.

    A task that swallowed a cancellation (Python 3.11's wait_for can, when the awaited call completes in
    the same step) is cancelled again until it ends or the time runs out; one still running then is
    logged by name. A task that had failed has its exception logged here: nothing else awaits it any more.
    """
    waited = [*tasks, *(also or [])]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    pending = set(waited)
    while pending and loop.time() < deadline:
        for task in tasks:
            if not task.done():
                task.cancel()
        _, pending = await asyncio.wait(pending, timeout=min(0.1, max(0.0, deadline - loop.time())))
    for task in waited:
        if task in pending:
            log.error("%s did not end within %.0f s of the stop", task.get_name(), wait_s)
        elif not task.cancelled() and task.exception() is not None:
            log.error("%s had failed: %r", task.get_name(), task.exception())
