"""What the central screen reads: gates and lanes at a glance, passages found by search, one passage whole.

Statements are written once with ``?`` for both databases, as central.sql's are, and run on one read
transaction each. Values come back as the driver gives them (PostgreSQL: datetime and UUID; SQLite: text)
and leave here as JSON-ready text. Every read is bounded: a time window, a row limit.

Lanes are not a table: a lane is what the gate's events name in their payload (``lane_id``). Counts per lane
cover the last hour by central's own clock (``received_at``), so "vehicles per hour" is a count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import zip_longest
from typing import Any

from central.sql_store import SqlCentralStore

GATES_STATUS = "SELECT gate_id, state, at, received_at FROM gate_status"
LAST_EVENTS = (
    "SELECT gate_id, kind, at, received_at FROM events"
    " WHERE id IN (SELECT MAX(id) FROM events GROUP BY gate_id)"
)
TELEMETRY = "SELECT gate_id, at, CAST(payload AS TEXT), received_at FROM telemetry"
# Parameters: since (received_at), row limit.
LANE_EVENTS = (
    "SELECT gate_id, kind, CAST(payload AS TEXT) FROM events WHERE received_at >= ?"
    " AND kind IN ('transaction.decision', 'transaction.ended', 'officer.action', 'lane.alarm',"
    " 'lane.alarm_cleared') ORDER BY id LIMIT ?"
)
# Parameters: since (received_at), row limit.
DECISIONS_SINCE = (
    "SELECT id, event_id, gate_id, at, CAST(payload AS TEXT) FROM events"
    " WHERE kind = 'transaction.decision' AND received_at >= ? ORDER BY id DESC LIMIT ?"
)
# Parameters: gate, the payload's exact "tx_id":"..." text.
PASSAGE_EVENTS = (
    "SELECT seq, kind, at, received_at, CAST(payload AS TEXT) FROM events"
    " WHERE gate_id = ? AND CAST(payload AS TEXT) LIKE ? ORDER BY seq LIMIT 200"
)
# Parameters: last id seen, row limit.
EVENTS_AFTER = (
    "SELECT id, gate_id, seq, kind, at, CAST(payload AS TEXT) FROM events WHERE id > ? ORDER BY id LIMIT ?"
)
LAST_EVENT_ID = "SELECT MAX(id) FROM events"

WINDOW = timedelta(hours=1)
LANE_ROWS = 20_000  # events of the last hour read for the lane counts, at most
SEARCH_SCAN = 5_000  # decisions read per search, newest first
SEARCH_RESULTS = 100
TX_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")
GATE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def text(value: Any) -> str | None:
    """A value as the screen shows it: times in ISO 8601, ids as text."""
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _json(value: Any) -> dict[str, Any]:
    try:
        loaded = json.loads(str(value))
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _text_or_none(value: Any) -> str | None:
    """An id from a gate's payload if it is text: a hostile gate's NaN or object would break the stream's
    JSON for every event sent with it (browsers refuse NaN)."""
    return value if isinstance(value, str) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def squeeze(value: str) -> str:
    """Letters and digits only, upper case: how a typed plate or container number is compared."""
    return "".join(ch for ch in value.upper() if ch.isalnum())


@dataclass
class LaneCounts:
    vehicles: int = 0
    passed: int = 0
    passed_no_officer: int = 0
    held: int = 0
    rejected: int = 0
    alarms: dict[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        share = self.passed_no_officer / self.passed if self.passed else None
        return {
            "vehicles_per_hour": self.vehicles,
            "passed": self.passed,
            "passed_no_officer_share": None if share is None else round(share, 3),
            "held": self.held,
            "rejected": self.rejected,
            "alarms": [[code, detail] for code, detail in sorted((self.alarms or {}).items())],
        }


def _lane_counts(rows: Iterable[tuple[Any, ...]]) -> dict[tuple[str, str], LaneCounts]:
    lanes: dict[tuple[str, str], LaneCounts] = {}
    officer_tx: set[tuple[str, str]] = set()
    passed_tx: list[tuple[tuple[str, str], str]] = []
    for gate, kind, payload_text in rows:
        payload = _json(payload_text)
        key = (str(gate), str(payload.get("lane_id") or "-"))
        lane = lanes.setdefault(key, LaneCounts(alarms={}))
        tx = str(payload.get("tx_id") or "")
        if kind == "transaction.decision":
            outcome = str(payload.get("outcome") or "").upper()
            lane.held += outcome == "HOLD"
            lane.rejected += outcome == "REJECT"
        elif kind == "transaction.ended":
            lane.vehicles += 1
            if payload.get("result") == "passed":
                lane.passed += 1
                passed_tx.append((key, tx))
        elif kind == "officer.action" and tx:
            officer_tx.add((str(gate), tx))
        elif kind == "lane.alarm" and lane.alarms is not None:
            lane.alarms[str(payload.get("code"))] = str(payload.get("detail") or "")[:200]
        elif kind == "lane.alarm_cleared" and lane.alarms is not None:
            lane.alarms.pop(str(payload.get("code")), None)
    for key, tx in passed_tx:
        lanes[key].passed_no_officer += (key[0], tx) not in officer_tx
    return lanes


class CentralQueries:
    """The screen's reads over one store connection (used by one thread at a time)."""

    def __init__(self, store: SqlCentralStore) -> None:
        self._store = store

    def _rows(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._store._transaction(write=False):
            return self._store._run(statement, params).rows

    def overview(self, now: datetime) -> list[dict[str, Any]]:
        """Every gate: presence (retained status and will), last event, outbox, gaps, and its lanes."""
        report = self._store.report()["gates"]
        status = {str(g): (str(s), text(at), text(rx)) for g, s, at, rx in self._rows(GATES_STATUS)}
        last = {
            str(g): {"kind": str(k), "at": text(at), "received_at": text(rx)}
            for g, k, at, rx in self._rows(LAST_EVENTS)
        }
        telemetry = {str(g): (_json(p), text(at)) for g, at, p, _rx in self._rows(TELEMETRY)}
        since = self._store._time(now - WINDOW)
        lanes = _lane_counts(self._rows(LANE_EVENTS, (since, LANE_ROWS)))
        gates = []
        for gate in sorted(report.keys() | status.keys() | telemetry.keys()):
            state, state_at, _ = status.get(gate, ("unknown", None, None))
            sample, sample_at = telemetry.get(gate, ({}, None))
            outbox = _dict(sample.get("outbox"))
            block = report.get(gate, {})
            gates.append(
                {
                    "gate_id": gate,
                    "state": state,
                    "state_at": state_at,
                    "last_event": last.get(gate),
                    "events": block.get("events", 0),
                    "gaps": block.get("gaps", []),
                    "telemetry_not_received": block.get("telemetry", {}).get("not_received", 0),
                    "telemetry_at": sample_at,
                    "outbox_depth": outbox.get("depth"),
                    "outbox_oldest_age_s": outbox.get("oldest_age_s"),
                    "alarms": [str(a) for a in sample.get("alarms") or []],
                    "lanes": [
                        {"lane_id": lane, **counts.as_dict()}
                        for (g, lane), counts in sorted(lanes.items())
                        if g == gate
                    ],
                }
            )
        return gates

    def search(
        self,
        now: datetime,
        *,
        plate: str = "",
        container: str = "",
        declaration: str = "",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Decisions of every gate matching all the given terms, newest first (at most SEARCH_RESULTS).

        ``since`` defaults to seven days before ``now``; at most SEARCH_SCAN decisions are read.
        """
        start = (since or now - timedelta(days=7)).astimezone(UTC)  # SQLite compares the text
        rows = self._rows(DECISIONS_SINCE, (self._store._time(start), SEARCH_SCAN))
        want_plate, want_container, want_decl = (
            squeeze(plate),
            squeeze(container),
            declaration.strip().upper(),
        )
        found = []
        for _id, event_id, gate, at, payload_text in rows:
            payload = _json(payload_text)
            ident = _dict(payload.get("identification"))
            read = _dict(ident.get("plate"))
            plate_text = str(read.get("text") or "")
            containers = [
                str(c.get("text") or "") for c in ident.get("containers") or [] if isinstance(c, dict)
            ]
            number = str(payload.get("declaration_number") or "")
            at_text = text(at) or ""
            when = _parse(at_text)
            if want_plate and want_plate not in squeeze(plate_text):
                continue
            if want_container and not any(want_container in squeeze(c) for c in containers):
                continue
            if want_decl and want_decl not in number.upper():
                continue
            if when is not None and (when < start or (until is not None and when > until)):
                continue
            found.append(
                {
                    "gate_id": str(gate),
                    "lane_id": str(payload.get("lane_id") or "-"),
                    "tx_id": str(payload.get("tx_id") or ""),
                    "event_id": text(event_id),
                    "at": at_text,
                    "plate": plate_text,
                    "containers": containers,
                    "declaration_number": number or None,
                    "outcome": str(payload.get("outcome") or ""),
                }
            )
            if len(found) >= SEARCH_RESULTS:
                break
        return found

    def passage(self, gate_id: str, tx_id: str) -> dict[str, Any] | None:
        """One passage as central holds it: its events in order, the decision with reasons and reads,
        officer actions, and the evidence images the gate named (central holds their hashes only)."""
        pattern = f'%"tx_id":{json.dumps(tx_id)}%'
        rows = self._rows(PASSAGE_EVENTS, (gate_id, pattern))
        events = []
        decision: dict[str, Any] | None = None
        actions = []
        ended: dict[str, Any] | None = None
        for seq, kind, at, received, payload_text in rows:
            payload = _json(payload_text)
            if payload.get("tx_id") != tx_id:
                continue
            events.append({"seq": int(seq), "kind": str(kind), "at": text(at), "received_at": text(received)})
            if kind == "transaction.decision":
                decision = payload
            elif kind == "officer.action":
                actions.append(
                    {"at": text(at), **{k: payload.get(k) for k in ("officer", "action", "reason")}}
                )
            elif kind == "transaction.ended":
                ended = payload
        if not events:
            return None
        ident = (decision or {}).get("identification") or {}
        reads = [r for r in (ident.get("plate"), *(ident.get("containers") or [])) if isinstance(r, dict)]
        return {
            "gate_id": gate_id,
            "tx_id": tx_id,
            "lane_id": (decision or ended or {}).get("lane_id"),
            "outcome": (decision or {}).get("outcome"),
            "result": (ended or {}).get("result"),
            "declaration_number": (decision or {}).get("declaration_number"),
            "weight_kg": (decision or {}).get("weight_kg"),
            # reasons[i] is explained by details[i] (English, for the record); an older record may lack them
            "reasons": [
                [code, detail]
                for code, detail in zip_longest(
                    (decision or {}).get("reasons") or [], (decision or {}).get("details") or [], fillvalue=""
                )
            ],
            "reads": reads,
            "officer_actions": actions,
            "evidence": [
                {"text": r.get("text"), "sha256": r.get("evidence_sha256")}
                for r in reads
                if r.get("evidence_sha256")
            ],
            "events": events,
        }

    def last_event_id(self) -> int:
        rows = self._rows(LAST_EVENT_ID)
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def events_after(self, last_id: int, limit: int = 100) -> list[dict[str, Any]]:
        """Events stored after ``last_id`` (in arrival order), for the live stream."""
        out = []
        for id_, gate, seq, kind, at, payload_text in self._rows(EVENTS_AFTER, (last_id, limit)):
            payload = _json(payload_text)
            out.append(
                {
                    "id": int(id_),
                    "gate_id": str(gate),
                    "seq": int(seq),
                    "kind": str(kind),
                    "at": text(at),
                    "lane_id": _text_or_none(payload.get("lane_id")),
                    "tx_id": _text_or_none(payload.get("tx_id")),
                }
            )
        return out

    def presence(self) -> list[tuple[str, str, str | None]]:
        """(gate, state, at) of every gate's retained status: the live stream compares it between polls."""
        return sorted((str(g), str(s), text(at)) for g, s, at, _rx in self._rows(GATES_STATUS))


def _parse(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
