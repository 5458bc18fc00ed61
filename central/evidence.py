"""Evidence on demand: central asks a gate for a passage's JPEGs, keeps what comes back in a bounded folder.

The images stay at the gate (central holds their SHA-256s only) until a staff member asks. The desk signs an
``evidence`` command with the gate's command key, publishes it, and collects the gate's answer: one
``evidence`` message per image, then the command's ack. It has its own MQTT connection, subscribed without
a shared group so every instance sees its own answers, and keeps only images it asked for: an unsolicited
or oversized message is dropped unread. Images are written as ``<folder>/<gate>/<sha256>.jpg``; when the
folder passes its cap the oldest files go first (the gate can be asked again while it still holds them).
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from pydantic import ValidationError

from sync.commands import Command, CommandAck, sign
from sync.config import BrokerConfig
from sync.contract import gate_topics
from sync.evidence_limits import MAX_IMAGE_BYTES, SHA256
from sync.evidence_reply import EvidenceImageMessage, evidence_topic

log = logging.getLogger("central.evidence")

MAX_MESSAGE_BYTES = MAX_IMAGE_BYTES * 4 // 3 + 4096  # one base64 image and its fields
DEFAULT_FOLDER_BYTES = 1024 * 1024 * 1024
COMMAND_MAX_AGE_S = 120
SETTLE_S = 2.0  # after the ack: images the ack says were sent may still be on their way
GATE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_SHA256 = re.compile(SHA256)


class EvidenceUnavailable(Exception):
    """Evidence cannot be asked for now (not connected, no key for the gate): say so, ask later."""


@dataclass
class _Pending:
    gate_id: str
    images: dict[str, EvidenceImageMessage] = field(default_factory=dict)
    ack: CommandAck | None = None


@dataclass(frozen=True)
class EvidenceAnswer:
    """What the gate answered: its ack's status and detail, and each image with where central keeps it."""

    status: str  # accepted, refused, rejected, duplicate, or no_answer
    detail: str
    transaction_known: bool = True
    images: tuple[dict[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "detail": self.detail,
            "transaction_known": self.transaction_known,
            "images": list(self.images),
        }


class EvidenceDesk:
    """Asks gates for evidence; :meth:`request` blocks its caller (a worker thread) until the answer."""

    def __init__(
        self,
        broker: BrokerConfig,
        topic_prefix: str,
        keys: Mapping[str, str],
        folder: Path,
        *,
        name: str = "central-evidence",
        max_folder_bytes: int = DEFAULT_FOLDER_BYTES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._prefix = topic_prefix
        self._keys = dict(keys)
        self.folder = folder
        self._max_folder_bytes = max_folder_bytes
        self._clock = clock
        self._pending: dict[str, _Pending] = {}
        self._changed = threading.Condition()
        self._write_lock = threading.Lock()
        self.connected = threading.Event()  # connected and subscribed
        self.dropped = 0
        v5 = broker.protocol == "5"
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{name}-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
        )
        if broker.username is not None:
            password = broker.password.get_secret_value() if broker.password else None
            self._client.username_pw_set(broker.username, password)
        if broker.tls.enabled:
            self._client.tls_set(
                ca_certs=str(broker.tls.ca_file),
                certfile=str(broker.tls.cert_file) if broker.tls.cert_file else None,
                keyfile=str(broker.tls.key_file) if broker.tls.key_file else None,
            )
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._broker = broker

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self._client.connect_async(self._broker.host, self._broker.port, self._broker.keepalive_s)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("evidence desk: broker refused the connection: %s", reason)
            return
        wild = gate_topics(self._prefix, "+")
        client.subscribe([(evidence_topic(wild), 1), (wild.commands_ack, 1)])

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, reasons: list[Any], _p: Any) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        if failed:
            log.error("evidence desk: subscriptions refused: %s", ", ".join(failed))
        else:
            self.connected.set()  # only now can answers reach the desk

    # -- receiving (paho's thread) ------------------------------------------------------------
    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        raw = bytes(message.payload)
        if len(raw) > MAX_MESSAGE_BYTES:
            self.dropped += 1
            log.warning("evidence desk: %d bytes on %s dropped unread", len(raw), message.topic[:200])
            return
        try:
            if message.topic.endswith("/commands/ack"):
                self._ack(CommandAck.model_validate_json(raw))
            else:
                self._image(EvidenceImageMessage.model_validate_json(raw))
        except ValidationError as exc:
            self.dropped += 1
            log.warning("evidence desk: unreadable message on %s: %s", message.topic[:200], exc.errors()[:1])

    def _ack(self, ack: CommandAck) -> None:
        with self._changed:
            pending = self._pending.get(str(ack.command_id))
            if pending is not None and pending.gate_id == ack.gate_id:
                pending.ack = ack
                self._changed.notify_all()

    def _image(self, image: EvidenceImageMessage) -> None:
        with self._changed:
            pending = self._pending.get(str(image.command_id))
            if pending is None or pending.gate_id != image.gate_id:
                self.dropped += 1  # not asked for here: never kept
                return
        if image.jpeg_base64 is not None:
            self._keep(image.gate_id, image.sha256, base64.b64decode(image.jpeg_base64))
        with self._changed:
            pending.images[image.sha256] = image.model_copy(update={"jpeg_base64": None})
            self._changed.notify_all()

    # -- the folder ---------------------------------------------------------------------------
    def image_path(self, gate_id: str, sha256: str) -> Path | None:
        """Where a received image is kept, if it is (None for ids that are not ids)."""
        if not GATE_ID.match(gate_id) or not _SHA256.fullmatch(sha256):
            return None
        path = self.folder / gate_id / f"{sha256}.jpg"
        return path if path.is_file() else None

    def _keep(self, gate_id: str, sha256: str, jpeg: bytes) -> None:
        if not GATE_ID.match(gate_id):
            return
        with self._write_lock:
            target = self.folder / gate_id / f"{sha256}.jpg"
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                part = target.with_suffix(".part")
                part.write_bytes(jpeg)
                part.replace(target)
                self._trim()
            except OSError as exc:
                log.error("evidence desk: %s of gate %s not kept: %s", sha256, gate_id, exc)

    def _trim(self) -> None:
        """Delete the oldest images until the folder is within its cap."""
        files = sorted(self.folder.glob("*/*.jpg"), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in files)
        for path in files:
            if total <= self._max_folder_bytes:
                break
            total -= path.stat().st_size
            path.unlink(missing_ok=True)

    # -- asking -------------------------------------------------------------------------------
    def request(
        self,
        gate_id: str,
        issuer: str,
        *,
        transaction_id: str | None = None,
        sha256: tuple[str, ...] = (),
        timeout_s: float = 15.0,
    ) -> EvidenceAnswer:
        """Ask ``gate_id`` for evidence and wait for its answer (``no_answer`` after ``timeout_s``)."""
        key = self._keys.get(gate_id)
        if key is None:
            raise EvidenceUnavailable(f"no command key for gate {gate_id} at this central")
        if not self.connected.is_set():
            raise EvidenceUnavailable("central is not connected to the broker")
        command = Command(
            command_id=uuid.uuid4(),
            gate_id=gate_id,
            name="evidence",
            issuer=issuer,
            issued_at=self._clock(),
            reason="evidence asked on the central screen",
            transaction_id=transaction_id,
            sha256=sha256,
        )
        cid = str(command.command_id)
        pending = _Pending(gate_id)
        with self._changed:
            self._pending[cid] = pending
        try:
            topic = gate_topics(self._prefix, gate_id).commands
            info = self._client.publish(topic, sign(command, key), qos=1)
            info.wait_for_publish(timeout_s)
            if not info.is_published():
                raise EvidenceUnavailable("the broker did not take the command")
            with self._changed:
                self._changed.wait_for(lambda: pending.ack is not None, timeout_s)
                ack = pending.ack
                if ack is not None and ack.result is not None:
                    sent = {i["sha256"] for i in ack.result.get("images", []) if i.get("sent")}
                    self._changed.wait_for(lambda: sent <= pending.images.keys(), SETTLE_S)
            return self._answer(gate_id, ack, pending)
        finally:
            with self._changed:
                self._pending.pop(cid, None)

    def _answer(self, gate_id: str, ack: CommandAck | None, pending: _Pending) -> EvidenceAnswer:
        if ack is None:
            detail = f"gate {gate_id} did not answer: offline or busy, ask again later"
            return EvidenceAnswer("no_answer", detail)
        result = ack.result or {}
        images = []
        for listed in result.get("images", []):
            sha = str(listed.get("sha256"))
            got = pending.images.get(sha)
            state = str(listed.get("state"))
            kept = got is not None and self.image_path(gate_id, sha) is not None
            images.append(
                {
                    "sha256": sha,
                    "state": state,
                    "original_bytes": None if got is None else got.original_bytes,
                    "url": f"/api/v1/evidence/{gate_id}/{sha}.jpg" if kept else None,
                }
            )
        known = result.get("transaction") != "unknown"
        return EvidenceAnswer(ack.status, ack.detail, known, tuple(images))
