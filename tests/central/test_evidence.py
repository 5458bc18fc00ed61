"""Evidence on demand through a real Mosquitto: a real gate uplink with its store and evidence folder
answers central's evidence desk; held, downscaled, too large and pruned images; a flood of commands is
rate-limited and does not hold up the gate's loop; the screen's route, its CSRF, the gate offline, the images.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from central.evidence import EvidenceDesk
from central.receiver import Central
from edge.store import Store
from edge.uplink import Uplink
from sync.commands import Command, sign
from sync.contract import gate_topics
from sync.evidence_limits import EvidenceLimits
from sync.evidence_reply import EvidenceImageMessage, evidence_topic
from tests.central.evidence_desk import running_desk
from tests.central.evidence_gate import (
    CAP,
    KEY,
    PREFIX,
    GateImages,
    gate_config,
    gate_running,
    run_evidence_screen,
    until,
)
from tests.central.screen_gates import FakeGate, Screen, read, run_screen, wait_until
from tests.sync.broker import Mosquitto
from tests.sync.observer import Observer


@pytest.fixture
def desk(tmp_path: Path, broker: Mosquitto) -> Iterator[EvidenceDesk]:
    yield from running_desk(broker, "g1", tmp_path / "central-evidence")


async def test_central_receives_held_and_downscaled_images_and_hears_which_are_too_large_or_not_held(
    tmp_path: Path, broker: Mosquitto, desk: EvidenceDesk
) -> None:
    db, folder = tmp_path / "gate.db", tmp_path / "gate-evidence"
    with Store(db) as store:
        images = GateImages(folder, store)
        async with gate_running(Uplink(gate_config(broker), "g1", db, evidence_dir=folder)):
            answer = await asyncio.to_thread(desk.request, "g1", "vera", transaction_id="tx-1")
            unknown = await asyncio.to_thread(
                desk.request, "g1", "vera", transaction_id="tx-none", sha256=(images.small,)
            )
    assert answer.status == "accepted"
    states = {i["sha256"]: i["state"] for i in answer.images}
    assert states == {
        images.small: "held",
        images.large: "downscaled",
        images.broken: "too_large",
        images.pruned: "not_held",
    }
    small = desk.image_path("g1", images.small)
    assert small is not None
    assert small.read_bytes() == images.small_bytes
    large = desk.image_path("g1", images.large)
    assert large is not None
    assert len(large.read_bytes()) <= CAP
    decoded = cv2.imdecode(np.frombuffer(large.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    assert decoded.shape[1] <= 1000
    assert desk.image_path("g1", images.broken) is None
    assert desk.image_path("g1", images.pruned) is None
    urls = {i["sha256"]: i["url"] for i in answer.images}
    assert urls[images.small] == f"/api/v1/evidence/g1/{images.small}.jpg"
    assert urls[images.pruned] is None
    # A transaction the gate does not hold: said so, and the images named are still answered.
    assert unknown.transaction_known is False
    assert [(i["sha256"], i["state"]) for i in unknown.images] == [(images.small, "held")]
    with Store(db) as store:
        actions = [r.action for r in store.audit.records()]
    assert actions.count("command.evidence") == 2


def test_a_gate_that_does_not_answer_is_reported_as_such_within_the_timeout(desk: EvidenceDesk) -> None:
    started = time.monotonic()
    answer = desk.request("g1", "vera", transaction_id="tx-1", timeout_s=1.0)
    assert answer.status == "no_answer"
    assert "ask again later" in answer.detail
    assert time.monotonic() - started < 5


def evidence_command(tx: str) -> bytes:
    command = Command(
        command_id=uuid.uuid4(),
        gate_id="g1",
        name="evidence",
        issuer="flood",
        issued_at=datetime.now(UTC),
        transaction_id=tx,
    )
    return sign(command, KEY)


async def test_a_flood_of_evidence_commands_is_rate_limited_and_does_not_hold_up_the_gate(
    tmp_path: Path, broker: Mosquitto
) -> None:
    db, folder = tmp_path / "gate.db", tmp_path / "gate-evidence"
    topics = gate_topics(PREFIX, "g1")
    watcher = Observer(broker, topics.commands_ack, evidence_topic(topics))
    assert watcher.wait_ready()
    per_minute = 4  # the gate's setting sync.evidence.per_minute
    assert per_minute != EvidenceLimits().per_minute
    lags: list[float] = []

    async def ticker() -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - before - 0.01)

    with Store(db) as store:
        GateImages(folder, store)
        config = gate_config(broker, evidence={"per_minute": per_minute})
        uplink = Uplink(config, "g1", db, evidence_dir=folder)
        async with gate_running(uplink):
            tick = asyncio.create_task(ticker())
            flood = 30
            started = time.monotonic()
            for _ in range(flood):
                await asyncio.to_thread(watcher.publish, topics.commands, evidence_command("tx-1"))
            await until(lambda: len(watcher.on(topics.commands_ack)) >= flood, what="every command answered")
            took = time.monotonic() - started
            tick.cancel()
            acks = [m.json() for m in watcher.on(topics.commands_ack)]
            assert uplink.inbound_alive()
    statuses = [a["status"] for a in acks]
    assert statuses.count("accepted") == per_minute
    refused = [a for a in acks if a["status"] == "refused"]
    assert len(refused) == flood - per_minute
    assert all("rate limited" in a["detail"] for a in refused)
    images = [EvidenceImageMessage.model_validate_json(m.payload) for m in watcher.on(evidence_topic(topics))]
    assert len(images) == per_minute * 4  # only the admitted commands read and sent images
    assert all(len(m.payload) < CAP * 4 // 3 + 4096 for m in watcher.on(evidence_topic(topics)))
    assert took < 20, f"the flood took {took:.1f} s"
    assert max(lags) < 0.5, f"the gate's loop was held up {max(lags):.3f} s"
    watcher.close()


@pytest.fixture
def screen(
    tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]
) -> Iterator[tuple[str, Central]]:
    yield from run_evidence_screen(tmp_path, broker, start_central)


def login(url: str, name: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    answer = client.post("/api/v1/login", json={"name": name, "password": password})
    assert answer.status_code == 200
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


async def test_the_screen_asks_the_gate_shows_its_images_and_says_when_the_gate_is_offline(
    tmp_path: Path, broker: Mosquitto, screen: tuple[str, Central]
) -> None:
    url, central = screen
    db, folder = tmp_path / "gate.db", tmp_path / "gate-evidence"
    fake = FakeGate(Observer(broker), "g1", datetime.now(UTC))
    assert fake.observer.wait_ready()
    with Store(db) as store:
        images = GateImages(folder, store)
    fake.event("transaction.started", tx_id="tx-1")
    fake.event(
        "transaction.decision",
        tx_id="tx-1",
        identification={"plate": read("51C12345", sha=images.small), "containers": []},
        outcome="PASS",
        reasons=[],
        details=[],
        reads=[],
    )
    await until(lambda: central.counts["stored"] >= 2, what="the passage at central")
    vera = await asyncio.to_thread(login, url, "vera", "viewer-pass-1")
    path = "/api/v1/passages/g1/tx-1/evidence"

    async with gate_running(Uplink(gate_config(broker), "g1", db, evidence_dir=folder)):
        await until(lambda: central.counts["status"] >= 1, what="the gate online at central")
        no_csrf = await asyncio.to_thread(vera.post, path, headers={"X-CSRF-Token": "wrong"})
        assert no_csrf.status_code == 403
        answer = await asyncio.to_thread(vera.post, path)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        assert body["status"] == "accepted"
        assert body["en"]
        assert body["vi"]
        states = {i["sha256"]: i["state"] for i in body["images"]}
        assert states[images.pruned] == "not_held"
        shown = await asyncio.to_thread(vera.get, f"/api/v1/evidence/g1/{images.small}.jpg")
        assert shown.status_code == 200
        assert shown.headers["content-type"] == "image/jpeg"
        assert shown.content == images.small_bytes
    anonymous = httpx.Client(base_url=url, timeout=10)
    assert anonymous.get(f"/api/v1/evidence/g1/{images.small}.jpg").status_code == 401
    assert vera.get("/api/v1/evidence/g1/..%2F..%2Fetc%2Fpasswd.jpg").status_code == 404

    # The gate has left (its retained offline status): not asked, told to try later, in both languages.
    await until(lambda: central.counts["status"] >= 2, what="the gate offline at central")
    offline = await asyncio.to_thread(vera.post, path)
    assert offline.status_code == 503
    assert offline.json()["words"] == "offline"
    assert "thử lại sau" in offline.json()["vi"]
    assert "Try again later" in offline.json()["en"]
    audit = await asyncio.to_thread(login, url, "sam", "super-pass-1")
    trail = audit.get("/api/v1/audit").json()
    assert ("vera", "evidence.request", "g1/tx-1") in [(t["actor"], t["action"], t["subject"]) for t in trail]


@pytest.fixture
def bare_screen(tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]) -> Iterator[Screen]:
    yield from run_screen(tmp_path, broker, start_central)


def test_a_screen_without_evidence_keys_says_it_is_not_set_up_to_fetch(bare_screen: Screen) -> None:
    gate = bare_screen.gate("g1")
    gate.event("transaction.decision", tx_id="tx-1", outcome="PASS", reasons=[], details=[], reads=[])
    wait_until(lambda: bare_screen.central.counts["stored"] >= 1, what="the passage")
    answer = bare_screen.client("vera").post("/api/v1/passages/g1/tx-1/evidence")
    assert answer.status_code == 503
    assert answer.json()["words"] == "no_desk"
    assert "Trung tâm này chưa được cấu hình" in answer.json()["vi"]
    assert "not set up to fetch evidence" in answer.json()["en"]


def test_a_gate_whose_key_central_lacks_is_not_asked(broker: Mosquitto, screen: tuple[str, Central]) -> None:
    url, central = screen
    other = FakeGate(Observer(broker), "g9", datetime.now(UTC))
    assert other.observer.wait_ready()
    other.event("transaction.decision", tx_id="tx-9", outcome="PASS", reasons=[], details=[], reads=[])
    wait_until(lambda: central.counts["stored"] >= 1, what="g9's passage")
    answer = login(url, "vera", "viewer-pass-1").post("/api/v1/passages/g9/tx-9/evidence")
    assert answer.status_code == 503
    assert answer.json()["detail"] == "no command key for gate g9 at this central"
