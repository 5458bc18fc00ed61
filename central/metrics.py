"""Prometheus metrics per gate and lane, read from central's database, for ``GET /metrics``.

Totals come from the database, not from what one instance happened to receive, so every instance serving
the screen reports the same numbers and a restart loses none. Counting them is incremental: each scrape
reads only the events and rejections stored since the previous one (by row id, at most SCAN_ROWS a scrape,
so the first scrape of a large database catches up over several scrapes without stalling one:
``gate_central_metrics_catching_up`` says so). The gauges (presence, the latest telemetry, pending
confirmations, open gaps) are read afresh. Labels hold only bounded values: a gate's kinds, lanes, outcomes
and results beyond the known ones or the caps are counted as ``other``, so a misbehaving gate cannot grow
the series without bound.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from central.settings import CentralSettings
from sync.contract import EVENT_KINDS, gate_id_of

Rows = Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]

EVENTS_AFTER = "SELECT id, gate_id, kind, CAST(payload AS TEXT) FROM events WHERE id > ? ORDER BY id LIMIT ?"
REJECTED_AFTER = "SELECT id, topic, reason FROM rejected WHERE id > ? ORDER BY id LIMIT ?"
GATE_STATUS = "SELECT gate_id, state FROM gate_status"
TELEMETRY = "SELECT gate_id, at, CAST(payload AS TEXT) FROM telemetry"
PENDING_CONFIRMATIONS = "SELECT gate_id, COUNT(*) FROM confirmations WHERE state = 'pending' GROUP BY gate_id"
OPEN_GAPS = "SELECT gate_id, COUNT(*) FROM gaps GROUP BY gate_id"

BATCH = 5_000
SCAN_ROWS = 50_000  # rows read per scrape, at most, per table (~0.5 s on SQLite)
MAX_LANES_PER_GATE = 32
MAX_GATES = 500
OUTCOMES = ("PASS", "HOLD", "REJECT")
RESULTS = ("passed", "rejected", "left", "aborted", "unconfirmed", "interrupted")
REJECTION_REASONS_CAP = 64
OTHER = "other"

# Every metric /metrics serves, with its help text: docs/grafana/central.json queries only these.
METRICS: dict[str, str] = {
    "gate_central_events_stored_total": "Events central stored, per gate, lane and kind.",
    "gate_central_messages_rejected_total": "Messages central could not store, per gate and reason.",
    "gate_central_decisions_total": "Lane decisions (PASS, HOLD, REJECT) per gate and lane.",
    "gate_central_vehicles_total": "Transactions ended per gate, lane and result (passed, rejected, ...).",
    "gate_central_gate_online": "1 while the gate's retained status says online, else 0.",
    "gate_central_outbox_depth": "Events waiting in the gate's outbox (its latest telemetry).",
    "gate_central_outbox_oldest_undelivered_seconds": "Age of the gate's oldest undelivered event.",
    "gate_central_telemetry_age_seconds": "Seconds since the gate's latest telemetry sample was taken.",
    "gate_central_confirmations_pending": "Exit confirmations not yet delivered to the clearance system.",
    "gate_central_sequence_gaps": "Events central knows are missing (open gaps), per gate.",
    "gate_central_metrics_catching_up": "1 while the counters have not yet read every stored row.",
}


def _json(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(str(text))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


class CentralMetrics:
    """Counters kept between scrapes (with their read position) and one scrape's text."""

    def __init__(self, topic_prefix: str = CentralSettings.topic_prefix) -> None:
        self._prefix = topic_prefix
        self._event_id = 0
        self._rejected_id = 0
        self._catching_up = True
        self.events: Counter[tuple[str, str, str]] = Counter()
        self.decisions: Counter[tuple[str, str, str]] = Counter()
        self.vehicles: Counter[tuple[str, str, str]] = Counter()
        self.rejected: Counter[tuple[str, str]] = Counter()
        self._lanes: dict[str, set[str]] = {}
        self._gauges: list[Metric] = []

    def _lane(self, gate: str, payload: dict[str, Any]) -> str:
        lane = str(payload.get("lane_id") or "-")[:64]
        known = self._lanes.setdefault(gate, set())
        if lane in known or len(known) < MAX_LANES_PER_GATE:
            known.add(lane)
            return lane
        return OTHER

    def _gate(self, gate: Any) -> str:
        name = str(gate)[:64]
        return name if name in self._lanes or len(self._lanes) < MAX_GATES else OTHER

    def _count_events(self, rows: Iterable[tuple[Any, ...]]) -> None:
        for _id, gate_id, kind_value, payload_text in rows:
            payload = _json(payload_text)
            gate = self._gate(gate_id)
            lane = self._lane(gate, payload)
            kind = str(kind_value) if kind_value in EVENT_KINDS else OTHER
            self.events[(gate, lane, kind)] += 1
            if kind == "transaction.decision":
                outcome = str(payload.get("outcome") or "").upper()
                self.decisions[(gate, lane, outcome if outcome in OUTCOMES else OTHER)] += 1
            elif kind == "transaction.ended":
                result = str(payload.get("result") or "")
                self.vehicles[(gate, lane, result if result in RESULTS else OTHER)] += 1

    def _count_rejections(self, rows: Iterable[tuple[Any, ...]]) -> None:
        reasons = {reason for _gate, reason in self.rejected}
        for _id, topic, reason_value in rows:
            gate = gate_id_of(self._prefix, str(topic))
            reason = str(reason_value)[:64]
            if reason not in reasons and len(reasons) >= REJECTION_REASONS_CAP:
                reason = OTHER
            reasons.add(reason)
            self.rejected[("-" if gate is None else self._gate(gate), reason)] += 1

    def _scan(self, rows: Rows, statement: str, after: int, count: Callable[[list[Any]], None]) -> int:
        """Read the rows stored after id ``after`` (SCAN_ROWS at most); the last id read."""
        read = 0
        while read < SCAN_ROWS:
            batch = rows(statement, (after, BATCH))
            if not batch:
                return after
            count(batch)
            after, read = int(batch[-1][0]), read + len(batch)
            if len(batch) < BATCH:
                return after
        self._catching_up = True
        return after

    def scrape(self, rows: Rows, now: datetime) -> bytes:
        """Read what is new, then the Prometheus text of every metric (on the screen's database thread)."""
        self._catching_up = False
        self._event_id = self._scan(rows, EVENTS_AFTER, self._event_id, self._count_events)
        self._rejected_id = self._scan(rows, REJECTED_AFTER, self._rejected_id, self._count_rejections)
        self._gauges = self._read_gauges(rows, now)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Snapshot(list(self._families())))
        return generate_latest(registry)

    def _read_gauges(self, rows: Rows, now: datetime) -> list[Metric]:
        online = _gauge("gate_central_gate_online")
        for gate, state in rows(GATE_STATUS, ()):
            online.add_metric([self._gate(gate)], 1.0 if state == "online" else 0.0)
        depth = _gauge("gate_central_outbox_depth")
        oldest = _gauge("gate_central_outbox_oldest_undelivered_seconds")
        age = _gauge("gate_central_telemetry_age_seconds")
        for gate, at, payload_text in rows(TELEMETRY, ()):
            payload, name = _json(payload_text), self._gate(gate)
            found = payload.get("outbox")
            outbox: dict[str, Any] = found if isinstance(found, dict) else {}
            for family, value in ((depth, outbox.get("depth")), (oldest, outbox.get("oldest_age_s"))):
                number = _number(value)
                if number is not None:
                    family.add_metric([name], number)
            taken = _when(at)
            if taken is not None and taken.tzinfo is not None:
                age.add_metric([name], max(0.0, (now - taken).total_seconds()))
        pending = _gauge("gate_central_confirmations_pending")
        for gate, count in rows(PENDING_CONFIRMATIONS, ()):
            pending.add_metric([self._gate(gate)], float(count))
        gaps = _gauge("gate_central_sequence_gaps")
        for gate, count in rows(OPEN_GAPS, ()):
            gaps.add_metric([self._gate(gate)], float(count))
        return [online, depth, oldest, age, pending, gaps]

    def _families(self) -> Iterable[Metric]:
        lanes = ["gate_id", "lane_id"]
        yield _counter("gate_central_events_stored", [*lanes, "kind"], self.events)
        yield _counter("gate_central_decisions", [*lanes, "outcome"], self.decisions)
        yield _counter("gate_central_vehicles", [*lanes, "result"], self.vehicles)
        yield _counter("gate_central_messages_rejected", ["gate_id", "reason"], self.rejected)
        yield from self._gauges
        catching_up = _gauge("gate_central_metrics_catching_up", labels=[])
        catching_up.add_metric([], 1.0 if self._catching_up else 0.0)
        yield catching_up


def _gauge(name: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, METRICS[name], labels=["gate_id"] if labels is None else labels)


def _counter(name: str, labels: list[str], counts: Counter[Any]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, METRICS[name + "_total"], labels=labels)
    for key, value in sorted(counts.items()):
        family.add_metric(list(key), float(value))
    return family


class _Snapshot(Collector):
    """One scrape's families, already read."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return iter(self._families)
