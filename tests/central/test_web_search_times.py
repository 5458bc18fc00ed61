"""The screen's search window in any time zone: central stores UTC and SQLite compares times as text, so a
start given in Vietnam's +07:00 must find what it names, and a time UTC cannot hold is a 422 naming it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from central.receiver import Central
from tests.central.screen_gates import Screen, g1_story, run_screen, wait_until
from tests.sync.broker import Mosquitto

HANOI = timezone(timedelta(hours=7))


@pytest.fixture
def screen(tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]) -> Iterator[Screen]:
    yield from run_screen(tmp_path, broker, start_central)


def test_a_search_window_in_hanoi_time_finds_what_it_names(screen: Screen) -> None:
    g1_story(screen.gate("g1"))  # three passages, taken 5 minutes ago, received now
    wait_until(lambda: screen.central.counts["stored"] >= 11, what="g1's events")
    vera = screen.client("vera")
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)

    def found(**window: datetime) -> list[str]:
        params = {name: at.isoformat() for name, at in window.items()}
        answer = vera.get("/api/v1/search", params=params)
        assert answer.status_code == 200, answer.text
        return sorted(row["tx_id"] for row in answer.json())

    everything = ["tx-held", "tx-pass", "tx-rej"]
    assert found(since=an_hour_ago) == everything
    assert found(since=an_hour_ago.astimezone(HANOI)) == everything  # found nothing before
    assert found(since=an_hour_ago.astimezone(HANOI), until=datetime.now(HANOI)) == everything
    assert found(since=(an_hour_ago + timedelta(hours=2)).astimezone(HANOI)) == []
    assert found(since=an_hour_ago, until=an_hour_ago.astimezone(HANOI)) == []


@pytest.mark.parametrize(
    "query",
    ["since=0001-01-01T00:00:00%2B14:00", "until=9999-12-31T23:59:59-14:00"],
)
def test_a_time_beyond_what_utc_holds_is_a_422_naming_it(screen: Screen, query: str) -> None:
    answer = screen.client("vera").get(f"/api/v1/search?{query}")
    assert answer.status_code == 422
    assert answer.json() == {"detail": "since or until: beyond the years 1 to 9999 in UTC"}
