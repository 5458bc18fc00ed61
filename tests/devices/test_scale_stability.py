"""The settle rule: once per settle, never through motion, overload or a reading outside the band."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.scale.reading import StableWeight, WeightReading
from devices.scale.stability import StabilityDetector

DIV = 20.0


def _run(detector: StabilityDetector, samples: Sequence[tuple[float, float, bool]]) -> list[StableWeight]:
    """Feed (at, kg, motion) samples; collect what settled."""
    out = []
    for at, kg, motion in samples:
        settled = detector.update(WeightReading(gross_kg=kg, motion=motion, at=at))
        if settled is not None:
            out.append(settled)
    return out


def _steady(kg: float, start: float, stop: float, step: float = 0.1) -> list[tuple[float, float, bool]]:
    n = round((stop - start) / step)
    return [(round(start + i * step, 6), kg, False) for i in range(n + 1)]


def test_settles_once_after_the_window_and_not_again_while_steady() -> None:
    detector = StabilityDetector(DIV, divisions=1, window_ms=1000)
    assert _run(detector, _steady(30000, 0.0, 0.9)) == []
    assert not detector.stable
    assert _run(detector, _steady(30000, 1.0, 5.0)) == [StableWeight(kg=30000, at=1.0)]
    assert detector.stable
    assert detector.stable_kg == 30000


def test_motion_in_the_window_delays_the_settle() -> None:
    detector = StabilityDetector(DIV, divisions=1, window_ms=1000)
    samples = [*_steady(30000, 0.0, 0.5), (0.6, 30000, True), *_steady(30000, 0.7, 2.0)]
    assert _run(detector, samples) == [StableWeight(kg=30000, at=1.7)]


def test_overload_is_never_stable() -> None:
    detector = StabilityDetector(DIV, divisions=1, window_ms=200)
    readings = [WeightReading(gross_kg=0.0, overload=True, at=t / 10) for t in range(30)]
    assert [detector.update(r) for r in readings] == [None] * 30


def test_spread_within_divisions_settles_beyond_does_not() -> None:
    jitter = [(t / 10, 30000 + DIV * (t % 2), False) for t in range(20)]
    assert len(_run(StabilityDetector(DIV, divisions=1, window_ms=1000), jitter)) == 1
    assert _run(StabilityDetector(DIV, divisions=0, window_ms=1000), jitter) == []
    wide = [(t / 10, 30000 + 2 * DIV * (t % 2), False) for t in range(20)]
    assert _run(StabilityDetector(DIV, divisions=1, window_ms=1000), wide) == []


def test_settled_value_is_the_one_shown_most_often() -> None:
    samples = [(t / 10, 30020 if t in (3, 7) else 30000, False) for t in range(11)]
    assert _run(StabilityDetector(DIV, divisions=1, window_ms=1000), samples) == [StableWeight(30000, 1.0)]


def test_leaving_the_band_unsettles_and_the_next_settle_reports_again() -> None:
    detector = StabilityDetector(DIV, divisions=1, window_ms=500)
    first = _run(detector, _steady(30000, 0.0, 1.0))
    assert first == [StableWeight(30000, 0.5)]
    _run(detector, [(1.1, 30060, False)])
    assert not detector.stable
    assert detector.stable_kg is None
    assert _run(detector, _steady(30060, 1.2, 2.0)) == [StableWeight(30060, 1.6)]


def test_motion_unsettles_and_the_same_weight_settling_again_is_reported_again() -> None:
    detector = StabilityDetector(DIV, divisions=1, window_ms=500)
    _run(detector, _steady(30000, 0.0, 1.0))
    _run(detector, [(1.1, 30000, True)])
    assert not detector.stable
    assert _run(detector, _steady(30000, 1.2, 2.0)) == [StableWeight(30000, 1.7)]


def test_slow_creep_is_caught_by_the_anchored_band() -> None:
    detector = StabilityDetector(DIV, divisions=1, window_ms=500)
    _run(detector, _steady(30000, 0.0, 0.6))
    assert detector.stable
    # One division per second: every sliding window would look still, the anchored band does not.
    _run(detector, [(0.6 + t / 10, 30000 + DIV * (t // 10), False) for t in range(1, 25)])
    assert not detector.stable


def test_time_going_backwards_restarts_the_window() -> None:
    detector = StabilityDetector(DIV, divisions=1, window_ms=500)
    assert _run(detector, [*_steady(100, 10.0, 10.4), *_steady(100, 0.0, 0.6)]) == [StableWeight(100, 0.5)]


def test_rejects_meaningless_parameters() -> None:
    with pytest.raises(ValueError, match="positive"):
        StabilityDetector(0.0, 1, 1000)


samples = st.lists(
    st.tuples(
        st.floats(0.01, 0.3),
        st.integers(-2, 2),
        st.sampled_from([False, False, False, True]),  # motion
        st.sampled_from([False] * 9 + [True]),  # overload
    ),
    max_size=80,
)


@given(steps=samples, divisions=st.integers(0, 2))
def test_every_report_is_backed_by_a_quiet_window_and_reports_alternate_with_unsettling(
    steps: list[tuple[float, int, bool, bool]], divisions: int
) -> None:
    window_s = 0.5
    detector = StabilityDetector(DIV, divisions=divisions, window_ms=500)
    history: list[WeightReading] = []
    at = 0.0
    was_stable = False
    for dt, counts, motion, overload in steps:
        at += dt
        reading = WeightReading(gross_kg=1000 + counts * DIV, motion=motion, overload=overload, at=at)
        history.append(reading)
        settled = detector.update(reading)
        if settled is not None:
            assert not was_stable, "reported twice without unsettling in between"
            window = [r for r in history if r.at >= at - window_s]
            before = [r for r in history if r.at <= at - window_s]
            assert before, "the window must be covered by readings"
            window.append(before[-1])
            assert not any(r.motion or r.overload for r in window)
            values = [r.gross_kg for r in window]
            assert max(values) - min(values) <= divisions * DIV + 1e-9
            assert settled.kg in values
        was_stable = detector.stable
        if motion:
            assert not detector.stable
