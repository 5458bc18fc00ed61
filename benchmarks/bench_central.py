"""Central's ingest under load: gates publish a day's events through a private Mosquitto into central.

N gates of L lanes each publish transactions (started, two transitions, decision, ended with an exit:
five events each, realistic envelopes from sync.contract) as fast as QoS 1 allows, and resend 1% of them
with the same event_id, as an outbox does after a lost acknowledgement. 1, 2 and 4 ``gate-central run``
processes share the subscription (``$share/<group>/...``) and one PostgreSQL database. One JSON line per
run: ``ingest_events_per_s`` (events stored / time from the first publish to the last batch's stamp),
end-to-end latency p50/p99 (the gate's stamp before publishing to central's ``received_at``, stamped as
the batch's transaction begins), stored, duplicates, missing; and the CPU seconds the central processes
and their PostgreSQL backends used meanwhile (``events_per_cpu_s``: about what one free core would
ingest, whatever the box's load). A paced run (``--rate``) gives the latency when central keeps up.
``--drain``: the gates publish while the instances are stopped, and the clock starts when they are back
(a backlog after an outage; central without the publishers beside it).
``--kill`` SIGKILLs an instance every ``--kill-every`` seconds and restarts it (same client id, so the
broker redelivers what it had not acknowledged) and still expects every event exactly once.
Target on this 2-core box: >= 5,000 events/s; no loss or duplicate with instances killed.
PostgreSQL: the central tests' server (``$GATE_EDGE_TEST_POSTGRES``, default postgres@127.0.0.1/test); a
scratch database is made and dropped.
Run: ``.venv/bin/python benchmarks/bench_central.py [--gates 20 --lanes 4 --events 20000] [--instances 1,2,4]
[--runs 3] [--rate 2000] [--kill] [--drain]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from psycopg import sql

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sync.contract import encode_event, gate_topics  # noqa: E402
from tests.central.central_db import in_schema, postgres_server  # noqa: E402
from tests.sync.broker import Mosquitto  # noqa: E402

PREFIX = "customs/v1/gates/{gate_id}/"
RESEND_SHARE = 0.01


def day_of_events(gates: int, lanes: int, total: int) -> Iterator[tuple[str, int, str, dict[str, Any]]]:
    """(gate, seq, kind, payload) for ``total`` events, gates interleaved as their lanes work at once."""
    seqs = dict.fromkeys(range(gates), 0)
    made = 0
    for number in itertools.count():
        for g in range(gates):
            lane = f"L{number % lanes + 1}"
            tx = str(uuid.uuid4())
            declaration = f"10{g:03d}{number:07d}"
            plate = f"51C-{number % 1000:03d}.{g:02d}"
            steps: list[tuple[str, dict[str, Any]]] = [
                ("transaction.started", {"tx_id": tx, "lane_id": lane, "plate": plate}),
                (
                    "transaction.transition",
                    {"tx_id": tx, "lane_id": lane, "from": "ARRIVED", "to": "WEIGHING"},
                ),
                (
                    "transaction.transition",
                    {"tx_id": tx, "lane_id": lane, "from": "WEIGHING", "to": "DECIDING"},
                ),
                (
                    "transaction.decision",
                    {"tx_id": tx, "lane_id": lane, "decision": "PASS", "weight_kg": 23_450, "reasons": []},
                ),
                (
                    "transaction.ended",
                    {
                        "tx_id": tx,
                        "lane_id": lane,
                        "plate": plate,
                        "result": "passed",
                        "exits": [[declaration, f"MSCU{number % 1_000_000:06d}{g % 10}"]],
                    },
                ),
            ]
            for kind, payload in steps:
                seqs[g] += 1
                yield f"g{g:02d}", seqs[g], kind, payload
                made += 1
                if made == total:
                    return


class Gates:
    """One MQTT 5 client per gate, publishing its events QoS 1 (each client on its own network thread)."""

    def __init__(self, broker: Mosquitto, gates: int) -> None:
        self.clients: dict[str, mqtt.Client] = {}
        for g in range(gates):
            gate = f"g{g:02d}"
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=f"bench-{gate}", protocol=MQTTProtocolVersion.MQTTv5
            )
            client.max_inflight_messages_set(200)
            client.max_queued_messages_set(0)
            client.connect(broker.host, broker.port)
            client.loop_start()
            self.clients[gate] = client

    def publish(self, events: list[tuple[str, int, str, dict[str, Any]]], rate: float) -> dict[str, bytes]:
        """Publish every event (paced to ``rate`` per second if > 0), then resend 1%; their bytes by id."""
        sent: dict[str, bytes] = {}
        infos = []
        start = time.monotonic()
        prev: dict[str, int] = {}
        for index, (gate, seq, kind, payload) in enumerate(events):
            if rate > 0:
                due = start + index / rate
                if (wait := due - time.monotonic()) > 0:
                    time.sleep(wait)
            event_id = str(uuid.uuid4())
            body = encode_event(
                event_id=event_id,
                gate_id=gate,
                seq=seq,
                prev_seq=prev.get(gate),
                kind=kind,
                at=datetime.now(UTC),  # the outbox's stamp: latency is measured from here
                payload=payload,
            )
            prev[gate] = seq
            sent[event_id] = body
            infos.append(self.clients[gate].publish(gate_topics(PREFIX, gate).events, body, qos=1))
        for event_id in random.Random(7).sample(sorted(sent), int(len(sent) * RESEND_SHARE)):
            gate = json.loads(sent[event_id])["gate_id"]
            infos.append(self.clients[gate].publish(gate_topics(PREFIX, gate).events, sent[event_id], qos=1))
        for info in infos:
            info.wait_for_publish(120)
        return sent

    def close(self) -> None:
        for client in self.clients.values():
            client.disconnect()
            client.loop_stop()


class Instances:
    """``gate-central run`` processes in one shared-subscription group on one database."""

    def __init__(self, broker: Mosquitto, db_url: str, count: int, workdir: Path) -> None:
        self.broker, self.db_url, self.workdir = broker, db_url, workdir
        self.procs: list[subprocess.Popen[bytes]] = [self._start(i) for i in range(count)]
        for i in range(count):
            self._wait_receiving(i)
        self.kills = 0

    def _log(self, i: int) -> Path:
        return self.workdir / f"central-{i}.log"

    def _start(self, i: int, create: bool = True) -> subprocess.Popen[bytes]:
        with self._log(i).open("ab") as out:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "central",
                    "run",
                    *(["--create"] if create else []),
                    "--port",
                    str(self.broker.port),
                    "--name",
                    f"bench-central-{i}",
                    "--group",
                    "bench",
                    "--db-url",
                    self.db_url,
                ],
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def _wait_receiving(self, i: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while "receiving" not in self._log(i).read_text():
            if self.procs[i].poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"central instance {i} did not start: see {self._log(i)}")
            time.sleep(0.05)

    def kill_and_restart(self, i: int) -> None:
        """SIGKILL instance ``i`` (no goodbye, its batch half-done) and start it again under its client id."""
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()
        self._log(i).write_text("")
        self.procs[i] = self._start(i, create=False)
        self._wait_receiving(i)
        self.kills += 1

    def restart(self) -> None:
        """Start every instance again (stopped before), each under its client id."""
        for i in range(len(self.procs)):
            self._log(i).write_text("")
            self.procs[i] = self._start(i, create=False)
        for i in range(len(self.procs)):
            self._wait_receiving(i)

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            proc.wait(30)


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new PostgreSQL database on the tests' server, dropped afterwards; its URL."""
    server = postgres_server()
    name = f"bench_central_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, query = server.partition("?")
    url = base.rsplit("/", 1)[0] + "/" + name + (f"?{query}" if query else "")
    try:
        yield url
    finally:
        with psycopg.connect(server, autocommit=True, connect_timeout=5) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backends(db: psycopg.Connection[Any]) -> list[int]:
    rows = db.execute("SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'bench-central-%'")
    return [int(r[0]) for r in rows]


