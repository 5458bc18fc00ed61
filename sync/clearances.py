"""The clearance feed from central: signed, versioned snapshots and deltas, applied idempotently.

The feed has one version per gate. A snapshot replaces the whole cache; a delta applies on top of exactly
its ``base_version``. Every message is signed by central (:mod:`sync.feed_signature`); an unsigned or badly
signed one is rejected before it is read. The same message again (QoS 1 redelivers it) is ignored; an older
version, or another delta at the cached version, is a replay: rejected. A delta that does not follow the
cached version is out of order: rejected, and the gate asks for a snapshot. No message may raise the version
by more than the configured jump, except a snapshot the gate asked for or the first into an empty cache.
Whatever is rejected changes nothing. The cache, its version and the digest of the message that set it live
in the gate's store (behind :class:`ClearanceStore`), so after a restart the gate decides from them while
offline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from sync.config import MAX_INT64
from sync.contract import Rejected, decode_json, validation_detail
from sync.feed_signature import verify_feed_message

# A plate as the gate stores and compares it (vision.plates.normalise_plate): A-Z, 0-9 and CJK ideographs (a
# Chinese plate's province character, 挂), Unicode NFC, no separators.
PLATE_PATTERN = r"^[A-Z0-9\u4e00-\u9fff]{1,16}$"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WireContainer(_Wire):
    number: str = Field(min_length=1, max_length=20, description="ISO 6346 container number.")
    seal: str | None = Field(None, max_length=64, description="Customs seal number.")


class WireDeclaration(_Wire):
    """A declaration as central sends it; the gate maps it onto its own model."""

    number: str = Field(min_length=1, max_length=64, description="Declaration number.")
    version: int = Field(
        ge=1, le=MAX_INT64, description="Version of this declaration; a newer one replaces an older."
    )
    status: Literal["cleared", "pending", "revoked", "rejected"] = Field(
        description="Only cleared declarations let a vehicle pass; revoked withdraws a clearance."
    )
    channel: Literal["green", "yellow", "red"] = Field(description="Red requires a physical inspection.")
    inspection_done: bool = Field(False, description="Red channel: inspection recorded as done.")
    plates: list[Annotated[str, Field(pattern=PLATE_PATTERN)]] = Field(
        min_length=1,
        max_length=16,
        description="Normalised plates: A-Z, 0-9 and CJK ideographs (a Chinese plate keeps its province "
        "character: 桂A12345), Unicode NFC, no separators.",
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
    feed_version: int = Field(
        ge=1, le=MAX_INT64, description="Version of the gate's feed after this message."
    )
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
    feed_version: int = Field(ge=1, le=MAX_INT64, description="Version after this delta.")
    base_version: int = Field(ge=0, le=MAX_INT64, description="The version this delta applies on top of.")
    issued_at: AwareDatetime
    upserts: list[WireDeclaration] = Field(default_factory=list)
    removals: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
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


@dataclass(frozen=True, slots=True)
class FeedRules:
    """What a gate accepts on its feed (from its configuration)."""

    gate_id: str
    max_bytes: int
    trusted: Mapping[str, Ed25519PublicKey]
    max_version_jump: int


@dataclass(frozen=True, slots=True)
class SignedClearance:
    """A message whose signature holds: the snapshot or delta, and the digest of the bytes signed."""

    message: ClearanceSnapshot | ClearanceDelta
    digest: str
    key_id: str


def parse_clearance(raw: bytes, rules: FeedRules) -> SignedClearance:
    """Authenticate and validate one feed message, or raise :class:`Rejected` saying why not.

    In order: a key configured (disabled), size (oversized), JSON (malformed), signature
    (unauthenticated), shape (schema), gate (wrong_gate).
    """
    if not rules.trusted:
        raise Rejected("disabled", "no clearance keys configured: every clearance is rejected")
    verified = verify_feed_message(decode_json(raw, rules.max_bytes), rules.trusted)
    try:
        message = _MESSAGE.validate_python(verified.body)
    except ValidationError as exc:
        raise Rejected("schema", validation_detail(exc)) from None
    if message.gate_id != rules.gate_id:
        raise Rejected("wrong_gate", f"for gate {message.gate_id!r}, this is {rules.gate_id!r}")
    return SignedClearance(message, verified.digest, verified.key_id)


@dataclass(frozen=True, slots=True)
class AlreadyApplied:
    version: int


@dataclass(frozen=True, slots=True)
class Apply:
    message: ClearanceSnapshot | ClearanceDelta


def plan(
    signed: SignedClearance,
    current: int,
    last_digest: str | None,
    max_version_jump: int,
    resync: bool = False,
) -> Apply | AlreadyApplied:
    """What to do with an authentic message given the cached feed state; raises Rejected if it must not apply.

    While the gate waits for a snapshot (``resync``: a gap, or central's reload command), a snapshot at or
    above the cached version is applied in full, whatever its jump: it repairs whatever the cache lost. A
    snapshot at the cached version otherwise changes nothing and is ignored: central sends one when a
    gate's status crosses its latest delta.
    """
    message = signed.message
    version = message.feed_version
    snapshot = isinstance(message, ClearanceSnapshot)
    if version == current and signed.digest == last_digest:
        return AlreadyApplied(current)  # the same message again: QoS 1 redelivery
    if snapshot and resync and version >= current:
        return Apply(message)
    if version < current:
        raise Rejected("replayed", f"feed version {version} is older than the cached version {current}")
    if version == current:
        if snapshot:
            return AlreadyApplied(current)
        raise Rejected("replayed", f"another delta at the cached version {current}")
    if not (snapshot and current == 0) and version - current > max_version_jump:
        raise Rejected(
            "version_jump",
            f"feed version {version} is {version - current} above the cached {current} "
            f"(at most {max_version_jump})",
        )
    if isinstance(message, ClearanceDelta) and message.base_version != current:
        raise Rejected(
            "out_of_order",
            f"delta {message.base_version}->{message.feed_version} does not follow cached version {current}",
        )
    return Apply(message)


class ClearanceStore(Protocol):
    """The gate's declaration cache with its feed version; used from the store thread."""

    def feed_version(self) -> int: ...
    def feed_digest(self) -> str | None:
        """Digest of the signed bytes of the message that set the feed version (None: none yet)."""
        ...

    def last_update_at(self) -> datetime | None: ...
    def apply(self, message: ClearanceSnapshot | ClearanceDelta, at: datetime, digest: str) -> int:
        """Apply atomically together with the new feed version and digest; how many declarations changed."""
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
    rules: FeedRules,
    store: ClearanceStore,
    clock: Callable[[], datetime],
    resync: bool = False,
) -> FeedResult:
    """Authenticate, plan and apply one feed message on the store thread; nothing changes unless applied."""
    current = store.feed_version()
    try:
        signed = parse_clearance(raw, rules)
        step = plan(signed, current, store.feed_digest(), rules.max_version_jump, resync)
    except Rejected as rejected:
        return FeedResult("rejected", current, rejection=rejected)
    if isinstance(step, AlreadyApplied):
        return FeedResult("duplicate", current, kind=signed.message.type)
    changed = store.apply(step.message, clock(), signed.digest)
    return FeedResult("applied", step.message.feed_version, changed, kind=signed.message.type)
