"""Ingest is never held up by the screen: events keep being stored while staff hammer the screen's reads,
and while a screen read holds its transaction open."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from central.accounts import sql_store
from central.receiver import Central
from central.settings import open_store
from tests.central.screen_gates import Screen, run_screen, wait_until
from tests.sync.broker import Mosquitto

EVENTS = 300


@pytest.fixture
def screen(tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]) -> Iterator[Screen]:
    yield from run_screen(tmp_path, broker, start_central)


def test_events_are_stored_while_the_screen_is_read_hard_and_while_a_read_holds_its_transaction(
    screen: Screen,
) -> None:
    stop = threading.Event()
    answered: list[int] = []

    paths = ("/api/v1/gates", "/api/v1/search?plate=51C", "/api/v1/gates", "/api/v1/search")
    clients = [screen.client("vera") for _ in paths]  # one by one: parallel logins are throttled

    def staff(path: str, client: httpx.Client) -> None:
        while not stop.is_set():
            answered.append(client.get(path).status_code)

    readers = [
        threading.Thread(target=staff, args=(path, client), daemon=True)
        for path, client in zip(paths, clients, strict=True)
    ]
    for reader in readers:
        reader.start()
    wait_until(lambda: len(answered) >= 8, what="the screen under load")
    before = len(answered)
    # a long read of the screen's kind, its transaction open all along
    held = sql_store(open_store(db_path=screen.db, mode="open"))
    gate = screen.gate("g1")
    started = time.monotonic()
    try:
        with held._transaction(write=False):
            held._run("SELECT COUNT(*) FROM events")
            for n in range(EVENTS):
                gate.event("transaction.started", tx_id=f"tx-{n}")
            wait_until(
                lambda: screen.central.counts["stored"] >= EVENTS, timeout=60, what="all events stored"
            )
        took = time.monotonic() - started
    finally:
        stop.set()
        for reader in readers:
            reader.join(10)
        for client in clients:
            client.close()
        held.close()
    during = len(answered) - before
    print(f"{EVENTS} events stored in {took:.2f} s while the screen answered {during} reads")
    assert screen.central.counts["stored"] == EVENTS
    assert during >= 4  # the screen was really being read meanwhile
    assert set(answered) == {200}
