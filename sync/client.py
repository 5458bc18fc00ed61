"""paho-mqtt 2.x behind an asyncio face: one fresh paho client per connection, jittered backoff, presence.

paho keeps unacknowledged messages in memory only and resends them on its own reconnects. We do not let it:
every connection gets a new client with ``reconnect_on_failure=False``, so after a drop nothing stale is
resent from memory and the caller (the outbox drainer) resends from disk. Reconnects, their jittered backoff
and the fallback from MQTT 5 to 3.1.1 live here, not in the callers.

paho calls back on its network thread; every callback is handed to the event loop with
``call_soon_threadsafe``. Publish acknowledgements are batched into one hand-over per wake-up, because at
tens of thousands of events per second a hand-over per ack would dominate.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from pacing.backoff import Backoff
from sync.config import BrokerConfig

BROKER_JITTER: Final = (0.5, 1.0)
"""Broker retries wait between half and all of the step, so gates that lost one broker spread out."""

log = logging.getLogger("sync.client")

UNSUPPORTED_PROTOCOL = 132  # MQTT 5 CONNACK reason: the broker speaks an older MQTT
NO_MATCHING_SUBSCRIBERS = 16  # MQTT 5 PUBACK reason: accepted, but nobody subscribed
CONFIRM_TIMEOUT_S = 5.0
# Inbound flow control. QoS 1 messages in hand are bounded by the Receive Maximum we announce (MQTT 5; a
# 3.1.1 broker has its own limit, Mosquitto's max_inflight_messages); QoS 0 has no flow control, so beyond
# INBOUND_QOS0_LIMIT waiting messages a QoS 0 message is dropped and counted (the contract uses QoS 1).
RECEIVE_MAXIMUM = 64
INBOUND_QOS0_LIMIT = 256

AckSink = Callable[[int, list[tuple[int, int]]], None]
"""Receives (generation, [(mid, reason code value), ...]) for publishes nobody awaits."""


@dataclass(frozen=True, slots=True)
class Inbound:
    """A message from the broker; acknowledge it with :meth:`MqttLink.ack` once it is handled.

    ``size`` is what the broker sent; a payload larger than the link's ``max_payload`` is not kept
    (``payload`` is empty), so an oversized message costs no memory while it waits to be rejected.
    """

    generation: int
    mid: int
    qos: int
    topic: str
    payload: bytes
    size: int


async def wait_set(event: asyncio.Event, timeout: float) -> None:
    """Wait until `event` is set or `timeout` seconds have passed, whichever comes first.

    asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that arrives as the event
    is set, and the waiting task would run on after it was cancelled.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max(0.0, timeout)):
            await event.wait()


def mqtt_properties(packet_type: int) -> Properties:
    """MQTT 5 properties for one packet type (paho's constructor is untyped)."""
    return Properties(packet_type)  # type: ignore[no-untyped-call]


def should_fall_back(protocol: str, reason_value: int, allowed: bool) -> bool:
    """A broker that refuses MQTT 5 as an unsupported version gets 3.1.1 next time, where configured."""
    return allowed and protocol == "5" and reason_value == UNSUPPORTED_PROTOCOL


@dataclass(slots=True)
class LinkStats:
    connects: int = 0
    refusals: int = 0
    failures: int = 0
    last_error: str | None = None
    inbound_dropped: int = 0


