"""The MQTT link against a real Mosquitto: presence, the will, reconnects, backoff and refusals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pacing.backoff import Backoff
from sync.client import UNSUPPORTED_PROTOCOL, MqttLink, should_fall_back
from sync.config import BrokerConfig
from tests.sync.broker import Mosquitto
from tests.sync.conftest import broker_config
from tests.sync.observer import Observer
from tests.sync.tls import make_pki

STATUS = "customs/v1/gates/g1/status"


def link_for(config: BrokerConfig, refusals: list[str] | None = None) -> MqttLink:
    return MqttLink(
        config,
        "gate-edge-g1",
        status_topic=STATUS,
        online_payload=lambda: json.dumps({"state": "online"}).encode(),
        offline_payload=lambda reason: json.dumps({"state": "offline", "reason": reason}).encode(),
        subscriptions=["customs/v1/gates/g1/commands"],
        backoff=Backoff(0.05, 0.2),
        on_refused=None if refusals is None else refusals.append,
    )


async def until(predicate: object, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():  # type: ignore[operator]
        if loop.time() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        await asyncio.sleep(0.01)


@pytest.fixture
async def running(broker: Mosquitto) -> AsyncIterator[MqttLink]:
    link = link_for(broker_config(broker))
    task = asyncio.create_task(link.run())
    await asyncio.wait_for(link.wait_connected(), 5)
    yield link
    await link.stop()
    await asyncio.wait_for(task, 10)


def states(observer: Observer) -> list[tuple[str, str | None, bool]]:
    return [(m.json()["state"], m.json().get("reason"), m.retain) for m in observer.on(STATUS)]


async def test_online_status_is_published_retained_on_connect(running: MqttLink, broker: Mosquitto) -> None:
    late = Observer(broker, STATUS)  # subscribes after the fact: sees only what the broker retained
    try:
        await until(lambda: states(late) == [("online", None, True)])
    finally:
        late.close()


async def test_connection_lost_without_goodbye_publishes_the_retained_offline_will_then_reconnects(
    running: MqttLink, broker: Mosquitto
) -> None:
    observer = Observer(broker, STATUS)
    assert observer.wait_ready()
    try:
        generation = running.generation
        client = running._client
        assert client is not None
        sock = client.socket()
        assert sock is not None
        sock.close()  # the link dies as in a power cut: no DISCONNECT, so the broker sends the will
        await until(lambda: ("offline", "connection lost", False) in states(observer))
        await until(lambda: running.connected and running.generation > generation)
        await until(lambda: states(observer)[-1][0] == "online")
    finally:
        observer.close()


async def test_clean_stop_leaves_a_retained_offline_status(broker: Mosquitto) -> None:
    link = link_for(broker_config(broker))
    task = asyncio.create_task(link.run())
    await asyncio.wait_for(link.wait_connected(), 5)
    await link.stop()
    await asyncio.wait_for(task, 10)
    late = Observer(broker, STATUS)
    try:
        await until(lambda: states(late) == [("offline", "stopped", True)])
    finally:
        late.close()


async def test_link_reconnects_when_the_broker_comes_back(running: MqttLink, broker: Mosquitto) -> None:
    broker.stop()
    await until(lambda: not running.connected)
    assert running.publish("customs/v1/gates/g1/events", b"{}") is None
    broker.start()
    await until(lambda: running.connected, timeout=8)
    assert running.stats.connects == 2
    assert await running.publish_confirmed("customs/v1/gates/g1/events", b"{}")


async def test_broker_requiring_credentials_refuses_a_link_without_them(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "auth", users={"g1": "right-password"})
    broker.start()
    refusals: list[str] = []
    link = link_for(broker_config(broker), refusals)
    task = asyncio.create_task(link.run())
    try:
        await until(lambda: link.stats.refusals >= 2)
        assert not link.connected
        assert refusals
        assert "not authorized" in refusals[0].lower() or "bad user" in refusals[0].lower()
    finally:
        await link.stop()
        await asyncio.wait_for(task, 10)
        broker.stop()


def test_only_an_unsupported_protocol_refusal_of_mqtt_5_falls_back_to_311() -> None:
    assert should_fall_back("5", UNSUPPORTED_PROTOCOL, allowed=True)
    assert not should_fall_back("5", UNSUPPORTED_PROTOCOL, allowed=False)
    assert not should_fall_back("5", 135, allowed=True)
    assert not should_fall_back("3.1.1", UNSUPPORTED_PROTOCOL, allowed=True)


async def test_tls_link_with_the_ca_and_a_client_certificate_connects_and_one_without_is_refused(
    tmp_path: Path,
) -> None:
    pki = make_pki(tmp_path / "pki")
    broker = Mosquitto(
        tmp_path / "tls",
        extra=(
            f"cafile {pki['ca.pem']}",
            f"certfile {pki['server.pem']}",
            f"keyfile {pki['server.key']}",
            "require_certificate true",
        ),
    )
    broker.start()
    tls = {"ca_file": pki["ca.pem"], "cert_file": pki["client.pem"], "key_file": pki["client.key"]}
    good = link_for(broker_config(broker, tls=tls))
    no_cert = link_for(broker_config(broker, tls={"ca_file": pki["ca.pem"]}))
    tasks = [asyncio.create_task(good.run()), asyncio.create_task(no_cert.run())]
    try:
        await asyncio.wait_for(good.wait_connected(), 5)
        assert await good.publish_confirmed("customs/v1/gates/g1/events", b"{}")
        await until(lambda: no_cert.stats.failures >= 1)
        assert not no_cert.connected
    finally:
        await good.stop()
        await no_cert.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        broker.stop()
