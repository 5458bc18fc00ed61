"""The reference central on PostgreSQL: the CLI's database options, and events kept through an outage."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from psycopg.conninfo import conninfo_to_dict

from central.receiver import Central
from central.settings import CentralSettings
from sync.contract import encode_event, gate_topics
from sync.signing_keys import SigningKey, write_private_key
from tests.central.central_db import Database, open_database
from tests.sync.broker import Mosquitto, free_port
from tests.sync.conftest import broker_config, run_module, wait_for
from tests.sync.observer import Observer

TOPICS = gate_topics("customs/v1/gates/{gate_id}/", "g1")
AT = datetime(2025, 3, 1, 8, tzinfo=UTC)


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[Database]:
    yield from open_database("postgres", tmp_path)


def envelope(seq: int) -> bytes:
    return encode_event(
        event_id=str(uuid.uuid4()),
        gate_id="g1",
        seq=seq,
        prev_seq=seq - 1 or None,
        kind="transaction.started",
        at=AT,
        payload={"seq": seq},
    )


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_module("central", *args, env=env)


class TcpProxy:
    """Forwards a local port to PostgreSQL. ``cut`` drops every connection and refuses new ones: an outage."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        listener.settimeout(0.05)
        self._listening.set()
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def cut(self) -> None:
        self._listening.clear()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):  # the other end went first
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        with listener:
            while self._listening.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                client.settimeout(None)
                server = socket.create_connection(self.target)
                with self._lock:
                    self._sockets += [client, server]
                for a, b in ((client, server), (server, client)):
                    threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass  # cut, or the other side closed
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def proxied(postgres: Database) -> Iterator[tuple[TcpProxy, str]]:
    """A proxy in front of the test's PostgreSQL schema, and the URL that reaches the schema through it."""
    params = conninfo_to_dict(postgres.db_url or "")
    proxy = TcpProxy(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432))
    proxy.start()
    params.update(host="127.0.0.1", port=str(proxy.port), connect_timeout="2")
    yield proxy, "postgresql://?" + urlencode({k: str(v) for k, v in params.items()}, quote_via=quote)
    proxy.cut()


def start_central(broker: Mosquitto, db_url: str, name: str) -> Central:
    central = Central(CentralSettings(broker=broker_config(broker), db_url=db_url, name=name))
    central.start()
    assert central.subscribed.wait(5), "central did not subscribe"
    return central


def test_central_holds_events_through_a_database_outage_and_stores_each_once_when_it_returns(
    broker: Mosquitto, postgres: Database, proxied: tuple[TcpProxy, str]
) -> None:
    proxy, url = proxied
    central = start_central(broker, url, "central-outage")
    gate = Observer(broker)
    try:
        assert gate.wait_ready()
        gate.publish(TOPICS.events, envelope(1))
        wait_for(lambda: postgres.rows("SELECT seq FROM events") == [(1,)], what="first event stored")
        proxy.cut()
        for seq in range(2, 12):
            gate.publish(TOPICS.events, envelope(seq))
        wait_for(lambda: central.counts["store_outages"] == 1, what="outage noticed")
        time.sleep(1.0)  # long enough for several refused reconnections, with backoff
        assert postgres.rows("SELECT COUNT(*) FROM events") == [(1,)]
        proxy.start()
        wait_for(lambda: len(postgres.rows("SELECT seq FROM events")) == 11, 15, "events stored after it")
    finally:
        gate.close()
        central.stop()
    assert postgres.rows("SELECT seq FROM events ORDER BY id") == [(seq,) for seq in range(1, 12)]
    assert postgres.rows("SELECT * FROM gaps") == []
    assert central.counts["store_outages"] == 1


