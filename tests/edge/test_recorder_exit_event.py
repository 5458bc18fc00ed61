"""The gate's exit event carries what central's confirmations to customs need: exits and the plate."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from edge.decision import Outcome
from edge.lane_events import TransactionEnded
from edge.recorder import Recorder
from edge.store import Store

AT = datetime(2026, 3, 1, 8, tzinfo=UTC)


def test_a_passed_transaction_s_end_event_names_its_exits_and_the_plate(tmp_path: Path) -> None:
    with Store(tmp_path / "lane.db") as store:
        recorder = Recorder(store, "g1", "lane-1", wall=lambda: AT)
        recorder.started("tx-1")
        store.transactions.update_identification("tx-1", AT, plate="51C12345", containers=["MSCU1234565"])
        store.transactions.record_decision("tx-1", Outcome.PASS, [], "D1", AT)
        recorder.ended(TransactionEnded("tx-1", "passed", 0.0))
        [ended] = [e.payload for e in store.outbox.pending() if e.kind == "transaction.ended"]
    assert (ended["result"], ended["exits"], ended["plate"]) == (
        "passed",
        [["D1", "MSCU1234565"]],
        "51C12345",
    )
