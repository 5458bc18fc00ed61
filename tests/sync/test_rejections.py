"""Rejection reports at a bounded rate: the first of each minute one by one, the rest as a tally."""

from __future__ import annotations

from sync.rejections import WINDOW_S, RejectionReports


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_is_reported_up_to_the_rate_then_tallied_once_the_minute_ends() -> None:
    clock = Clock()
    reports = RejectionReports(per_minute=3, clock=clock)
    admitted = [reports.admit("t/clearances", "malformed") for _ in range(10)]
    assert admitted == [0, 0, 0, None, None, None, None, None, None, None]
    assert reports.admit("t/commands", "malformed") == 0  # another topic has its own budget
    assert reports.tallies_due() == []
    clock.now += WINDOW_S
    assert reports.tallies_due() == [("t/clearances", "malformed", 7)]
    assert reports.tallies_due() == []


def test_a_rejection_after_the_minute_carries_the_tally_when_upkeep_has_not_written_it() -> None:
    clock = Clock()
    reports = RejectionReports(per_minute=1, clock=clock)
    assert reports.admit("t/clearances", "schema") == 0
    assert reports.admit("t/clearances", "schema") is None
    clock.now += WINDOW_S + 1
    assert reports.admit("t/clearances", "schema") == 1
    clock.now += WINDOW_S
    assert reports.tallies_due() == []
