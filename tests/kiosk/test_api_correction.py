"""An officer's correction is judged like a camera's read: a plate of none of the lane's forms or a container
number whose check digit fails is refused to an officer (403 saying why: the English detail, and its words in
both languages; nothing recorded) and entered by a supervisor only, recorded not valid, so the vehicle stays
held."""

from __future__ import annotations

import pytest

from edge.decision import Reason
from edge.lane import LaneState
from vision.iso6346 import complete

from .conftest import KioskGate, as_user, camera_read, declaration, eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _held(gate: KioskGate, n: int, plate: str) -> str:
    decl = declaration(n)
    gate.seed(decl)
    await gate.arrive(camera_read(decl, plate=plate), 28_000)
    await gate.wait_state(LaneState.HOLD)
    tx_id = gate.daemon.view.tx_id
    assert tx_id is not None
    return tx_id


async def _reject_and_back_out(gate: KioskGate, tx_id: str) -> None:
    async with as_user(gate, "olga") as (http, csrf):
        rejected = await http.post(
            "/api/v1/lane/reject", json={"tx_id": tx_id, "reason": "test"}, headers=csrf
        )
        assert rejected.status_code == 202
    await eventually(lambda: gate.daemon.view.current is not None and gate.daemon.view.current.rejected)
    await gate.back_out()


async def test_an_officer_may_not_correct_a_plate_to_one_of_no_form_of_the_lane(gate: KioskGate) -> None:
    tx_id = await _held(gate, 31, plate="51G10031")
    async with as_user(gate, "olga") as (http, csrf):
        refused = await http.post(
            "/api/v1/lane/correct",
            json={"tx_id": tx_id, "reason": "typed by eye", "plate": "XX"},
            headers=csrf,
        )
        assert refused.status_code == 403
        english = (
            "only a supervisor may enter a read the lane refuses: plate 'XX' is not a valid "
            "plate of this lane's forms (vietnam)"
        )
        assert refused.json() == {  # like every other refusal: the English detail, and its words
            "detail": english,
            "words": {
                "vi": "chỉ giám sát viên được nhập kết quả đọc mà làn từ chối: "
                "biển số 'XX' không phải biển số hợp lệ theo các dạng của làn này (vietnam)",
                "en": english,
            },
        }
        vehicle = (await http.get("/api/v1/lane")).json()["vehicle"]
        assert vehicle["plate"]["text"] == "51G10031"  # the camera's read stands
        assert vehicle["plate"]["source"] == "cam-plate"
    assert gate.daemon.store.audit.records(subject=tx_id) == []
    assert gate.daemon.view.state is LaneState.HOLD
    await _reject_and_back_out(gate, tx_id)


async def test_an_officer_may_not_correct_a_container_to_a_wrong_check_digit(gate: KioskGate) -> None:
    tx_id = await _held(gate, 32, plate="51G10032")
    wrong = complete("TCLU000032")[:-1] + str((int(complete("TCLU000032")[-1]) + 1) % 10)
    async with as_user(gate, "olga") as (http, csrf):
        body = {"tx_id": tx_id, "reason": "typed by eye", "plate": "51C10032", "containers": [wrong]}
        refused = await http.post("/api/v1/lane/correct", json=body, headers=csrf)
        assert refused.status_code == 403
        answer = refused.json()
        assert answer["detail"] == answer["words"]["en"]
        assert answer["detail"].endswith(
            f"container '{wrong}' has check digit {wrong[-1]}, its number gives {complete('TCLU000032')[-1]}"
        )
        assert f"số container '{wrong}' có chữ số kiểm tra {wrong[-1]}" in answer["words"]["vi"]
        assert "số container" not in answer["detail"]
    assert gate.daemon.store.audit.records(subject=tx_id) == []
    async with as_user(gate, "olga") as (http, csrf):
        body["containers"] = [complete("TCLU000032")]
        corrected = await http.post("/api/v1/lane/correct", json=body, headers=csrf)
        assert corrected.status_code == 202  # the right number passes for an officer
    await gate.wait_state(LaneState.PASSING)
    await gate.drive_through()


async def test_a_supervisor_may_enter_a_refused_plate_and_it_stays_held_marked_not_valid(
    gate: KioskGate,
) -> None:
    tx_id = await _held(gate, 33, plate="51G10033")
    async with as_user(gate, "sam") as (http, csrf):
        corrected = await http.post(
            "/api/v1/lane/correct",
            json={"tx_id": tx_id, "reason": "foreign plate, checked by eye", "plate": "XX"},
            headers=csrf,
        )
        assert corrected.status_code == 202
        await eventually(
            lambda: (
                gate.daemon.view.state is LaneState.HOLD
                and gate.daemon.view.current is not None
                and gate.daemon.view.current.identification is not None
                and gate.daemon.view.current.identification.plate is not None
                and gate.daemon.view.current.identification.plate.text == "XX"
                and gate.daemon.view.current.outcome is not None
            )
        )
        vehicle = (await http.get("/api/v1/lane")).json()["vehicle"]
        assert vehicle["plate"]["text"] == "XX"
        assert vehicle["plate"]["valid"] is False
        assert vehicle["plate"]["source"] == "officer:sam"
        reasons = {r["code"]: r for r in vehicle["reasons"]}
        assert set(reasons) == {Reason.LOW_CONFIDENCE, Reason.NO_DECLARATION}
        assert (
            "plate 'XX' matches none of the plate forms this lane expects"
            in reasons[Reason.LOW_CONFIDENCE]["detail"]
        )
        assert "biển số 'XX' không khớp dạng biển số nào" in reasons[Reason.LOW_CONFIDENCE]["detail_vi"]
    [record] = gate.daemon.store.audit.records(subject=tx_id)
    assert (record.actor, record.action) == ("sam", "correct_read")
    assert record.after is not None
    assert record.after["plate"]["valid"] is False  # type: ignore[index]
    await _reject_and_back_out(gate, tx_id)
