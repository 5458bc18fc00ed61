"""Central's /metrics after gates' events, telemetry, presence and a bad message went through Mosquitto; the
Grafana dashboard queries only metrics that /metrics serves."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from central.metrics import METRICS
from central.receiver import Central
from central.rejections import REASONS
from sync.contract import gate_topics
from tests.central.screen_gates import PREFIX, Screen, g1_story, run_screen, wait_until
from tests.sync.broker import Mosquitto
from tests.sync.conftest import REPO

DASHBOARD = REPO / "docs" / "grafana" / "central.json"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def screen(tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]) -> Iterator[Screen]:
    yield from run_screen(tmp_path, broker, start_central)


def scrape(screen: Screen) -> tuple[str, Samples]:
    answer = screen.client().get("/metrics")  # no login: scrapers do not log in
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return answer.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_per_gate_and_lane_follow_what_central_stored(screen: Screen) -> None:
    g1, g2 = screen.gate("g1"), screen.gate("g2")
    g1_story(g1)  # three passages on lane-1, a lost event, telemetry: depth 4, oldest 37.5 s
    g2.presence("offline")
    g1.observer.publish(gate_topics(PREFIX, "g1").events, b'{"not": "an envelope"}')
    central = screen.central
    wait_until(lambda: central.counts["stored"] >= 11, what="g1's 11 events")
    wait_until(lambda: central.counts["rejected"] >= 1 and central.counts["telemetry"] >= 1)
    wait_until(lambda: central.counts["status"] >= 2, what="both gates' presence")

    text, samples = scrape(screen)
    lane = {"gate_id": "g1", "lane_id": "lane-1"}
    assert value(samples, "gate_central_events_stored_total", **lane, kind="transaction.decision") == 3
    assert value(samples, "gate_central_events_stored_total", **lane, kind="transaction.ended") == 3
    assert value(samples, "gate_central_events_stored_total", **lane, kind="officer.action") == 1
    for outcome in ("PASS", "HOLD", "REJECT"):
        assert value(samples, "gate_central_decisions_total", **lane, outcome=outcome) == 1
    assert value(samples, "gate_central_vehicles_total", **lane, result="passed") == 2
    assert value(samples, "gate_central_vehicles_total", **lane, result="rejected") == 1
    assert value(samples, "gate_central_gate_online", gate_id="g1") == 1
    assert value(samples, "gate_central_gate_online", gate_id="g2") == 0
    assert value(samples, "gate_central_outbox_depth", gate_id="g1") == 4
    assert value(samples, "gate_central_outbox_oldest_undelivered_seconds", gate_id="g1") == 37.5
    assert value(samples, "gate_central_telemetry_age_seconds", gate_id="g1") > 60  # taken 5 min ago
    assert value(samples, "gate_central_sequence_gaps", gate_id="g1") == 1
    rejected = {
        dict(labels)["reason"]: v
        for (name, labels), v in samples.items()
        if name == "gate_central_messages_rejected_total" and dict(labels)["gate_id"] == "g1"
    }
    assert sum(rejected.values()) == 1
    assert set(rejected) <= set(REASONS)
    with sqlite3.connect(screen.db) as conn:
        pending = conn.execute("SELECT COUNT(*) FROM confirmations WHERE state = 'pending'").fetchone()[0]
    assert value(samples, "gate_central_confirmations_pending", gate_id="g1") == pending
    assert "plate" not in text.lower()
    assert "51C" not in text

    # The next scrape counts only what came since, and the totals go on from there.
    g1.passage("tx-more", "PASS", "51C-999.99", [], "10123456789", "passed")
    wait_until(lambda: central.counts["stored"] >= 14, what="the fourth passage")
    _, later = scrape(screen)
    assert value(later, "gate_central_vehicles_total", **lane, result="passed") == 3
    assert value(later, "gate_central_decisions_total", **lane, outcome="PASS") == 2
    assert value(later, "gate_central_metrics_catching_up") == 0


def test_a_gates_own_labels_are_bounded(screen: Screen) -> None:
    gate = screen.gate("g1")
    gate.presence("online")
    for n in range(3):
        gate.event("lane.alarm", code=f"c{n}", detail="x")
    gate.event("invented.kind", detail="a kind central does not know")
    wait_until(lambda: screen.central.counts["stored"] >= 4)
    _, samples = scrape(screen)
    kinds = {
        dict(labels).get("kind") for (name, labels) in samples if name == "gate_central_events_stored_total"
    }
    assert kinds == {"lane.alarm", "other"}


def test_every_metric_the_grafana_dashboard_queries_is_served(screen: Screen) -> None:
    gate = screen.gate("g1")
    g1_story(gate)
    wait_until(lambda: screen.central.counts["stored"] >= 11)
    text, _ = scrape(screen)
    served = {m.group(1) for m in re.finditer(r"^# TYPE (\S+) ", text, re.MULTILINE)}
    served |= {f"{name}_total" for name in served}  # a counter's samples carry _total
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]] + [
        v["definition"] for v in dashboard["templating"]["list"] if "definition" in v
    ]
    queried = {name for expr in queries for name in re.findall(r"\bgate_central_[a-z_]+", expr)}
    assert queried, "the dashboard queries nothing"
    assert queried <= served, f"not served: {sorted(queried - served)}"
    assert queried == set(METRICS), f"not on the dashboard: {sorted(set(METRICS) - queried)}"
