"""Failed logins make further attempts wait; nothing ever locks an account.

A hard lockout is a lock the attacker holds: five wrong guesses from anywhere kept the real officer out
for five minutes. Here each failure makes the next attempt wait (1 s by default, doubling, up to a cap):
- per account and address: an officer's own mistakes slow down only their own address;
- per address: one address guessing across many accounts;
- per account, from all addresses: past an alarm count the account has one free failure per address,
  so an attack spread over many addresses meets delays at once. Nobody ever waits for another
  address's failures, so the officer at their own kiosk still gets in at the first try.
An attempt is charged as a failure when it starts (parallel guesses cannot all slip in before the first
answer) and refunded when it succeeds. Unknown and known names are counted alike, so the answers do not
tell which accounts exist. Counts live in memory: a restart forgets them, and nothing is written to disk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("webauth.login")

MAX_KEYS = 10_000  # per tally: a flood of names or addresses must not grow memory without bound


def delay_s(failures: int, free: int, first_s: float, max_s: float) -> float:
    """How long after the last failure the next attempt waits: nothing below `free`, then `first_s`,
    doubling with each failure, never more than `max_s`."""
    if failures < free:
        return 0.0
    return min(max_s, first_s * 2.0 ** min(failures - free, 40))


@dataclass(slots=True)
class _Failures:
    count: int
    last: float


class _Tally:
    """Failures by key, forgotten `memory_s` after the latest."""

    def __init__(self, memory_s: float) -> None:
        self._memory_s = memory_s
        self._by_key: dict[Hashable, _Failures] = {}

    def get(self, key: Hashable, now: float) -> _Failures | None:
        failures = self._by_key.get(key)
        if failures is not None and now - failures.last >= self._memory_s:
            del self._by_key[key]
            return None
        return failures

    def count(self, key: Hashable, now: float) -> int:
        failures = self.get(key, now)
        return 0 if failures is None else failures.count

    def charge(self, key: Hashable, now: float) -> int:
        """Count one more failure for `key`; returns its count."""
        failures = self.get(key, now)
        if failures is None:
            self._bound(now)
            failures = self._by_key[key] = _Failures(0, now)
        failures.count += 1
        failures.last = now
        return failures.count

    def refund(self, key: Hashable) -> None:
        failures = self._by_key.get(key)
        if failures is not None:
            failures.count = max(0, failures.count - 1)

    def clear(self, key: Hashable) -> None:
        self._by_key.pop(key, None)

    def __len__(self) -> int:
        return len(self._by_key)

    def _bound(self, now: float) -> None:
        if len(self._by_key) < MAX_KEYS:
            return
        live = {k: f for k, f in self._by_key.items() if now - f.last < self._memory_s}
        if len(live) > MAX_KEYS // 2:  # still flooded: keep the most recent half
            newest = sorted(live.items(), key=lambda item: item[1].last)[-(MAX_KEYS // 2) :]
            live = dict(newest)
        self._by_key = live


class ThrottleRules(Protocol):
    """The throttle's settings, as the kiosk's and central's configurations name them."""

    @property
    def login_free_failures(self) -> int: ...
    @property
    def login_free_failures_per_address(self) -> int: ...
    @property
    def login_account_alarm_failures(self) -> int: ...
    @property
    def login_first_delay_s(self) -> float: ...
    @property
    def login_max_delay_s(self) -> float: ...
    @property
    def login_failure_memory_s(self) -> float: ...


class LoginThrottle:
    """The three tallies of failed logins and the wait they impose on the next attempt."""

    def __init__(self, config: ThrottleRules, clock: Callable[[], float]) -> None:
        self._config = config
        self._clock = clock
        self._pairs = _Tally(config.login_failure_memory_s)
        self._addresses = _Tally(config.login_failure_memory_s)
        self._accounts = _Tally(config.login_failure_memory_s)

    def attempt(self, name: str, address: str) -> float | None:
        """Start a login: None if it may go on (charged as a failure until `succeeded`), else the wait."""
        cfg = self._config
        now = self._clock()
        alarmed = self._accounts.count(name, now) >= cfg.login_account_alarm_failures
        wait = max(
            self._wait(self._pairs, (name, address), 1 if alarmed else cfg.login_free_failures, now),
            self._wait(self._addresses, address, cfg.login_free_failures_per_address, now),
        )
        if wait > 0:
            return wait
        self._pairs.charge((name, address), now)
        self._addresses.charge(address, now)
        if self._accounts.charge(name, now) == cfg.login_account_alarm_failures:
            log.warning(
                "%d failed logins for %r from all addresses: each address now waits after its first failure",
                cfg.login_account_alarm_failures,
                name,
            )
        return None

    def succeeded(self, name: str, address: str) -> None:
        """The attempt from `attempt` was right: forget this address's failures for the account."""
        self._pairs.clear((name, address))
        self._addresses.refund(address)
        self._accounts.refund(name)

    def __len__(self) -> int:
        """Keys tracked, all tallies together (bounded by 3 x MAX_KEYS)."""
        return len(self._pairs) + len(self._addresses) + len(self._accounts)

    def _wait(self, tally: _Tally, key: Hashable, free: int, now: float) -> float:
        failures = tally.get(key, now)
        if failures is None:
            return 0.0
        cfg = self._config
        delay = delay_s(failures.count, free, cfg.login_first_delay_s, cfg.login_max_delay_s)
        return max(0.0, failures.last + delay - now)
