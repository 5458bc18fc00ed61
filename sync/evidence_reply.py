"""The ``evidence`` command's answer: the JPEGs the gate still holds, one bounded message per image.

Central asks for a passage's evidence on demand; the images stay at the gate otherwise. The gate knows its
images only through :class:`EvidenceProvider` (sync/ never imports the gate): which images a transaction
names (read on the store thread) and one image's bytes within a size cap (read on a worker thread, where a
too large image may be downscaled). Each image goes out on its own ``evidence`` message, one after the
other, each acknowledged by the broker before the next is read, so memory holds one image at a time. A
flood of evidence commands is refused beyond :attr:`EvidenceLimits.per_minute` before any image is read.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sync.client import MqttLink
from sync.contract import GateTopics
from sync.evidence_limits import MAX_IMAGE_BYTES, SHA256, EvidenceLimits
from sync.ports import StoreThread

EvidenceState = Literal["held", "downscaled", "too_large", "not_held"]


class EvidenceImageMessage(BaseModel):
    """One image of an evidence answer, on ``evidence`` (gate -> central)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    gate_id: str
    command_id: UUID = Field(description="The evidence command this answers.")
    transaction_id: str | None = Field(None, description="The transaction asked for, if one was named.")
    index: int = Field(ge=0, description="This image's place in the answer, from 0.")
    count: int = Field(ge=1, description="Images in the whole answer.")
    sha256: str = Field(pattern=SHA256, description="The image asked for (its SHA-256 as the gate kept it).")
    state: EvidenceState = Field(
        description="held (sent as kept), downscaled (sent smaller: its SHA-256 differs), too_large (larger "
        "than the cap even downscaled: not sent), not_held (pruned or never kept: not sent)."
    )
    original_bytes: int | None = Field(None, ge=0, description="The kept image's size, when held.")
    jpeg_base64: str | None = Field(
        None,
        max_length=(MAX_IMAGE_BYTES + 2) // 3 * 4,
        description="The JPEG (held or downscaled), base64; null otherwise.",
    )


@dataclass(frozen=True)
class EvidenceFetch:
    """One image as the gate can give it."""

    state: EvidenceState
    jpeg: bytes | None = None
    original_bytes: int | None = None


class EvidenceProvider(Protocol):
    """The gate's evidence images, as the evidence command sees them."""

    def images_of(self, transaction_id: str) -> list[str] | None:
        """The SHA-256s a transaction's record names (None: no such transaction); on the store thread."""
        ...

    def fetch(self, sha256: str, max_bytes: int) -> EvidenceFetch:
        """One image within ``max_bytes`` (downscaled if needed), or why not; on a worker thread."""
        ...


def evidence_topic(topics: GateTopics) -> str:
    return topics.prefix + "evidence"


class EvidenceRate:
    """At most ``per_minute`` admissions in any sliding minute."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._times: deque[float] = deque()

    def admit(self) -> bool:
        now = self._clock()
        while self._times and now - self._times[0] >= 60.0:
            self._times.popleft()
        if len(self._times) >= self._per_minute:
            return False
        self._times.append(now)
        return True


@dataclass(frozen=True)
class EvidenceAsk:
    """What an evidence command asks for: a transaction's images, or SHA-256s named."""

    command_id: UUID
    transaction_id: str | None
    sha256: tuple[str, ...]


class EvidenceSender:
    """Answers evidence commands for one gate: reads each image off the loop and publishes it."""

    def __init__(
        self,
        provider: EvidenceProvider,
        limits: EvidenceLimits,
        *,
        gate_id: str,
        topics: GateTopics,
        link: MqttLink,
        store: StoreThread,
    ) -> None:
        self.limits = limits
        self.rate = EvidenceRate(limits.per_minute)
        self._provider = provider
        self._gate_id = gate_id
        self._topic = evidence_topic(topics)
        self._link = link
        self._store = store

    async def wanted(self, ask: EvidenceAsk) -> tuple[list[str], bool]:
        """The SHA-256s to send (the transaction's, then those named), capped; and whether the tx is known."""
        names = list(ask.sha256)
        known = True
        if ask.transaction_id is not None:
            tx_id = ask.transaction_id
            found = await self._store.call(lambda: self._provider.images_of(tx_id))
            known = found is not None
            names = (found or []) + names
        return list(dict.fromkeys(names))[: self.limits.max_images], known

    async def send(self, ask: EvidenceAsk, names: list[str], known: bool = True) -> dict[str, Any]:
        """Publish one message per image; the summary the command's ack carries."""
        states: list[dict[str, Any]] = []
        unsent = 0
        for index, sha in enumerate(names):
            got = await asyncio.to_thread(self._provider.fetch, sha, self.limits.max_image_bytes)
            message = EvidenceImageMessage(
                gate_id=self._gate_id,
                command_id=ask.command_id,
                transaction_id=ask.transaction_id,
                index=index,
                count=len(names),
                sha256=sha,
                state=got.state,
                original_bytes=got.original_bytes,
                jpeg_base64=base64.b64encode(got.jpeg).decode() if got.jpeg is not None else None,
            )
            sent = await self._link.publish_confirmed(self._topic, message.model_dump_json().encode())
            unsent += not sent
            states.append({"sha256": sha, "state": got.state, "sent": sent})
        transaction = None if ask.transaction_id is None else ("known" if known else "unknown")
        return {"topic": self._topic, "transaction": transaction, "images": states, "unsent": unsent}
