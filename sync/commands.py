"""Commands from central: authenticated with a per-gate HMAC key, fresh, never executed twice, audited.

A command travels as :class:`SignedCommand`: the command's JSON text and the HMAC-SHA256 of exactly that text
under the gate's key. Signing the text as sent (not a re-encoding) leaves nothing to canonicalise. The gate
checks, in order: size, JSON, shape, signature, then the command itself (its gate, its age against the clock,
and whether its id was already handled). Both the message and the command text inside it go through the
contract's defensive JSON decoder. Anything that fails is rejected and changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any, Literal, Protocol
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from sync.contract import Rejected, decode_json, validation_detail

CommandName = Literal["reload_clearances", "status_report", "open_barrier", "evidence"]
EVIDENCE_FIELDS = frozenset({"transaction_id", "sha256"})  # left out of the wire form of other commands
AckStatus = Literal["accepted", "refused", "rejected", "duplicate"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Command(_Wire):
    """What central asks the gate to do."""

    schema_version: Literal[1] = 1
    command_id: UUID = Field(description="Unique id: a command is executed at most once (replay protection).")
    gate_id: str = Field(
        description="The gate it is for: a command signed for one gate is refused by another."
    )
    name: CommandName = Field(description="reload_clearances, status_report, open_barrier or evidence.")
    issuer: str = Field(min_length=1, max_length=64, description="Who at central issued it (audited).")
    issued_at: AwareDatetime = Field(description="When issued; too old or too far ahead is refused.")
    reason: str = Field("", max_length=500, description="Why (audited).")
    transaction_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.:-]{1,80}$",
        description="evidence only: the transaction whose evidence images are wanted.",
    )
    sha256: tuple[str, ...] = Field(
        (),
        max_length=64,
        description="evidence only: images wanted by SHA-256 (lower-case hex), besides the transaction's.",
    )

    @model_validator(mode="after")
    def _evidence_arguments(self) -> Command:
        if any(len(s) != 64 or s.strip("0123456789abcdef") for s in self.sha256):
            raise ValueError("sha256: each item must be 64 lower-case hex digits")
        asks = self.transaction_id is not None or bool(self.sha256)
        if self.name == "evidence" and not asks:
            raise ValueError("evidence: name a transaction_id or at least one sha256")
        if self.name != "evidence" and asks:
            raise ValueError(f"{self.name}: transaction_id and sha256 belong to evidence only")
        return self


class SignedCommand(_Wire):
    """The ``commands`` message: the command's JSON text and its HMAC-SHA256 under the gate's key."""

    command: str = Field(description="A Command as JSON text, signed byte for byte as UTF-8.")
    hmac_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Lower-case hex HMAC-SHA256 of command.")


class CommandAck(_Wire):
    """The gate's answer on ``commands/ack``."""

    schema_version: Literal[1] = 1
    gate_id: str
    command_id: UUID | None = Field(description="The command answered (null if it could not be read).")
    name: str | None = None
    status: AckStatus = Field(
        description="accepted (done), refused (authentic but not allowed), rejected (not authentic, "
        "malformed, stale), duplicate (already handled: not done again)."
    )
    detail: str = Field(max_length=500)
    at: AwareDatetime
    result: dict[str, Any] | None = Field(
        None,
        description="status_report: the gate's status; evidence: the images sent on ``evidence`` and "
        "their states.",
    )


def signature(text: str, key: str) -> str:
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def sign(command: Command, key: str) -> bytes:
    """The wire form of a command (what central publishes); evidence's fields only on evidence."""
    text = command.model_dump_json(exclude=None if command.name == "evidence" else set(EVIDENCE_FIELDS))
    return SignedCommand(command=text, hmac_sha256=signature(text, key)).model_dump_json().encode()


def claimed_id(raw: bytes, max_bytes: int) -> UUID | None:
    """The command id a message claims, unverified: only to address the rejection ack."""
    try:
        outer = decode_json(raw, max_bytes)
        text = outer.get("command") if isinstance(outer, dict) else None
        inner = decode_json(text.encode(), max_bytes) if isinstance(text, str) else None
        found = inner.get("command_id") if isinstance(inner, dict) else None
        return UUID(found) if isinstance(found, str) else None
    except (Rejected, ValueError):
        return None


def verify(
    raw: bytes, key: str | None, gate_id: str, now: datetime, max_age_s: float, max_bytes: int
) -> Command:
    """The authenticated, fresh command in ``raw``, or :class:`Rejected` saying why not."""
    if key is None:
        raise Rejected("disabled", "no command key configured: commands are disabled")
    data = decode_json(raw, max_bytes)
    try:
        signed = SignedCommand.model_validate(data)
    except ValidationError as exc:
        raise Rejected("schema", validation_detail(exc)) from None
    if not hmac.compare_digest(signature(signed.command, key), signed.hmac_sha256):
        raise Rejected("unauthenticated", "bad HMAC signature")
    try:
        command = Command.model_validate(decode_json(signed.command.encode(), max_bytes))
    except ValidationError as exc:
        raise Rejected("schema", validation_detail(exc)) from None
    if command.gate_id != gate_id:
        raise Rejected("wrong_gate", f"for gate {command.gate_id!r}, this is {gate_id!r}")
    age = (now - command.issued_at).total_seconds()
    if abs(age) > max_age_s:
        raise Rejected("stale", f"issued {age:.0f} s ago, allowed +-{max_age_s:.0f} s")
    return command


class CommandJournal(Protocol):
    """Where authenticated commands are audited; used from the store thread."""

    def seen(self, command_id: UUID) -> bool:
        """True if this command id was already handled (on any earlier run)."""
        ...

    def record(self, command: Command, status: AckStatus, detail: str, at: datetime) -> None:
        """Append the command and what was done with it to the audit trail."""
        ...
