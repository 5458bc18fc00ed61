"""Central's Ed25519 signature on each clearance message, over the message's canonical JSON bytes.

A signed message is the snapshot or delta object with one more member, ``signature``:
``{"key_id": "...", "ed25519": "<base64 of the 64-byte signature>"}``. What is signed is the canonical JSON
of the object *without* that member: keys sorted, no whitespace, UTF-8 with non-ASCII characters as
themselves, exactly as ``json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
writes it. The gate recomputes those bytes from what it parsed, so the sender may lay its JSON out as it
likes, as long as a number reads back the same (an integer, or a decimal such as ``12500.5``, never an
exponent). The signature is checked before the message is read as a snapshot or delta: nothing unsigned
reaches the models, the cache or the feed version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sync.contract import Rejected, validation_detail
from sync.signing_keys import KEY_ID_PATTERN, SIGNATURE_PATTERN, SigningKey, verify_signature

SIGNATURE_FIELD = "signature"


class FeedSignature(BaseModel):
    """The ``signature`` member of a clearance message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_id: str = Field(pattern=KEY_ID_PATTERN, description="Which of the gate's trusted keys signed it.")
    ed25519: str = Field(
        pattern=SIGNATURE_PATTERN,
        description="Base64 Ed25519 signature of the canonical JSON of the message without `signature`.",
    )


def canonical_json(value: Any) -> bytes:
    """The bytes a feed signature covers (see the module docstring)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def sign_feed_message(message: BaseModel, key: SigningKey) -> bytes:
    """A snapshot or delta as central publishes it: its canonical JSON with the signature added."""
    return sign_feed_body(message.model_dump(mode="json"), key)


def sign_feed_body(body: dict[str, Any], key: SigningKey) -> bytes:
    """Any JSON object signed as a feed message is (the signature says who sent it, not that it is valid)."""
    signature = FeedSignature(key_id=key.key_id, ed25519=key.sign(canonical_json(body)))
    return canonical_json({**body, SIGNATURE_FIELD: signature.model_dump()})


@dataclass(frozen=True, slots=True)
class Verified:
    """A message whose signature holds: its body (without the signature) and the digest of what was signed."""

    body: dict[str, Any]
    digest: str
    key_id: str


def verify_feed_message(data: Any, trusted: Mapping[str, Ed25519PublicKey]) -> Verified:
    """The body of a parsed message signed by a trusted key, or :class:`Rejected` saying why not."""
    if not isinstance(data, dict):
        raise Rejected("schema", "a clearance message is a JSON object")
    body = dict(data)
    raw_signature = body.pop(SIGNATURE_FIELD, None)
    if raw_signature is None:
        raise Rejected("unauthenticated", "unsigned: no signature member")
    try:
        signature = FeedSignature.model_validate(raw_signature)
    except ValidationError as exc:
        raise Rejected("unauthenticated", f"signature: {validation_detail(exc)}") from None
    key = trusted.get(signature.key_id)
    if key is None:
        raise Rejected(
            "unauthenticated", f"signed with key {signature.key_id!r}, which this gate does not trust"
        )
    signed = canonical_json(body)
    if not verify_signature(key, signature.ed25519, signed):
        raise Rejected("unauthenticated", f"bad signature for key {signature.key_id!r}")
    return Verified(body, hashlib.sha256(signed).hexdigest(), signature.key_id)
