"""JSON lines for journald: each parses, transactions carry their id, secrets never get out."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from edge.decision import Decision, Outcome, Reason
from edge.logs import (
    MASK,
    LoggingConfig,
    configure_logging,
    is_secret_name,
    log_transaction,
    redact_text,
    stream_is_journal,
    tx_extra,
    unconfigure_logging,
)
from vision.identity import Identification, Read, ReadKind

SECRETS = (
    "hunter2",
    "s3cr3t-t0ken",
    "AKIA-EXAMPLE-KEY",
    "pw-in-url",
    "eyJhbGciOiJI.eyJzdWIiOiIx.c2lnbmF0dXJl",
)


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    """The daemon's stdout, as journald would read it; the handler is removed afterwards."""
    stream = io.StringIO()
    configure_logging(LoggingConfig(format="json"), stream=stream)
    yield stream
    unconfigure_logging()


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_line_is_one_json_object_with_time_level_logger_and_message(out: io.StringIO) -> None:
    log = logging.getLogger("devices.modbus_io")
    log.warning("lane I/O link down: %s", "no answer\nwithin 0.5 s", extra={"endpoint": "tcp 10.0.0.5:502"})
    try:
        raise TimeoutError("poll timed out")
    except TimeoutError:
        log.exception("poll failed")

    first, second = lines(out)
    assert first["level"] == "WARNING"
    assert first["logger"] == "devices.modbus_io"
    assert first["msg"] == "lane I/O link down: no answer\nwithin 0.5 s"
    assert first["endpoint"] == "tcp 10.0.0.5:502"
    assert first["ts"].endswith("+00:00")
    assert "TimeoutError: poll timed out" in second["exc"]
    assert len(out.getvalue().splitlines()) == 2  # the traceback stays inside its line


def test_a_transaction_ends_in_one_line_with_its_id_decision_and_reads(out: io.StringIO) -> None:
    decision = Decision(
        Outcome.HOLD,
        (Reason.LOW_CONFIDENCE, Reason.NO_STABLE_WEIGHT),
        "105000000001",
        ("plate read uncertain", "no stable weight"),
    )
    ident = Identification(
        plate=Read(ReadKind.PLATE, "51C12345", 0.61, valid=True),
        containers=(Read(ReadKind.CONTAINER, "MSKU3866036", 0.95, valid=True),),
    )

    log_transaction(
        "tx-7f3a", "passed", decision=decision, identification=ident, weight_kg=13780.04, duration_s=41.2
    )

    (line,) = lines(out)
    assert line["tx_id"] == "tx-7f3a"
    assert line["logger"] == "edge.transactions"
    assert line["event"] == "transaction"
    assert line["result"] == "passed"
    assert line["decision"] == "HOLD"
    assert line["reasons"] == ["low_confidence", "no_stable_weight"]
    assert line["declaration"] == "105000000001"
    assert line["plate"] == "51C12345"
    assert line["containers"] == ["MSKU3866036"]
    assert line["weight_kg"] == 13780.0
    assert line["msg"] == "transaction tx-7f3a passed, decision HOLD (low_confidence, no_stable_weight)"


def test_other_lines_about_a_transaction_carry_its_id(out: io.StringIO) -> None:
    logging.getLogger("edge.daemon").error("barrier open failed", extra=tx_extra("tx-1", coil="barrier_open"))
    logging.getLogger("edge.daemon").info("no transaction here", extra=tx_extra(None))

    tagged, untagged = lines(out)
    assert tagged["tx_id"] == "tx-1"
    assert tagged["coil"] == "barrier_open"
    assert "tx_id" not in untagged


