"""Lane alarms on the screen: kept with their time until the lane leaves the state they were raised in."""

from __future__ import annotations

from datetime import UTC, datetime

from edge.kiosk.device_faults import fault_kind
from edge.kiosk.lane_alarms import LaneAlarms
from edge.lane import LaneState

T0 = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)


def _step(alarms: LaneAlarms, a: str, b: str) -> None:
    alarms.on_lane_event("transition", {"tx_id": "tx-1", "from_state": a, "to_state": b, "cause": ""})


def test_a_pass_timeout_stands_while_the_lane_is_passing_and_clears_when_it_closes() -> None:
    alarms = LaneAlarms(LaneState.IDLE, lambda: T0)
    _step(alarms, "IDLE", "ARRIVED")
    _step(alarms, "OPENING", "PASSING")
    alarms.on_lane_event("alarm", {"tx_id": "tx-1", "code": "pass_timeout", "detail": "path not clear"})
    (alarm,) = alarms.active
    assert (alarm.code, alarm.since, alarm.tx_id, alarm.state) == (
        "pass_timeout",
        T0,
        "tx-1",
        LaneState.PASSING,
    )
    alarms.on_lane_event("decided", {"tx_id": "tx-1"})
    assert len(alarms.active) == 1  # other steps do not clear it
    _step(alarms, "PASSING", "CLOSING")
    assert not alarms.active


def test_link_lost_raised_again_in_one_fault_is_one_alarm_and_clears_when_the_lane_leaves_fault() -> None:
    alarms = LaneAlarms(LaneState.IDLE, lambda: T0)
    _step(alarms, "IDLE", "FAULT")
    alarms.on_lane_event("alarm", {"tx_id": None, "code": "link_lost", "detail": "timeout"})
    alarms.on_lane_event("alarm", {"tx_id": None, "code": "link_lost", "detail": "refused"})
    (alarm,) = alarms.active
    assert (alarm.repeats, alarm.detail) == (2, "refused")
    _step(alarms, "FAULT", "IDLE")
    assert not alarms.active


def test_an_alarm_about_a_gone_vehicle_stays_until_another_transaction_ends() -> None:
    alarms = LaneAlarms(LaneState.FAULT, lambda: T0)
    alarms.on_lane_event("alarm", {"tx_id": "tx-1", "code": "passage_unconfirmed", "detail": "unknown"})
    _step(alarms, "FAULT", "IDLE")
    alarms.on_lane_event("ended", {"tx_id": "tx-1", "result": "unconfirmed"})
    assert [a.code for a in alarms.active] == ["passage_unconfirmed"]
    alarms.on_lane_event("ended", {"tx_id": "tx-2", "result": "passed"})
    assert not alarms.active


def test_raw_device_texts_are_sorted_into_kinds_the_screen_words_in_both_languages() -> None:
    assert fault_kind("connected to 127.0.0.1:5020") == "ok"
    assert fault_kind("scale port /dev/ttyUSB0 cannot be opened: [Errno 2] No such file or directory") == (
        "port_missing"
    )
    assert fault_kind("no valid answer from 10.0.0.5:502 within 0.5 s") == "no_answer"
    assert fault_kind("10.0.0.5:502: [Errno 111] Connection refused") == "refused"
    assert fault_kind("rtsp://cam/1: no data for 5 s (stalled)") == "stream_stalled"
    assert fault_kind("no such video file or device: /dev/video9") == "port_missing"
    assert fault_kind("writes failing (disk I/O error); 3 records wait in memory") == "writes_failing"
    assert fault_kind("link lost: no valid answer from 10.0.0.5:502 within 0.5 s") == "link_lost"
    assert fault_kind("barrier not up within 3.0s") == "barrier_timeout"
    assert fault_kind("something nobody foresaw") == "other"
