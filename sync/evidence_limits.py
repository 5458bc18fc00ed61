"""How much central's ``evidence`` command may cost a gate (``sync.evidence`` in the gate's configuration).

Apart from sync/evidence_reply.py so the configuration can name it without importing the MQTT client.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

SHA256 = r"^[0-9a-f]{64}$"
MAX_IMAGE_BYTES = 4 * 1024 * 1024  # the cap's own ceiling: 4 MiB a JPEG, ~5.4 MiB as base64


class EvidenceLimits(BaseModel):
    """How much one evidence command may cost the gate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_image_bytes: int = Field(
        512 * 1024,
        ge=16 * 1024,
        le=MAX_IMAGE_BYTES,
        description="An image larger than this is downscaled to fit, or refused (too_large) if it cannot be.",
    )
    max_images: int = Field(16, ge=1, le=64, description="Images one command may ask for.")
    per_minute: int = Field(
        6, ge=1, le=600, description="Evidence commands served per minute; beyond that they are refused."
    )
