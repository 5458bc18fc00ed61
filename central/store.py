"""What central needs of a database, whichever it is; and the two ways a write can fail.

Several central instances may share one database: ``event_id`` is unique, so an event delivered twice (to
one instance or to two) is stored once, and each backend serialises the writes that read before they write
(the gap check, the feed version) per gate, so two instances cannot both miss each other's rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

from sync.contract import EventEnvelope

T = TypeVar("T")

# A step of a gate's clearance feed: given the version and declarations (JSON text) central last sent, the
# declarations to record at the next version and a value for the caller; None: nothing to record.
FeedStep = Callable[[int, str | None], tuple[str, T] | None]

OpenMode = Literal["create", "open", "read"]
"""create: make the database (file and tables) if it is not there; open: it must exist and hold central's
events (tables added by a newer release are created); read: it must exist with all of central's tables, and
nothing is written (a report)."""


class StoreUnavailable(Exception):
    """The database cannot be reached or written just now (down, locked, full); worth trying again later.

    The message names the database (a URL without its password) and the reason, for a log line or the CLI.
    """


class MessageUnstorable(ValueError):
    """The database refuses this message's values (a number beyond its range, a constraint): a retry will
    not help, so the message is recorded as rejected instead."""


class CentralStore(Protocol):
    """Central's database: one connection, used by one thread at a time (each instance opens its own).

    Writes raise :class:`StoreUnavailable` when the database is out of reach, :class:`MessageUnstorable`
    when it refuses the values; each write is one transaction, so a write that failed may be repeated whole.
    """

    def close(self) -> None: ...

    def store_event(self, event: EventEnvelope, payload_json: str, receiver: str, at: datetime) -> bool:
        """Store an event unless its id is known; keep the gap list in step. True if it was new."""
        ...

    def store_events(
        self, events: Sequence[tuple[EventEnvelope, str]], receiver: str, at: datetime
    ) -> list[bool]:
        """Store a batch of (event, payload JSON) in one transaction; per event: True if it was new."""
        ...

    def store_telemetry(
        self, gate_id: str, seq: int, at: datetime, payload_json: str, received: datetime
    ) -> bool:
        """Keep the gate's latest telemetry sample (by seq) and count it; False: an older or repeated one."""
        ...

    def count_expired_telemetry(self, gate_id: str, seq: int) -> None:
        """Count a telemetry sample that arrived after its expiry (received, not kept)."""
        ...

    def store_status(
        self, gate_id: str, state: str, at: datetime, version: int | None, received: datetime
    ) -> None:
        """Keep the gate's last status message."""
        ...

    def store_ack(
        self, gate_id: str, command_id: str | None, status: str, detail: str, body: str, at: datetime
    ) -> None:
        """Append a command acknowledgement."""
        ...

    def store_rejected(
        self, topic: str, reason: str, detail: str, size: int, at: datetime, retained: str | None = None
    ) -> bool:
        """Record a message central could not store: topic, reason, detail, size; never its content.

        ``retained``: a retained message's hash of topic and payload; False: it was recorded before (the
        broker delivers it again on each reconnect), and is not recorded again."""
        ...

    def feed(self, gate_id: str) -> tuple[int, str | None]:
        """The gate's feed version (0 if none) and its declarations as JSON text."""
        ...

    def advance_feed(self, gate_id: str, at: datetime, step: FeedStep[T]) -> T | None:
        """Run ``step`` on the gate's feed and record what it returns at the next version, atomically.

        No other writer changes the gate's feed in between, whichever instance it runs in.
        """
        ...

    def report(self) -> dict[str, Any]:
        """What central stored: see :func:`central.report.build_report`."""
        ...
