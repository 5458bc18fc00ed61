"""A passage's evidence images, fetched from its gate when a staff member asks (central.evidence).

Asking sends a command, so it is a change: it needs the session's CSRF token, is audited, and at most
:data:`CONCURRENT` requests wait on gates at once. A gate the screen knows to be offline is not asked: the
answer says so, in Vietnamese and English, and to try again later. Images central received are served from
its evidence folder by the gate and SHA-256 they were asked for.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import FileResponse, JSONResponse

from central.evidence import EvidenceDesk, EvidenceUnavailable
from central.queries import GATE_ID, TX_ID
from central.web.auth import Ctx, StaffSession, csrf_session, reader

router = APIRouter(prefix="/api/v1", tags=["evidence"])
Reader = Annotated[StaffSession, Depends(reader())]
Changer = Annotated[StaffSession, Depends(csrf_session)]
CONCURRENT = 2

WORDS: dict[str, tuple[str, str]] = {
    "no_desk": (
        "Trung tâm này chưa được cấu hình để lấy ảnh bằng chứng từ cổng.",
        "This central is not set up to fetch evidence from gates.",
    ),
    "offline": (
        "Cổng đang ngoại tuyến: không lấy được ảnh lúc này. Vui lòng thử lại sau.",
        "The gate is offline: its images cannot be fetched now. Try again later.",
    ),
    "no_answer": (
        "Cổng không trả lời kịp. Vui lòng thử lại sau.",
        "The gate did not answer in time. Try again later.",
    ),
    "busy": (
        "Đang có quá nhiều yêu cầu ảnh. Vui lòng thử lại sau.",
        "Too many evidence requests are waiting. Try again later.",
    ),
    "refused": ("Cổng từ chối yêu cầu (xem chi tiết).", "The gate refused the request (see the detail)."),
    "accepted": ("Cổng đã gửi những ảnh nó còn giữ.", "The gate sent the images it still holds."),
}


def desk_of(request: Request) -> EvidenceDesk | None:
    """The app's evidence desk (``app.state.evidence_desk``), if this central has one."""
    desk: EvidenceDesk | None = getattr(request.app.state, "evidence_desk", None)
    return desk


def _refusal(code: int, key: str, detail: str) -> JSONResponse:
    vi, en = WORDS[key]
    return JSONResponse({"detail": detail, "words": key, "vi": vi, "en": en}, status_code=code)


@router.post("/passages/{gate_id}/{tx_id}/evidence", response_model=None)
async def ask_evidence(
    request: Request, session: Changer, ctx: Ctx, gate_id: str, tx_id: str
) -> dict[str, Any] | JSONResponse:
    """Ask the gate for the passage's evidence images now; what it answered, image by image."""
    if not GATE_ID.match(gate_id) or not TX_ID.match(tx_id):
        raise HTTPException(422, "gate_id or tx_id: not an id")
    desk = desk_of(request)
    if desk is None:
        return _refusal(503, "no_desk", "evidence requests are not configured at this central")
    passage = await ctx.db(lambda q, _a: q.passage(gate_id, tx_id))
    if passage is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no passage {tx_id} of gate {gate_id} at central")
    presence = {gate: state for gate, state, _at in await ctx.db(lambda q, _a: q.presence())}
    if presence.get(gate_id) == "offline":
        return _refusal(503, "offline", f"gate {gate_id} is offline; try again later")
    named = tuple(dict.fromkeys(e["sha256"] for e in passage.get("evidence", []) if e.get("sha256")))
    state = request.app.state
    waiting = getattr(state, "evidence_waiting", 0)
    if waiting >= CONCURRENT:
        return _refusal(429, "busy", f"{CONCURRENT} evidence requests are waiting on gates; try again later")
    name, now = session.user, ctx.wall()
    state.evidence_waiting = waiting + 1
    try:
        answer = await asyncio.to_thread(desk.request, gate_id, name, transaction_id=tx_id, sha256=named[:16])
    except EvidenceUnavailable as exc:
        return _refusal(503, "no_desk", str(exc))
    finally:
        state.evidence_waiting -= 1
    subject = f"{gate_id}/{tx_id}"
    await ctx.db(lambda _q, a: a.audit(name, "evidence.request", subject, answer.status, now))
    if answer.status == "no_answer":
        return _refusal(504, "no_answer", answer.detail)
    vi, en = WORDS["accepted" if answer.status == "accepted" else "refused"]
    return {**answer.as_dict(), "vi": vi, "en": en}


@router.get("/evidence/{gate_id}/{sha256}.jpg", response_model=None)
async def evidence_image(request: Request, _: Reader, gate_id: str, sha256: str) -> FileResponse:
    """An evidence image central received from its gate."""
    desk = desk_of(request)
    path = None if desk is None else desk.image_path(gate_id, sha256)
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "central holds no such image: ask the gate for it")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})
