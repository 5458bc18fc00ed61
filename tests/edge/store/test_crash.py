"""SIGKILL the writer mid-stream: every commit it reported survives, nothing half-written does."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.store import Store, TxStatus

WRITER = Path(__file__).with_name("crash_writer.py")
REPO_ROOT = Path(__file__).resolve().parents[3]
ROUNDS = 8  # each kill lands at a random point; more rounds, more chances to hit a commit mid-way


def _run_and_kill(db_path: Path, delay: float) -> list[str]:
    """Start the writer, let it commit for ``delay`` s after its first commit, SIGKILL it; its full lines."""
    paths = [str(REPO_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(db_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO_ROOT,
    )
    assert proc.stdout is not None
    chunks: list[bytes] = []
    first_line = threading.Event()

    def drain() -> None:  # keep the pipe empty so the writer never blocks on print
        assert proc.stdout is not None
        for line in iter(proc.stdout.readline, b""):
            chunks.append(line)
            first_line.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 20
        while not first_line.wait(timeout=0.05) and proc.poll() is None and time.monotonic() < deadline:
            pass  # a writer that dies on start-up fails the test now, not after the deadline
        started = first_line.is_set()
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    reader.join(timeout=10)
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.stdout.close()
    assert started, f"writer never committed: {stderr}"
    assert proc.returncode == -signal.SIGKILL, stderr
    text = b"".join(chunks).decode()
    complete = text if text.endswith("\n") else text[: text.rfind("\n") + 1]  # drop a torn last line
    return complete.splitlines()


def _check_survivors(store: Store, lines: list[str]) -> None:
    conn = store.conn
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []

    events = {
        seq: (kind, payload)
        for seq, kind, payload in conn.execute("SELECT seq, kind, json(payload) FROM outbox").fetchall()
    }
    # Earlier rounds' restart recovery added 'interrupted' transitions, paired with their own events.
    transitions = set(
        conn.execute("SELECT tx_id, seq FROM transitions WHERE to_state != 'interrupted'").fetchall()
    )
    interrupted = {
        row[0] for row in conn.execute("SELECT tx_id FROM transitions WHERE to_state = 'interrupted'")
    }
    statuses = dict(conn.execute("SELECT id, status FROM transactions").fetchall())

    # Every commit the writer reported is there, with its event at the seq it was given.
    for line in lines:
        word, tx_id, *rest = line.split()
        seq = int(rest[-1])
        assert seq in events, line
        if word == "start":
            assert tx_id in statuses
        elif word == "transition":
            assert (tx_id, int(rest[0])) in transitions
            assert events[seq][0] == "test.transition"
        else:
            assert statuses[tx_id] == TxStatus.COMPLETED.value

    # Seqs have no holes (nothing committed half), and rows and events pair up one to one.
    assert sorted(events) == list(range(1, len(events) + 1))
    transition_events = set(
        conn.execute(
            "SELECT json_extract(payload, '$.tx_id'), json_extract(payload, '$.step') FROM outbox"
            " WHERE kind = 'test.transition'"
        ).fetchall()
    )
    assert transition_events == transitions
    started = {
        row[0] for row in conn.execute("SELECT payload ->> '$.tx_id' FROM outbox WHERE kind = 'test.started'")
    }
    assert started == set(statuses)
    completed = {
        row[0]
        for row in conn.execute("SELECT payload ->> '$.tx_id' FROM outbox WHERE kind = 'test.completed'")
    }
    assert completed == {tx for tx, status in statuses.items() if status == TxStatus.COMPLETED.value}
    exits = {row[0] for row in conn.execute("SELECT tx_id FROM exits")}
    assert exits == completed
    interrupted_events = {
        row[0]
        for row in conn.execute(
            "SELECT payload ->> '$.tx_id' FROM outbox WHERE kind = 'transaction.interrupted'"
        )
    }
    assert interrupted_events == interrupted


def test_sigkill_mid_stream_loses_no_reported_commit_and_tears_none(tmp_path: Path) -> None:
    rng = random.Random(os.environ.get("CRASH_SEED", "border-gate"))
    db_path = tmp_path / "crash.db"
    total_lines = 0
    for _round in range(ROUNDS):
        lines = _run_and_kill(db_path, delay=rng.uniform(0.02, 0.4))
        total_lines += len(lines)
        with Store(db_path) as store:
            _check_survivors(store, lines)
            still_open = {r.id for r in store.transactions.open_transactions()}
            marked = store.transactions.mark_interrupted_open(datetime.now(UTC))
            assert set(marked) == still_open
            assert store.transactions.open_transactions() == []
            interrupted = {
                e.payload["tx_id"]
                for e in store.outbox.pending(limit=100_000)
                if e.kind == "transaction.interrupted"
            }
            assert still_open <= interrupted
            for tx_id in marked:
                record = store.transactions.get(tx_id)
                assert record is not None
                assert record.status is TxStatus.INTERRUPTED
                assert record.transitions[-1].to_state == "interrupted"
    if total_lines < 20:
        pytest.fail(f"writer committed only {total_lines} items in {ROUNDS} rounds: the test proved little")
