"""A central instance: receives every gate's events exactly once, and feeds clearances and commands.

It is the executable half of the contract in docs/mqtt.md. Instances share the load through an MQTT 5 shared
subscription (``$share/<group>/...``): the broker gives each message to one instance of the group, and the
instances share one database (SQLite on one machine, PostgreSQL across machines) in which ``event_id`` is
unique, so an event the gate sent twice is stored once whichever instance receives each copy. Sequence gaps
are found through each event's ``prev_seq``.

paho's network thread receives and hands each message to a bounded queue (central.ingest_batch); one writer
thread stores them in batches, events of a batch in one transaction, and owns the database connection, which
is closed after it has stopped. A message is acknowledged to the broker only once its batch committed, or it
was recorded as rejected (central.rejections): a batch the database refuses is halved until the refused
message stands alone; while the database is out of reach the writer holds the batch and tries again with
backoff; a message never stored (the instance was stopped or killed meanwhile) is delivered again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import ValidationError

from central.confirm_delivery import sender_for
from central.confirmations import is_exit
from central.feed import current_snapshot, next_message
from central.ingest_batch import DEFAULT_BATCHES, BatchLimits, IngestQueue
from central.rejections import RefusedSeq, Rejected, invalid
from central.settings import CentralSettings, open_store
from central.store import CentralStore, MessageUnstorable, StoreUnavailable
from sync.clearances import ClearanceDelta, ClearanceSnapshot, WireDeclaration
from sync.client import mqtt_properties
from sync.commands import Command, CommandAck, CommandName, sign
from sync.config import BrokerConfig
from sync.contract import EventEnvelope, GateStatus, decode_json, gate_id_of, gate_topics
from sync.contract import Rejected as Refused
from sync.feed_signature import sign_feed_message
from sync.outbox import utc_now

log = logging.getLogger("central.receiver")

MAX_MESSAGE_BYTES = 1024 * 1024
PUBLISH_TIMEOUT_S = 10.0
STORE_RETRY_MIN_S = 0.2
STORE_RETRY_MAX_S = 5.0
SESSION_TAKEN_OVER = 142  # MQTT 5 DISCONNECT reason: another client connected with the same client id
SHORT_CONNECTION_S = 10.0  # a connection lost sooner counts towards a suspected client id clash
SHORT_DROPS_SUSPECT = 3  # short connections in a row that report one


def _client(broker: BrokerConfig, client_id: str, clean: bool) -> mqtt.Client:
    v5 = broker.protocol == "5"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
        clean_session=None if v5 else clean,
        manual_ack=True,  # PUBACK once stored, not when paho hands the message over
    )
    client.max_inflight_messages_set(0)
    if broker.username is not None:
        client.username_pw_set(
            broker.username, broker.password.get_secret_value() if broker.password else None
        )
    if broker.tls.enabled:
        client.tls_set(
            ca_certs=str(broker.tls.ca_file),
            certfile=str(broker.tls.cert_file) if broker.tls.cert_file else None,
            keyfile=str(broker.tls.key_file) if broker.tls.key_file else None,
        )
    client.reconnect_delay_set(min_delay=1, max_delay=5)
    return client


def retained_digest(topic: str, raw: bytes) -> str:
    """What identifies a retained message across deliveries: a hash of its topic and payload."""
    return hashlib.sha256(topic.encode() + b"\x00" + raw).hexdigest()


@dataclass(frozen=True)
class _Event:
    """A received message that is a valid event, and its payload as the JSON text to store."""

    message: mqtt.MQTTMessage
    event: EventEnvelope
    payload: str


def _expiry(seconds: int) -> Properties:
    props = mqtt_properties(PacketTypes.PUBLISH)
    props.MessageExpiryInterval = seconds
    return props


class Central:
    """One central instance; :meth:`start` runs it on paho's thread until :meth:`stop`."""

    def __init__(
        self,
        settings: CentralSettings,
        clock: Callable[[], datetime] = utc_now,
        batches: BatchLimits = DEFAULT_BATCHES,
    ) -> None:
        self.settings = settings
        self.batches = batches
        self._clock = clock
        self._wild = gate_topics(settings.topic_prefix, "+")
        self._client = _client(settings.broker, settings.name, clean=settings.session_expiry_s == 0)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.on_disconnect = self._on_disconnect
        self._store: CentralStore | None = None  # opened on the writer thread
        self.counts: Counter[str] = Counter()
        self._stopping = threading.Event()
        self._queue: IngestQueue[mqtt.MQTTMessage] = IngestQueue(batches, self._stopping)
        self._writer = threading.Thread(target=self._write, name=f"{settings.name}-writer", daemon=True)
        self.connected = threading.Event()
        self._connected_at = time.monotonic()
        self._short_drops = 0  # connections in a row lost within SHORT_CONNECTION_S
        self._clash_reported = False
        self.subscribed = threading.Event()
        self._acks: dict[str, CommandAck] = {}
        self._ack_arrived = threading.Condition()
        self.confirmations = sender_for(settings, self.open_store)  # None: no endpoint configured

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        broker = self.settings.broker
        kwargs: dict[str, Any] = {}
        if broker.protocol == "5":
            props = mqtt_properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.settings.session_expiry_s
            props.ReceiveMaximum = self.batches.capacity  # unacknowledged at most: what the queue holds
            kwargs = {"clean_start": self.settings.session_expiry_s == 0, "properties": props}
        self._writer.start()
        self._client.connect_async(broker.host, broker.port, broker.keepalive_s, **kwargs)
        self._client.loop_start()
        if self.confirmations is not None:
            self.confirmations.start()

    def stop(self) -> None:
        self._stopping.set()  # ends a wait for the database; the batch being stored is finished first
        if self._writer.is_alive():
            self._writer.join()
        self._client.disconnect()  # what is still queued was never acknowledged: delivered again
        self._client.loop_stop()
        self._drop_store()
        if self.confirmations is not None:
            self.confirmations.stop()

    def open_store(self) -> CentralStore:
        """A new connection to this instance's database, for the calling thread."""
        s = self.settings
        return open_store(
            db_path=s.db_path, db_url=s.db_url, name=s.name, mode=s.db_mode, max_seq_jump=s.max_seq_jump
        )

    def _db(self) -> CentralStore:
        if self._store is None:
            self._store = self.open_store()
        return self._store

    def _drop_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _subscriptions(self) -> list[tuple[str, int]]:
        share = f"$share/{self.settings.group}/" if self.settings.group else ""
        wild = self._wild
        if self.settings.acks_only:
            return [(wild.commands_ack, 1)]
        return [(share + t, 1) for t in (wild.events, wild.telemetry, wild.status, wild.commands_ack)]

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("%s: broker refused the connection: %s", self.settings.name, reason)
            return
        client.subscribe(self._subscriptions())
        self._connected_at = time.monotonic()
        self.connected.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        """Say so, once, when another client takes this instance's session: two instances share one
        ``--name`` (the MQTT client id) and the broker throws each off when the other reconnects, every few
        seconds. An MQTT 5 broker may name it (reason 142, Mosquitto from 2.0.15); older ones and 3.1.1 only
        close the connection, so connections lost again and again soon after connecting say it too."""
        if self._stopping.is_set():
            return
        lasted = time.monotonic() - self._connected_at
        self._short_drops = self._short_drops + 1 if lasted < SHORT_CONNECTION_S else 0
        taken = reason == SESSION_TAKEN_OVER
        if taken:
            self.counts["session_taken_over"] += 1
        elif self._short_drops >= SHORT_DROPS_SUSPECT:
            self.counts["session_flapping"] += 1
        else:
            return
        if self._clash_reported:
            return
        self._clash_reported = True
        seen = (
            "the broker says another client took over its session"
            if taken
            else f"the broker closed its connection {self._short_drops} times, each within"
            f" {SHORT_CONNECTION_S:.0f} s of connecting: another client probably uses the same client id"
        )
        log.error(
            "%s: %s (MQTT client id %r); give each central instance its own --name, or they throw each"
            " other off the broker and receive again what was not acknowledged",
            self.settings.name,
            seen,
            self.settings.name,
        )

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, reasons: list[Any], _p: Any) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        if failed:
            log.error("%s: subscriptions refused: %s", self.settings.name, ", ".join(failed))
        else:
            self.subscribed.set()

    # -- receiving ----------------------------------------------------------------------------
    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        """Queue the message for the writer, which acknowledges it once stored (waits while it is full)."""
        self._queue.put(message)

    def _write(self) -> None:
        """The writer thread: store batch after batch until stopped; a bug in one batch does not end it."""
        while not self._stopping.is_set():
            batch = self._queue.take()
            if not batch:
                continue
            try:
                self._store_batch(batch)
            except Exception:  # unacknowledged: delivered again once the instance reconnects
                self.counts["writer_errors"] += 1
                log.error("%s: writer failed on a batch; it goes on", self.settings.name, exc_info=True)

    def _store_batch(self, batch: list[mqtt.MQTTMessage]) -> None:
        """Handle a batch in arrival order: each run of events in one transaction, any other message by
        itself; acknowledge each once done. Stopped during an outage: the rest stays unacknowledged."""
        run: list[_Event] = []
        for message in [*batch, None]:
            parsed = None if message is None else self._as_event(message)
            if parsed is not None:
                run.append(parsed)
                continue
            if run:
                if not self._store_events(run):
                    return
                self.counts["batches"] += 1
                for item in run:
                    self._client.ack(item.message.mid, item.message.qos)
                run = []
            if message is not None:
                if not self._retrying(partial(self._process_one, message)):
                    return
                self._client.ack(message.mid, message.qos)

    def _as_event(self, message: mqtt.MQTTMessage) -> _Event | None:
        """The message as a valid event of its topic's gate; None: not an event, or one to reject (the
        one-by-one path finds and records why)."""
        gate = gate_id_of(self.settings.topic_prefix, message.topic)
        raw = bytes(message.payload)
        if gate is None or len(raw) > MAX_MESSAGE_BYTES:
            return None
        if message.topic != gate_topics(self.settings.topic_prefix, gate).events:
            return None
        try:
            event = self._envelope(gate, raw)
        except (ValueError, Rejected):  # pydantic's ValidationError is a ValueError
            return None
        return _Event(message, event, json.dumps(event.payload, sort_keys=True, separators=(",", ":")))

    def _store_events(self, events: list[_Event]) -> bool:
        """Store events in one transaction; a refused batch is halved until the refused message stands
        alone and is rejected by itself. False: stopped while waiting for the database."""
        stored = self._retrying(lambda: self._try_events(events))
        if stored is None:
            return False
        if stored:
            return True
        if len(events) == 1:
            return self._retrying(lambda: self._process_one(events[0].message)) is not None
        half = len(events) // 2
        return self._store_events(events[:half]) and self._store_events(events[half:])

    def _try_events(self, events: list[_Event]) -> bool:
        """True once stored; False if the database refused a value in the batch (StoreUnavailable: later)."""
        try:
            flags = self._db().store_events(
                [(item.event, item.payload) for item in events], self.settings.name, self._clock()
            )
        except MessageUnstorable:
            self.counts["batches_split"] += 1
            return False
        except StoreUnavailable:
            raise
        except Exception:  # a bug: split down to the message, which _process records as rejected
            log.error("%s: failed storing a batch; splitting it", self.settings.name, exc_info=True)
            self.counts["batches_split"] += 1
            return False
        new = sum(flags)
        self.counts["stored"] += new
        self.counts["duplicate"] += len(flags) - new
        if self.confirmations is not None and any(
            flag and is_exit(item.event) for flag, item in zip(flags, events, strict=True)
        ):
            self.confirmations.wake()
        return True

    def _process_one(self, message: mqtt.MQTTMessage) -> bool:
        self._process(self._client, message)
        return True

    def _retrying(self, attempt: Callable[[], bool]) -> bool | None:
        """``attempt``'s answer, waiting out a database outage with backoff; None: stopped meanwhile."""
        delay = STORE_RETRY_MIN_S
        down_since: float | None = None
        while True:
            try:
                answer = attempt()
                break
            except StoreUnavailable as exc:
                self._drop_store()  # a new connection on the next try
                if down_since is None:
                    down_since = time.monotonic()
                    self.counts["store_outages"] += 1
                    log.error("%s: %s; holding the messages and retrying", self.settings.name, exc)
                else:
                    log.debug("%s: still unavailable: %s", self.settings.name, exc)
                if self._stopping.wait(delay):
                    return None  # not acknowledged: the broker delivers them again
                delay = min(delay * 2, STORE_RETRY_MAX_S)
        if down_since is not None:
            log.info("%s: database back after %.1f s", self.settings.name, time.monotonic() - down_since)
        return answer

    def _process(self, client: mqtt.Client, message: mqtt.MQTTMessage) -> None:
        """Handle a message, or count, log and record why it cannot be stored; StoreUnavailable: try again."""
        raw = bytes(message.payload)
        try:
            self._handle(client, message.topic, raw)
            return
        except Rejected as exc:
            rejection = exc
        except RefusedSeq as exc:
            rejection = Rejected(exc.reason, str(exc))
        except MessageUnstorable as exc:
            rejection = Rejected("unstorable", str(exc))
        except StoreUnavailable:
            raise
        except Exception as exc:  # a bug must neither end paho's thread nor lose the message unseen
            log.error("%s: failed handling a message on %s", self.settings.name, message.topic, exc_info=True)
            rejection = Rejected("internal_error", f"{type(exc).__name__}: {exc}")
        # A retained message comes again on every reconnect and restart: recorded and counted once.
        retained = retained_digest(message.topic, raw) if message.retain else None
        try:
            if not self._db().store_rejected(
                message.topic, rejection.reason, rejection.detail, len(raw), self._clock(), retained
            ):
                self.counts["rejected_retained_again"] += 1
                log.debug("%s: retained message on %s rejected before", self.settings.name, message.topic)
                return
        except MessageUnstorable as exc:
            self.counts["rejections_unrecorded"] += 1
            log.error("%s: the rejection could not be recorded either: %s", self.settings.name, exc)
        self.counts["rejected"] += 1
        self.counts[f"rejected.{rejection.reason}"] += 1
        log.warning(
            "%s: message on %s rejected (%s): %s",
            self.settings.name,
            message.topic[:200],
            rejection.reason,
            rejection.detail[:200],
        )

    def _handle(self, client: mqtt.Client, topic: str, raw: bytes) -> None:
        gate = gate_id_of(self.settings.topic_prefix, topic)
        if gate is None:
            raise Rejected("not_a_gate_topic", f"not under {self.settings.topic_prefix}")
        if len(raw) > MAX_MESSAGE_BYTES:
            raise Rejected("too_large", f"{len(raw)} bytes, at most {MAX_MESSAGE_BYTES}")
        now = self._clock()
        topics = gate_topics(self.settings.topic_prefix, gate)
        try:
            if topic == topics.events:
                self._event(gate, raw, now)
            elif topic == topics.telemetry:
                self._telemetry(gate, raw, now)
            elif topic == topics.status:
                self._status(client, gate, raw, now)
            elif topic == topics.commands_ack:
                self._ack(gate, raw, now)
            else:
                raise Rejected("unknown_topic", "central reads events, telemetry, status and commands/ack")
        except ValidationError as exc:
            raise invalid(exc) from None
        except MessageUnstorable:
            raise
        except ValueError as exc:
            raise Rejected("bad_schema", str(exc)) from None

    def _envelope(self, gate: str, raw: bytes) -> EventEnvelope:
        """The gate's event or sample; sync's bounded parser first: NaN, infinities, a 20-digit integer, a
        key twice, a lone surrogate are bad_json here, never stored (PostgreSQL's json refuses NaN)."""
        try:
            data = decode_json(raw, MAX_MESSAGE_BYTES)
        except Refused as exc:
            raise Rejected("bad_json", exc.detail) from None
        event = EventEnvelope.model_validate(data)
        if event.gate_id != gate:
            raise Rejected("wrong_gate", f"envelope of gate {event.gate_id!r} on the topic of gate {gate!r}")
        return event

    def _event(self, gate: str, raw: bytes, now: datetime) -> None:
        event = self._envelope(gate, raw)
        payload = json.dumps(event.payload, sort_keys=True, separators=(",", ":"))
        stored = self._db().store_event(event, payload, self.settings.name, now)
        self.counts["stored" if stored else "duplicate"] += 1
        if stored and self.confirmations is not None and is_exit(event):
            self.confirmations.wake()

    def _telemetry(self, gate: str, raw: bytes, now: datetime) -> None:
        event = self._envelope(gate, raw)
        if event.expires_at is not None and event.expires_at < now:
            self._db().count_expired_telemetry(gate, event.seq)
            self.counts["telemetry_expired"] += 1
            return
        self._db().store_telemetry(gate, event.seq, event.at, json.dumps(event.payload), now)
        self.counts["telemetry"] += 1

    def _status(self, client: mqtt.Client, gate: str, raw: bytes, now: datetime) -> None:
        status = GateStatus.model_validate_json(raw)
        store = self._db()
        store.store_status(gate, status.state, status.at, status.clearance_version, now)
        self.counts["status"] += 1
        version, _ = store.feed(gate)
        behind = status.clearance_version is not None and status.clearance_version < version
        if status.state == "online" and (status.want_snapshot or behind):
            snapshot = current_snapshot(store, gate, now)
            key = self.settings.signing_key
            if snapshot is not None and key is None:
                log.warning(
                    "%s: gate %s wants a snapshot; no signing key to send one", self.settings.name, gate
                )
                self.counts["snapshots_unsigned"] += 1
            elif snapshot is not None and key is not None:
                log.info(
                    "%s: sending gate %s a snapshot at feed version %d", self.settings.name, gate, version
                )
                topic = gate_topics(self.settings.topic_prefix, gate).clearances
                client.publish(topic, sign_feed_message(snapshot, key), qos=1)
                self.counts["snapshots_sent"] += 1

    def _ack(self, gate: str, raw: bytes, now: datetime) -> None:
        ack = CommandAck.model_validate_json(raw)
        command_id = str(ack.command_id) if ack.command_id else None
        self._db().store_ack(gate, command_id, ack.status, ack.detail, raw.decode(), now)
        with self._ack_arrived:
            if command_id:
                self._acks[command_id] = ack
            self._ack_arrived.notify_all()

    # -- sending ------------------------------------------------------------------------------
    def publish_clearances(
        self, gate_id: str, declarations: list[WireDeclaration], snapshot: bool = False
    ) -> ClearanceSnapshot | ClearanceDelta | None:
        """Record the gate's next feed version and publish it signed (QoS 1); None if nothing changed."""
        key = self.settings.signing_key
        if key is None:  # before the feed advances: a version nobody can send would be a gap at the gate
            raise ValueError(
                "central has no signing key: clearances cannot be sent (gate-edge keys generate)"
            )
        store = self.open_store()  # this (caller's) thread's own connection
        try:
            message = next_message(store, gate_id, declarations, snapshot, self._clock())
        finally:
            store.close()
        if message is not None:
            self.publish_raw(
                gate_topics(self.settings.topic_prefix, gate_id).clearances, sign_feed_message(message, key)
            )
        return message

    def publish_raw(self, topic: str, payload: bytes, expiry_s: int | None = None) -> None:
        """Publish QoS 1 and wait for the broker's acknowledgement."""
        props = _expiry(expiry_s) if expiry_s and self.settings.broker.protocol == "5" else None
        info = self._client.publish(topic, payload, qos=1, properties=props)
        info.wait_for_publish(PUBLISH_TIMEOUT_S)
        if not info.is_published():
            raise TimeoutError(f"broker did not acknowledge the publish on {topic}")

    def send_command(
        self, gate_id: str, name: CommandName, key: str, issuer: str, reason: str = "", max_age_s: int = 120
    ) -> Command:
        """Sign and publish a command; its message expires when the gate would refuse it as stale anyway."""
        command = Command(
            command_id=uuid.uuid4(),
            gate_id=gate_id,
            name=name,
            issuer=issuer,
            issued_at=self._clock(),
            reason=reason,
        )
        topic = gate_topics(self.settings.topic_prefix, gate_id).commands
        self.publish_raw(topic, sign(command, key), expiry_s=max_age_s)
        return command

    def wait_ack(self, command_id: uuid.UUID, timeout: float) -> CommandAck | None:
        """The gate's ack for a command, once it arrives on this instance (None after ``timeout``)."""
        with self._ack_arrived:
            self._ack_arrived.wait_for(lambda: str(command_id) in self._acks, timeout)
            return self._acks.get(str(command_id))
