"""Loop-to-open latency through the real Modbus TCP stack on loopback.

For each vehicle the simulated controller sets the entry loop; LaneIO's poll sees the change; a handler
task (fed by a queue, as the lane will be) writes the barrier-open coil and confirms it by read-back.
Measured: from the simulator's input change to the confirmed write. The poll interval dominates (a change
waits on average half an interval for the next poll), so the run is made at 5 ms, at 10 ms (the site
example) and at the default 50 ms. Each arrival is placed at a random phase of the poll cycle, so the
figures are not biased.

Prints JSON lines: {"bench": "modbus_io", "metric": ..., "value": ..., "unit": ...}.
Usage: python benchmarks/bench_modbus_io.py [vehicles_at_5ms] [vehicles_at_10ms] [vehicles_at_50ms]
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import statistics
import sys
import time

from devices.config import DevicesConfig, ModbusLinkConfig
from devices.lane_inputs import InputChanged, LaneIOEvent, LinkChanged
from devices.modbus_io import CoilName, LaneIO
from devices.sim.lane_controller import LaneControllerSim
from devices.sim.net import free_tcp_port

# Each vehicle costs about two poll intervals (see the loop), so the 50 ms case gets fewer vehicles
# to keep the whole run under a minute.
DEFAULT_VEHICLES = {5: 1000, 10: 1000, 50: 400}


async def _next_entry_loop_event(queue: asyncio.Queue[LaneIOEvent], occupied: bool) -> None:
    while True:
        event = await queue.get()
        if isinstance(event, LinkChanged) and not event.up:
            raise RuntimeError(f"link went down during the benchmark: {event.detail}")
        if (
            isinstance(event, InputChanged)
            and "entry_loop" in event.changed
            and event.snapshot.entry_loop is occupied
        ):
            return


async def measure(poll_ms: int, vehicles: int, rng: random.Random) -> list[float]:
    """Loop-to-verified-open latencies in seconds, one per vehicle."""
    port = free_tcp_port()
    devices = DevicesConfig(io=ModbusLinkConfig(port=port, poll_interval_ms=poll_ms))
    sim = LaneControllerSim(devices, "127.0.0.1", port)
    queue: asyncio.Queue[LaneIOEvent] = asyncio.Queue()
    io = LaneIO(devices, queue.put_nowait)
    await sim.start()
    runner = asyncio.create_task(io.run())
    try:
        first = await asyncio.wait_for(queue.get(), 5.0)
        if not (isinstance(first, LinkChanged) and first.up):
            raise RuntimeError(f"expected the link to come up, got {first}")
        latencies: list[float] = []
        poll_s = poll_ms / 1000
        for _ in range(vehicles):
            await asyncio.sleep(rng.uniform(0, poll_s))  # random phase against the poll cycle
            started = time.perf_counter()
            sim.set_entry_loop(True)
            await _next_entry_loop_event(queue, occupied=True)
            await io.write_coil(CoilName.BARRIER_OPEN, True)
            latencies.append(time.perf_counter() - started)
            # Reset for the next vehicle, outside the measurement.
            sim.set_entry_loop(False)
            await io.write_coil(CoilName.BARRIER_OPEN, False)
            await _next_entry_loop_event(queue, occupied=False)
        return latencies
    finally:
        await io.stop()
        await runner
        await sim.stop()


def _line(metric: str, value: float, unit: str) -> str:
    return json.dumps({"bench": "modbus_io", "metric": metric, "value": value, "unit": unit})


async def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.ERROR)
    counts = dict(DEFAULT_VEHICLES)
    for poll_ms, arg in zip(counts, argv, strict=False):
        counts[poll_ms] = int(arg)
    rng = random.Random(20261125)
    for poll_ms, vehicles in counts.items():
        latencies = await measure(poll_ms, vehicles, rng)
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        print(_line(f"loop_to_open_p50_poll{poll_ms}ms", round(cuts[49] * 1000, 2), "ms"))
        print(_line(f"loop_to_open_p99_poll{poll_ms}ms", round(cuts[98] * 1000, 2), "ms"))
        print(_line(f"vehicles_poll{poll_ms}ms", vehicles, "count"), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
