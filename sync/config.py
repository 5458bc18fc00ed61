"""Configuration of the uplink to the central office: broker, TLS, topics, outbox draining and commands.

One model per concern, composed into :class:`SyncConfig` (which the gate configuration holds as ``sync``).
Defaults work for the demo: an anonymous Mosquitto on 127.0.0.1:1883. Secrets are ``SecretStr`` so they never
reach a log or a repr; the gate configuration's ``${NAME}`` expansion lets them come from the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from sync.evidence_limits import EvidenceLimits
from sync.signing_keys import KEY_ID_PATTERN, parse_public_key

GATE_ID_PLACEHOLDER = "{gate_id}"
MAX_INT64 = 2**63 - 1  # every integer of the contract fits a signed 64-bit column (SQLite, bigint)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TlsConfig(_Strict):
    """TLS towards the broker: a private CA, and a client certificate per gate where the broker wants one."""

    ca_file: Path | None = Field(
        None, description="CA certificate (PEM) the broker's certificate must chain to; set to enable TLS."
    )
    cert_file: Path | None = Field(None, description="This gate's client certificate (PEM), if required.")
    key_file: Path | None = Field(None, description="Private key (PEM) of the client certificate.")

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("tls.cert_file and tls.key_file must be given together")
        if self.cert_file is not None and self.ca_file is None:
            raise ValueError("tls.cert_file needs tls.ca_file (TLS is enabled by the CA)")
        return self

    @property
    def enabled(self) -> bool:
        return self.ca_file is not None


class BrokerConfig(_Strict):
    """How to reach the MQTT broker."""

    host: str = Field("127.0.0.1", min_length=1, description="Broker host name or address.")
    port: int = Field(1883, ge=1, le=65535, description="Broker port (8883 is usual with TLS).")
    protocol: Literal["5", "3.1.1"] = Field(
        "5", description="MQTT version: 5 (session and message expiry, reason codes) or 3.1.1."
    )
    fallback_to_311: bool = Field(
        True, description="If the broker refuses MQTT 5 as an unsupported version, reconnect with 3.1.1."
    )
    client_id: str | None = Field(
        None, description="MQTT client id; default 'gate-edge-<gate_id>'. Must be unique on the broker."
    )
    username: str | None = Field(None, description="Per-gate broker user name.")
    password: SecretStr | None = Field(
        None, description='Per-gate broker password; write "${NAME}" to take it from the environment.'
    )
    keepalive_s: int = Field(
        30, ge=5, le=3600, description="MQTT keep-alive: a dead link is noticed after ~1.5x."
    )
    connect_timeout_s: float = Field(
        5.0, gt=0, le=120, description="Give up one connection attempt after this."
    )
    session_expiry_s: int = Field(
        7 * 24 * 3600,
        ge=0,
        description="MQTT 5 session expiry: the broker keeps this gate's clearances and commands while it is "
        "offline this long (3.1.1: a persistent session).",
    )
    tls: TlsConfig = Field(
        default_factory=TlsConfig, description="TLS settings; off unless tls.ca_file is set."
    )

    def resolved_client_id(self, gate_id: str) -> str:
        return self.client_id or f"gate-edge-{gate_id}"


class TrustedKey(_Strict):
    """A public key central signs the clearance feed with (Ed25519); a gate trusts only the keys it lists."""

    key_id: str = Field(
        pattern=KEY_ID_PATTERN, description="The id central signs under (the signature's key_id)."
    )
    public_key: str = Field(
        description="Base64 of the 32-byte Ed25519 public key, as `gate-edge keys public KEYFILE` prints it."
    )

    @field_validator("public_key")
    @classmethod
    def _is_a_key(cls, value: str) -> str:
        parse_public_key(value)
        return value


class SyncConfig(_Strict):
    """Store-and-forward to the central office, clearances and commands in."""

    enabled: bool = Field(True, description="Run the uplink; false keeps events in the outbox.")
    broker: BrokerConfig = Field(default_factory=BrokerConfig, description="The MQTT broker.")
    topic_prefix: str = Field(
        "customs/v1/gates/{gate_id}/",
        description="Prefix of every topic of this gate; {gate_id} must be a whole level; ends in /.",
    )
    inflight_window: int = Field(
        200, ge=1, le=65000, description="Most events published and not yet acknowledged by the broker."
    )
    batch_size: int = Field(500, ge=1, le=5000, description="Events read from the outbox per query.")
    idle_poll_s: float = Field(
        0.25, gt=0, le=60, description="How often an idle drainer looks for new events."
    )
    backoff_initial_s: float = Field(
        0.5, gt=0, le=60, allow_inf_nan=False, description="First reconnect delay (jittered)."
    )
    backoff_max_s: float = Field(
        30.0, gt=0, le=3600, allow_inf_nan=False, description="Upper bound of the reconnect delay."
    )
    require_subscriber: bool = Field(
        True,
        description="MQTT 5: an event the broker acknowledges with 'no matching subscribers' stays in the "
        "outbox and is sent again later (nobody at central would have received it).",
    )
    telemetry_period_s: float = Field(
        10.0, gt=0, le=3600, description="How often a telemetry sample is taken."
    )
    telemetry_expiry_s: int = Field(
        120, ge=1, le=86400, description="Telemetry message expiry: older samples are not delivered."
    )
    telemetry_keep: int = Field(
        1000, ge=0, description="Undelivered telemetry samples kept on disk; older ones are dropped first."
    )
    outbox_warning_events: int = Field(
        50_000, ge=1, description="An outbox deeper than this raises the outbox_backlog alarm."
    )
    delivered_retention_h: float = Field(
        168.0, ge=0, description="Delivered events are kept this long on the gate, then purged."
    )
    clearance_max_bytes: int = Field(
        8 * 1024 * 1024, ge=1024, description="Larger clearance messages are rejected unread."
    )
    command_max_bytes: int = Field(
        16 * 1024, ge=256, description="Larger command messages are rejected unread."
    )
    clearance_keys: list[TrustedKey] = Field(
        default_factory=list,
        description="Central's public keys: a clearance message must be signed by one of them. Rotate by "
        "adding the new key, switching central to it, then removing the old one. None: every clearance is "
        "rejected.",
    )
    clearance_max_version_jump: int = Field(
        1_000_000,
        ge=1,
        le=MAX_INT64,
        description="A clearance message may raise the feed version by at most this much; a snapshot the "
        "gate asked for, or the first one into an empty cache, may set any version.",
    )
    rejection_reports_per_min: int = Field(
        60,
        ge=1,
        le=10_000,
        description="Rejected inbound messages reported one by one per topic and reason each minute; "
        "beyond that they are counted and reported as one tally (a flood cannot fill the outbox).",
    )
    inbound_stall_s: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="An inbound message still being handled after this long makes the uplink report its "
        "inbound side as not alive (watchdog, readiness).",
    )
    command_key: SecretStr | None = Field(
        None,
        description="Per-gate HMAC-SHA256 key that central signs commands with (at least 16 characters); "
        'without it every command is rejected. Write "${NAME}" to take it from the environment.',
    )
    command_max_age_s: float = Field(
        120.0,
        gt=0,
        le=86400,
        description="A command issued longer ago than this (or as far ahead) is refused.",
    )
    remote_open_allowed: bool = Field(
        False,
        description="Obey an authenticated open_barrier command from central (off: refused and audited).",
    )
    evidence: EvidenceLimits = Field(
        default_factory=EvidenceLimits,
        description="The evidence command: images' size cap, images per command, commands per minute.",
    )

    @field_validator("topic_prefix")
    @classmethod
    def _prefix_shape(cls, value: str) -> str:
        levels = value.split("/")
        if not value.endswith("/") or value.startswith("/"):
            raise ValueError("topic_prefix must end with '/' and not start with one")
        if levels.count(GATE_ID_PLACEHOLDER) != 1 or value.count("{") != 1:
            raise ValueError("topic_prefix must contain {gate_id} exactly once, as a whole topic level")
        if any(c in value for c in "+#\x00"):
            raise ValueError("topic_prefix must not contain MQTT wildcards")
        return value

    @field_validator("command_key")
    @classmethod
    def _key_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("command_key must be at least 16 characters (use e.g. `openssl rand -hex 32`)")
        return value

    @field_validator("clearance_keys")
    @classmethod
    def _unique_key_ids(cls, value: list[TrustedKey]) -> list[TrustedKey]:
        ids = [key.key_id for key in value]
        if len(set(ids)) != len(ids):
            raise ValueError("a key_id appears twice in clearance_keys")
        return value

    @model_validator(mode="after")
    def _backoff_order(self) -> SyncConfig:
        if self.backoff_initial_s > self.backoff_max_s:
            raise ValueError("backoff_initial_s must not exceed backoff_max_s")
        return self

    def trusted_clearance_keys(self) -> dict[str, Ed25519PublicKey]:
        """The clearance keys by id, decoded (each was checked when the configuration was read)."""
        return {key.key_id: parse_public_key(key.public_key) for key in self.clearance_keys}
