"""Crash-test uplink: drain a store file to a broker until killed.

Usage: ``python uplink_worker.py DB_PATH PORT WINDOW``. Prints ``connected`` once the link is up. A small
in-flight window keeps the drain slow enough for the test to kill it half-way.
"""

from __future__ import annotations

import asyncio
import sys

from edge.uplink import Uplink
from sync.config import SyncConfig


async def main(path: str, port: int, window: int) -> None:
    config = SyncConfig.model_validate(
        {
            "broker": {"port": port},
            "inflight_window": window,
            "batch_size": 50,
            "backoff_initial_s": 0.05,
            "backoff_max_s": 0.3,
            "idle_poll_s": 0.05,
        }
    )
    uplink = Uplink(config, "g1", path, lane_id="lane-1")
    task = asyncio.create_task(uplink.run())
    await uplink.sync.link.wait_connected()
    print("connected", flush=True)
    await task


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
