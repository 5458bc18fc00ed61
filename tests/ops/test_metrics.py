"""The /metrics scrape parses as Prometheus text and carries every figure the issue names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from devices.modbus_io import IOStats
from devices.scale.reading import FrameStats
from edge.decision import Outcome, Reason
from edge.metrics import (
    CameraStats,
    GateMetrics,
    GateSnapshot,
    ModbusStats,
    SerialStats,
    age_s,
    metrics_app,
    mount_metrics,
)
from edge.store import Store
from vision.identity import Identification, Read, ReadKind

FULL = GateSnapshot(
    lane_state="HOLD",
    modbus=ModbusStats(link_up=True, polls=1200, errors=3, reconnects=2, writes=40, write_failures=1),
    scale=SerialStats(
        ok=False, frames=900, garbage_bytes=17, bad_checksum=4, cut_frames=2, out_of_range=1, reconnects=1
    ),
    cameras={"plate-front": CameraStats(True, 12.5, 0.08), "container-top": CameraStats(False, 0.0, None)},
    outbox_depth=7,
    outbox_oldest_age_s=42.0,
    mqtt_connected=False,
    clearance_cache_age_s=310.0,
    liveness={"lane-loop": True, "modbus-poller": False},
    lane_lag={
        "step_lag": {"n": 40, "p50_ms": 0.5, "p99_ms": 4.0, "max_ms": 6.0},
        "tick_late": {"n": 400, "p50_ms": 1.0, "p99_ms": 3.0, "max_ms": 9.0},
    },
)


class Source:
    def __init__(self, snapshot: GateSnapshot) -> None:
        self.snapshot = snapshot

    def metrics_snapshot(self) -> GateSnapshot:
        return self.snapshot


def scrape(metrics: GateMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the text exposition, parsed back by prometheus_client's own parser."""
    samples: list[Sample] = []
    for family in text_string_to_metric_families(metrics.render().decode("utf-8")):
        samples.extend(family.samples)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def names(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> set[str]:
    return {name for name, _ in samples}


def test_a_scrape_carries_device_sync_camera_and_liveness_figures() -> None:
    samples = scrape(GateMetrics("g1", "lane-1", Source(FULL)))

    assert value(samples, "gate_lane_state", state="HOLD") == 1
    assert value(samples, "gate_lane_state", state="IDLE") == 0
    assert value(samples, "gate_modbus_link_up") == 1
    assert value(samples, "gate_modbus_errors_total") == 3
    assert value(samples, "gate_modbus_reconnects_total") == 2
    assert value(samples, "gate_modbus_write_failures_total") == 1
    assert value(samples, "gate_scale_ok") == 0
    assert value(samples, "gate_scale_serial_errors_total", kind="bad_checksum") == 4
    assert value(samples, "gate_scale_serial_errors_total", kind="cut_frame") == 2
    assert value(samples, "gate_scale_serial_reconnects_total") == 1
    assert value(samples, "gate_camera_fps", camera="plate-front") == 12.5
    assert value(samples, "gate_camera_frame_age_seconds", camera="plate-front") == 0.08
    assert value(samples, "gate_camera_connected", camera="container-top") == 0
    assert ("gate_camera_frame_age_seconds", (("camera", "container-top"),)) not in samples  # no frame yet
    assert value(samples, "gate_outbox_depth") == 7
    assert value(samples, "gate_outbox_oldest_undelivered_age_seconds") == 42
    assert value(samples, "gate_mqtt_connected") == 0
    assert value(samples, "gate_clearance_cache_age_seconds") == 310
    assert value(samples, "gate_liveness_check_ok", check="modbus-poller") == 0
    assert value(samples, "gate_lane_step_lag_seconds", quantile="0.99") == 0.004
    assert value(samples, "gate_lane_tick_late_seconds", quantile="1") == 0.009
    assert value(samples, "gate_metrics_snapshot_ok") == 1
    assert value(samples, "gate_info", gate_id="g1", lane_id="lane-1", version="0.1.0") == 1
    assert "process_resident_memory_bytes" in names(samples)


def test_subsystems_the_lane_does_not_have_are_absent_not_zero() -> None:
    samples = scrape(GateMetrics("g1", "lane-1", Source(GateSnapshot(lane_state="IDLE", outbox_depth=0))))

    present = names(samples)
    assert not {n for n in present if n.startswith(("gate_camera_", "gate_mqtt_", "gate_clearance_"))}
    assert not {n for n in present if n.startswith(("gate_modbus_", "gate_scale_"))}
    assert value(samples, "gate_outbox_oldest_undelivered_age_seconds") == 0  # empty outbox: nothing stale


def test_decisions_count_by_outcome_and_each_reason() -> None:
    metrics = GateMetrics("g1", "lane-1", process=False)

    metrics.observe_decision(Outcome.PASS, [])
    metrics.observe_decision(Outcome.HOLD, [Reason.LOW_CONFIDENCE, Reason.NO_STABLE_WEIGHT])
    metrics.observe_decision(Outcome.HOLD, [Reason.LOW_CONFIDENCE])
    metrics.observe_transaction_end("passed")
    samples = scrape(metrics)

    assert value(samples, "gate_decisions_total", decision="PASS") == 1
    assert value(samples, "gate_decisions_total", decision="HOLD") == 2
    assert value(samples, "gate_decisions_total", decision="REJECT") == 0  # present before the first one
    assert value(samples, "gate_decision_reasons_total", decision="HOLD", reason="low_confidence") == 2
    assert value(samples, "gate_decision_reasons_total", decision="HOLD", reason="no_stable_weight") == 1
    assert value(samples, "gate_transactions_total", result="passed") == 1
    assert value(samples, "gate_transactions_total", result="aborted") == 0


def test_identification_records_latency_and_confidence_per_read_kind() -> None:
    metrics = GateMetrics("g1", "lane-1", process=False)
    ident = Identification(
        plate=Read(ReadKind.PLATE, "51C12345", 0.97, valid=True),
        containers=(
            Read(ReadKind.CONTAINER, "MSKU3866036", 0.91, valid=True),
            Read(ReadKind.CONTAINER, "TGHU1234565", 0.42, valid=False),
        ),
    )

    metrics.observe_identification(ident, latency_s=0.62)
    samples = scrape(metrics)

    assert value(samples, "gate_recognition_latency_seconds_count") == 1
    assert value(samples, "gate_recognition_latency_seconds_bucket", le="0.5") == 0
    assert value(samples, "gate_recognition_latency_seconds_bucket", le="0.75") == 1
    assert value(samples, "gate_recognition_confidence_count", kind="plate") == 1
    assert value(samples, "gate_recognition_confidence_count", kind="container") == 2
    assert value(samples, "gate_recognition_confidence_bucket", kind="container", le="0.5") == 1


def test_a_failing_source_leaves_the_scrape_working_and_says_so() -> None:
    class Broken:
        def metrics_snapshot(self) -> GateSnapshot:
            raise RuntimeError("store is locked")

    samples = scrape(GateMetrics("g1", "lane-1", Broken(), process=False))

    assert value(samples, "gate_metrics_snapshot_ok") == 0
    assert value(samples, "gate_decisions_total", decision="PASS") == 0


def test_stats_adapters_read_the_driver_counters() -> None:
    io = IOStats(polls=10, errors=2, reconnects=1, writes=4, write_failures=1)
    frames = FrameStats(frames=5, garbage_bytes=3, bad_checksum=1, cut_frames=0, out_of_range=2)
    frames.extra["reconnects"] = 6

    assert ModbusStats.of(io, link_up=False) == ModbusStats(False, 10, 2, 1, 4, 1)
    assert SerialStats.of(frames, faulted=True) == SerialStats(False, 5, 3, 1, 0, 2, 6)


def test_outbox_depth_and_oldest_age_come_from_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "gate.db")
    created = datetime.now(UTC) - timedelta(minutes=5)
    store.outbox.append("transaction.ended", {"tx_id": "t1"}, at=created)
    store.outbox.append("telemetry", {"n": 1}, at=created + timedelta(minutes=1), critical=False)

    class StoreSource:
        def metrics_snapshot(self) -> GateSnapshot:
            now = datetime.now(UTC)
            return GateSnapshot(
                outbox_depth=store.outbox.depth(),
                outbox_oldest_age_s=age_s(store.outbox.oldest_pending_at(), now),
            )

    try:
        samples = scrape(GateMetrics("g1", "lane-1", StoreSource(), process=False))
    finally:
        store.close()

    assert value(samples, "gate_outbox_depth") == 2
    assert 299 <= value(samples, "gate_outbox_oldest_undelivered_age_seconds") <= 330


async def test_metrics_route_serves_the_format_the_scraper_asks_for() -> None:
    app = FastAPI()
    metrics = GateMetrics("g1", "lane-1", Source(FULL))
    mount_metrics(app, metrics)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
        response = await client.get("/metrics")
        openmetrics = await client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=metrics_app(metrics)), base_url="http://gate"
    ) as client:
        standalone = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain;")
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")
    assert "gate_outbox_depth 7.0" in response.text
    assert "/metrics" not in str(app.openapi())  # not part of the kiosk API contract
    assert standalone.status_code == 200