def test_no_secret_reaches_the_output_whichever_way_it_is_logged(out: io.StringIO) -> None:
    log = logging.getLogger("sync.client")
    log.info("connecting with password=%s", "hunter2")
    log.info("broker url mqtts://gate:pw-in-url@broker.customs.example:8883")
    log.info("login", extra={"mqtt_password": "hunter2", "apiKey": "AKIA-EXAMPLE-KEY", "user": "gate-3"})
    log.info("headers %s", {"Authorization": "Bearer s3cr3t-t0ken", "Accept": "json"})
    log.info("config", extra={"sync": {"broker": {"host": "b", "password": "hunter2"}, "tokens": ["x"]}})
    log.info("session cookie %s", "eyJhbGciOiJI.eyJzdWIiOiIx.c2lnbmF0dXJl")
    try:
        raise ConnectionError("auth failed for token=s3cr3t-t0ken")
    except ConnectionError:
        log.exception("connect failed")

    text = out.getvalue()
    for secret in SECRETS:
        assert secret not in text
    parsed = lines(out)
    assert parsed[2]["user"] == "gate-3"  # ordinary fields stay
    assert parsed[2]["mqtt_password"] == MASK
    assert parsed[4]["sync"]["broker"] == {"host": "b", "password": MASK}
    assert "broker.customs.example:8883" in parsed[1]["msg"]


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True),
        ("mqtt_password", True),
        ("apiKey", True),
        ("secret_key", True),
        ("Token", True),
        ("private-key", True),
        ("client_secret", True),
        ("key", True),
        ("tx_id", False),
        ("keyboard", False),
        ("device", False),
        ("endpoint", False),
        ("port", False),
    ],
)
def test_field_names_that_hold_secrets_are_recognised(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_private_keys_and_password_hashes_in_text_are_masked() -> None:
    pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----"
    argon = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"

    assert "MHcCAQEEIB" not in redact_text(f"loaded {pem} ok")
    assert redact_text(f"hash {argon} stored") == "hash *** stored"


def test_subsystem_levels_apply_and_a_new_config_resets_the_old_ones(out: io.StringIO) -> None:
    configure_logging(
        LoggingConfig(format="json", level="WARNING", levels={"devices.modbus_io": "DEBUG"}), stream=out
    )
    logging.getLogger("devices.modbus_io").debug("poll detail")
    logging.getLogger("edge.daemon").info("hidden at WARNING")
    logging.getLogger("pymodbus").info("hidden: not configured any more, root is WARNING")

    assert [line["msg"] for line in lines(out)] == ["poll detail"]
    configure_logging(LoggingConfig(format="json"), stream=out)
    assert logging.getLogger("devices.modbus_io").level == logging.NOTSET
    assert logging.getLogger("pymodbus").level == logging.ERROR


def test_command_line_format_and_level_override_the_config(out: io.StringIO) -> None:
    configure_logging(LoggingConfig(format="json", level="ERROR"), fmt="text", level="info", stream=out)
    logging.getLogger("edge.daemon").info("lane up", extra=tx_extra("tx-9"))

    line = out.getvalue().strip()
    assert line.endswith("INFO edge.daemon: lane up [tx tx-9]")


def test_lines_get_a_syslog_priority_prefix_only_when_stdout_is_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (tmp_path / "journal").open("w+") as stream:
        st = os.fstat(stream.fileno())
        assert not stream_is_journal(stream, {})
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
        configure_logging(LoggingConfig(format="json"), stream=stream)
        try:
            logging.getLogger("edge.daemon").warning("scale fault")
        finally:
            unconfigure_logging()
        stream.seek(0)
        line = stream.read().strip()

    assert line.startswith("<4>{")
    assert json.loads(line[3:])["msg"] == "scale fault"


def test_logging_config_names_a_bad_key_or_level() -> None:
    with pytest.raises(ValidationError, match="colour"):
        LoggingConfig.model_validate({"colour": True})
    with pytest.raises(ValidationError, match="levels"):
        LoggingConfig.model_validate({"levels": {"devices": "LOUD"}})
    with pytest.raises(ValidationError, match="not logger names"):
        LoggingConfig.model_validate({"levels": {"bad name": "INFO"}})


def test_every_logging_setting_is_described_for_the_example_config() -> None:
    for name, field in LoggingConfig.model_fields.items():
        assert field.description, name
