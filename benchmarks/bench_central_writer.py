"""The CPU central's batch writer spends per event, without broker or network: where bench_central.py's
``central_cpu_s`` goes on the writer's side.

Builds the messages bench_central.py's gates publish (20 gates x 4 lanes, five-event transactions) as
paho message objects, and hands them in batches of 500 to ``Central._store_batch`` over a scratch schema
of the tests' PostgreSQL (``$GATE_EDGE_TEST_POSTGRES``): validating each envelope, storing the batch
(events, gaps, confirmations) and acknowledging (a no-op here). Prints the process CPU per event; with
``--profile``, cProfile's top functions. To compare two commits, run the copy of this file in each
checkout (it measures the checkout it lies in), alternated.
Run: ``.venv/bin/python benchmarks/bench_central_writer.py [--events 10000] [--repeat 3] [--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import MQTTErrorCode
from psycopg import sql

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_central import PREFIX, day_of_events  # noqa: E402

from central.receiver import Central  # noqa: E402
from central.settings import CentralSettings  # noqa: E402
from sync.config import BrokerConfig  # noqa: E402
from sync.contract import encode_event, gate_topics  # noqa: E402
from tests.central.central_db import in_schema, postgres_server  # noqa: E402

BATCH = 500


def messages(total: int) -> list[mqtt.MQTTMessage]:
    """The events as paho hands them to central: topic, payload, QoS 1, a packet id."""
    found = []
    prev: dict[str, int] = {}
    for index, (gate, seq, kind, payload) in enumerate(day_of_events(20, 4, total)):
        body = encode_event(
            event_id=str(uuid.uuid4()),
            gate_id=gate,
            seq=seq,
            prev_seq=prev.get(gate),
            kind=kind,
            at=datetime.now(UTC),
            payload=payload,
        )
        prev[gate] = seq
        message = mqtt.MQTTMessage(mid=index % 65535 + 1, topic=gate_topics(PREFIX, gate).events.encode())
        message.payload = body
        message.qos = 1
        found.append(message)
    return found


def one_run(url: str, total: int, profile: bool) -> float:
    """CPU seconds per event of storing ``total`` events in batches."""
    central = Central(
        CentralSettings(broker=BrokerConfig(host="127.0.0.1", port=1), db_url=url, name="bench-writer")
    )

    def acked(_mid: int, _qos: int) -> MQTTErrorCode:
        return MQTTErrorCode.MQTT_ERR_SUCCESS  # no broker here

    central._client.ack = acked  # type: ignore[method-assign,assignment]
    batch = messages(total)
    central._db()  # connected and the tables made before the clock starts
    profiler = cProfile.Profile() if profile else None
    start = time.process_time()
    if profiler is not None:
        profiler.enable()
    for first in range(0, total, BATCH):
        central._store_batch(batch[first : first + BATCH])
    if profiler is not None:
        profiler.disable()
    used = time.process_time() - start
    central._drop_store()
    if central.counts["stored"] != total:
        raise SystemExit(f"stored {central.counts['stored']} of {total}: {dict(central.counts)}")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    return used / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="Runs, each on a fresh schema (median).")
    parser.add_argument("--profile", action="store_true", help="cProfile (slows every call down).")
    args = parser.parse_args()
    admin = psycopg.connect(postgres_server(), autocommit=True)
    per_event = []
    for _ in range(args.repeat):
        schema = f"bench_writer_{uuid.uuid4().hex[:8]}"
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            per_event.append(one_run(in_schema(postgres_server(), schema), args.events, args.profile))
        finally:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    print(
        json.dumps(
            {
                "repo": str(REPO),
                "events": args.events,
                "writer_cpu_us_per_event": [round(s * 1e6, 1) for s in per_event],
                "median_us": round(statistics.median(per_event) * 1e6, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
