"""``GET /metrics``: central's Prometheus metrics per gate and lane (central.metrics), for a scraper.

It needs no login, as scrapers do not log in: it holds counts and gate and lane ids only, no plate, name or
image. Where even those must stay inside, let the proxy in front of the screen keep /metrics to the
monitoring network. The reads run on the screen's database thread, one scrape at a time: a request that
comes while one is read gets that one's answer, so anyone hammering /metrics (no login needed) queues at
most one read before a staff member's.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from central.metrics import CentralMetrics
from central.web.auth import Ctx

router = APIRouter(tags=["metrics"])


def metrics_of(request: Request) -> CentralMetrics:
    """The app's counters (``app.state.central_metrics``), made at the first scrape."""
    state = request.app.state
    metrics: CentralMetrics | None = getattr(state, "central_metrics", None)
    if metrics is None:
        metrics = state.central_metrics = CentralMetrics()
    return metrics


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, ctx: Ctx) -> Response:
    state = request.app.state
    reading: asyncio.Future[bytes] | None = getattr(state, "metrics_reading", None)
    if reading is None or reading.done():
        counters, now = metrics_of(request), ctx.wall()
        reading = state.metrics_reading = asyncio.ensure_future(
            ctx.db(lambda q, _a: counters.scrape(q._rows, now))
        )
    text = await asyncio.shield(reading)  # a client that goes away does not cancel the others' read
    return Response(text, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
