"""The clearance feed rules: signatures, validation, idempotence, replays and jumps, out-of-order deltas."""

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
    FeedRules,
    SignedClearance,
    parse_clearance,
    plan,
)
from sync.contract import Rejected
from sync.feed_signature import sign_feed_body
from sync.signing_keys import SigningKey
from tests.sync.conftest import FEED_KEY

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


def rules(max_bytes: int = 100_000, *keys: SigningKey) -> FeedRules:
    trusted = {k.key_id: k.private.public_key() for k in (keys or (FEED_KEY,))}
    return FeedRules("g1", max_bytes, trusted, max_version_jump=1000)


def signed(message: dict[str, Any], key: SigningKey = FEED_KEY) -> bytes:
    return sign_feed_body(message, key)


def parse_signed(message: dict[str, Any], max_bytes: int = 100_000) -> SignedClearance:
    return parse_clearance(signed(message), rules(max_bytes))


def parse(message: dict[str, Any], max_bytes: int = 100_000) -> ClearanceSnapshot | ClearanceDelta:
    return parse_signed(message, max_bytes).message


def plan_for(message: dict[str, Any], current: int, resync: bool = False) -> Apply | AlreadyApplied:
    return plan(parse_signed(message), current, "digest-of-another-message", 1000, resync)


@pytest.mark.parametrize(
    ("message", "current", "expected"),
    [
        (snapshot(1, declaration()), 0, "apply"),
        (snapshot(5), 5, "already"),
        (delta(0, 1, declaration()), 0, "apply"),
        (delta(4, 5, declaration()), 4, "apply"),
        (delta(5, 6, declaration()), 4, "out_of_order"),
        (delta(3, 6, declaration()), 4, "out_of_order"),
        # replays: an older version, or another delta at the cached version
        (snapshot(3), 5, "replayed"),
        (delta(4, 5, declaration()), 5, "replayed"),
        (delta(2, 3, declaration()), 7, "replayed"),
        # jumps past the bound (1000 here); only a first snapshot into an empty cache may set any version
        (delta(4, 1005, declaration()), 4, "version_jump"),
        (snapshot(1006), 5, "version_jump"),
        (snapshot(2**62), 0, "apply"),
        (delta(0, 2**62, declaration()), 0, "version_jump"),
    ],
)
def test_feed_plan_by_cached_version(message: dict[str, Any], current: int, expected: str) -> None:
    if expected not in {"apply", "already"}:
        with pytest.raises(Rejected) as info:
            plan_for(message, current)
        assert info.value.reason == expected
        return
    step = plan_for(message, current)
    assert isinstance(step, Apply if expected == "apply" else AlreadyApplied)


def test_the_same_message_again_is_already_applied_not_a_replay() -> None:
    again = parse_signed(delta(4, 5, declaration()))
    assert isinstance(plan(again, 5, again.digest, 1000), AlreadyApplied)
    other = parse_signed(delta(4, 5, declaration(version=2)))
    with pytest.raises(Rejected, match="replayed"):
        plan(other, 5, again.digest, 1000)


def test_a_snapshot_the_gate_asked_for_may_jump_any_distance_but_never_back() -> None:
    assert isinstance(plan_for(snapshot(2**62, declaration()), 5, resync=True), Apply)
    with pytest.raises(Rejected, match="replayed"):
        plan_for(snapshot(4, declaration()), 5, resync=True)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "malformed"),
        (b"\xff\xfe", "malformed"),
        (signed(snapshot(1, declaration())) + b" " * 2000, "oversized"),
        (json.dumps(snapshot(1, declaration())).encode(), "unauthenticated"),
        (signed(snapshot(1, declaration()), SigningKey.generate("test-central")), "unauthenticated"),
        (signed(snapshot(1, declaration()), SigningKey.generate("someone-else")), "unauthenticated"),
        (signed({"type": "snapshot"}), "schema"),
        (signed(snapshot(1, declaration(), gate="g2")), "wrong_gate"),
        (signed(snapshot(1, declaration(), declaration())), "schema"),
        (signed(delta(3, 3, declaration())), "schema"),
        (signed(snapshot(1, {**declaration(), "plates": ["51c-123"]})), "schema"),
        (signed(snapshot(1, {**declaration(), "valid_from": "2025-03-01T00:00:00"})), "schema"),
        (signed(snapshot(1, {**declaration(), "extra": 1})), "schema"),
        (signed(snapshot(2**63, declaration())), "schema"),
        (signed(delta(1, 2, declaration(version=2**64))), "malformed"),  # 20 digits: refused unread
        (signed(delta(2**63 - 1, 2**63, declaration())), "schema"),
    ],
)
def test_bad_feed_messages_are_rejected_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(Rejected) as info:
        parse_clearance(raw, rules(1000))
    assert info.value.reason == reason


def test_a_message_altered_after_signing_is_unauthenticated() -> None:
    message = json.loads(signed(delta(1, 2, declaration(version=2, status="revoked"))))
    message["upserts"][0]["status"] = "cleared"
    with pytest.raises(Rejected, match="unauthenticated"):
        parse_clearance(json.dumps(message).encode(), rules())


def test_the_signature_covers_the_content_not_the_layout() -> None:
    message = json.loads(signed(snapshot(1, declaration())))
    spaced = json.dumps(dict(reversed(list(message.items()))), indent=2).encode()
    assert parse_clearance(spaced, rules()).message == parse(snapshot(1, declaration()))


def test_without_trusted_keys_every_clearance_is_rejected() -> None:
    with pytest.raises(Rejected) as info:
        parse_clearance(signed(snapshot(1, declaration())), FeedRules("g1", 100_000, {}, 1000))
    assert info.value.reason == "disabled"


def test_a_rotated_key_verifies_beside_the_old_one_until_the_old_one_is_removed() -> None:
    new = SigningKey.generate("central-next")
    both = rules(100_000, FEED_KEY, new)
    assert parse_clearance(signed(snapshot(1), FEED_KEY), both).key_id == FEED_KEY.key_id
    assert parse_clearance(signed(snapshot(1), new), both).key_id == "central-next"
    with pytest.raises(Rejected, match="does not trust"):
        parse_clearance(signed(snapshot(1), FEED_KEY), rules(100_000, new))


def test_revocation_is_a_newer_version_of_the_declaration() -> None:
    message = parse(delta(1, 2, declaration(version=2, status="revoked")))
    assert isinstance(message, ClearanceDelta)
    assert message.upserts[0].status == "revoked"
    assert isinstance(plan_for(delta(1, 2, declaration(version=2, status="revoked")), 1), Apply)


@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_inbound_bytes_parse_or_are_rejected_never_crash(raw: bytes) -> None:
    assert outcome(raw) in {"oversized", "malformed", "schema", "unauthenticated"}


def outcome(raw: bytes) -> str:
    try:
        parse_clearance(raw, rules(250))
    except Rejected as rejected:
        return rejected.reason
    return "parsed"


def test_datetimes_in_a_parsed_declaration_are_timezone_aware() -> None:
    message = parse(snapshot(1, declaration()))
    assert isinstance(message, ClearanceSnapshot)
    assert message.declarations[0].valid_from == datetime(2025, 3, 1, tzinfo=UTC)


def test_snapshot_at_the_cached_version_is_applied_again_only_when_the_gate_asked_for_one() -> None:
    assert isinstance(plan_for(snapshot(5, declaration()), 5), AlreadyApplied)
    assert isinstance(plan_for(snapshot(5, declaration()), 5, resync=True), Apply)
