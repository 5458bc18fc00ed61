"""The screen's reads: every gate and lane, the search, one passage, the audit trail, the live stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import StreamingResponse

from central.accounts import Accounts, StaffRole
from central.queries import GATE_ID, TX_ID, CentralQueries
from central.web.auth import Ctx, StaffSession, current_session, reader

router = APIRouter(prefix="/api/v1", tags=["screen"])
Reader = Annotated[StaffSession, Depends(reader())]

# What a search term may hold: letters, digits and the separators plates, containers and declarations use.
TERM = r"^[\w .\-/]{0,40}$"


@router.get("/gates")
async def gates(_: Reader, ctx: Ctx) -> list[dict[str, Any]]:
    """Every gate: presence, last event, outbox, sequence gaps, alarms; per lane its last hour."""
    now = ctx.wall()
    return await ctx.db(lambda q, _a: q.overview(now))


@router.get("/search")
async def search(
    _: Reader,
    ctx: Ctx,
    plate: Annotated[str, Query(pattern=TERM)] = "",
    container: Annotated[str, Query(pattern=TERM)] = "",
    declaration: Annotated[str, Query(pattern=TERM)] = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """Decisions of every gate by plate, container, declaration and time (all terms must match)."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(422, f"{name}: give a time zone (e.g. Z)")
    try:  # central compares times in UTC (SQLite as text): +07:00 must mean what it says
        since = since.astimezone(UTC) if since else None
        until = until.astimezone(UTC) if until else None
    except OverflowError:
        raise HTTPException(422, "since or until: beyond the years 1 to 9999 in UTC") from None
    if since and until and since > until:
        raise HTTPException(422, "since: after until")
    now = ctx.wall()
    return await ctx.db(
        lambda q, _a: q.search(
            now, plate=plate, container=container, declaration=declaration, since=since, until=until
        )
    )


@router.get("/passages/{gate_id}/{tx_id}")
async def passage(_: Reader, ctx: Ctx, gate_id: str, tx_id: str) -> dict[str, Any]:
    """One passage as central holds it: decision, reasons, reads, officer actions, evidence named."""
    if not GATE_ID.match(gate_id) or not TX_ID.match(tx_id):
        raise HTTPException(422, "gate_id or tx_id: not an id")
    found = await ctx.db(lambda q, _a: q.passage(gate_id, tx_id))
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no passage {tx_id} of gate {gate_id} at central")
    return found


@router.get("/audit")
async def audit(
    _: Annotated[StaffSession, Depends(reader(StaffRole.SUPERVISOR, StaffRole.ADMIN))], ctx: Ctx
) -> list[dict[str, str]]:
    """The screen's audit trail, newest first (supervisors and admins)."""
    return await ctx.db(lambda _q, a: a.recent_audit())


def _events_after(last_id: int, queries: CentralQueries, _: Accounts) -> list[dict[str, Any]]:
    return queries.events_after(last_id)


@router.get("/users")
async def users(
    _: Annotated[StaffSession, Depends(reader(StaffRole.ADMIN))], ctx: Ctx
) -> list[dict[str, Any]]:
    """The staff accounts with their roles (admins); never a hash."""
    accounts = await ctx.db(lambda _q, a: a.all())
    return [{"name": a.name, "role": a.role, "disabled": a.disabled} for a in accounts]


@router.get("/live", response_class=StreamingResponse)
async def live(session: Annotated[StaffSession, Depends(current_session)], ctx: Ctx) -> StreamingResponse:
    """Server-sent events: new events as they are stored, and ``presence`` when a gate comes or goes."""

    async def stream() -> AsyncIterator[str]:
        last_id = await ctx.db(lambda q, _a: q.last_event_id())
        presence = await ctx.db(lambda q, _a: q.presence())
        yield "event: hello\ndata: {}\n\n"
        while ctx.sessions.alive(session):
            await asyncio.sleep(ctx.settings.live_poll_s)
            events = await ctx.db(partial(_events_after, last_id))
            now_presence = await ctx.db(lambda q, _a: q.presence())
            if events:
                last_id = events[-1]["id"]
                yield f"event: events\ndata: {json.dumps(events)}\n\n"
            if now_presence != presence:
                presence = now_presence
                yield f"event: presence\ndata: {json.dumps(presence)}\n\n"
            elif not events:
                yield ": idle\n\n"  # a comment: finds a closed connection, keeps proxies from timing out

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
