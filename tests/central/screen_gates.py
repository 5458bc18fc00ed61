"""Gates for the central screen's tests: their events, telemetry and presence, published through Mosquitto.

Gate g1 has one lane with three passages in the last hour (passed by itself, held then approved by an
officer, rejected), one lost event (a sequence gap) and a telemetry sample between its events (a seq that is
not a lost event); gate g2 is offline (its will). The screen runs on central's database, beside a real
central receiving from the broker.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from central.accounts import Accounts, StaffRole
from central.receiver import Central
from central.settings import open_store
from central.store import CentralStore
from central.web.serve import ScreenServer
from central.web.settings import WebSettings
from sync.contract import TELEMETRY_KIND, encode_event, gate_topics
from tests.sync.broker import Mosquitto
from tests.sync.observer import Observer

PREFIX = "customs/v1/gates/{gate_id}/"
PASSWORDS = {"vera": "viewer-pass-1", "sam": "super-pass-1", "ada": "admin-pass-1"}
ROLES = {"vera": StaffRole.VIEWER, "sam": StaffRole.SUPERVISOR, "ada": StaffRole.ADMIN}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read(text: str, confidence: float = 0.97, sha: str | None = None) -> dict[str, Any]:
    return {"text": text, "confidence": confidence, "valid": True, "source": "camera", "evidence_sha256": sha}


@dataclass
class FakeGate:
    """One gate's uplink: every message carries the next seq, as the gate's outbox numbers them."""

    observer: Observer
    gate_id: str
    at: datetime
    seq: int = 0
    last_event_seq: int | None = None
    sent: list[str] = field(default_factory=list)

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def event(self, kind: str, **payload: Any) -> int:
        seq = self._next()
        body = {"gate_id": self.gate_id, "lane_id": "lane-1", **payload}
        raw = encode_event(
            event_id=str(uuid.uuid4()),
            gate_id=self.gate_id,
            seq=seq,
            prev_seq=self.last_event_seq,
            kind=kind,
            at=self.at,
            payload=body,
        )
        self.observer.publish(gate_topics(PREFIX, self.gate_id).events, raw)
        self.last_event_seq = seq
        self.sent.append(kind)
        return seq

    def lose_event(self) -> int:
        """An event the gate numbered and never delivered: the next one names it as its prev_seq."""
        seq = self._next()
        self.last_event_seq = seq
        return seq

    def telemetry(self, depth: int, oldest_s: float | None, alarms: list[str]) -> None:
        payload = {
            "lane": {},
            "devices": {},
            "outbox": {"depth": depth, "oldest_age_s": oldest_s, "backlog_alarm": False},
            "clearance_version": 0,
            "clearance_age_s": None,
            "alarms": alarms,
        }
        raw = encode_event(
            event_id=str(uuid.uuid4()),
            gate_id=self.gate_id,
            seq=self._next(),
            prev_seq=None,
            kind=TELEMETRY_KIND,
            at=self.at,
            payload=payload,
        )
        self.observer.publish(gate_topics(PREFIX, self.gate_id).telemetry, raw)

    def presence(self, state: str) -> None:
        body = (
            f'{{"schema_version":1,"gate_id":"{self.gate_id}","state":"{state}","reason":"connected",'
            f'"at":"{self.at.isoformat()}","clearance_version":0}}'
        )
        self.observer.publish(gate_topics(PREFIX, self.gate_id).status, body.encode(), retain=True)

    def passage(
        self,
        tx: str,
        outcome: str,
        plate: str,
        containers: list[str],
        declaration: str | None,
        result: str,
        officer: str | None = None,
    ) -> None:
        self.event("transaction.started", tx_id=tx)
        reasons = {"PASS": [], "HOLD": ["plate_unreadable"], "REJECT": ["no_declaration"]}[outcome]
        details = {"PASS": [], "HOLD": ["plate read below the threshold"], "REJECT": ["no declaration"]}
        self.event(
            "transaction.decision",
            tx_id=tx,
            identification={
                "plate": read(plate, sha="ab" * 32),
                "containers": [read(c, 0.91) for c in containers],
            },
            weight_kg=28_450.0,
            outcome=outcome,
            reasons=reasons,
            details=details[outcome],
            declaration_number=declaration,
            reads=[],
        )
        if officer is not None:
            self.event("officer.action", tx_id=tx, officer=officer, action="approve", reason="seal checked")
        self.event("transaction.ended", tx_id=tx, result=result, outcome=outcome, exits=[])


def g1_story(gate: FakeGate) -> None:
    """Presence, three passages, one lost event, telemetry in between, an alarm that holds."""
    gate.presence("online")
    gate.passage("tx-pass", "PASS", "51C-123.45", ["MSKU1234565"], "10123456789", "passed")
    gate.telemetry(depth=4, oldest_s=37.5, alarms=["outbox_backlog"])
    gate.lose_event()
    gate.passage("tx-held", "HOLD", "29H-888.01", ["TGHU7654321"], "10987654321", "passed", officer="olga")
    gate.passage("tx-rej", "REJECT", "60A-000.11", [], None, "rejected")
    gate.event("lane.alarm", tx_id=None, code="scale_fault", detail="scale not stable")


@dataclass
class Screen:
    url: str
    central: Central
    broker: Mosquitto
    db: Path

    def client(self, name: str | None = None) -> httpx.Client:
        """An HTTP client, logged in as ``name`` when given (its CSRF token in ``headers``)."""
        client = httpx.Client(base_url=self.url, timeout=10)
        if name is not None:
            answer = client.post("/api/v1/login", json={"name": name, "password": PASSWORDS[name]})
            assert answer.status_code == 200, answer.text
            client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        return client

    def gate(self, gate_id: str) -> FakeGate:
        observer = Observer(self.broker)
        assert observer.wait_ready()
        return FakeGate(observer, gate_id, datetime.now(UTC) - timedelta(minutes=5))


def add_staff(store: CentralStore) -> None:
    accounts = Accounts(store)
    for name, role in ROLES.items():
        accounts.add(name, role, PASSWORDS[name], datetime.now(UTC))


def run_screen(
    tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central], **settings: Any
) -> Iterator[Screen]:
    """A fixture body: central receiving into tmp_path/central.db, and its screen on a free port."""
    central = start_central()
    db = tmp_path / "central.db"
    store = open_store(db_path=db)  # central makes it at its first message: the screen's test makes it now
    try:
        add_staff(store)
    finally:
        store.close()
    port = free_port()
    server = ScreenServer(
        lambda: open_store(db_path=db, mode="open"), WebSettings(port=port, live_poll_s=0.2, **settings)
    )
    server.start()
    try:
        yield Screen(f"http://127.0.0.1:{port}", central, broker, db)
    finally:
        server.stop()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
