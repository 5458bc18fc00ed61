"""Which gate events are exits, the confirmations they make, the body's schema, settings and answers."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from central.confirm_delivery import classify, signed_headers
from central.confirm_settings import ConfirmationSettings
from central.confirmations import ExitConfirmation, confirmations_of, json_schema
from central.store_sqlite import SqliteCentralStore
from sync.contract import EventEnvelope, encode_event
from sync.signing_keys import verify_signature, write_private_key
from tests.central.confirm_events import AT, ended, owed
from tests.sync.conftest import FEED_KEY, REPO, run_module


def envelope(raw: bytes) -> EventEnvelope:
    return EventEnvelope.model_validate_json(raw)


def test_an_exit_makes_one_confirmation_per_declaration_under_an_id_any_instance_derives_alike() -> None:
    event_id = str(uuid.uuid4())
    exits = [("D1", "MSCU1234565"), ("D1", "TGHU0000001"), ("D2", "")]
    raw = ended(7, exits, event_id=event_id)
    first, again = confirmations_of(envelope(raw)), confirmations_of(envelope(raw))
    assert [c.declaration_number for c in first] == ["D1", "D2"]
    assert [c.containers for c in first] == [["MSCU1234565", "TGHU0000001"], []]
    assert {str(c.confirmation_id) for c in first} == owed(event_id, exits)
    assert [c.body() for c in first] == [c.body() for c in again]  # same id, same bytes, wherever made
    d1 = first[0]
    assert (d1.gate_id, d1.lane_id, d1.tx_id, d1.plate, d1.result) == (
        "g1",
        "lane-1",
        "tx-7",
        "51C12345",
        "passed",
    )
    assert (d1.exited_at, d1.event_seq, str(d1.event_id)) == (AT, 7, event_id)
    other = confirmations_of(envelope(ended(7, exits)))  # another passage (another event): other ids
    assert not {c.confirmation_id for c in other} & {c.confirmation_id for c in first}


def test_an_unconfirmed_passage_is_confirmed_and_says_so() -> None:
    [made] = confirmations_of(envelope(ended(3, [("D9", "")], result="unconfirmed", plate=None)))
    assert (made.result, made.plate, made.containers) == ("unconfirmed", None, [])


def test_a_malformed_description_is_left_out_but_the_exit_is_still_confirmed() -> None:
    raw = encode_event(
        event_id=str(uuid.uuid4()),
        gate_id="g1",
        seq=4,
        prev_seq=3,
        kind="transaction.ended",
        at=AT,
        payload={"result": "passed", "exits": [["D1", ""]], "plate": 51, "tx_id": ["x"]},
    )
    [made] = confirmations_of(envelope(raw))
    assert (made.declaration_number, made.plate, made.tx_id, made.lane_id) == ("D1", None, None, None)


@pytest.mark.parametrize(
    "raw",
    [
        ended(1, [("D1", "")], result="rejected"),
        ended(1, [("D1", "")], result="left"),
        ended(1, [], result="passed"),  # passed without a declaration (an officer's manual opening)
        encode_event(
            event_id=str(uuid.uuid4()),
            gate_id="g1",
            seq=1,
            prev_seq=None,
            kind="transaction.ended",
            at=AT,
            payload={"result": "passed", "exits": "D1"},  # malformed: made nothing, raised nothing
        ),
        encode_event(
            event_id=str(uuid.uuid4()),
            gate_id="g1",
            seq=1,
            prev_seq=None,
            kind="transaction.decision",
            at=AT,
            payload={"result": "passed", "exits": [["D1", ""]]},
        ),
    ],
    ids=["rejected", "left", "no-declaration", "malformed", "not-an-exit-event"],
)
def test_events_that_record_no_exit_make_no_confirmation(raw: bytes) -> None:
    assert confirmations_of(envelope(raw)) == []


def test_the_schema_file_is_the_body_model_s_schema_and_a_body_validates() -> None:
    on_disk = json.loads((REPO / "docs" / "confirmation.schema.json").read_text(encoding="utf-8"))
    assert on_disk == json_schema(), "regenerate docs/confirmation.schema.json from central.confirmations"
    [made] = confirmations_of(envelope(ended(2, [("D1", "MSCU1234565")])))
    assert ExitConfirmation.model_validate_json(made.body()) == made
    assert set(json.loads(made.body())) == set(on_disk["required"]) == set(on_disk["properties"])


def test_the_signature_covers_the_exact_body_and_the_idempotency_key_is_the_id() -> None:
    [made] = confirmations_of(envelope(ended(2, [("D1", "")])))
    body = made.body()
    headers = signed_headers(body, FEED_KEY, str(made.confirmation_id))
    public = FEED_KEY.private.public_key()
    assert headers["Idempotency-Key"] == str(made.confirmation_id)
    assert headers["X-Signature-Key-Id"] == FEED_KEY.key_id
    assert verify_signature(public, headers["X-Signature-Ed25519"], body)
    assert not verify_signature(public, headers["X-Signature-Ed25519"], body.replace(b"D1", b"D2"))


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, "acknowledged"),
        (201, "acknowledged"),
        (204, "acknowledged"),
        (400, "rejected"),
        (401, "rejected"),
        (422, "rejected"),
        (408, "retry"),
        (429, "retry"),
        (302, "retry"),
        (500, "retry"),
        (503, "retry"),
    ],
)
def test_2xx_acknowledges_4xx_rejects_but_408_and_429_and_the_rest_are_retried(
    status: int, kind: str
) -> None:
    assert classify(status, "", None, 300).kind == kind


def test_retry_after_is_honoured_up_to_the_longest_wait() -> None:
    assert classify(429, "", "30", 300).retry_after_s == 30
    assert classify(503, "", "86400", 300).retry_after_s == 300
    assert classify(503, "", "Wed, 21 Oct 2015 07:28:00 GMT", 300).retry_after_s is None


def test_settings_take_https_and_refuse_plain_http_unless_allowed(tmp_path: Path) -> None:
    assert ConfirmationSettings(endpoint="https://customs.example/confirmations").timeout_s == 10
    assert ConfirmationSettings(endpoint="http://127.0.0.1:8080/c", allow_http=True).allow_http
    with pytest.raises(ValidationError, match="plain http"):
        ConfirmationSettings(endpoint="http://customs.example/c")
    with pytest.raises(ValidationError, match="user name or password"):
        ConfirmationSettings(endpoint="https://u:secret@customs.example/c")
    with pytest.raises(ValidationError, match="retry_max_s"):
        ConfirmationSettings(endpoint="https://customs.example/c", retry_min_s=10, retry_max_s=1)
    with pytest.raises(ValidationError, match="no such file"):
        ConfirmationSettings(endpoint="https://customs.example/c", ca_file=tmp_path / "missing.pem")


def test_run_names_the_bad_confirmation_option_without_a_traceback(tmp_path: Path) -> None:
    db = tmp_path / "central.db"
    unsigned = run_module(
        "central", "run", "--create", "--db", str(db), "--confirm-url", "https://x.example/"
    )
    assert unsigned.returncode != 0
    assert "--confirm-url: confirmations are signed; pass --signing-key" in unsigned.stderr
    key = tmp_path / "central.key"
    write_private_key(FEED_KEY, key)
    plain = run_module(
        "central", "run", "--create", "--db", str(db), "--signing-key", str(key),
        "--confirm-url", "http://x.example/",
    )  # fmt: skip
    assert plain.returncode != 0
    assert "--confirm-url: endpoint 'http://x.example/' is plain http" in plain.stderr
    wrong = run_module(
        "central", "run", "--create", "--db", str(db), "--signing-key", str(key),
        "--confirm-url", "ftp://x.example/", "--confirm-timeout", "0",
    )  # fmt: skip
    assert "--confirm-url: 'ftp://x.example/' is not an http(s) URL" in wrong.stderr
    assert "--confirm-timeout: Input should be greater than 0" in wrong.stderr
    assert "Traceback" not in unsigned.stderr + plain.stderr + wrong.stderr
    assert not db.exists()  # refused before any database was made


def test_the_listing_tells_per_declaration_what_has_exited_and_never_creates_a_database(
    tmp_path: Path,
) -> None:
    db = tmp_path / "central.db"
    store = SqliteCentralStore(db)
    for seq, exits in enumerate(
        ([("D1", "MSCU1234565")], [("D1", "TGHU0000001"), ("D2", "")], [("D3", "")]), start=1
    ):
        assert store.store_event(envelope(ended(seq, exits)), "{}", "central-1", AT)
    store.close()
    listed = run_module("central", "confirmations", "--db", str(db), "--declaration", "D1", "--json")
    assert listed.returncode == 0, listed.stderr
    shown = json.loads(listed.stdout)
    passages = sorted(r["body"]["containers"] for r in shown["confirmations"])  # two trucks of D1
    assert passages == [["MSCU1234565"], ["TGHU0000001"]]
    assert shown["counts"] == {"pending": 4, "delivered": 0, "rejected": 0}
    missing = run_module("central", "confirmations", "--db", str(tmp_path / "nope.db"))
    assert missing.returncode == 1
    assert "no such database" in missing.stderr
    assert not (tmp_path / "nope.db").exists()


def test_a_database_from_before_confirmations_is_said_so_and_gets_the_table_when_central_opens_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "central.db"
    SqliteCentralStore(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE confirmations")
    conn.close()
    old = run_module("central", "confirmations", "--db", str(db))
    assert old.returncode == 1
    assert "cannot read the confirmations" in old.stderr
    assert "gets their table when `gate-central run` next opens it" in old.stderr
    assert "Traceback" not in old.stderr
    SqliteCentralStore(db, mode="open").close()  # as `gate-central run` opens it
    assert run_module("central", "confirmations", "--db", str(db)).returncode == 0
