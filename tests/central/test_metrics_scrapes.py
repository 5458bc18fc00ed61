"""/metrics needs no login, so anyone may hammer it: concurrent scrapes share one read of central's database
instead of queuing one each on the screen's single database thread ahead of the staff's requests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from central.metrics import CentralMetrics, Rows
from central.receiver import Central
from central.settings import open_store
from central.web.serve import ScreenServer
from central.web.settings import WebSettings
from tests.central.screen_gates import Screen, free_port, run_screen, wait_until
from tests.sync.broker import Mosquitto


@pytest.fixture
def screen(tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]) -> Iterator[Screen]:
    yield from run_screen(tmp_path, broker, start_central)


class CountingMetrics(CentralMetrics):
    """Central's real counters that also count how often the database was read for a scrape."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.release = threading.Event()

    def scrape(self, rows: Rows, now: datetime) -> bytes:
        self.reads += 1
        self.release.wait(10)  # hold the read open until every client has asked
        return super().scrape(rows, now)


def test_concurrent_metrics_scrapes_share_one_database_read(screen: Screen) -> None:
    gate = screen.gate("g1")
    gate.event("transaction.started", tx_id="tx-1")
    wait_until(lambda: screen.central.counts["stored"] >= 1, what="the event")
    counting, port = CountingMetrics(), free_port()
    server = ScreenServer(lambda: open_store(db_path=screen.db, mode="open"), WebSettings(port=port))
    server.app.state.central_metrics = counting
    server.start()
    try:
        _scrape_together(f"http://127.0.0.1:{port}", counting)
    finally:
        counting.release.set()
        server.stop()


def _scrape_together(url: str, counting: CountingMetrics) -> None:
    answers: list[httpx.Response] = []

    def scrape() -> None:
        answers.append(httpx.get(f"{url}/metrics", timeout=20))

    # The first scrape starts the read; the others come while it is held open.
    scrapers = [threading.Thread(target=scrape) for _ in range(12)]
    for thread in scrapers:
        thread.start()
    wait_until(lambda: counting.reads >= 1, what="the first read")
    threading.Event().wait(1.0)  # the other eleven are waiting on it
    counting.release.set()
    for thread in scrapers:
        thread.join(20)
    assert [a.status_code for a in answers] == [200] * 12
    assert all('gate_id="g1"' in a.text for a in answers)
    assert counting.reads <= 2  # without sharing: 12 reads queued before any staff member's request
    later = httpx.get(f"{url}/metrics", timeout=20)  # a scrape after them reads afresh
    assert later.status_code == 200
    assert 'gate_id="g1"' in later.text
    assert 2 <= counting.reads <= 3
