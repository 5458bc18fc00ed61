"""The clearance feed rules: validation, idempotence by version, and out-of-order deltas refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.clearances import (
    AlreadyApplied,
    Apply,
    ClearanceDelta,
    ClearanceSnapshot,
    parse_clearance,
    plan,
)
from sync.contract import Rejected

AT = "2025-03-01T08:00:00+00:00"


def declaration(number: str = "D1", version: int = 1, status: str = "cleared") -> dict[str, Any]:
    return {
        "number": number,
        "version": version,
        "status": status,
        "channel": "green",
        "plates": ["51C12345"],
        "valid_from": "2025-03-01T00:00:00+00:00",
        "valid_until": "2025-03-31T00:00:00+00:00",
    }


def snapshot(version: int, *decls: dict[str, Any], gate: str = "g1") -> dict[str, Any]:
    return {
        "type": "snapshot",
        "gate_id": gate,
        "feed_version": version,
        "issued_at": AT,
        "declarations": decls,
    }


def delta(
    base: int, version: int, *upserts: dict[str, Any], removals: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "type": "delta",
        "gate_id": "g1",
        "feed_version": version,
        "base_version": base,
        "issued_at": AT,
        "upserts": upserts,
        "removals": removals,
    }


def parse(message: dict[str, Any], max_bytes: int = 100_000) -> ClearanceSnapshot | ClearanceDelta:
    return parse_clearance(json.dumps(message).encode(), "g1", max_bytes)


@pytest.mark.parametrize(
    ("message", "current", "expected"),
    [
        (snapshot(1, declaration()), 0, "apply"),
        (snapshot(3), 5, "already"),
        (snapshot(5), 5, "already"),
        (delta(0, 1, declaration()), 0, "apply"),
        (delta(4, 5, declaration()), 4, "apply"),
        (delta(4, 5, declaration()), 5, "already"),
        (delta(2, 3, declaration()), 7, "already"),
        (delta(5, 6, declaration()), 4, "out_of_order"),
        (delta(3, 6, declaration()), 4, "out_of_order"),
    ],
)
def test_feed_plan_by_cached_version(message: dict[str, Any], current: int, expected: str) -> None:
    parsed = parse(message)
    if expected == "out_of_order":
        with pytest.raises(Rejected) as info:
            plan(parsed, current)
        assert info.value.reason == "out_of_order"
        return
    step = plan(parsed, current)
    assert isinstance(step, Apply if expected == "apply" else AlreadyApplied)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "malformed"),
        (b"\xff\xfe", "malformed"),
        (json.dumps(snapshot(1, declaration())).encode() + b" " * 2000, "oversized"),
        (json.dumps({"type": "snapshot"}).encode(), "schema"),
        (json.dumps(snapshot(1, declaration(), gate="g2")).encode(), "wrong_gate"),
        (json.dumps(snapshot(1, declaration(), declaration())).encode(), "schema"),
        (json.dumps(delta(3, 3, declaration())).encode(), "schema"),
        (json.dumps(snapshot(1, {**declaration(), "plates": ["51c-123"]})).encode(), "schema"),
        (json.dumps(snapshot(1, {**declaration(), "valid_from": "2025-03-01T00:00:00"})).encode(), "schema"),
        (json.dumps(snapshot(1, {**declaration(), "extra": 1})).encode(), "schema"),
    ],
)
def test_bad_feed_messages_are_rejected_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(Rejected) as info:
        parse_clearance(raw, "g1", 1000)
    assert info.value.reason == reason


def test_revocation_is_a_newer_version_of_the_declaration() -> None:
    message = parse(delta(1, 2, declaration(version=2, status="revoked")))
    assert isinstance(message, ClearanceDelta)
    assert message.upserts[0].status == "revoked"
    assert isinstance(plan(message, 1), Apply)


@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_inbound_bytes_parse_or_are_rejected_never_crash(raw: bytes) -> None:
    assert outcome(raw) in {"parsed", "oversized", "malformed", "schema", "wrong_gate"}


def outcome(raw: bytes) -> str:
    try:
        parse_clearance(raw, "g1", 250)
    except Rejected as rejected:
        return rejected.reason
    return "parsed"


def test_datetimes_in_a_parsed_declaration_are_timezone_aware() -> None:
    message = parse(snapshot(1, declaration()))
    assert isinstance(message, ClearanceSnapshot)
    assert message.declarations[0].valid_from == datetime(2025, 3, 1, tzinfo=UTC)


def test_snapshot_at_the_cached_version_is_applied_again_only_when_the_gate_asked_for_one() -> None:
    message = parse(snapshot(5, declaration()))
    assert isinstance(plan(message, 5), AlreadyApplied)
    assert isinstance(plan(message, 5, resync=True), Apply)
    assert isinstance(plan(parse(snapshot(4, declaration())), 5, resync=True), AlreadyApplied)
