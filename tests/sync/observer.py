"""A plain paho subscriber that records what the broker delivers: the tests' view from central's side."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tests.sync.broker import Mosquitto


@dataclass(frozen=True)
class Seen:
    topic: str
    payload: bytes
    retain: bool
    expiry_s: int | None

    def json(self) -> Any:
        return json.loads(self.payload)


class Observer:
    """Subscribes to ``topics`` (QoS 1) and keeps every message; also publishes raw bytes for fault tests."""

    def __init__(
        self, broker: Mosquitto, *topics: str, username: str | None = None, password: str | None = None
    ):
        self.messages: list[Seen] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.refused: str | None = None
        self._connected = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"observer-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self._topics = topics
        self.client.connect(broker.host, broker.port, 30)
        self.client.loop_start()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self.refused = str(reason)
        elif self._topics:
            client.subscribe([(t, 1) for t in self._topics])
        self._connected.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        expiry = getattr(message.properties, "MessageExpiryInterval", None) if message.properties else None
        with self._lock:
            self.messages.append(Seen(message.topic, bytes(message.payload), bool(message.retain), expiry))

    def wait_ready(self, timeout: float = 5.0) -> bool:
        if not self._connected.wait(timeout):
            return False
        return self.refused is None and (not self._topics or self._subscribed.wait(timeout))

    def on(self, topic: str) -> list[Seen]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
