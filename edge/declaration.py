"""A cleared customs declaration as the gate caches it (from VNACCS/VCIS via the central office)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vision.plates import normalise_plate


class DeclarationStatus(StrEnum):
    CLEARED = "cleared"  # goods released: may pass if every other rule holds
    PENDING = "pending"  # lodged, not yet cleared
    REVOKED = "revoked"  # clearance withdrawn by central
    REJECTED = "rejected"


class Channel(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"  # physical inspection required before exit


class ContainerLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    number: str = Field(..., description="ISO 6346 container number, e.g. MSKU3866036.")
    seal: str | None = Field(None, description="Customs seal number.")


class Declaration(BaseModel):
    """One declaration with what the gate needs to check a vehicle against it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: str = Field(..., min_length=1, description="Declaration number.")
    status: DeclarationStatus
    channel: Channel
    inspection_done: bool = Field(False, description="Red channel: inspection recorded as done.")
    plates: tuple[str, ...] = Field(
        ...,
        min_length=1,
        description="Normalised plates (vision.plates.normalise_plate: A-Z0-9 and a Chinese plate's province "
        "character, NFC).",
    )
    containers: tuple[ContainerLine, ...] = ()
    gross_kg: float | None = Field(None, gt=0, description="Declared gross weight of vehicle and load.")
    valid_from: datetime
    valid_until: datetime
    version: int = Field(1, ge=1, description="Version from central; a newer one replaces an older.")

    @field_validator("plates")
    @classmethod
    def _normalise_plates(cls, plates: tuple[str, ...]) -> tuple[str, ...]:
        # A clerk's "51c-123.45" is kept as the plate a camera read matches: "51C12345"; "桂A·12345" as
        # "桂A12345".
        return tuple(normalise_plate(plate) for plate in plates)
