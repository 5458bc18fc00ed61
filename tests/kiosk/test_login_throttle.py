"""The login throttle on a clock the test moves: waits grow per account and address, never lock anyone out."""

from __future__ import annotations

import pytest

from edge.kiosk.config import KioskConfig
from edge.kiosk.login_throttle import MAX_KEYS, LoginThrottle, delay_s


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock, **rules: float) -> LoginThrottle:
    defaults: dict[str, float] = {
        "login_free_failures": 3,
        "login_free_failures_per_address": 20,
        "login_account_alarm_failures": 20,
        "login_first_delay_s": 1.0,
        "login_max_delay_s": 8.0,
        "login_failure_memory_s": 3600.0,
    }
    return LoginThrottle(KioskConfig.model_validate(defaults | rules), clock)


def fail(limiter: LoginThrottle, name: str, address: str, times: int) -> None:
    for _ in range(times):
        assert limiter.attempt(name, address) is None  # charged, never refunded: a wrong password


def test_failures_for_one_account_from_one_address_make_it_wait_doubling_up_to_the_cap() -> None:
    clock = Clock()
    limiter = throttle(clock)
    fail(limiter, "olga", "10.0.0.9", 3)
    waits = []
    for _ in range(6):
        wait = limiter.attempt("olga", "10.0.0.9")
        assert wait is not None
        assert limiter.attempt("olga", "10.0.0.9") == wait  # asking again while waiting costs nothing
        waits.append(wait)
        clock.now += wait
        assert limiter.attempt("olga", "10.0.0.9") is None  # the wait is over: one more try
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_failures_from_other_addresses_never_make_the_officers_own_address_wait() -> None:
    clock = Clock()
    limiter = throttle(clock)
    for n in range(200):
        address = f"203.0.113.{n}"
        while limiter.attempt("olga", address) is None:
            pass  # each attacker spends its free failures
    assert limiter.attempt("olga", "10.0.0.9") is None
    limiter.succeeded("olga", "10.0.0.9")
    assert limiter.attempt("olga", "10.0.0.9") is None


def test_an_account_failing_from_many_addresses_leaves_each_new_address_one_free_failure() -> None:
    clock = Clock()
    limiter = throttle(clock, login_account_alarm_failures=6)
    fail(limiter, "olga", "203.0.113.1", 3)
    fail(limiter, "olga", "203.0.113.2", 3)
    fail(limiter, "olga", "203.0.113.3", 1)
    assert limiter.attempt("olga", "203.0.113.3") == 1.0  # was 2 free failures more before the alarm
    assert limiter.attempt("sam", "203.0.113.4") is None  # other accounts keep their free failures
    assert limiter.attempt("sam", "203.0.113.4") is None


def test_one_address_trying_many_accounts_waits_past_its_own_free_failures() -> None:
    clock = Clock()
    limiter = throttle(clock, login_free_failures_per_address=5)
    for n in range(5):
        assert limiter.attempt(f"user{n}", "203.0.113.7") is None
    assert limiter.attempt("user9", "203.0.113.7") == 1.0
    assert limiter.attempt("user9", "203.0.113.8") is None  # another address is not slowed


def test_a_success_clears_that_address_failures_for_the_account() -> None:
    clock = Clock()
    limiter = throttle(clock)
    fail(limiter, "olga", "10.0.0.9", 2)
    assert limiter.attempt("olga", "10.0.0.9") is None
    limiter.succeeded("olga", "10.0.0.9")
    fail(limiter, "olga", "10.0.0.9", 3)  # three free failures again
    assert limiter.attempt("olga", "10.0.0.9") == 1.0


def test_failures_are_forgotten_once_the_memory_passes() -> None:
    clock = Clock()
    limiter = throttle(clock, login_failure_memory_s=600)
    fail(limiter, "olga", "10.0.0.9", 3)
    clock.now += 599
    assert limiter.attempt("olga", "10.0.0.9") is None  # the 1 s wait is long over, the count is not
    assert limiter.attempt("olga", "10.0.0.9") == 2.0
    clock.now += 600
    fail(limiter, "olga", "10.0.0.9", 3)  # forgotten: three free failures again
    assert limiter.attempt("olga", "10.0.0.9") == 1.0


def test_a_flood_of_names_and_addresses_keeps_memory_bounded() -> None:
    clock = Clock()
    limiter = throttle(clock, login_free_failures_per_address=10_000)
    for n in range(3 * MAX_KEYS):
        clock.now += 0.001
        limiter.attempt(f"name{n}", f"198.51.100.{n % 200}")
    assert len(limiter) <= 2 * MAX_KEYS + 200  # pairs and accounts capped, 200 addresses


@pytest.mark.parametrize(
    ("failures", "expected"), [(0, 0.0), (2, 0.0), (3, 1.0), (4, 2.0), (8, 32.0), (10_000, 300.0)]
)
def test_delay_grows_from_the_first_wait_and_stops_at_the_cap(failures: int, expected: float) -> None:
    assert delay_s(failures, free=3, first_s=1.0, max_s=300.0) == expected


def test_kiosk_config_refuses_a_memory_shorter_than_the_longest_wait() -> None:
    with pytest.raises(ValueError, match="login_failure_memory_s"):
        KioskConfig(login_max_delay_s=600, login_failure_memory_s=300)
    with pytest.raises(ValueError, match="login_max_delay_s"):
        KioskConfig(login_first_delay_s=60, login_max_delay_s=30)
