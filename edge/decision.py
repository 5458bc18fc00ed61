"""The gate decision: match an identified, weighed vehicle to a cached cleared declaration.

Pure: no I/O and no clock read. PASS only when every rule holds.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    PASS = "PASS"  # barrier opens automatically
    HOLD = "HOLD"  # an officer must look: approve or reject at the kiosk
    REJECT = "REJECT"  # the vehicle may not exit: it must turn back


class Reason(StrEnum):
    NO_DECLARATION = "no_declaration"
    NOT_CLEARED = "not_cleared"
    RED_NOT_INSPECTED = "red_not_inspected"
    CONTAINER_MISMATCH = "container_mismatch"
    WEIGHT_OUT_OF_TOLERANCE = "weight_out_of_tolerance"
    ALREADY_EXITED = "already_exited"
    EXPIRED = "expired"
    WATCHLISTED = "watchlisted"
    LOW_CONFIDENCE = "low_confidence"
    NO_STABLE_WEIGHT = "no_stable_weight"
