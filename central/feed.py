"""Central's clearance feed per gate: declarations from a JSON or CSV file, turned into versioned messages.

A file is the full list of what is cleared for a gate. Against the feed central last sent, it becomes a delta
(new and changed declarations, and removals) or, on request, a snapshot; either bumps the feed version. A
declaration whose content changed gets a higher version even if the file did not raise it, because the gate
only replaces a cached declaration with a newer version.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from central.store import CentralStore
from sync.clearances import ClearanceDelta, ClearanceSnapshot, WireDeclaration

_DECLARATIONS = TypeAdapter(list[WireDeclaration])


class FeedFileError(Exception):
    """A clearance file that cannot be used; the message names the row or field."""


def _csv_row(row: dict[str, str]) -> dict[str, Any]:
    """One CSV row: plates and containers are ';'-separated; a container may carry ':SEAL'."""
    containers = []
    for item in filter(None, (row.get("containers") or "").split(";")):
        number, _, seal = item.strip().partition(":")
        containers.append({"number": number, "seal": seal or None})
    data: dict[str, Any] = {
        "number": row.get("number", "").strip(),
        "status": row.get("status", "cleared").strip() or "cleared",
        "channel": row.get("channel", "green").strip() or "green",
        "plates": [p.strip() for p in (row.get("plates") or "").split(";") if p.strip()],
        "containers": containers,
        "gross_kg": float(row["gross_kg"]) if (row.get("gross_kg") or "").strip() else None,
        "valid_from": row.get("valid_from", "").strip(),
        "valid_until": row.get("valid_until", "").strip(),
        "inspection_done": (row.get("inspection_done") or "").strip().lower() in {"1", "true", "yes"},
    }
    if (row.get("version") or "").strip():
        data["version"] = int(row["version"])
    return data


def load_declarations(path: Path) -> list[WireDeclaration]:
    """Read a JSON list or a CSV file (header: number,status,channel,plates,containers,gross_kg,...)."""
    try:
        if path.suffix.lower() == ".csv":
            with path.open(newline="", encoding="utf-8") as handle:
                raw: Any = [_csv_row(row) for row in csv.DictReader(handle)]
        else:
            raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FeedFileError(f"{path}: cannot read: {exc}") from None
    if isinstance(raw, list):
        raw = [{"version": 1, **item} if isinstance(item, dict) else item for item in raw]
    try:
        declarations = _DECLARATIONS.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise FeedFileError(f"{path}: item {where}: {first['msg']}") from None
    numbers = [d.number for d in declarations]
    if len(set(numbers)) != len(numbers):
        raise FeedFileError(f"{path}: a declaration number appears twice")
    return declarations


def _bump(incoming: WireDeclaration, sent: WireDeclaration | None) -> WireDeclaration | None:
    """The declaration to send (with a version above the one sent), or None if unchanged."""
    if sent is None:
        return incoming
    if incoming.model_dump(exclude={"version"}) == sent.model_dump(exclude={"version"}):
        return None
    return incoming.model_copy(update={"version": max(incoming.version, sent.version + 1)})


def next_message(
    store: CentralStore, gate_id: str, declarations: list[WireDeclaration], snapshot: bool, at: datetime
) -> ClearanceSnapshot | ClearanceDelta | None:
    """Record the gate's new feed state and return the message that carries it (None: nothing changed)."""

    def step(version: int, sent_json: str | None) -> tuple[str, ClearanceSnapshot | ClearanceDelta] | None:
        sent = {d.number: d for d in ([] if sent_json is None else _DECLARATIONS.validate_json(sent_json))}
        current: list[WireDeclaration] = []
        upserts: list[WireDeclaration] = []
        for decl in declarations:
            changed = _bump(decl, sent.get(decl.number))
            if changed is not None:
                upserts.append(changed)
            current.append(changed or sent[decl.number])
        removals = sorted(set(sent) - {d.number for d in declarations})
        if not snapshot and not upserts and not removals:
            return None
        message: ClearanceSnapshot | ClearanceDelta
        if snapshot or version == 0:
            message = ClearanceSnapshot(
                type="snapshot", gate_id=gate_id, feed_version=version + 1, issued_at=at, declarations=current
            )
        else:
            message = ClearanceDelta(
                type="delta",
                gate_id=gate_id,
                feed_version=version + 1,
                base_version=version,
                issued_at=at,
                upserts=upserts,
                removals=removals,
            )
        return _DECLARATIONS.dump_json(current).decode(), message

    return store.advance_feed(gate_id, at, step)


def current_snapshot(store: CentralStore, gate_id: str, at: datetime) -> ClearanceSnapshot | None:
    """The gate's feed as it stands, as a snapshot at the current version (for a gate that asks)."""
    version, text = store.feed(gate_id)
    if version == 0 or text is None:
        return None
    return ClearanceSnapshot(
        type="snapshot",
        gate_id=gate_id,
        feed_version=version,
        issued_at=at,
        declarations=_DECLARATIONS.validate_json(text),
    )