def wait_stored(db: psycopg.Connection[Any], expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        count = int(db.execute("SELECT count(*) FROM events").fetchone()[0])  # type: ignore[index]
        if count >= expected:
            time.sleep(1.0)  # late duplicates would show now
            break
        time.sleep(0.2)
    return int(db.execute("SELECT count(*) FROM events").fetchone()[0])  # type: ignore[index]


def one_run(
    args: argparse.Namespace, instances: int, rate: float, db_url: str, kill: bool, drain: bool = False
) -> dict[str, Any]:
    """One run; ``drain``: the gates publish while central is stopped, and the clock starts when it is
    back (a backlog after an outage, and central's own rate without the publishers beside it)."""
    schema = f"run_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = in_schema(db_url, schema)
    events = list(day_of_events(args.gates, args.lanes, args.events))
    with tempfile.TemporaryDirectory(prefix="bench-central-") as tmp:
        broker = Mosquitto(Path(tmp) / "broker", persistence=False)
        broker.start()
        central = Instances(broker, url, instances, Path(tmp))
        gates = Gates(broker, args.gates)
        stop_killing = threading.Event()
        killer = threading.Thread(target=_killer, args=(central, args.kill_every, stop_killing), daemon=True)
        load_before = os.getloadavg()[0]
        if drain:
            central.stop()  # their sessions stay: the broker queues the events for them
            published = time.monotonic()
            sent = gates.publish(events, rate)
            published_s = time.monotonic() - published
            central.restart()
        with psycopg.connect(url, autocommit=True) as db:
            cpu_before = sum(cpu_s(p.pid) for p in central.procs) + sum(cpu_s(pid) for pid in backends(db))
        started = datetime.now(UTC)
        if kill:
            killer.start()
        if not drain:
            sent = gates.publish(events, rate)
            published_s = (datetime.now(UTC) - started).total_seconds()
        with psycopg.connect(url, autocommit=True) as db:
            stored = wait_stored(db, len(sent), args.timeout)
            stop_killing.set()
            if kill:
                killer.join()
                stored = wait_stored(db, len(sent), args.timeout)
            row = db.execute(
                "SELECT max(received_at),"
                " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - at)),"
                " percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - at)),"
                " count(DISTINCT event_id), count(DISTINCT (gate_id, seq))"
                " FROM events"
            ).fetchone()
            assert row is not None
            ids = {str(r[0]) for r in db.execute("SELECT event_id FROM events")}
            central_cpu = sum(cpu_s(p.pid) for p in central.procs)
            db_cpu = sum(cpu_s(pid) for pid in backends(db))
            used_cpu = central_cpu + db_cpu - cpu_before
        load_after = os.getloadavg()[0]
        gates.close()
        central.stop()
        broker.stop()
    last, p50, p99, distinct_ids, distinct_seqs = row
    elapsed = (last - started).total_seconds() if last else float("nan")
    return {
        "bench": "central_ingest",
        "database": "postgresql",
        "instances": instances,
        "mode": "kill" if kill else "drain" if drain else "paced" if rate > 0 else "burst",
        "rate_offered": rate or None,
        "gates": args.gates,
        "lanes": args.lanes,
        "events": len(sent),
        "resent": int(len(sent) * RESEND_SHARE),
        "published_s": round(published_s, 2),
        "ingest_s": round(elapsed, 2),
        "ingest_events_per_s": round(stored / elapsed) if elapsed else None,
        "latency_p50_ms": round(float(p50) * 1000, 1) if p50 is not None and not drain else None,
        "latency_p99_ms": round(float(p99) * 1000, 1) if p99 is not None and not drain else None,
        "stored": stored,
        "duplicates": stored - min(distinct_ids, distinct_seqs),
        "missing": len(set(sent) - ids),
        "kills": central.kills,
        "central_cpu_s": round(central_cpu, 2),
        "db_backend_cpu_s": round(db_cpu, 2),
        "events_per_cpu_s": round(stored / used_cpu) if not kill and used_cpu > 0 else None,
        "loadavg_1m": [round(load_before, 2), round(load_after, 2)],
    }


def _killer(central: Instances, every_s: float, stop: threading.Event) -> None:
    for i in itertools.cycle(range(len(central.procs))):
        if stop.wait(every_s):
            return
        central.kill_and_restart(i)


def print_medians(results: list[dict[str, Any]], counts: list[int]) -> None:
    """One line per mode and instance count: the medians of its runs."""
    for mode in ("burst", "drain"):
        for n in counts:
            mine = [r for r in results if r["instances"] == n and r["mode"] == mode]
            if not mine:
                continue
            line: dict[str, Any] = {"bench": "central_ingest_median", "mode": mode, "instances": n}
            line["runs"] = len(mine)
            for key in ("ingest_events_per_s", "latency_p50_ms", "latency_p99_ms", "events_per_cpu_s"):
                values = [r[key] for r in mine if r[key] is not None]
                line[key] = statistics.median(values) if values else None
            line["loadavg_1m"] = statistics.median(r["loadavg_1m"][1] for r in mine)
            print(json.dumps(line), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gates", type=int, default=20)
    parser.add_argument("--lanes", type=int, default=4)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--instances", default="1,2,4", help="Instance counts to run, comma-separated.")
    parser.add_argument("--runs", type=int, default=1, help="Runs per instance count (medians printed).")
    parser.add_argument("--rate", type=float, default=0, help="Also a paced run at this many events/s.")
    parser.add_argument("--kill", action="store_true", help="Also a run with instances killed and restarted.")
    parser.add_argument("--drain", action="store_true", help="Also runs draining a backlog (per count).")
    parser.add_argument("--kill-every", type=float, default=3.0, help="Seconds between kills.")
    parser.add_argument("--timeout", type=float, default=300, help="Seconds to wait for every event stored.")
    args = parser.parse_args()
    counts = [int(n) for n in args.instances.split(",")]
    with scratch_database() as db_url:
        results: list[dict[str, Any]] = []
        for n in counts:
            for _ in range(args.runs):
                results.append(one_run(args, n, 0, db_url, kill=False))
                print(json.dumps(results[-1]), flush=True)
        if args.drain:
            for n in counts:
                for _ in range(args.runs):
                    results.append(one_run(args, n, 0, db_url, kill=False, drain=True))
                    print(json.dumps(results[-1]), flush=True)
        if args.runs > 1:
            print_medians(results, counts)
        if args.rate > 0:
            print(json.dumps(one_run(args, counts[-1], args.rate, db_url, kill=False)), flush=True)
        if args.kill:
            print(json.dumps(one_run(args, max(2, counts[0]), 0, db_url, kill=True)), flush=True)


if __name__ == "__main__":
    main()
