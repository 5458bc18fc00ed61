"""The contract's shapes: topics from the prefix, events that validate against their schema, config rules."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sync.config import SyncConfig
from sync.contract import EventEnvelope, Rejected, decode_json, encode_event, gate_id_of, gate_topics
from sync.contract_doc import render
from sync.signing_keys import SigningKey

PREFIX = "customs/v1/gates/{gate_id}/"
gate_ids = st.from_regex(r"\A[A-Za-z0-9_.-]{1,24}\Z")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def test_topics_are_the_prefix_with_the_gate_id_and_a_fixed_suffix() -> None:
    topics = gate_topics(PREFIX, "hcm-g3")
    assert topics.events == "customs/v1/gates/hcm-g3/events"
    assert topics.commands_ack == "customs/v1/gates/hcm-g3/commands/ack"
    assert gate_topics(PREFIX, "+").status == "customs/v1/gates/+/status"


@given(gate_ids)
def test_gate_id_is_read_back_from_every_topic_of_the_gate(gate: str) -> None:
    topics = gate_topics(PREFIX, gate)
    for topic in (topics.events, topics.telemetry, topics.status, topics.commands_ack):
        assert gate_id_of(PREFIX, topic) == gate
    assert gate_id_of(PREFIX, "other/v1/gates/x/events") is None


@pytest.mark.parametrize("gate", ["a/b", "a+", "#", ""])
def test_gate_id_that_is_not_one_topic_level_is_refused(gate: str) -> None:
    with pytest.raises(ValueError, match="topic level"):
        gate_topics(PREFIX, gate)


@given(
    seq=st.integers(1, 2**62),
    prev=st.none() | st.integers(1, 2**62),
    kind=st.text(min_size=1, max_size=30),
    payload=st.dictionaries(st.text(max_size=10), json_values, max_size=5),
)
def test_hand_encoded_event_validates_against_the_envelope_model(
    seq: int, prev: int | None, kind: str, payload: dict[str, object]
) -> None:
    at = datetime(2025, 3, 1, 8, tzinfo=UTC)
    event_id = str(uuid.uuid4())
    raw = encode_event(
        event_id=event_id, gate_id="g1", seq=seq, prev_seq=prev, kind=kind, at=at, payload=payload
    )
    envelope = EventEnvelope.model_validate_json(raw)
    assert (str(envelope.event_id), envelope.seq, envelope.prev_seq, envelope.kind) == (
        event_id,
        seq,
        prev,
        kind,
    )
    assert envelope.payload == payload
    assert envelope.at == at


def test_telemetry_envelope_carries_its_expiry_for_mqtt_311_receivers() -> None:
    at = datetime(2025, 3, 1, 8, tzinfo=UTC)
    raw = encode_event(
        event_id=str(uuid.uuid4()),
        gate_id="g1",
        seq=3,
        prev_seq=None,
        kind="telemetry",
        at=at,
        payload={},
        expires_at=at + timedelta(seconds=60),
    )
    assert EventEnvelope.model_validate_json(raw).expires_at == at + timedelta(seconds=60)


@given(st.binary(max_size=200))
def test_decoding_any_bytes_gives_json_or_a_rejection_never_a_crash(raw: bytes) -> None:
    assert outcome(raw) in {"decoded", "oversized", "malformed"}


def outcome(raw: bytes) -> str:
    try:
        decode_json(raw, 100)
    except Rejected as rejected:
        return rejected.reason
    return "decoded"


def test_nested_json_deep_enough_to_overflow_the_parser_is_rejected_as_malformed() -> None:
    with pytest.raises(Rejected) as info:
        decode_json(b"[" * 100_000 + b"]" * 100_000, 1_000_000)
    assert info.value.reason == "malformed"
    assert info.value.detail == "nested deeper than 16 levels"  # said before the parser recurses


def test_brackets_inside_strings_nest_nothing() -> None:
    value = {"note": "[{" * 50 + '\\" [', "more": ["\\", "]]]"]}  # escaped quote and backslash too
    assert decode_json(json.dumps(value).encode(), 10_000) == value


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b'{"n": ' + b"9" * 5000 + b"}", "20 digits|5000 digits"),
        (b'{"n": ' + str(2**64).encode() + b"}", "20 digits"),
        (b'{"n": -' + b"9" * 20 + b"}", "20 digits"),
        (b'{"n": 1e999}', "out of range"),
        (b'{"n": NaN}', "not JSON"),
        (b'{"n": -Infinity}', "not JSON"),
        (b'{"s": "\\ud800"}', "surrogate"),
        (b'{"\\udfff": 1}', "surrogate"),
        (b'{"s": "\\ud83d\\ude00 \\uDC00"}', "surrogate"),  # a lone one after a pair, upper case
        (b'{"a": 1, "a": 2}', "twice"),
        (b"[" * 17 + b"]" * 17, "deeper"),
        (b'{"a":' * 17 + b"1" + b"}" * 17, "deeper"),
        (b"\xef\xbb\xbf{}", "not JSON"),
        (b'"\xed\xa0\x80"', "not UTF-8"),
    ],
    ids=[
        "5000-digits",
        "2**64",
        "negative-20-digits",
        "1e999",
        "NaN",
        "Infinity",
        "surrogate-value",
        "surrogate-key",
        "surrogate-after-a-pair",
        "duplicate-key",
        "deep-lists",
        "deep-objects",
        "byte-order-mark",
        "encoded-surrogate",
    ],
)
def test_hostile_but_well_formed_json_is_malformed_for_the_contract(raw: bytes, why: str) -> None:
    with pytest.raises(Rejected, match=why) as info:
        decode_json(raw, 100_000)
    assert info.value.reason == "malformed"


def test_the_largest_contract_integer_and_sixteen_levels_of_nesting_still_decode() -> None:
    assert decode_json(str(2**63 - 1).encode(), 100) == 2**63 - 1
    assert decode_json(b"[" * 16 + b"]" * 16, 100) is not None
    assert decode_json(b'["\\ud83d\\ude00", "\\\\ud800"]', 100) == ["\U0001f600", "\\ud800"]


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("customs/v1/gates/", "exactly once"),
        ("customs/v1/gates/x{gate_id}/", "exactly once"),
        ("customs/v1/gates/{gate_id}", "end with"),
        ("customs/+/{gate_id}/", "wildcards"),
    ],
)
def test_topic_prefix_must_hold_the_gate_id_as_a_whole_level(prefix: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SyncConfig(topic_prefix=prefix)


def test_command_key_shorter_than_16_characters_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 16"):
        SyncConfig.model_validate({"command_key": "short"})


def test_every_sync_setting_is_described_and_secrets_never_show_in_a_repr() -> None:
    schema = SyncConfig.model_json_schema()
    for model in [schema, *schema["$defs"].values()]:
        for name, field in model.get("properties", {}).items():
            assert field.get("description"), f"{model.get('title')}.{name} has no description"
    config = SyncConfig.model_validate(
        {"broker": {"username": "g1", "password": "hunter2-secret"}, "command_key": "k" * 32}
    )
    assert "hunter2" not in repr(config)
    assert "kkkk" not in repr(config)
    assert "hunter2" not in json.dumps(config.model_dump(mode="json"))


def test_clearance_keys_must_be_ed25519_public_keys_with_distinct_ids() -> None:
    good = {"key_id": "central-a", "public_key": SigningKey.generate("central-a").public_text}
    assert SyncConfig.model_validate({"clearance_keys": [good]}).trusted_clearance_keys().keys() == {
        "central-a"
    }
    with pytest.raises(ValidationError, match="base64 of 32 bytes"):
        SyncConfig.model_validate({"clearance_keys": [{**good, "public_key": "c2hvcnQ="}]})
    with pytest.raises(ValidationError, match="appears twice"):
        SyncConfig.model_validate({"clearance_keys": [good, good]})
    with pytest.raises(ValidationError, match="key_id"):
        SyncConfig.model_validate({"clearance_keys": [{**good, "key_id": "../etc"}]})


def test_sync_config_forbids_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        SyncConfig.model_validate({"broker": {"hots": "x"}})


def test_docs_mqtt_md_is_the_contract_rendered_from_the_models() -> None:
    shipped = Path(__file__).resolve().parents[2] / "docs" / "mqtt.md"
    assert shipped.read_text() == render(), "regenerate: python -m sync.contract_doc > docs/mqtt.md"
