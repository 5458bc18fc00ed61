"""Prometheus metrics of one lane, served on ``/metrics``.

Two kinds of figures. Events the daemon *observes* as they happen (decisions, transactions, recognition
latency and confidence) are prometheus-client counters and histograms kept here. Levels and counters the
drivers already keep (Modbus and serial counters, outbox depth, link states) are *read* at scrape time
from a `MetricsSource`, so there is one source of truth and nothing to keep in sync.

A source returns `None` for a subsystem it does not have (no cameras configured, sync not wired yet):
those metrics are then absent from the scrape rather than a misleading 0, so "camera down" and "no camera"
stay distinguishable in alerts. Every metric lives in this object's own registry (no global state), so
tests and several daemons in one process do not collide.

The scrape reads the store, whose SQLite connection belongs to the event loop's thread: serve ``/metrics``
from an ``async`` route (as `mount_metrics` does), never from a thread pool.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from typing import Protocol

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from devices.modbus_io import IOStats
from devices.scale.reading import FrameStats
from edge.decision import Outcome
from edge.lane import LaneState
from edge.storage_health import StorageHealth
from vision.identity import Identification

log = logging.getLogger("edge.metrics")

TX_RESULTS = ("passed", "rejected", "left", "aborted", "unconfirmed", "interrupted")
LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 1.0)


# -- what the collector reads --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ModbusStats:
    """The lane I/O controller link (see `devices.modbus_io.IOStats`)."""

    link_up: bool
    polls: int
    errors: int
    reconnects: int
    writes: int
    write_failures: int

    @classmethod
    def of(cls, stats: IOStats, link_up: bool) -> ModbusStats:
        return cls(link_up, stats.polls, stats.errors, stats.reconnects, stats.writes, stats.write_failures)


@dataclass(frozen=True, slots=True)
class SerialStats:
    """The weighbridge indicator's serial link (see `devices.scale.reading.FrameStats`)."""

    ok: bool
    frames: int
    garbage_bytes: int
    bad_checksum: int
    cut_frames: int
    out_of_range: int
    reconnects: int

    @classmethod
    def of(cls, stats: FrameStats, faulted: bool) -> SerialStats:
        return cls(
            ok=not faulted,
            frames=stats.frames,
            garbage_bytes=stats.garbage_bytes,
            bad_checksum=stats.bad_checksum,
            cut_frames=stats.cut_frames,
            out_of_range=stats.out_of_range,
            reconnects=stats.extra.get("reconnects", 0),
        )


@dataclass(frozen=True, slots=True)
class CameraStats:
    """One camera reader: frames per second over its last window, age of its newest frame."""

    connected: bool
    fps: float
    frame_age_s: float | None


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Whether the lane's store keeps its records (see `edge.storage_health.StorageHealth`)."""

    ok: bool
    free_bytes: int | None
    pending_writes: int
    delayed_writes: int
    dropped_writes: int

    @classmethod
    def of(cls, health: StorageHealth) -> StoreStats:
        return cls(
            health.ok, health.free_bytes, health.pending_writes, health.delayed_writes, health.dropped_writes
        )


@dataclass(frozen=True, slots=True)
class GateSnapshot:
    """Everything the collector reads at one scrape; None means "this lane has no such subsystem (yet)"."""

    lane_state: str | None = None
    modbus: ModbusStats | None = None
    scale: SerialStats | None = None
    cameras: Mapping[str, CameraStats] | None = None
    outbox_depth: int | None = None
    outbox_oldest_age_s: float | None = None
    mqtt_connected: bool | None = None
    clearance_cache_age_s: float | None = None
    liveness: Mapping[str, bool] | None = None
    lane_lag: Mapping[str, Mapping[str, float]] | None = None
    store: StoreStats | None = None


class MetricsSource(Protocol):
    """What the daemon offers the collector: one consistent snapshot per scrape, taken on the loop."""

    def metrics_snapshot(self) -> GateSnapshot: ...


def age_s(then: datetime | None, now: datetime) -> float | None:
    """Seconds from `then` to `now` (never negative: a clock step must not make a negative age)."""
    return None if then is None else max(0.0, (now - then).total_seconds())


