"""Command authentication: HMAC over the exact text, the right gate, fresh, or rejected with a reason."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.commands import Command, SignedCommand, claimed_id, sign, signature, verify
from sync.contract import Rejected

KEY = "0123456789abcdef0123456789abcdef"
NOW = datetime(2025, 3, 1, 8, tzinfo=UTC)


def command(**changes: object) -> Command:
    base = Command(
        command_id=uuid.uuid4(),
        gate_id="g1",
        name="status_report",
        issuer="ops",
        issued_at=NOW,
        reason="check",
    )
    return base.model_copy(update=changes)


def check(raw: bytes, key: str | None = KEY, now: datetime = NOW) -> Command:
    return verify(raw, key, "g1", now, max_age_s=120, max_bytes=4096)


def test_signed_command_verifies_to_the_same_command() -> None:
    sent = command()
    assert check(sign(sent, KEY)) == sent


def reason_of(raw: bytes, key: str | None = KEY, now: datetime = NOW) -> str:
    with pytest.raises(Rejected) as info:
        check(raw, key, now)
    return info.value.reason


def test_command_signed_with_another_key_is_unauthenticated() -> None:
    assert reason_of(sign(command(), "another-key-another-key")) == "unauthenticated"


def test_command_text_altered_after_signing_is_unauthenticated() -> None:
    signed = SignedCommand.model_validate_json(sign(command(name="status_report"), KEY))
    forged = signed.model_copy(update={"command": signed.command.replace("status_report", "open_barrier")})
    assert reason_of(forged.model_dump_json().encode()) == "unauthenticated"


def test_command_for_another_gate_is_refused_even_when_signed() -> None:
    assert reason_of(sign(command(gate_id="g2"), KEY)) == "wrong_gate"


@pytest.mark.parametrize("offset_s", [-121, 121])
def test_command_issued_too_long_ago_or_ahead_is_stale(offset_s: int) -> None:
    assert reason_of(sign(command(issued_at=NOW + timedelta(seconds=offset_s)), KEY)) == "stale"


def test_without_a_configured_key_every_command_is_rejected() -> None:
    assert reason_of(sign(command(), KEY), key=None) == "disabled"


def test_oversized_and_malformed_commands_are_rejected_before_parsing() -> None:
    assert reason_of(b"x" * 5000) == "oversized"
    assert reason_of(b"{") == "malformed"
    assert reason_of(json.dumps({"command": "{}", "hmac_sha256": "zz"}).encode()) == "schema"


def test_validly_signed_text_that_is_not_a_command_is_a_schema_rejection() -> None:
    text = json.dumps({"name": "self_destruct"})
    raw = json.dumps({"command": text, "hmac_sha256": signature(text, KEY)}).encode()
    assert reason_of(raw) == "schema"


def test_claimed_id_is_read_from_an_unverified_message_only_for_the_ack() -> None:
    sent = command()
    assert claimed_id(sign(sent, "any-other-key-0000"), 4096) == sent.command_id
    assert claimed_id(b"garbage", 4096) is None


@given(st.binary(max_size=300))
def test_any_bytes_on_the_command_topic_are_rejected_never_executed(raw: bytes) -> None:
    with pytest.raises(Rejected):
        check(raw)
