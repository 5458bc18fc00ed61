"""Exit confirmations reach a real HTTP receiver through its outages and central's restarts, once per id.

Events travel as in production: published to the real Mosquitto, received by central, stored in SQLite or
the real PostgreSQL; central's delivery thread POSTs each confirmation to the test receiver, which checks
the signature and de-duplicates on the id.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from central.confirm_settings import ConfirmationSettings
from central.receiver import Central
from central.settings import CentralSettings
from sync.contract import gate_topics
from sync.signing_keys import write_private_key
from tests.central.central_db import Database, open_database
from tests.central.confirm_events import ended, owed
from tests.central.confirm_receiver import ConfirmationReceiver
from tests.sync.broker import Mosquitto
from tests.sync.conftest import FEED_KEY, REPO, broker_config, run_module, wait_for
from tests.sync.observer import Observer
from tests.sync.tls import make_pki

EVENTS = gate_topics("customs/v1/gates/{gate_id}/", "g1").events
TRUSTED = {FEED_KEY.key_id: FEED_KEY.private.public_key()}
FAST = {"timeout_s": 3.0, "retry_min_s": 0.05, "retry_max_s": 0.4, "poll_s": 0.2}


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from open_database(request.param, tmp_path)


@pytest.fixture
def receiver() -> Iterator[ConfirmationReceiver]:
    server = ConfirmationReceiver(TRUSTED).start()
    yield server
    server.stop()


def states(database: Database) -> dict[str, int]:
    return {
        str(s): int(n) for s, n in database.rows("SELECT state, COUNT(*) FROM confirmations GROUP BY state")
    }


class Centrals:
    """In-process central instances on one database, delivering to ``url``; all stopped at the end."""

    def __init__(self, broker: Mosquitto, database: Database, url: str, allow_http: bool = True) -> None:
        self.broker, self.database, self.url, self.allow_http = broker, database, url, allow_http
        self.ca_file: Path | None = None
        self.running: list[Central] = []

    def start(self, name: str = "central-1") -> Central:
        settings = CentralSettings(
            broker=broker_config(self.broker),
            name=name,
            signing_key=FEED_KEY,
            confirmations=ConfirmationSettings(
                endpoint=self.url, allow_http=self.allow_http, ca_file=self.ca_file, **FAST
            ),
            **self.database.settings,
        )
        central = Central(settings)
        central.start()
        assert central.subscribed.wait(5), "central did not subscribe"
        self.running.append(central)
        return central

    def stop(self, central: Central) -> None:
        central.stop()
        self.running.remove(central)


@pytest.fixture
def centrals(
    broker: Mosquitto, database: Database, receiver: ConfirmationReceiver
) -> Iterator[Callable[..., Central]]:
    group = Centrals(broker, database, receiver.url)
    yield group.start
    for central in list(group.running):
        group.stop(central)


def publish_exits(gate: Observer, first_seq: int, count: int) -> tuple[list[bytes], set[str]]:
    """``count`` exit events (one or two declarations each) from seq ``first_seq``; what they owe."""
    sent, ids = [], set()
    for seq in range(first_seq, first_seq + count):
        event_id = str(uuid.uuid4())
        exits = [(f"D{seq}", f"MSCU{seq:06d}5")] + ([(f"E{seq}", "")] if seq % 3 == 0 else [])
        raw = ended(seq, exits, event_id=event_id)
        gate.publish(EVENTS, raw)
        sent.append(raw)
        ids |= owed(event_id, exits)
    return sent, ids


def test_every_exit_is_confirmed_once_across_receiver_outages_and_a_central_restart(
    broker: Mosquitto,
    database: Database,
    receiver: ConfirmationReceiver,
    centrals: Callable[..., Central],
) -> None:
    receiver.stop()  # the clearance system is down when the first trucks pass
    central = centrals()
    gate = Observer(broker)
    assert gate.wait_ready()
    sent, expected = publish_exits(gate, 1, 12)
    for raw in sent[:4]:  # the gate resends after a lost ack: the same events again
        gate.publish(EVENTS, raw)
    wait_for(lambda: states(database).get("pending") == len(expected), 10, "confirmations recorded")
    assert central.confirmations is not None
    wait_for(lambda: central.confirmations is not None and central.confirmations.failed_attempts >= 2, 10)
    assert receiver.delivered_ids() == set()

    receiver.start()  # back on the same port
    wait_for(lambda: len(receiver.delivered_ids()) >= 3, 15, "some delivered")
    central.stop()  # central restarts mid-way, while confirmations are still pending
    receiver.stop()  # and the receiver goes down again
    central = centrals("central-1")
    _, expected_more = publish_exits(gate, 13, 6)
    wait_for(
        lambda: sum(states(database).values()) == len(expected | expected_more), 10, "new exits recorded"
    )
    receiver.start()
    expected |= expected_more
    wait_for(lambda: receiver.delivered_ids() == expected, 30, "every confirmation delivered")
    wait_for(lambda: states(database) == {"delivered": len(expected)}, 10, "all marked delivered")
    gate.close()

    assert receiver.seen.refused == []  # every request signed, keyed and well-formed
    assert receiver.seen.changed_bodies == []  # an id resent always with the same bytes
    assert set(receiver.seen.attempts) == expected  # no id the gate's exits did not owe
    ids = [str(r[0]) for r in database.rows("SELECT confirmation_id FROM confirmations")]
    assert sorted(ids) == sorted(expected)  # the resent events made no second row


def test_a_rejected_confirmation_stays_listed_blocks_no_other_and_can_be_sent_again(
    broker: Mosquitto,
    database: Database,
    receiver: ConfirmationReceiver,
    centrals: Callable[..., Central],
) -> None:
    receiver.refuse_declarations = {"D2"}
    centrals()
    gate = Observer(broker)
    assert gate.wait_ready()
    _, expected = publish_exits(gate, 1, 4)  # D1, D2, D3 and E3, D4
    gate.close()
    wait_for(lambda: states(database) == {"delivered": 4, "rejected": 1}, 15, "four delivered, one rejected")
    [refused] = [i for i in expected if i not in receiver.delivered_ids()]
    tries = receiver.seen.attempts.count(refused)
    time.sleep(1.0)  # several retry_max_s: a rejection is not retried on its own
    assert receiver.seen.attempts.count(refused) == tries  # not one more since it was rejected

    listed = run_module("central", "confirmations", "--rejected", "--json", *database.cli)
    assert listed.returncode == 0, listed.stderr
    shown = json.loads(listed.stdout)
    assert shown["counts"] == {"pending": 0, "delivered": 4, "rejected": 1}
    [row] = shown["confirmations"]
    assert (row["confirmation_id"], row["declaration_number"], row["last_status"]) == (refused, "D2", 422)
    assert "unknown declaration D2" in row["last_error"]
    text = run_module("central", "confirmations", *database.cli)
    assert text.stdout.startswith("confirmations (pending): 0; in all: pending 0, delivered 4, rejected 1")

    receiver.refuse_declarations = set()  # customs fixed their side
    again = run_module("central", "confirmations", "--retry", refused, *database.cli)
    assert again.returncode == 0, again.stderr
    wait_for(lambda: receiver.delivered_ids() == expected, 10, "the rejected one delivered after --retry")
    twice = run_module("central", "confirmations", "--retry", refused, *database.cli)
    assert twice.returncode == 1
    assert "is not rejected" in twice.stderr


def test_an_endpoint_that_never_answers_never_delays_storing_events(
    tmp_path: Path, broker: Mosquitto
) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # connections are queued and never answered: each attempt waits its timeout
    port = silent.getsockname()[1]
    settings = CentralSettings(
        broker=broker_config(broker),
        db_path=tmp_path / "central.db",
        signing_key=FEED_KEY,
        confirmations=ConfirmationSettings(
            endpoint=f"http://127.0.0.1:{port}/c", allow_http=True, timeout_s=5, retry_min_s=5, retry_max_s=5
        ),
    )
    central = Central(settings)
    central.start()
    try:
        assert central.subscribed.wait(5)
        gate = Observer(broker)
        assert gate.wait_ready()
        started = time.monotonic()
        publish_exits(gate, 1, 100)
        wait_for(lambda: central.counts["stored"] == 100, 10, "100 events stored")
        took = time.monotonic() - started
        gate.close()
        assert took < 5, f"storing took {took:.1f} s: delivery held up ingest"
        database = Database("sqlite", db_path=tmp_path / "central.db")
        assert states(database) == {"pending": 100 + 33}  # owed, none delivered
    finally:
        central.stop()
        silent.close()


def test_central_killed_mid_delivery_sends_everything_after_it_restarts(
    tmp_path: Path, broker: Mosquitto, database: Database, receiver: ConfirmationReceiver
) -> None:
    key = tmp_path / f"{FEED_KEY.key_id}.key"
    write_private_key(FEED_KEY, key)
    receiver.status_override = 503  # up, but failing: attempts are made and answered with an error
    command = [
        sys.executable, "-m", "central", "run", "--create", "--port", str(broker.port), "--name", "central-k",
        "--signing-key", str(key), "--confirm-url", receiver.url, "--confirm-allow-http",
        "--confirm-timeout", "1", "--confirm-retry-min", "0.05", "--confirm-retry-max", "0.3",
        "--confirm-poll", "0.2", *database.cli,
    ]  # fmt: skip

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            command,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        assert b"receiving" in proc.stdout.readline()
        return proc

    proc = start()
    gate = Observer(broker)
    assert gate.wait_ready()
    _, expected = publish_exits(gate, 1, 9)
    gate.close()
    wait_for(lambda: states(database).get("pending") == len(expected), 10, "confirmations recorded")
    wait_for(lambda: len(receiver.seen.attempts) >= 3, 10, "attempts answered 503")
    proc.send_signal(signal.SIGKILL)  # no clean stop: a claimed attempt is cut off
    proc.wait(10)
    receiver.status_override = None
    proc = start()
    try:
        wait_for(lambda: receiver.delivered_ids() == expected, 30, "every confirmation delivered")
        wait_for(lambda: states(database) == {"delivered": len(expected)}, 10, "all marked delivered")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert receiver.seen.changed_bodies == []
    assert receiver.seen.refused == []


def test_two_instances_on_one_database_never_send_one_confirmation_twice(
    broker: Mosquitto,
    database: Database,
    receiver: ConfirmationReceiver,
    centrals: Callable[..., Central],
) -> None:
    first, second = centrals("central-a"), centrals("central-b")
    gate = Observer(broker)
    assert gate.wait_ready()
    _, expected = publish_exits(gate, 1, 30)
    gate.close()
    wait_for(lambda: receiver.delivered_ids() == expected, 20, "every confirmation delivered")
    assert first.confirmations is not None
    assert second.confirmations is not None
    senders = (first.confirmations, second.confirmations)
    # Counted once the sender has marked the row (after the receiver answered): waited for, not raced.
    wait_for(lambda: sum(c.delivered for c in senders) == len(expected), 10, "every delivery counted once")
    # Each id is claimed and sent by one instance: a second request for an id comes only from an attempt
    # that failed (a timeout on a loaded machine), never from both instances sending it.
    failed = first.confirmations.failed_attempts + second.confirmations.failed_attempts
    assert set(receiver.seen.attempts) == expected
    assert len(receiver.seen.attempts) - len(expected) <= failed
    wait_for(lambda: states(database) == {"delivered": len(expected)}, 10, "all marked delivered")


def test_over_https_central_trusts_the_endpoint_only_through_its_ca(
    tmp_path: Path, broker: Mosquitto
) -> None:
    pki = make_pki(tmp_path / "pki")
    receiver = ConfirmationReceiver(TRUSTED, tls=(pki["server.pem"], pki["server.key"])).start()
    database = Database("sqlite", db_path=tmp_path / "central.db")
    group = Centrals(broker, database, receiver.url, allow_http=False)
    try:
        central = group.start("central-untrusting")  # no --confirm-ca: the private CA is not trusted
        gate = Observer(broker)
        assert gate.wait_ready()
        _, expected = publish_exits(gate, 1, 3)
        assert central.confirmations is not None
        wait_for(lambda: central.confirmations is not None and central.confirmations.failed_attempts >= 1, 10)
        group.stop(central)
        [error] = {
            str(r[0]) for r in database.rows("SELECT last_error FROM confirmations WHERE attempts > 0")
        }
        assert "CERTIFICATE_VERIFY_FAILED" in error
        assert receiver.delivered_ids() == set()
        group.ca_file = pki["ca.pem"]
        group.start("central-trusting")
        wait_for(lambda: receiver.delivered_ids() == expected, 15, "delivered over https")
        gate.close()
    finally:
        for central in list(group.running):
            group.stop(central)
        receiver.stop()