# -- the metrics --------------------------------------------------------------------------------------
class GateMetrics:
    """The lane's registry: observed counters and histograms plus a collector over a `MetricsSource`."""

    def __init__(
        self,
        gate_id: str,
        lane_id: str,
        source: MetricsSource | None = None,
        *,
        process: bool = True,
    ) -> None:
        """`process` adds the standard process_*, python_gc_* and python_info metrics."""
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        Info("gate", "The gate and lane this daemon runs, and its version.", registry=reg).info(
            {"gate_id": gate_id, "lane_id": lane_id, "version": _version()}
        )
        self.decisions = Counter("gate_decisions", "Decisions taken, by outcome.", ["decision"], registry=reg)
        self.decision_reasons = Counter(
            "gate_decision_reasons",
            "Reasons given with HOLD and REJECT decisions (a decision may give several).",
            ["decision", "reason"],
            registry=reg,
        )
        self.transactions = Counter(
            "gate_transactions", "Transactions ended, by result.", ["result"], registry=reg
        )
        self.recognition_latency = Histogram(
            "gate_recognition_latency_seconds",
            "Time from the start of identification to its fused result.",
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.recognition_confidence = Histogram(
            "gate_recognition_confidence",
            "Confidence of each fused read, by kind (plate, container).",
            ["kind"],
            buckets=CONFIDENCE_BUCKETS,
            registry=reg,
        )
        for outcome in Outcome:
            self.decisions.labels(decision=outcome.value)
        for result in TX_RESULTS:
            self.transactions.labels(result=result)
        self._collector = SnapshotCollector(source)
        reg.register(self._collector)
        if process:
            ProcessCollector(registry=reg)
            PlatformCollector(registry=reg)
            GCCollector(registry=reg)

    def attach(self, source: MetricsSource) -> None:
        """Read levels from `source` from now on (when the metrics object is made before the daemon)."""
        self._collector.source = source

    def observe_decision(self, outcome: str, reasons: Iterable[str]) -> None:
        """Count one decision and each of its reasons."""
        self.decisions.labels(decision=str(outcome)).inc()
        for reason in reasons:
            self.decision_reasons.labels(decision=str(outcome), reason=str(reason)).inc()

    def observe_transaction_end(self, result: str) -> None:
        self.transactions.labels(result=result).inc()

    def observe_identification(self, identification: Identification, latency_s: float) -> None:
        """Record how long identification took and how confident each read was."""
        self.recognition_latency.observe(max(0.0, latency_s))
        reads = [identification.plate] if identification.plate is not None else []
        reads.extend(identification.containers)
        for read in reads:
            self.recognition_confidence.labels(kind=str(read.kind)).observe(read.confidence)

    def render(self) -> bytes:
        """The Prometheus text exposition of everything."""
        return generate_latest(self.registry)

    def render_for(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition in the format a scraper asks for (OpenMetrics or Prometheus text) and its type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


class SnapshotCollector(Collector):
    """Turns one `GateSnapshot` per scrape into metric families; absent subsystems give no series."""

    def __init__(self, source: MetricsSource | None) -> None:
        self.source = source
        self._failing = False

    def describe(self) -> Iterable[Metric]:
        return []  # families depend on what the source has: do not pin them at registration

    def collect(self) -> Iterable[Metric]:
        ok = GaugeMetricFamily(
            "gate_metrics_snapshot_ok", "1 if the daemon's state could be read for this scrape."
        )
        if self.source is None:
            ok.add_metric([], 0)
            yield ok
            return
        try:
            snap = self.source.metrics_snapshot()
        except Exception:  # a broken source must not take the process metrics down with it
            if not self._failing:
                log.exception("metrics snapshot failed (logged once until it works again)")
            self._failing = True
            ok.add_metric([], 0)
            yield ok
            return
        self._failing = False
        ok.add_metric([], 1)
        yield ok
        yield from _lane(snap)
        yield from _modbus(snap.modbus)
        yield from _scale(snap.scale)
        yield from _cameras(snap.cameras)
        yield from _sync(snap)
        yield from _liveness(snap.liveness)
        yield from _store(snap.store)
        yield from _lane_lag(snap.lane_lag)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _lane(snap: GateSnapshot) -> Iterator[Metric]:
    if snap.lane_state is None:
        return
    state = GaugeMetricFamily("gate_lane_state", "1 for the lane's current state.", labels=["state"])
    for value in LaneState:
        state.add_metric([value.value], 1 if value.value == snap.lane_state else 0)
    yield state


def _lane_lag(lag: Mapping[str, Mapping[str, float]] | None) -> Iterator[Metric]:
    """The lane loop's lateness over its recent samples: what a barrier reaction waits on."""
    if lag is None:
        return
    docs = {
        "step_lag": "Seconds from an input change read from the controller to the lane's step done.",
        "tick_late": "Seconds the lane loop's timer fired late.",
    }
    for series, doc in docs.items():
        figures = lag.get(series)
        if figures is None:
            continue
        family = GaugeMetricFamily(
            f"gate_lane_{series}_seconds", doc + " Recent samples.", labels=["quantile"]
        )
        for label, key in (("0.5", "p50_ms"), ("0.99", "p99_ms"), ("1", "max_ms")):
            family.add_metric([label], figures[key] / 1000)
        yield family


def _modbus(m: ModbusStats | None) -> Iterator[Metric]:
    if m is None:
        return
    yield _gauge("gate_modbus_link_up", "1 while the lane I/O controller answers polls.", m.link_up)
    yield _counter("gate_modbus_polls", "Successful input polls of the lane I/O controller.", m.polls)
    yield _counter("gate_modbus_errors", "Failed connects or polls of the lane I/O controller.", m.errors)
    yield _counter("gate_modbus_reconnects", "Reconnect attempts to the lane I/O controller.", m.reconnects)
    yield _counter("gate_modbus_writes", "Coil writes (barrier, lights) attempted.", m.writes)
    yield _counter("gate_modbus_write_failures", "Coil writes not confirmed by read-back.", m.write_failures)


def _scale(s: SerialStats | None) -> Iterator[Metric]:
    if s is None:
        return
    yield _gauge("gate_scale_ok", "1 while the weighbridge indicator sends valid frames.", s.ok)
    yield _counter("gate_scale_frames", "Valid frames read from the weighbridge indicator.", s.frames)
    errors = CounterMetricFamily(
        "gate_scale_serial_errors", "Bad frames from the weighbridge serial port, by kind.", labels=["kind"]
    )
    errors.add_metric(["bad_checksum"], s.bad_checksum)
    errors.add_metric(["cut_frame"], s.cut_frames)
    errors.add_metric(["out_of_range"], s.out_of_range)
    yield errors
    yield _counter(
        "gate_scale_garbage_bytes",
        "Bytes from the serial port that were not part of a frame.",
        s.garbage_bytes,
    )
    yield _counter(
        "gate_scale_serial_reconnects", "Reopens of the weighbridge serial port after a loss.", s.reconnects
    )


def _cameras(cameras: Mapping[str, CameraStats] | None) -> Iterator[Metric]:
    if cameras is None:
        return
    up = GaugeMetricFamily("gate_camera_connected", "1 while the camera delivers frames.", labels=["camera"])
    fps = GaugeMetricFamily(
        "gate_camera_fps",
        "Frames per second decoded from the camera (a stream: key frames only, ~0.5, while lane is idle).",
        labels=["camera"],
    )
    age = GaugeMetricFamily(
        "gate_camera_frame_age_seconds", "Age of the newest frame from the camera.", labels=["camera"]
    )
    for name, cam in sorted(cameras.items()):
        up.add_metric([name], cam.connected)
        fps.add_metric([name], cam.fps)
        if cam.frame_age_s is not None:
            age.add_metric([name], cam.frame_age_s)
    yield from (up, fps, age)


def _sync(snap: GateSnapshot) -> Iterator[Metric]:
    if snap.outbox_depth is not None:
        yield _gauge("gate_outbox_depth", "Events waiting for delivery to central.", snap.outbox_depth)
        oldest = snap.outbox_oldest_age_s
        yield _gauge(
            "gate_outbox_oldest_undelivered_age_seconds",
            "Age of the oldest undelivered event (0 when the outbox is empty): how stale central's view is.",
            0.0 if oldest is None else oldest,
        )
    if snap.mqtt_connected is not None:
        yield _gauge("gate_mqtt_connected", "1 while the MQTT link to central is up.", snap.mqtt_connected)
    if snap.clearance_cache_age_s is not None:
        yield _gauge(
            "gate_clearance_cache_age_seconds",
            "Time since the last clearance update from central.",
            snap.clearance_cache_age_s,
        )


def _liveness(liveness: Mapping[str, bool] | None) -> Iterator[Metric]:
    if liveness is None:
        return
    fam = GaugeMetricFamily(
        "gate_liveness_check_ok", "1 while the watchdog's liveness check passes.", labels=["check"]
    )
    for name, ok in sorted(liveness.items()):
        fam.add_metric([name], ok)
    yield fam


def _store(s: StoreStats | None) -> Iterator[Metric]:
    if s is None:
        return
    yield _gauge(
        "gate_store_ok", "1 while the store takes writes and its free space is above the watermark.", s.ok
    )
    if s.free_bytes is not None:
        yield _gauge("gate_store_free_bytes", "Free space on the store's file system.", s.free_bytes)
    yield _gauge(
        "gate_store_pending_writes", "Lane records in memory, waiting for the store.", s.pending_writes
    )
    yield _counter(
        "gate_store_delayed_writes",
        "Lane records the store refused at first (disk full, I/O).",
        s.delayed_writes,
    )
    yield _counter(
        "gate_store_dropped_writes", "Lane records lost: too many waited for the store.", s.dropped_writes
    )


def _version() -> str:
    try:
        return metadata.version("border-gate-edge")
    except metadata.PackageNotFoundError:
        return "unknown"


def mount_metrics(app: FastAPI, metrics: GateMetrics, path: str = "/metrics") -> None:
    """Serve `metrics` on `path` of `app` (an async route: the scrape runs on the event loop)."""

    async def prometheus_metrics(request: Request) -> Response:
        body, content_type = metrics.render_for(request.headers.get("accept"))
        return Response(content=body, headers={"Content-Type": content_type})

    app.add_api_route(path, prometheus_metrics, methods=["GET"], include_in_schema=False)


def metrics_app(metrics: GateMetrics) -> FastAPI:
    """A FastAPI app serving only /metrics, for a daemon run without the kiosk."""
    app = FastAPI(title="border-gate-edge metrics", docs_url=None, redoc_url=None, openapi_url=None)
    mount_metrics(app, metrics)
    return app
