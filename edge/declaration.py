"""A cleared customs declaration as the gate caches it (from VNACCS/VCIS via the central office)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from vision.plates import parse_plate

# A plate as typed into a declaration (a clerk's "51c-123.45", "桂A·12345") is kept as the plate a camera read
# matches ("51C12345", "桂A12345"); one with a character no plate has is refused, not cut down to another
# plate (vision.plates.parse_plate). Each plate on its own, so that an error names its index.
Plate = Annotated[str, AfterValidator(parse_plate)]


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
    plates: tuple[Plate, ...] = Field(
        ...,
        json_schema_extra={
            "minItems": 1
        },  # checked by _some_plate: min_length would also fail on a bad plate
        description="Plates, stored normalised (vision.plates.parse_plate): 1 to 16 of A-Z, 0-9 and CJK "
        "ideographs (a Chinese plate's province character), NFC; separators (space - . · /) are dropped, any "
        "other character is an error.",
    )
    containers: tuple[ContainerLine, ...] = ()
    gross_kg: float | None = Field(None, gt=0, description="Declared gross weight of vehicle and load.")
    valid_from: datetime
    valid_until: datetime
    version: int = Field(1, ge=1, description="Version from central; a newer one replaces an older.")

    @field_validator("plates")
    @classmethod
    def _some_plate(cls, plates: tuple[str, ...]) -> tuple[str, ...]:
        if not plates:
            raise ValueError("at least one plate is required")
        return plates
