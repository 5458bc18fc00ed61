"""An officer's corrections of a transaction's reads, from the audit's before/after, and the evidence images
those reads name: the history shows the camera's read beside the officer's, and every frame kept.

The audit keeps each read as edge.recorder.identification_json wrote it. A record written by another
version, or one that does not parse as that, gives what can be read from it and nothing more: the history
never fails on an old record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edge.store import AuditRecord
from edge.store.transactions import EvidenceImage

SHA256 = re.compile(r"[0-9a-f]{64}\Z")


@dataclass(frozen=True)
class Correction:
    at: datetime
    officer: str
    reason: str | None
    plate_before: str | None
    plate_after: str | None
    containers_before: tuple[str, ...]
    containers_after: tuple[str, ...]


def _reads(ident: Any) -> tuple[Any, list[Any]]:
    """(plate read, container reads) of a stored identification; empty for anything else."""
    if not isinstance(ident, dict):
        return None, []
    containers = ident.get("containers")
    return ident.get("plate"), containers if isinstance(containers, list) else []


def _text(read: Any) -> str | None:
    text = read.get("text") if isinstance(read, dict) else None
    return text if isinstance(text, str) else None


def _texts(reads: Iterable[Any]) -> tuple[str, ...]:
    return tuple(t for t in (_text(r) for r in reads) if t is not None)


def corrections(audit: Sequence[AuditRecord]) -> list[Correction]:
    """The correct_read actions, oldest first, each with the reads before and after it."""
    found = []
    for record in audit:
        if record.action != "correct_read":
            continue
        plate_before, boxes_before = _reads(record.before)
        plate_after, boxes_after = _reads(record.after)
        found.append(
            Correction(
                at=record.at,
                officer=record.actor,
                reason=record.reason,
                plate_before=_text(plate_before),
                plate_after=_text(plate_after),
                containers_before=_texts(boxes_before),
                containers_after=_texts(boxes_after),
            )
        )
    return found


def camera_plate(audit: Sequence[AuditRecord]) -> str | None:
    """The plate as first read before any officer corrected it; None when no correction changed it."""
    changed = [c for c in corrections(audit) if c.plate_before != c.plate_after]
    return changed[0].plate_before if changed else None


def evidence(kept: Sequence[EvidenceImage], audit: Sequence[AuditRecord]) -> list[EvidenceImage]:
    """The transaction's kept images, then any the corrections' reads name (older records kept none),
    each once, only well-formed SHA-256 names."""
    images = list(kept)
    for record in audit:
        if record.action != "correct_read":
            continue
        for ident in (record.before, record.after):
            plate, boxes = _reads(ident)
            for read, kind in [(plate, "plate"), *((box, "container") for box in boxes)]:
                sha = read.get("evidence_sha256") if isinstance(read, dict) else None
                if isinstance(sha, str):
                    images.append(EvidenceImage(kind, _text(read) or "", sha))
    seen: set[str] = set()
    unique = []
    for image in images:
        if SHA256.match(image.sha256) and image.sha256 not in seen:
            seen.add(image.sha256)
            unique.append(image)
    return unique
