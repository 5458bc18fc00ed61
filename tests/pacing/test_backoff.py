"""The one backoff: doubling to a bound, jitter within its factors, reset, and bad settings refused."""

from __future__ import annotations

import random

import pytest

from pacing.backoff import Backoff


def test_device_backoff_doubles_up_to_its_bound_and_never_retries_sooner_than_the_step() -> None:
    backoff = Backoff(0.2, 1.5, jitter=(1.0, 1.1), rng=random.Random(7))
    delays = [backoff.next() for _ in range(6)]
    for delay, base in zip(delays, [0.2, 0.4, 0.8, 1.5, 1.5, 1.5], strict=True):
        assert base <= delay <= base * 1.1
    backoff.reset()
    assert 0.2 <= backoff.next() <= 0.22


def test_broker_backoff_doubles_up_to_its_cap_with_jitter_and_resets() -> None:
    backoff = Backoff(0.5, 4.0, jitter=(0.5, 1.0), rng=random.Random(1))
    delays = [backoff.next() for _ in range(6)]
    steps = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert all(step * 0.5 <= d <= step for d, step in zip(delays, steps, strict=True))
    assert len({round(d / s, 6) for d, s in zip(delays, steps, strict=True)}) > 1  # jittered, not fixed
    backoff.reset()
    assert backoff.next() <= 0.5


def test_without_jitter_the_delays_are_exact_and_a_bound_below_the_start_keeps_the_start() -> None:
    backoff = Backoff(0.5, 10.0)
    assert [backoff.next() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert [Backoff(2.0, 1.0).next() for _ in range(2)] == [2.0, 2.0]
    many = Backoff(0.1, 5.0)
    assert [many.next() for _ in range(500)][-1] == 5.0  # no overflow after many attempts


@pytest.mark.parametrize(("initial", "jitter"), [(0.0, (1.0, 1.0)), (1.0, (0.0, 1.0)), (1.0, (1.2, 1.1))])
def test_nonsense_settings_are_refused(initial: float, jitter: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="backoff needs"):
        Backoff(initial, 5.0, jitter=jitter)
