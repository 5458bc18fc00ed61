"""What `central report` prints: per gate its events and gaps, its telemetry apart; what was rejected.

A gate's ``seq`` is shared by its events and its telemetry samples, so the sequence has holes where
telemetry was never sent (retired at the gate past its expiry, or dropped beyond ``telemetry_keep``): those
are not lost events. A lost event shows only through ``prev_seq``, each event naming the one before it:
``gaps`` lists those seqs, and only those. Telemetry has its own block: samples received, samples that came
past their expiry, the latest seq, and how many seqs were neither an event nor a sample received.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from central import sql

Query = Callable[[str], Sequence[Sequence[Any]]]


def build_report(query: Query) -> dict[str, Any]:
    """The report, from ``query`` (a statement of central.sql -> its rows) on one consistent view."""
    events = {str(g): (int(n), int(high)) for g, n, high in query(sql.EVENTS_PER_GATE)}
    gaps: dict[str, list[int]] = {}
    for gate, missing in query(sql.GAPS):
        gaps.setdefault(str(gate), []).append(int(missing))
    latest = {str(g): int(seq) for g, seq in query(sql.LATEST_TELEMETRY)}
    counts = {str(g): (int(s), int(e), int(high)) for g, s, e, high in query(sql.TELEMETRY_COUNTS)}
    gates: dict[str, Any] = {}
    for gate in sorted(events.keys() | latest.keys() | counts.keys()):
        stored, max_seq = events.get(gate, (0, 0))
        samples, expired, telemetry_top = counts.get(gate, (0, 0, 0))
        missing_events = gaps.get(gate, [])
        top = max(max_seq, telemetry_top)
        gates[gate] = {
            "events": stored,
            "max_seq": max_seq if stored else None,
            "gaps": missing_events,
            "telemetry": {
                "samples": samples,
                "expired": expired,
                "latest_seq": latest.get(gate),
                "not_received": max(0, top - stored - len(missing_events) - samples - expired),
            },
        }
    by_reason = dict(sorted((str(reason), int(n)) for reason, n in query(sql.REJECTED_PER_REASON)))
    return {"gates": gates, "rejected": {"total": sum(by_reason.values()), "by_reason": by_reason}}
