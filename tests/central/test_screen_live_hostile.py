"""The central screen's live stream against a hostile gate: an object, a list or a number where a gate's ids
belong does not break the stream's JSON for the events sent with it, and a NaN (a browser's JSON.parse
refuses it) is refused at ingest, never streamed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from central.receiver import Central
from sync.contract import gate_topics
from tests.central.screen_gates import PREFIX, Screen, run_screen
from tests.sync.broker import Mosquitto


@pytest.fixture
def screen(tmp_path: Path, broker: Mosquitto, start_central: Callable[..., Central]) -> Iterator[Screen]:
    yield from run_screen(tmp_path, broker, start_central)


def _strict(text: str) -> Any:
    """JSON as a browser's JSON.parse reads it: NaN and Infinity are errors."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def _raw_event(gate_id: str, seq: int, payload: str) -> bytes:
    """An envelope written by hand, as a hostile gate may: its payload is not what json.dumps would write."""
    return (
        f'{{"schema_version":1,"event_id":"{uuid.uuid4()}","gate_id":"{gate_id}","seq":{seq},'
        f'"prev_seq":null,"kind":"transaction.started","at":"{datetime.now(UTC).isoformat()}",'
        f'"payload":{payload}}}'
    ).encode()


def test_a_gates_nan_or_object_ids_do_not_break_the_live_streams_json(screen: Screen) -> None:
    client = screen.client("vera")
    hostile, good = screen.gate("gx"), screen.gate("g1")
    batches: list[list[dict[str, Any]]] = []
    with client.stream("GET", "/api/v1/live", timeout=httpx.Timeout(15)) as stream:
        kind = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind == "hello":
                topic = gate_topics(PREFIX, "gx").events
                # NaN is refused at ingest (bad_json) since the receiver parses with sync's bounded JSON:
                # it never reaches the stream; objects, lists and numbers as ids are stored, and must not
                # break the stream's JSON or pass as ids.
                hostile.observer.publish(topic, _raw_event("gx", 1, '{"lane_id":NaN,"tx_id":"tx-nan"}'))
                hostile.observer.publish(topic, _raw_event("gx", 2, '{"lane_id":{"a":1},"tx_id":{"a":[1]}}'))
                hostile.observer.publish(topic, _raw_event("gx", 3, '{"lane_id":[1],"tx_id":7}'))
                good.event("transaction.started", tx_id="tx-good")
            elif line.startswith("data: ") and kind == "events":
                batches.append(_strict(line.removeprefix("data: ")))
                if sum(len(b) for b in batches) >= 3:
                    break
    events = sorted((e["gate_id"], e["seq"], e["lane_id"], e["tx_id"]) for b in batches for e in b)
    assert events == [("g1", 1, "lane-1", "tx-good"), ("gx", 2, None, None), ("gx", 3, None, None)]
