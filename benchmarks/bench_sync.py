"""Outbox drain against raw paho, on loopback with a private Mosquitto, as JSON lines.

Measures: raw paho QoS 1 publish throughput (same window, same payload size), the uplink's drain throughput
of a backlog (default 100,000 events, ``--events N`` to change), their ratio, the time to drain 20,000
events (a busy gate's day), and the peak RSS growth while draining the big backlog.
Targets: drain >= 0.5x raw paho; 20,000 in < 60 s; RSS flat (growth independent of the backlog).
Run: ``.venv/bin/python benchmarks/bench_sync.py [--events N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge.store import Store
from edge.uplink import Uplink
from sync.config import SyncConfig
from sync.contract import encode_event

WINDOW = 200
PAYLOAD = {
    "tx_id": "3f6c7a10-6f0e-4f43-9a55-2d1b8f1f5e11",
    "from_state": "WEIGHING",
    "to_state": "DECIDING",
    "cause": "scale_stable",
    "gate_id": "bench-gate",
    "lane_id": "lane-1",
}


def emit(metric: str, value: float, unit: str) -> None:
    print(json.dumps({"bench": "sync", "metric": metric, "value": round(value, 3), "unit": unit}), flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_broker(workdir: Path) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes], int]:
    """Mosquitto on a free port, plus a QoS 0 subscriber so events have a reader (as central would)."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n"
        # Mosquitto advertises this as its MQTT 5 Receive Maximum, which the drainer honours (default 20).
        f"max_inflight_messages {WINDOW * 2}\n"
    )
    broker = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.02)
    sub = subprocess.Popen(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", "bench/#", "-t", "customs/#", "-q", "0"],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    return broker, sub, port


def raw_paho(port: int, count: int) -> float:
    """Messages per second: paho publishing QoS 1 with WINDOW in flight, until the last PUBACK."""
    body = encode_event(
        event_id=str(uuid.uuid4()),
        gate_id="bench-gate",
        seq=1,
        prev_seq=None,
        kind="transaction.transition",
        at=datetime.now(UTC),
        payload=PAYLOAD,
    )
    done = threading.Event()
    acked = 0

    def on_publish(*_: object) -> None:
        nonlocal acked
        acked += 1
        if acked == count:
            done.set()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="bench-raw", protocol=MQTTProtocolVersion.MQTTv5
    )
    client.max_inflight_messages_set(WINDOW)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    time.sleep(0.2)
    started = time.perf_counter()
    for _ in range(count):
        client.publish("bench/raw", body, qos=1)
    done.wait(600)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return count / elapsed


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def fill(db: Path, count: int) -> None:
    with Store(db) as store, store.conn:
        now = datetime.now(UTC)
        for _ in range(count):
            store.outbox.append("transaction.transition", PAYLOAD, now)


async def drain(db: Path, port: int, count: int) -> tuple[float, float]:
    """(seconds to drain ``count`` events, peak RSS growth in MB while draining)."""
    config = SyncConfig.model_validate(
        {"broker": {"port": port}, "inflight_window": WINDOW, "telemetry_period_s": 3600, "idle_poll_s": 0.05}
    )
    uplink = Uplink(config, "bench-gate", db, lane_id="lane-1")
    baseline = peak = rss_mb()
    started = time.perf_counter()
    task = asyncio.create_task(uplink.run())
    while uplink.sync.drainer.stats.delivered < count:
        await asyncio.sleep(0.02)
        peak = max(peak, rss_mb())
    elapsed = time.perf_counter() - started
    await uplink.stop()
    await task
    return elapsed, peak - baseline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="Backlog to drain (default 100,000).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker, sub, port = start_broker(work)
        try:
            raw = raw_paho(port, min(args.events, 50_000))
            emit("raw_paho_qos1_publish_per_s", raw, "msg/s")
            fill(work / "day.db", 20_000)
            day_s, day_rss = asyncio.run(drain(work / "day.db", port, 20_000))
            emit("drain_20k_events_s", day_s, "s")
            emit("drain_20k_rss_growth", day_rss, "MB")
            fill(work / "backlog.db", args.events)
            big_s, big_rss = asyncio.run(drain(work / "backlog.db", port, args.events))
            rate = args.events / big_s
            emit("outbox_backlog_events", args.events, "events")
            emit("outbox_drain_per_s", rate, "events/s")
            emit("drain_to_raw_paho_ratio", rate / raw, "ratio")
            emit("drain_backlog_rss_growth", big_rss, "MB")
        finally:
            sub.terminate()
            broker.terminate()
            sub.wait(10)
            broker.wait(10)


if __name__ == "__main__":
    main()
