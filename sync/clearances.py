"""The clearance feed from central: versioned snapshots and deltas, validated, then applied idempotently.

The feed has one version per gate. A snapshot replaces the whole cache; a delta applies on top of exactly
its ``base_version``. A message at or below the cached version was already applied (QoS 1 redelivers) and is
ignored; a delta that does not follow the cached version is out of order: rejected, and the gate asks for a
snapshot. Whatever is rejected changes nothing. The cache and its version live in the gate's store (behind
:class:`ClearanceStore`), so after a restart the gate decides from them while offline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal, Protocol

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from sync.contract import Rejected, decode_json, validation_detail

PLATE_PATTERN = r"^[A-Z0-9]{1,16}$"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WireContainer(_Wire):
    number: str = Field(min_length=1, max_length=20, description="ISO 6346 container number.")
    seal: str | None = Field(None, max_length=64, description="Customs seal number.")


class WireDeclaration(_Wire):
    """A declaration as central sends it; the gate maps it onto its own model."""

    number: str = Field(min_length=1, max_length=64, description="Declaration number.")
    version: int = Field(ge=1, description="Version of this declaration; a newer one replaces an older.")
    status: Literal["cleared", "pending", "revoked", "rejected"] = Field(
        description="Only cleared declarations let a vehicle pass; revoked withdraws a clearance."
    )
    channel: Literal["green", "yellow", "red"] = Field(description="Red requires a physical inspection.")
    inspection_done: bool = Field(False, description="Red channel: inspection recorded as done.")
    plates: list[Annotated[str, Field(pattern=PLATE_PATTERN)]] = Field(
        min_length=1, max_length=16, description="Normalised plates (A-Z0-9)."
    )
    containers: list[WireContainer] = Field(default_factory=list, max_length=64)
    gross_kg: float | None = Field(None, gt=0, le=500_000, description="Declared gross weight.")
    valid_from: AwareDatetime
    valid_until: AwareDatetime

    @model_validator(mode="after")
    def _validity_order(self) -> WireDeclaration:
        if self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self


class ClearanceSnapshot(_Wire):
    """Every declaration cleared for the gate, replacing its whole cache."""

    type: Literal["snapshot"]
    schema_version: Literal[1] = 1
    gate_id: str = Field(description="The gate this feed is for.")
    feed_version: int = Field(ge=1, description="Version of the gate's feed after this message.")
    issued_at: AwareDatetime
    declarations: list[WireDeclaration]

    @model_validator(mode="after")
    def _unique_numbers(self) -> ClearanceSnapshot:
        numbers = [d.number for d in self.declarations]
        if len(set(numbers)) != len(numbers):
            raise ValueError("a declaration number appears twice")
        return self


class ClearanceDelta(_Wire):
    """Changes since ``base_version``: new or amended (also revoked) declarations, and removals."""

    type: Literal["delta"]
    schema_version: Literal[1] = 1
    gate_id: str
    feed_version: int = Field(ge=1, description="Version after this delta.")
    base_version: int = Field(ge=0, description="The version this delta applies on top of.")
    issued_at: AwareDatetime
    upserts: list[WireDeclaration] = Field(default_factory=list)
    removals: list[str] = Field(
        default_factory=list, description="Declaration numbers to drop from the cache."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ClearanceDelta:
        if self.base_version >= self.feed_version:
            raise ValueError("base_version must be below feed_version")
        numbers = [d.number for d in self.upserts] + self.removals
        if len(set(numbers)) != len(numbers):
            raise ValueError("a declaration number appears twice")
        return self


ClearanceMessage = Annotated[ClearanceSnapshot | ClearanceDelta, Field(discriminator="type")]
_MESSAGE = TypeAdapter[ClearanceSnapshot | ClearanceDelta](ClearanceMessage)


def parse_clearance(raw: bytes, gate_id: str, max_bytes: int) -> ClearanceSnapshot | ClearanceDelta:
    """Validate one feed message, or raise :class:`Rejected` (oversized, malformed, schema, wrong_gate)."""
    data = decode_json(raw, max_bytes)
    try:
        message = _MESSAGE.validate_python(data)
    except ValidationError as exc:
        raise Rejected("schema", validation_detail(exc)) from None
    if message.gate_id != gate_id:
        raise Rejected("wrong_gate", f"for gate {message.gate_id!r}, this is {gate_id!r}")
    return message


@dataclass(frozen=True, slots=True)
class AlreadyApplied:
    version: int


@dataclass(frozen=True, slots=True)
class Apply:
    message: ClearanceSnapshot | ClearanceDelta


def plan(
    message: ClearanceSnapshot | ClearanceDelta, current: int, resync: bool = False
) -> Apply | AlreadyApplied:
    """What to do with a valid message given the cached feed version; raises Rejected if out of order.

    While the gate waits for a snapshot (``resync``: a gap, or central's reload command), a snapshot at the
    cached version is applied again in full: it repairs whatever the cache lost.
    """
    if resync and isinstance(message, ClearanceSnapshot) and message.feed_version >= current:
        return Apply(message)
    if message.feed_version <= current:
        return AlreadyApplied(current)
    if isinstance(message, ClearanceDelta) and message.base_version != current:
        raise Rejected(
            "out_of_order",
            f"delta {message.base_version}->{message.feed_version} does not follow cached version {current}",
        )
    return Apply(message)


class ClearanceStore(Protocol):
    """The gate's declaration cache with its feed version; used from the store thread."""

    def feed_version(self) -> int: ...
    def last_update_at(self) -> datetime | None: ...
    def apply(self, message: ClearanceSnapshot | ClearanceDelta, at: datetime) -> int:
        """Apply atomically together with the new feed version; returns how many declarations changed."""
        ...


@dataclass(frozen=True, slots=True)
class FeedResult:
    """What one message did: applied (changed > 0 or not), already applied, or rejected."""

    outcome: Literal["applied", "duplicate", "rejected"]
    version: int
    changed: int = 0
    rejection: Rejected | None = None
    kind: str | None = None


def handle_clearance(
    raw: bytes,
    gate_id: str,
    max_bytes: int,
    store: ClearanceStore,
    clock: Callable[[], datetime],
    resync: bool = False,
) -> FeedResult:
    """Parse, plan and apply one feed message on the store thread; nothing changes unless it is applied."""
    current = store.feed_version()
    try:
        message = parse_clearance(raw, gate_id, max_bytes)
        step = plan(message, current, resync)
    except Rejected as rejected:
        return FeedResult("rejected", current, rejection=rejected)
    if isinstance(step, AlreadyApplied):
        return FeedResult("duplicate", current, kind=message.type)
    changed = store.apply(step.message, clock())
    return FeedResult("applied", step.message.feed_version, changed, kind=message.type)
