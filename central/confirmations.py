"""What has physically exited, per declaration: the confirmations central owes customs' clearance system.

A vehicle has left the gate when the gate's ``transaction.ended`` event says so: its ``result`` is
``passed`` (the lane saw the vehicle leave) or ``unconfirmed`` (the barrier was open while the lane could not
watch; the gate counts the declaration as used, so customs is told too, marked as such), and its ``exits``
list the (declaration, container) pairs it recorded. Any other result (rejected, left, aborted) exited
nothing. Each declaration of such an event makes one confirmation, like the "gate-out" message a seaport
terminal sends to customs supervision.

A confirmation's id is derived from the exit event's id and the declaration (UUID 5), never drawn at
random: the gate resending the event, or a second central instance storing it, makes the same id, and the
database's primary key keeps one row. The body (docs/confirmation.schema.json) is pure data of the event,
so every attempt sends the same bytes.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from sync.contract import EventEnvelope
from sync.feed_signature import canonical_json

log = logging.getLogger("central.confirmations")

EXIT_KIND = "transaction.ended"
EXITED_RESULTS = ("passed", "unconfirmed")
SCHEMA_VERSION = 1
# Fixed forever: changing it would give every past passage a new id, and the receiver would see twins.
ID_NAMESPACE = uuid.UUID("6f0c2a8e-5d1b-4b7e-9a43-3c1e0d2b7f10")


class _ExitPayload(BaseModel):
    """The part of a ``transaction.ended`` payload a confirmation reads (the rest is ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    result: str
    exits: list[tuple[str, str]] = Field(default_factory=list)
    tx_id: str | None = None
    lane_id: str | None = None
    plate: str | None = None

    @field_validator("tx_id", "lane_id", "plate", mode="before")
    @classmethod
    def _text_or_none(cls, value: Any) -> str | None:
        """A description the gate got wrong is left out; it must not cost customs the confirmation."""
        return value if isinstance(value, str) and value else None


class ExitConfirmation(BaseModel):
    """One declaration's passage through a gate, as central tells customs' clearance system (signed JSON)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="Exit confirmation",
        json_schema_extra={
            "$id": "https://border-gate-edge.example/schemas/confirmation.schema.json",
            "description": "POSTed by central to the clearance system for each declaration whose vehicle"
            " or containers passed a gate. Signed: header X-Signature-Ed25519 is the base64 Ed25519"
            " signature of the exact body bytes by the key named in X-Signature-Key-Id. The"
            " Idempotency-Key header repeats confirmation_id: the same id may arrive more than once"
            " (at-least-once delivery) and always with the same body.",
        },
    )

    schema_version: Literal[1] = Field(description="Version of this body; a receiver refuses unknown ones.")
    confirmation_id: uuid.UUID = Field(
        description="Stable id of this passage of this declaration (UUID 5 of the exit event and the"
        " declaration): the receiver de-duplicates on it."
    )
    declaration_number: str = Field(min_length=1, description="The customs declaration that exited.")
    gate_id: str = Field(description="The gate it passed.")
    lane_id: str | None = Field(description="The lane of the gate, when the gate said.")
    tx_id: str | None = Field(description="The gate's transaction id of the passage.")
    exited_at: AwareDatetime = Field(description="When the gate recorded the exit (UTC).")
    result: Literal["passed", "unconfirmed"] = Field(
        description="passed: the lane saw the vehicle leave; unconfirmed: the barrier was open while the"
        " lane could not watch, and the gate counts the declaration as used."
    )
    plate: str | None = Field(description="The vehicle's plate as the gate normalised it, when it sent it.")
    containers: list[str] = Field(
        description="Container numbers of the declaration that passed (empty: a vehicle without any)."
    )
    event_id: uuid.UUID = Field(description="Id of the gate event that recorded the exit.")
    event_seq: int = Field(ge=1, description="That event's per-gate sequence number.")

    def body(self) -> bytes:
        """The bytes sent and signed: canonical JSON (keys sorted, no spaces, UTF-8)."""
        return canonical_json(self.model_dump(mode="json"))


def confirmation_id(event_id: uuid.UUID, declaration: str) -> uuid.UUID:
    """The id of ``declaration``'s passage recorded by the event ``event_id``: the same wherever computed."""
    return uuid.uuid5(ID_NAMESPACE, f"{event_id}:{declaration}")


def is_exit(event: EventEnvelope) -> bool:
    return event.kind == EXIT_KIND


def confirmations_of(event: EventEnvelope) -> list[ExitConfirmation]:
    """The confirmations an event makes: one per declaration that exited, none for any other event.

    Never raises on the payload's shape: a malformed exit payload is logged and makes none, and the event
    is stored as any other (central keeps every event it can read).
    """
    if not is_exit(event):
        return []
    try:
        payload = _ExitPayload.model_validate(event.payload)
    except ValidationError as exc:
        log.warning(
            "gate %s event %s (seq %d): exits unreadable, no confirmation made: %s",
            event.gate_id,
            event.event_id,
            event.seq,
            json.dumps(exc.errors(include_url=False, include_input=False), default=str)[:300],
        )
        return []
    if payload.result not in EXITED_RESULTS:
        return []
    per_declaration: dict[str, list[str]] = {}
    for declaration, container in payload.exits:
        if declaration:
            found = per_declaration.setdefault(declaration, [])
            if container and container not in found:
                found.append(container)
    return [
        ExitConfirmation(
            schema_version=SCHEMA_VERSION,
            confirmation_id=confirmation_id(event.event_id, declaration),
            declaration_number=declaration,
            gate_id=event.gate_id,
            lane_id=payload.lane_id,
            tx_id=payload.tx_id,
            exited_at=event.at.astimezone(UTC),
            result="passed" if payload.result == "passed" else "unconfirmed",
            plate=payload.plate,
            containers=containers,
            event_id=event.event_id,
            event_seq=event.seq,
        )
        for declaration, containers in per_declaration.items()
    ]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a confirmation's body (docs/confirmation.schema.json holds it)."""
    schema = ExitConfirmation.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
