"""The demo console's officer actions: read from the audit log, each once, oldest first, in words."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from edge.demo.officer_feed import OfficerFeed, describe
from edge.demo.runner import DemoPrinter
from edge.store import Store


def test_the_feed_gives_each_new_officer_action_once_in_order_and_says_who_what_and_why(
    tmp_path: Path,
) -> None:
    at = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)
    with Store(tmp_path / "gate.db") as store:
        store.audit.append("earlier", "reject", "tx0", "from an earlier run", None, None, at)
        feed = OfficerFeed(store.audit)
        assert feed.drain() == []  # an earlier run's actions are not this run's
        after = {
            "plate": {"text": "51C12345"},
            "containers": [{"text": "MSKU3866036"}, {"text": "TCLU1234568"}],
        }
        store.audit.append("lan", "correct_read", "tx1", "reads checked by eye", None, after, at)
        store.audit.append("lan", "approve", "tx1", "papers checked", None, None, at)
        store.audit.append("sup", "manual_open", "lane", "ambulance", None, None, at)
        assert [describe(r) for r in feed.drain()] == [
            "officer lan corrected the reads to plate 51C12345, containers MSKU3866036,TCLU1234568: "
            "reads checked by eye",
            "officer lan approved: papers checked",
            "officer sup opened the barrier by hand: ambulance",
        ]
        assert feed.drain() == []
        store.audit.append("olga", "inspection_done", "tx2", "seals intact", None, None, at)
        assert [describe(r) for r in feed.drain()] == [
            "officer olga recorded the inspection done: seals intact"
        ]


def test_the_demo_printer_stops_printing_officer_actions_when_the_store_is_closed_without_failing(
    tmp_path: Path,
) -> None:
    # A daemon that stopped on its own closes its store: the demo's last prints must not raise over it.
    store = Store(tmp_path / "gate.db")
    out = io.StringIO()
    printer = DemoPrinter(out=out)
    printer.feed = OfficerFeed(store.audit)
    store.audit.append("lan", "approve", "tx1", "papers checked", None, None, datetime.now(UTC))
    printer.print_officer_actions()
    store.close()
    printer.print_officer_actions()
    printer.print_officer_actions()
    assert printer.feed is None
    assert out.getvalue().count("officer lan approved: papers checked") == 1