class MqttLink:
    """One MQTT connection that reconnects until :meth:`stop`; publishes, acks, presence and inbound queue."""

    def __init__(
        self,
        broker: BrokerConfig,
        client_id: str,
        *,
        status_topic: str,
        online_payload: Callable[[], bytes],
        offline_payload: Callable[[str], bytes],
        subscriptions: Sequence[str] = (),
        backoff: Backoff,
        on_refused: Callable[[str], None] | None = None,
        max_payload: int | None = None,
    ) -> None:
        self._broker = broker
        self._max_payload = max_payload
        self._client_id = client_id
        self._status_topic = status_topic
        self._online_payload = online_payload
        self._offline_payload = offline_payload
        self._subscriptions = list(subscriptions)
        self._backoff = backoff
        self._on_refused = on_refused
        self.protocol: str = broker.protocol
        self.stats = LinkStats()
        self.generation = 0
        self.receive_maximum: int | None = None
        self.inbound: asyncio.Queue[Inbound] = asyncio.Queue()
        self._client: mqtt.Client | None = None
        self._connected = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()
        self._up = asyncio.Event()
        self._listeners: list[Callable[[bool], None]] = []
        self._ack_sink: AckSink | None = None
        self._waiters: dict[tuple[int, int], asyncio.Future[int]] = {}
        self._acks: collections.deque[tuple[int, int, int]] = collections.deque()
        self._acks_scheduled = False
        self._expiry_props: dict[int, Properties] = {}

    # -- state ------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected

    def set_ack_sink(self, sink: AckSink) -> None:
        self._ack_sink = sink

    def add_listener(self, listener: Callable[[bool], None]) -> None:
        """Call ``listener(up)`` on the loop when the connection comes up or goes down."""
        self._listeners.append(listener)

    async def wait_connected(self) -> None:
        await self._up.wait()

    # -- publishing -------------------------------------------------------------------------
    def publish(
        self, topic: str, payload: bytes, *, retain: bool = False, expiry_s: int | None = None
    ) -> int | None:
        """Queue a QoS 1 publish on the current connection; its mid, or None if there is no connection."""
        client = self._client
        if client is None or not self._connected:
            return None
        props = None
        if expiry_s is not None and self.protocol == "5":
            props = self._expiry_props.get(expiry_s)
            if props is None:
                props = mqtt_properties(PacketTypes.PUBLISH)
                props.MessageExpiryInterval = expiry_s
                if len(self._expiry_props) < 1024:
                    self._expiry_props[expiry_s] = props
        info = client.publish(topic, payload, qos=1, retain=retain, properties=props)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return None
        return int(info.mid)

    async def publish_confirmed(
        self, topic: str, payload: bytes, *, retain: bool = False, timeout: float = CONFIRM_TIMEOUT_S
    ) -> bool:
        """Publish and wait for the broker's acknowledgement; False if not connected, refused or timed out."""
        generation = self.generation
        mid = self.publish(topic, payload, retain=retain)
        if mid is None:
            return False
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters[(generation, mid)] = future
        try:
            reason = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return False
        finally:
            self._waiters.pop((generation, mid), None)
        return reason < 0x80

    def ack(self, message: Inbound) -> None:
        """Acknowledge an inbound message; one from an older connection is left for the broker to resend."""
        client = self._client
        if client is not None and message.generation == self.generation and message.qos > 0:
            client.ack(message.mid, message.qos)

    # -- running ----------------------------------------------------------------------------
    async def run(self) -> None:
        """Connect, reconnect with backoff until :meth:`stop`, then leave with a retained ``offline``."""
        self._loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            client = self._new_client()
            connack: asyncio.Future[tuple[int, str, dict[str, Any]]] = self._loop.create_future()
            down: asyncio.Future[str] = self._loop.create_future()
            subscribed: asyncio.Future[bool] = self._loop.create_future()
            self._bind(client, connack, down, subscribed)
            reason, detail = await self._connect(client, connack, down)
            if reason == 0:
                await self._serve(client, down, subscribed)
                if self._stop.is_set():
                    return
            elif should_fall_back(self.protocol, reason, self._broker.fallback_to_311):
                log.warning("broker refuses MQTT 5 (%s): falling back to MQTT 3.1.1", detail)
                self.protocol = "3.1.1"
                continue
            await self._sleep(self._backoff.next())

    async def stop(self) -> None:
        self._stop.set()

    def _new_client(self) -> mqtt.Client:
        v5 = self.protocol == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if v5 else False,
            reconnect_on_failure=False,
            manual_ack=True,
        )
        client.max_inflight_messages_set(0)  # bounded by the drainer's window, not by paho's queue
        client.connect_timeout = self._broker.connect_timeout_s
        broker = self._broker
        if broker.username is not None:
            password = broker.password.get_secret_value() if broker.password is not None else None
            client.username_pw_set(broker.username, password)
        if broker.tls.enabled:
            client.tls_set(
                ca_certs=str(broker.tls.ca_file),
                certfile=str(broker.tls.cert_file) if broker.tls.cert_file else None,
                keyfile=str(broker.tls.key_file) if broker.tls.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        client.will_set(self._status_topic, self._offline_payload("connection lost"), qos=1, retain=True)
        return client

    def _bind(
        self,
        client: mqtt.Client,
        connack: asyncio.Future[tuple[int, str, dict[str, Any]]],
        down: asyncio.Future[str],
        subscribed: asyncio.Future[bool],
    ) -> None:
        loop = self._loop
        if loop is None:
            raise RuntimeError("MqttLink.run() binds clients; nothing else may")
        generation = self.generation + 1

        def settle(future: asyncio.Future[Any], value: Any) -> None:
            if not future.done():
                future.set_result(value)

        def on_connect(_c: Any, _u: Any, flags: Any, reason: Any, props: Any) -> None:
            found = {
                "receive_maximum": getattr(props, "ReceiveMaximum", None),
                "session": flags.session_present,
            }
            loop.call_soon_threadsafe(settle, connack, (int(reason.value), str(reason), found))

        def on_disconnect(_c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
            loop.call_soon_threadsafe(settle, down, str(reason))

        def on_subscribe(_c: Any, _u: Any, _mid: int, reasons: list[Any], _props: Any) -> None:
            ok = not any(r.is_failure for r in reasons)
            loop.call_soon_threadsafe(settle, subscribed, ok)

        def on_publish(_c: Any, _u: Any, mid: int, reason: Any, _props: Any) -> None:
            self._acks.append((generation, mid, int(reason.value)))
            if not self._acks_scheduled:
                self._acks_scheduled = True
                loop.call_soon_threadsafe(self._dispatch_acks)

        def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
            size = len(message.payload)
            kept = self._max_payload is None or size <= self._max_payload
            payload = bytes(message.payload) if kept else b""
            inbound = Inbound(generation, message.mid, message.qos, message.topic, payload, size)
            loop.call_soon_threadsafe(self._enqueue, inbound)

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_publish = on_publish
        client.on_subscribe = on_subscribe
        client.on_message = on_message

    def _enqueue(self, message: Inbound) -> None:
        if message.qos == 0 and self.inbound.qsize() >= INBOUND_QOS0_LIMIT:
            if not self.stats.inbound_dropped % 1000:  # the first of a flood, then one line per thousand
                log.warning(
                    "inbound queue full: QoS 0 message on %s dropped (%d so far)",
                    message.topic,
                    self.stats.inbound_dropped + 1,
                )
            self.stats.inbound_dropped += 1
            return
        self.inbound.put_nowait(message)

    def _dispatch_acks(self) -> None:
        self._acks_scheduled = False
        batch: dict[int, list[tuple[int, int]]] = {}
        while self._acks:
            generation, mid, reason = self._acks.popleft()
            waiter = self._waiters.get((generation, mid))
            if waiter is not None:
                if not waiter.done():
                    waiter.set_result(reason)
            else:
                batch.setdefault(generation, []).append((mid, reason))
        if self._ack_sink is not None:
            for generation, acks in batch.items():
                self._ack_sink(generation, acks)

    async def _connect(
        self,
        client: mqtt.Client,
        connack: asyncio.Future[tuple[int, str, dict[str, Any]]],
        down: asyncio.Future[str],
    ) -> tuple[int, str]:
        """One attempt: TCP, CONNECT, CONNACK. The CONNACK reason value (0 = connected) and its text."""
        broker = self._broker
        props = None
        if self.protocol == "5":
            props = mqtt_properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = broker.session_expiry_s
            props.ReceiveMaximum = RECEIVE_MAXIMUM
        try:
            kwargs: dict[str, Any] = {"properties": props, "clean_start": False} if props is not None else {}
            await asyncio.to_thread(client.connect, broker.host, broker.port, broker.keepalive_s, **kwargs)
        except (OSError, ssl.SSLError) as exc:
            self._failed(f"cannot reach {broker.host}:{broker.port}: {exc}")
            return -1, str(exc)
        client.loop_start()
        # A broker that drops the connection instead of answering (a TLS client certificate it refuses,
        # say) ends the wait at once rather than at the timeout.
        answer: list[asyncio.Future[Any]] = [connack, down]
        await asyncio.wait(answer, timeout=broker.connect_timeout_s, return_when=asyncio.FIRST_COMPLETED)
        if not connack.done():
            why = f"connection closed before CONNACK ({down.result()})" if down.done() else "no CONNACK"
            self._failed(why)
            await self._dispose(client)
            return -1, why
        reason, detail, found = connack.result()
        if reason != 0:
            self.stats.refusals += 1
            self.stats.last_error = f"refused: {detail}"
            log.error("broker refused the connection of %s: %s", self._client_id, detail)
            await self._dispose(client)
            if self._on_refused is not None and not should_fall_back(
                self.protocol, reason, broker.fallback_to_311
            ):
                self._on_refused(detail)
            return reason, detail
        self.receive_maximum = found["receive_maximum"]
        return 0, detail

    async def _serve(
        self, client: mqtt.Client, down: asyncio.Future[str], subscribed: asyncio.Future[bool]
    ) -> None:
        """The connected phase: subscribe, announce, wait for the end of the connection or for stop.

        The link reports itself up only once the broker has confirmed the subscriptions, so nothing sent
        to the gate right after it comes online can miss it.
        """
        self.generation += 1
        self._client = client
        self._connected = True
        self.stats.connects += 1
        self.stats.last_error = None
        self._backoff.reset()
        if self._subscriptions:
            client.subscribe([(topic, 1) for topic in self._subscriptions])
            try:
                if not await asyncio.wait_for(asyncio.shield(subscribed), self._broker.connect_timeout_s):
                    self._failed("the broker refused a subscription (check its ACL)")
            except TimeoutError:
                self._failed("no SUBACK from the broker")
        client.publish(self._status_topic, self._online_payload(), qos=1, retain=True)
        self._up.set()
        log.info(
            "connected to %s:%d as %s (MQTT %s)",
            self._broker.host,
            self._broker.port,
            self._client_id,
            self.protocol,
        )
        self._notify(True)
        stopper: asyncio.Future[Any] = asyncio.ensure_future(self._stop.wait())
        ends: list[asyncio.Future[Any]] = [down, stopper]
        try:
            await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if self._stop.is_set() and not down.done():
            await self.publish_confirmed(self._status_topic, self._offline_payload("stopped"), retain=True)
            client.disconnect()
        else:
            self._failed(f"connection lost: {down.result() if down.done() else 'stopping'}")
        self._connected = False
        self._up.clear()
        self._client = None
        self._notify(False)
        await self._dispose(client)

    async def _dispose(self, client: mqtt.Client) -> None:
        with contextlib.suppress(Exception):
            if client.is_connected():
                client.disconnect()
        await asyncio.to_thread(client.loop_stop)

    def _failed(self, detail: str) -> None:
        self.stats.failures += 1
        if self.stats.last_error != detail:
            log.warning("%s: %s", self._client_id, detail)
        self.stats.last_error = detail

    def _notify(self, up: bool) -> None:
        for listener in self._listeners:
            listener(up)

    async def _sleep(self, delay: float) -> None:
        await wait_set(self._stop, delay)
