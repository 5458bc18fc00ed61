"""The declarations file `gate-edge declarations import` reads: its rules, stricter than the cache's model.

What a clerk or an export may write differently is normalised (a plate's separators, spaces, case and
full-width forms; a container number's spaces and dashes); what would be stored and never match a read, or
never be valid, is refused, naming its key path (`declarations[3].containers[1].number: check digit 7,
expected 0`). A file with any error imports nothing. docs/declarations.md describes the format.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from edge.declaration import ContainerLine, Declaration, Plate
from sync.config import MAX_INT64
from vision import iso6346
from vision.plates import Grammar
from vision.verify import has_plate_form

#: Separators a typed container number may hold between its parts (dropped): space, dash, dot, slash.
CONTAINER_SEPARATORS = " -./"
MAX_NUMBER_LENGTH = 64
MAX_PLATES = 16
MAX_CONTAINERS = 64
MAX_GROSS_KG = 500_000
_CONTAINER_SHAPE = re.compile(r"[A-Z]{3}[UJZ][0-9]{7}")


def parse_container(text: str) -> str:
    """A typed container number as stored and compared ("msku 386603-6" -> "MSKU3866036"), or ValueError
    saying why it is none: a character no container number has, the wrong shape, or a check digit that is
    not the one its first ten characters give."""
    if len(text) > 32:
        raise ValueError(f"a container number is 11 characters ({len(text)} given)")
    kept = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch).upper()
        if folded in CONTAINER_SEPARATORS:
            continue
        if not (len(folded) == 1 and ("A" <= folded <= "Z" or "0" <= folded <= "9")):
            raise ValueError(
                f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')} is not a container number character: "
                "A-Z and 0-9, with spaces or dashes between the parts"
            )
        kept.append(folded)
    number = "".join(kept)
    if not _CONTAINER_SHAPE.fullmatch(number):
        raise ValueError(
            f"{number!r} is not a container number: owner code (3 letters), category (U, J or Z), "
            "serial (6 digits), check digit"
        )
    expected = iso6346.check_digit(number[:10])
    if int(number[10]) != expected:
        raise ValueError(f"check digit {number[10]}, expected {expected}")
    return number


class ImportedContainer(ContainerLine):
    number: Annotated[str, AfterValidator(parse_container)] = Field(
        ..., description="ISO 6346 container number; spaces and dashes dropped, the check digit checked."
    )
    seal: str | None = Field(None, max_length=64, description="Customs seal number.")


class ImportedDeclaration(Declaration):
    """One entry of the file: the cache's Declaration with the file's bounds and cross-field rules."""

    number: str = Field(..., min_length=1, max_length=MAX_NUMBER_LENGTH, description="Declaration number.")
    plates: tuple[Plate, ...] = Field(..., max_length=MAX_PLATES)
    containers: tuple[ImportedContainer, ...] = Field((), max_length=MAX_CONTAINERS)
    gross_kg: float | None = Field(None, gt=0, le=MAX_GROSS_KG, allow_inf_nan=False)
    valid_from: AwareDatetime
    valid_until: AwareDatetime
    version: int = Field(1, ge=1, le=MAX_INT64)

    @model_validator(mode="after")
    def _valid_for_some_time(self) -> ImportedDeclaration:
        if self.valid_until < self.valid_from:
            raise PydanticCustomError(
                "at_key",
                "{message}",
                {
                    "key": "valid_until",
                    "message": f"{self.valid_until.isoformat()} is before valid_from "
                    f"{self.valid_from.isoformat()}: the declaration would never be valid",
                },
            )
        return self


@dataclass(frozen=True, slots=True)
class FileCheck:
    """A declarations file checked: what it holds, every error (the first `limit`), the items refused,
    and notes that refuse nothing (a plate of none of the lane's forms)."""

    declarations: list[Declaration]
    errors: list[str]
    refused: int
    notes: list[str]


def check_file(
    items: Sequence[Any], grammar: Grammar | None = None, limit: int = 20, now: datetime | None = None
) -> FileCheck:
    """Each item checked on its own, then the file as a whole (a declaration number once); memory stays
    bounded whatever the file holds: only the first `limit` errors are kept. With `now`, a declaration
    expired or not yet valid is imported with a note (a copied example's dates are the usual cause)."""
    decls: list[Declaration] = []
    errors: list[str] = []
    notes: list[str] = []
    refused = 0
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        try:
            entry = ImportedDeclaration.model_validate(item)
        except ValidationError as exc:
            refused += 1
            for err in exc.errors()[: max(0, limit - len(errors))]:
                errors.append(f"{key_path(index, err)}: {_message(err)}")
            continue
        if entry.number in first:
            refused += 1
            if len(errors) < limit:
                errors.append(
                    f"declarations[{index}].number: declaration {entry.number} is also "
                    f"declarations[{first[entry.number]}]: one entry per declaration"
                )
            continue
        first[entry.number] = index
        decls.append(Declaration.model_validate(entry.model_dump()))
        if now is not None and len(notes) < limit and (when := _not_valid_now(entry, now)):
            notes.append(f"declarations[{index}]: {when}: no vehicle passes on it now")
        if grammar is not None and len(notes) < limit:
            notes.extend(
                f"declarations[{index}].plates[{i}]: {plate} has none of this lane's plate forms "
                f"({grammar.name}): no camera read will match it; its vehicle is held for an officer"
                for i, plate in enumerate(entry.plates)
                if not has_plate_form(plate, grammar)
            )
    return FileCheck(decls, errors, refused, notes[:limit])


def _not_valid_now(entry: ImportedDeclaration, now: datetime) -> str | None:
    if entry.valid_until < now:
        return f"valid_until {entry.valid_until.isoformat()} has passed"
    if entry.valid_from > now:
        return f"valid_from {entry.valid_from.isoformat()} is still to come"
    return None


def key_path(index: int, err: Any) -> str:
    """`declarations[3].containers[1].number` for an error at ('containers', 1, 'number') of item 3."""
    loc = [*err["loc"]]
    if err["type"] == "at_key":
        loc.append(err.get("ctx", {}).get("key", ""))
    return f"declarations[{index}]" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)


def _message(err: Any) -> str:
    message = str(err["msg"]).removeprefix("Value error, ")  # a validator's own words
    if err["type"] == "timezone_aware":
        return (
            "a time needs its UTC offset (2025-03-01T00:00:00+07:00, or Z for UTC): the gate compares it"
            " with its own clock"
        )
    return message
