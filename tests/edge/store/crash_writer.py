"""Crash-test writer: run transactions through the store as fast as it can until it is killed.

Usage: ``python crash_writer.py DB_PATH``. After each commit it prints (and flushes) one line saying what
committed, so the test knows what must have survived the SIGKILL:

    start <tx_id> <outbox seq>
    transition <tx_id> <transition seq> <outbox seq>
    complete <tx_id> <outbox seq>
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime

from edge.store import NewEvent, Store

TRANSITIONS_PER_TX = 4


def main(path: str) -> None:
    with Store(path) as store:
        while True:
            tx_id = str(uuid.uuid4())
            now = datetime.now(UTC)
            event = store.transactions.start(
                tx_id, "lane-crash", now, state="s0", event=NewEvent("test.started", {"tx_id": tx_id})
            )
            assert event is not None
            print(f"start {tx_id} {event.seq}", flush=True)
            for step in range(1, TRANSITIONS_PER_TX + 1):
                event = store.transactions.record_transition(
                    tx_id,
                    f"s{step - 1}",
                    f"s{step}",
                    "tick",
                    datetime.now(UTC),
                    NewEvent("test.transition", {"tx_id": tx_id, "step": step}),
                )
                assert event is not None
                print(f"transition {tx_id} {step} {event.seq}", flush=True)
            event = store.transactions.complete(
                tx_id,
                datetime.now(UTC),
                exits=[(f"D-{tx_id}", "")],
                event=NewEvent("test.completed", {"tx_id": tx_id}),
            )
            assert event is not None
            print(f"complete {tx_id} {event.seq}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
