"""A refusal answers with its English detail, as before, and its words in both screen languages."""

from __future__ import annotations

import httpx
import pytest

from tests.kiosk.conftest import KioskGate, as_user

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_a_refused_action_says_why_in_vietnamese_and_english(gate: KioskGate) -> None:
    async with as_user(gate, "olga") as (http, csrf):
        answer = await http.post("/api/v1/lane/approve", json={"tx_id": "t", "reason": "why"}, headers=csrf)
    assert answer.status_code == 409
    assert answer.json() == {
        "detail": "no vehicle is held at the lane",
        "words": {"vi": "Không có xe nào đang bị tạm giữ tại làn", "en": "No vehicle is held at the lane"},
    }


async def test_a_role_refusal_names_the_role_in_the_screens_language(gate: KioskGate) -> None:
    async with as_user(gate, "vic") as (http, csrf):
        answer = await http.post("/api/v1/lane/reject", json={"tx_id": "t", "reason": "why"}, headers=csrf)
    assert answer.status_code == 403
    assert answer.json()["detail"] == "role viewer may not do this"
    assert answer.json()["words"] == {
        "vi": "Vai trò Chỉ xem không được làm việc này",
        "en": "Role Viewer may not do this",
    }


async def test_a_missing_transaction_and_an_unknown_path(gate: KioskGate, client: httpx.AsyncClient) -> None:
    async with as_user(gate, "vic") as (http, _):
        missing = await http.get("/api/v1/transactions/no-such-tx")
        nowhere = await http.get("/api/v1/no-such-endpoint")
    assert missing.status_code == 404
    assert missing.json()["words"]["vi"] == "Không có giao dịch này"
    assert nowhere.status_code == 404
    assert nowhere.json() == {"detail": "Not Found"}  # a sentence no form knows goes out as it was
    unauthenticated = await client.get("/api/v1/transactions")
    assert unauthenticated.status_code == 401
    assert unauthenticated.json() == {"detail": "not logged in, or the session expired"}  # shows the login
