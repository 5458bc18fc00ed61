"""The screen's own database connection, on a thread of its own: reads never run on the receiver's thread.

One worker thread holds the connection (a store is used by one thread at a time) and runs each request's
reads in turn; the event loop awaits them without blocking. A connection that fails is dropped and opened
again on the next request, so a database outage costs the screen a 503, never a stuck thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from central.accounts import Accounts, sql_store
from central.queries import CentralQueries
from central.store import CentralStore, StoreUnavailable

T = TypeVar("T")
Opener = Callable[[], CentralStore]


class ScreenDatabase:
    """Runs ``job(queries, accounts)`` on the worker thread's connection."""

    def __init__(self, opener: Opener) -> None:
        self._opener = opener
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="central-web-db")
        self._store: CentralStore | None = None
        self._views: tuple[CentralQueries, Accounts] | None = None

    def _run(self, job: Callable[[CentralQueries, Accounts], T]) -> T:
        if self._views is None:
            self._store = self._opener()
            self._views = (CentralQueries(sql_store(self._store)), Accounts(self._store))
        try:
            return job(*self._views)
        except StoreUnavailable:
            self._drop()
            raise

    def _drop(self) -> None:
        if self._store is not None:
            self._store.close()
        self._store, self._views = None, None

    async def __call__(self, job: Callable[[CentralQueries, Accounts], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._run, job)

    def close(self) -> None:
        self._pool.submit(self._drop).result()
        self._pool.shutdown()
