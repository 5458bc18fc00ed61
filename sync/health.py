"""Outbox upkeep and telemetry: depth and age, the backlog alarm, the disk policy, periodic samples.

Disk is bounded by policy, not by luck: undelivered telemetry beyond ``telemetry_keep`` is dropped oldest
first; transaction events are never dropped, and an outbox past ``outbox_warning_events`` raises the
``outbox_backlog`` alarm (an event, the telemetry and the lane status show it) until it falls back below
90 % of that size. Delivered events are purged after ``delivered_retention_h``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sync.clearances import ClearanceStore
from sync.config import SyncConfig
from sync.contract import TELEMETRY_KIND, OutboxHealth, TelemetryBody
from sync.ports import OutboxSource

log = logging.getLogger("sync.health")

BACKLOG_ALARM = "outbox_backlog"
CLEAR_RATIO = 0.9  # hysteresis, so a depth hovering at the limit does not flap the alarm
PURGE_EVERY_S = 600.0


@dataclass(frozen=True, slots=True)
class Figures:
    """One reading of the store, taken on the store thread."""

    at: datetime
    depth: int
    oldest_pending_at: datetime | None
    feed_version: int
    clearance_updated_at: datetime | None
    telemetry_dropped: int


def read_figures(
    outbox: OutboxSource, clearances: ClearanceStore, telemetry_keep: int, at: datetime
) -> Figures:
    """Apply the telemetry drop policy, then read depth, age and clearance version (store thread)."""
    dropped = outbox.drop_telemetry_oldest(telemetry_keep)
    return Figures(
        at=at,
        depth=outbox.depth(),
        oldest_pending_at=outbox.oldest_pending_at(),
        feed_version=clearances.feed_version(),
        clearance_updated_at=clearances.last_update_at(),
        telemetry_dropped=dropped,
    )


def seconds_since(then: datetime | None, now: datetime) -> float | None:
    return None if then is None else round(max(0.0, (now - then).total_seconds()), 3)


@dataclass(slots=True)
class OutboxWatch:
    """Keeps the latest figures, decides alarms, and counts what the policy dropped."""

    config: SyncConfig
    figures: Figures | None = None
    alarms: set[str] = field(default_factory=set)
    telemetry_dropped: int = 0
    last_purge: datetime | None = None

    def update(self, figures: Figures) -> list[tuple[str, dict[str, Any]]]:
        """Take new figures; the alarm events (kind, payload) to write, if an alarm was raised or cleared."""
        self.figures = figures
        if figures.telemetry_dropped:
            self.telemetry_dropped += figures.telemetry_dropped
            log.warning("outbox policy dropped %d undelivered telemetry samples", figures.telemetry_dropped)
        limit = self.config.outbox_warning_events
        events: list[tuple[str, dict[str, Any]]] = []
        if figures.depth > limit and BACKLOG_ALARM not in self.alarms:
            self.alarms.add(BACKLOG_ALARM)
            detail = f"{figures.depth} undelivered events (warning size {limit})"
            log.warning("alarm %s: %s", BACKLOG_ALARM, detail)
            events.append(
                (
                    "lane.alarm",
                    {"tx_id": None, "code": BACKLOG_ALARM, "detail": detail, "depth": figures.depth},
                )
            )
        elif figures.depth <= limit * CLEAR_RATIO and BACKLOG_ALARM in self.alarms:
            self.alarms.discard(BACKLOG_ALARM)
            log.info("alarm %s cleared: %d undelivered events", BACKLOG_ALARM, figures.depth)
            events.append(("lane.alarm_cleared", {"code": BACKLOG_ALARM, "depth": figures.depth}))
        return events

    def purge_due(self, now: datetime) -> bool:
        if self.last_purge is None or (now - self.last_purge).total_seconds() >= PURGE_EVERY_S:
            self.last_purge = now
            return True
        return False

    def purge_before(self, now: datetime) -> datetime:
        return now - timedelta(hours=self.config.delivered_retention_h)

    def health(self, now: datetime) -> OutboxHealth:
        figures = self.figures
        return OutboxHealth(
            depth=figures.depth if figures else 0,
            oldest_age_s=seconds_since(figures.oldest_pending_at, now) if figures else None,
            backlog_alarm=BACKLOG_ALARM in self.alarms,
        )


def telemetry_sample(
    lane_status: dict[str, Any], watch: OutboxWatch, now: datetime, extra_alarms: list[str]
) -> tuple[str, dict[str, Any]]:
    """A telemetry sample (kind, payload) from the lane status and the outbox figures, schema-checked."""
    figures = watch.figures
    body = TelemetryBody(
        lane=dict(lane_status.get("lane") or {}),
        devices=dict(lane_status.get("devices") or {}),
        cameras=dict(lane_status.get("cameras") or {}),
        recognition_latency_ms=lane_status.get("recognition_latency_ms"),
        outbox=watch.health(now),
        clearance_version=figures.feed_version if figures else 0,
        clearance_age_s=seconds_since(figures.clearance_updated_at, now) if figures else None,
        alarms=sorted(watch.alarms | set(extra_alarms)),
    )
    return TELEMETRY_KIND, body.model_dump(mode="json")
