"""The lane's own thread and asyncio loop, so nothing else in the process can delay a barrier decision.

The kiosk, the uplink, recognition and the store's readers share the daemon's main loop; a slow request
or a burst of MQTT messages there must not postpone a poll of the I/O controller or a step of the lane.
Everything crosses between the two loops through `call_soon_threadsafe` (events in, listeners and side
work out), never by awaiting across them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger("edge.lane_thread")


class LaneBusy(Exception):
    """The lane's inbound queue is full (or the lane is not running): the event was not taken."""


class LaneThread:
    """Runs one coroutine in a dedicated thread with a loop of its own, until it returns."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self.error: BaseException | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The lane loop while it runs; None before start and after it ended."""
        return self._loop

    def in_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, main: Callable[[], Coroutine[Any, Any, None]], on_exit: Callable[[], None]) -> None:
        """Start `main()` on the lane thread; `on_exit` runs on that thread when it ends, however it ends."""

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._started.set()
            try:
                loop.run_until_complete(main())
            except BaseException as exc:  # reported to the daemon, which stops: systemd restarts it
                self.error = exc
                log.critical("the lane loop failed: %r", exc, exc_info=exc)
            finally:
                self._loop = None
                try:
                    loop.run_until_complete(loop.shutdown_asyncgens())
                finally:
                    loop.close()
                    on_exit()

        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()
        self._started.wait()

    def call(self, fn: Callable[..., object], *args: object) -> bool:
        """Schedule `fn(*args)` on the lane loop; False when the loop is not running."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return False
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # closed between the check and the call
            return False
        return True

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end; True if it did."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()