def test_an_event_held_when_central_stops_during_an_outage_is_delivered_again_and_stored(
    broker: Mosquitto, postgres: Database, proxied: tuple[TcpProxy, str]
) -> None:
    proxy, url = proxied
    proxy.cut()
    central = start_central(broker, url, "central-held")
    gate = Observer(broker)
    try:
        assert gate.wait_ready()
        gate.publish(TOPICS.events, envelope(1))
        wait_for(lambda: central.counts["store_outages"] == 1, what="central holding the event")
    finally:
        central.stop()  # never stored, so never acknowledged: the broker keeps it for the session
    gate.publish(TOPICS.events, envelope(2))
    gate.close()
    proxy.start()
    again = start_central(broker, url, "central-held")  # same client id: the same session
    try:
        wait_for(lambda: len(postgres.rows("SELECT seq FROM events")) == 2, 10, "both events stored")
    finally:
        again.stop()
    assert postgres.rows("SELECT seq, receiver FROM events ORDER BY id") == [
        (1, "central-held"),
        (2, "central-held"),
    ]


def test_central_run_with_an_unreachable_database_says_so_in_one_line_without_the_password() -> None:
    url = f"postgresql://central:s3cret@127.0.0.1:{free_port()}/customs?connect_timeout=2"
    result = cli("run", "--port", str(free_port()), "--db-url-env", "CENTRAL_DB", env={"CENTRAL_DB": url})
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("central: database postgresql://central:***@127.0.0.1:")
    assert "cannot connect" in lines[0]
    assert "Connection refused" in lines[0]
    assert "s3cret" not in result.stderr


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--db-url", "postgresql://central:s3cret@db/customs"], "--db-url: the URL holds a password"),
        (["--db-url", "mysql://db/customs"], "central: not a postgresql:// URL"),
        (["--db-url", "postgresql://db/customs?sslmode"], "central: malformed database URL"),
        (
            ["--db-url-env", "CENTRAL_NOT_SET"],
            "--db-url-env: environment variable CENTRAL_NOT_SET is not set",
        ),
    ],
)
def test_central_cli_refuses_a_bad_database_option_in_one_line(args: list[str], error: str) -> None:
    result = cli("report", *args)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(error), result.stderr
    assert "s3cret" not in result.stderr


def test_central_cli_sends_clearances_and_reports_from_postgres_with_the_url_in_the_environment(
    broker: Mosquitto, postgres: Database, tmp_path: Path
) -> None:
    feed = tmp_path / "cleared.json"
    feed.write_text(
        json.dumps(
            [
                {
                    "number": "D1",
                    "status": "cleared",
                    "channel": "green",
                    "plates": ["51C12345"],
                    "valid_from": "2025-03-01T00:00:00Z",
                    "valid_until": "2025-04-01T00:00:00Z",
                }
            ]
        )
    )
    # With a password, which the local server (trust) ignores: the environment is where it may be given.
    assert postgres.db_url is not None
    env = {"CENTRAL_DB": postgres.db_url.replace("postgresql://postgres@", "postgresql://postgres:s3cret@")}
    key = tmp_path / "central.key"
    write_private_key(SigningKey.generate("central"), key)
    db = ["--db-url-env", "CENTRAL_DB", "--signing-key", str(key)]
    sent = cli("clearances", "--port", str(broker.port), *db, "--gate", "g1", "--file", str(feed), env=env)
    assert sent.returncode == 0, sent.stderr
    assert "snapshot at feed version 1 sent" in sent.stdout
    assert postgres.rows("SELECT gate_id, version FROM feeds") == [("g1", 1)]
    again = cli("clearances", "--port", str(broker.port), *db, "--gate", "g1", "--file", str(feed), env=env)
    assert "nothing changed" in again.stdout

    gate = Observer(broker)
    assert gate.wait_ready()
    central = start_central(broker, postgres.db_url, "central-report")
    try:
        for seq in (1, 2, 4):
            gate.publish(TOPICS.events, envelope(seq))
        gate.publish(TOPICS.events, b'{"not": "an envelope"}')
        wait_for(lambda: central.counts["stored"] == 3 and central.counts["rejected"] == 1)
    finally:
        gate.close()
        central.stop()
    report = cli("report", *db[:2], env=env)
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout) == {
        "gates": {
            "g1": {
                "events": 3,
                "max_seq": 4,
                "gaps": [3],
                "telemetry": {"samples": 0, "expired": 0, "latest_seq": None, "not_received": 0},
            }
        },
        "rejected": {"total": 1, "by_reason": {"bad_schema": 1}},
    }
