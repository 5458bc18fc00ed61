"""Officer actions through the API on the running gate, and what they leave: history, audit, outbox."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from edge.decision import Outcome, Reason
from edge.declaration import Channel, DeclarationStatus
from edge.kiosk import actions, routes_lane
from edge.kiosk.actions import ActionRefused
from edge.kiosk.closest import LIMIT
from edge.kiosk.users import Role
from edge.lane import LaneState
from edge.store.db import to_text
from tests.kiosk.conftest import KioskGate, as_user, camera_read, declaration, eventually
from tests.kiosk.evidence_frames import with_evidence
from vision.identity import Identification
from vision.iso6346 import complete

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_held_truck_shows_reads_weight_and_reasons_then_a_rejection_makes_it_back_out(
    gate: KioskGate,
) -> None:
    decl = declaration(1)
    gate.seed(decl)
    await gate.arrive(camera_read(decl, plate="51G10001"), 28_000)
    await gate.wait_state(LaneState.HOLD)
    async with as_user(gate, "olga") as (http, csrf):
        view = (await http.get("/api/v1/lane")).json()
        assert view["state"] == "HOLD"
        assert view["held"] is True
        assert view["light"] == "red"
        assert view["barrier"]["position"] == "down"
        assert view["detectors"]["entry_loop"] is True
        vehicle = view["vehicle"]
        assert vehicle["plate"] == {
            "text": "51G10001",
            "confidence": 0.95,
            "valid": True,
            "source": "cam-plate",
            "evidence_url": None,
            "evidence_box": None,
        }
        assert [c["text"] for c in vehicle["containers"]] == [decl.containers[0].number]
        assert vehicle["weight_kg"] == 28_000
        assert vehicle["outcome"] == "HOLD"
        assert vehicle["reasons"] == [
            {
                "code": "no_declaration",
                "text_en": "No cleared declaration found for this vehicle",
                "text_vi": "Không tìm thấy tờ khai đã thông quan cho phương tiện này",
                "detail": "No cached declaration lists plate 51G10001",
                "detail_vi": "Không có tờ khai nào trong dữ liệu tại cổng ghi biển số 51G10001",
            }
        ]
        tx_id = vehicle["tx_id"]
        stale = await http.post(
            "/api/v1/lane/reject", json={"tx_id": "an-earlier-truck", "reason": "no papers"}, headers=csrf
        )
        assert stale.status_code == 409
        rejected = await http.post(
            "/api/v1/lane/reject",
            json={"tx_id": tx_id, "reason": "  no papers for this truck "},
            headers=csrf,
        )
        assert rejected.status_code == 202
        assert rejected.json() == {"action": "reject", "tx_id": tx_id}
        await eventually(lambda: gate.daemon.view.current is not None and gate.daemon.view.current.rejected)
        again = await http.post(
            "/api/v1/lane/approve", json={"tx_id": tx_id, "reason": "changed my mind"}, headers=csrf
        )
        assert again.status_code == 409
        assert again.json()["detail"] == "already rejected by olga: it must back out"
    (record,) = gate.daemon.store.audit.records(subject=tx_id)
    assert (record.actor, record.action, record.reason) == ("olga", "reject", "no papers for this truck")
    assert record.before is not None
    assert record.before["reasons"] == ["no_declaration"]
    assert record.after == {"state": "HOLD", "rejected_by": "olga"}
    await gate.back_out()
    assert not (await gate.controller.read_coils())["barrier_open"]


async def test_correcting_a_misread_plate_reruns_the_decision_and_keeps_both_reads(gate: KioskGate) -> None:
    decl = declaration(2, channel=Channel.RED)
    gate.seed(decl)
    await gate.arrive(camera_read(decl, plate="51G10002"), 28_100)
    await gate.wait_state(LaneState.HOLD)
    tx_id = gate.daemon.view.tx_id
    assert tx_id is not None
    async with as_user(gate, "olga") as (http, csrf):
        early = await http.post(
            "/api/v1/lane/inspection-done", json={"tx_id": tx_id, "reason": "inspected"}, headers=csrf
        )
        assert early.status_code == 409
        corrected = await http.post(
            "/api/v1/lane/correct",
            json={"tx_id": tx_id, "reason": "camera misread the plate", "plate": "51c-100.02"},
            headers=csrf,
        )
        assert corrected.status_code == 202
        await eventually(
            lambda: (
                gate.daemon.view.current is not None
                and gate.daemon.view.current.outcome is not None
                and gate.daemon.view.state is LaneState.HOLD
                and bool(gate.daemon.view.current.declaration_number)
            )
        )
        vehicle = (await http.get("/api/v1/lane")).json()["vehicle"]
        assert vehicle["plate"]["text"] == "51C10002"
        assert vehicle["plate"]["source"] == "officer:olga"
        assert vehicle["camera_plate"]["text"] == "51G10002"
        assert vehicle["declaration_number"] == decl.number
        assert [r["code"] for r in vehicle["reasons"]] == [Reason.RED_NOT_INSPECTED]
        done = await http.post(
            "/api/v1/lane/inspection-done",
            json={"tx_id": tx_id, "reason": "physical inspection done"},
            headers=csrf,
        )
        assert done.status_code == 202
        await gate.wait_state(LaneState.PASSING)
        assert (await gate.controller.read_coils())["barrier_open"]
    records = {r.action: r for r in gate.daemon.store.audit.records(subject=tx_id)}
    assert records["correct_read"].before is not None
    assert records["correct_read"].before["plate"]["text"] == "51G10002"
    assert records["correct_read"].after is not None
    assert records["correct_read"].after["plate"]["text"] == "51C10002"
    assert records["inspection_done"].after == {"declaration": decl.number, "inspection_done": True}
    sent = [e.payload for e in gate.daemon.store.outbox.pending(limit=10_000) if e.kind == "officer.action"]
    assert {(p["tx_id"], p["action"]) for p in sent} >= {(tx_id, "correct_read"), (tx_id, "inspection_done")}
    await gate.drive_through()
    await gate.daemon.settle()  # the lane process tells, the writer writes
    record = gate.daemon.store.transactions.get(tx_id)
    assert record is not None
    assert record.outcome is Outcome.PASS
    assert record.exits == ((decl.number, decl.containers[0].number),)
    async with as_user(gate, "vic") as (http, _):
        detail = (await http.get(f"/api/v1/transactions/{tx_id}")).json()
    steps = [(s["from_state"], s["to_state"]) for s in detail["transitions"]]
    assert steps.count(("HOLD", "DECIDING")) == 2  # the correction, then the inspection, re-ran the decision
    assert [a["action"] for a in detail["audit"]] == ["correct_read", "inspection_done"]


async def test_correcting_a_misread_container_reruns_the_decision_and_a_match_opens_the_barrier(
    gate: KioskGate,
) -> None:
    decl = declaration(4)
    gate.seed(decl)
    misread = complete("TCLU999990")
    read = camera_read(decl)
    wrong = Identification(plate=read.plate, containers=(replace(read.containers[0], text=misread),))
    await gate.arrive(wrong, 28_000)
    await gate.wait_state(LaneState.HOLD)
    tx_id = gate.daemon.view.tx_id
    async with as_user(gate, "olga") as (http, csrf):
        view = (await http.get("/api/v1/lane")).json()
        assert [r["code"] for r in view["vehicle"]["reasons"]] == [Reason.CONTAINER_MISMATCH]
        right = decl.containers[0].number
        body = {"tx_id": tx_id, "reason": "camera misread a container", "containers": [right.lower()]}
        assert (await http.post("/api/v1/lane/correct", json=body, headers=csrf)).status_code == 202
    await gate.wait_state(LaneState.PASSING)  # every rule holds now: no approval needed
    (record,) = gate.daemon.store.audit.records(subject=str(tx_id))
    assert record.before is not None
    assert record.after is not None
    assert [c["text"] for c in record.before["containers"]] == [misread]
    assert [c["text"] for c in record.after["containers"]] == [right]
    await gate.drive_through()


async def test_only_a_supervisor_may_let_a_rejected_truck_pass(gate: KioskGate) -> None:
    decl = declaration(3, status=DeclarationStatus.PENDING)
    gate.seed(decl)
    await gate.arrive(camera_read(decl), 28_000)
    await gate.wait_state(LaneState.HOLD)
    tx_id = gate.daemon.view.tx_id
    body = {"tx_id": tx_id, "reason": "cleared by phone with the customs office"}
    async with as_user(gate, "olga") as (http, csrf):
        refused = await http.post("/api/v1/lane/approve", json=body, headers=csrf)
        assert refused.status_code == 403
        assert refused.json()["detail"] == "only a supervisor may let a rejected vehicle pass"
    async with as_user(gate, "sam") as (http, csrf):
        assert (await http.post("/api/v1/lane/approve", json=body, headers=csrf)).status_code == 202
    await gate.wait_state(LaneState.PASSING)
    (record,) = gate.daemon.store.audit.records(subject=str(tx_id))
    assert record.before is not None
    assert record.before["outcome"] == "REJECT"
    assert record.after == {"state": "OPENING", "approved_by": "sam"}
    await gate.drive_through()


async def test_supervisor_opens_the_barrier_by_hand_and_the_interlock_closes_it(gate: KioskGate) -> None:
    async with as_user(gate, "sam") as (http, csrf):
        response = await http.post("/api/v1/lane/open", json={"reason": "barrier maintenance"}, headers=csrf)
        assert response.status_code == 202
        await gate.controller.wait_for_position(up=True, timeout=5)
        twice = await http.post("/api/v1/lane/open", json={"reason": "barrier maintenance"}, headers=csrf)
        assert twice.status_code in (202, 409)  # 409 once the lane sees the barrier open
    await gate.wait_state(LaneState.IDLE)
    await gate.controller.wait_for_position(up=False, timeout=5)
    opened = [r for r in gate.daemon.store.audit.records(subject="lane") if r.action == "manual_open"]
    assert opened[-1].before == {"state": "IDLE", "tx_id": None, "barrier_commanded": "closed"}
    assert opened[-1].after == {"state": "OPENING", "barrier_commanded": "open"}


async def test_history_finds_a_transaction_by_plate_container_declaration_and_time(gate: KioskGate) -> None:
    decl = declaration(5)
    gate.seed(decl)
    await gate.arrive(camera_read(decl), 28_000)
    await gate.wait_state(LaneState.PASSING)
    tx_id = gate.daemon.view.tx_id
    await gate.drive_through()
    box = decl.containers[0].number
    async with as_user(gate, "vic") as (http, _):
        search = {"plate": "51c 10005", "container": box.lower(), "declaration": decl.number}
        for key, value in search.items():
            found = (await http.get("/api/v1/transactions", params={key: value})).json()
            assert [t["id"] for t in found] == [tx_id], key
        (tx,) = found
        assert (tx["plate"], tx["containers"], tx["outcome"], tx["status"]) == (
            "51C10005",
            [box],
            "PASS",
            "completed",
        )
        started = datetime.fromisoformat(tx["started_at"])
        window = {
            "plate": "51C10005",
            "since": to_text(started),
            "until": to_text(started + timedelta(seconds=1)),
        }
        assert len((await http.get("/api/v1/transactions", params=window)).json()) == 1
        window["since"] = to_text(started + timedelta(seconds=1))
        assert (await http.get("/api/v1/transactions", params=window)).json() == []
        detail = (await http.get(f"/api/v1/transactions/{tx_id}")).json()
        steps = [(s["from_state"], s["to_state"]) for s in detail["transitions"]]
        assert steps[0] == ("IDLE", "ARRIVED")
        assert ("DECIDING", "OPENING") in steps
        assert steps[-1] == ("CLOSING", "IDLE")
        assert detail["exits"] == [[decl.number, box]]
        assert detail["audit"] == []
        assert (await http.get("/api/v1/transactions/no-such-id")).status_code == 404


async def test_history_marks_an_exit_the_lane_could_not_see_as_unconfirmed_until_one_confirms_it(
    gate: KioskGate,
) -> None:
    decl = declaration(8)
    exit_ = (decl.number, decl.containers[0].number)
    transactions = gate.daemon.store.transactions
    now = datetime.now(UTC)
    # What the lane records for a passage while the controller link was down (tests/edge: link loss).
    transactions.start("tx-link-down", "lane-1", now)
    transactions.complete("tx-link-down", now, exits=[exit_], confirmed=False)
    async with as_user(gate, "vic") as (http, _):
        detail = (await http.get("/api/v1/transactions/tx-link-down")).json()
        assert (detail["exits"], detail["unconfirmed_exits"]) == ([], [list(exit_)])
        labels = {lang: (await http.get(f"/api/v1/i18n/{lang}")).json() for lang in ("vi", "en")}
        assert (labels["vi"]["exit_unconfirmed"], labels["en"]["exit_unconfirmed"]) == (
            "CHƯA XÁC NHẬN",
            "UNCONFIRMED",
        )
        assert "officer confirms" in str(labels["en"]["exit_unconfirmed_note"])
        assert "cán bộ xác nhận" in str(labels["vi"]["exit_unconfirmed_note"])

        # A passage the lane sees (an officer let the next vehicle under it through) confirms the exit.
        transactions.start("tx-confirms", "lane-1", now + timedelta(minutes=5))
        transactions.complete("tx-confirms", now + timedelta(minutes=6), exits=[exit_])
        before = (await http.get("/api/v1/transactions/tx-link-down")).json()
        after = (await http.get("/api/v1/transactions/tx-confirms")).json()
        assert (before["exits"], before["unconfirmed_exits"]) == ([], [])
        assert (after["exits"], after["unconfirmed_exits"]) == ([list(exit_)], [])


async def test_audit_trail_holds_who_what_why_before_after_in_an_intact_hash_chain(gate: KioskGate) -> None:
    for n in range(3):
        gate.daemon.recorder.officer_action(
            f"tx-audit-{n}", "olga", "approve", f"reason {n}", before={"n": n}, after={"n": n + 1}
        )
    async with as_user(gate, "sam") as (http, _):
        records = (await http.get("/api/v1/audit")).json()
        mine = [r for r in records if r["subject"].startswith("tx-audit-")]
        assert [(r["actor"], r["action"], r["reason"], r["before"], r["after"]) for r in mine] == [
            ("olga", "approve", f"reason {n}", {"n": n}, {"n": n + 1}) for n in (2, 1, 0)
        ]
        for newer, older in itertools.pairwise(records):
            assert newer["prev_hash"] == older["hash"]
        check = (await http.get("/api/v1/audit/verify")).json()
        assert check == {"intact": True, "first_broken": None, "head": records[0]["hash"]}
        target = mine[1]["id"]
        conn = gate.daemon.store.conn
        conn.execute("UPDATE audit SET reason = 'nothing to see' WHERE id = ?", (target,))
        try:
            tampered = (await http.get("/api/v1/audit/verify")).json()
        finally:
            conn.execute("UPDATE audit SET reason = 'reason 1' WHERE id = ?", (target,))
        assert (tampered["intact"], tampered["first_broken"]) == (False, target)
        assert (await http.get("/api/v1/audit/verify")).json()["intact"] is True
    async with as_user(gate, "olga") as (http, _):
        assert (await http.get("/api/v1/audit")).status_code == 403
        assert (await http.get("/api/v1/audit/verify")).status_code == 403


async def test_a_second_officer_acting_before_the_lane_applied_the_first_is_refused(gate: KioskGate) -> None:
    decl = declaration(7)
    gate.seed(decl)
    await gate.arrive(camera_read(decl, plate="51G10007"), 28_000)
    await gate.wait_state(LaneState.HOLD)
    tx_id = gate.daemon.view.tx_id
    assert tx_id is not None
    actions.approve(gate.daemon, "olga", Role.OFFICER, tx_id, "papers checked")
    with pytest.raises(ActionRefused) as refused:  # same loop turn: the lane has not applied the approval
        actions.reject(gate.daemon, "ivan", tx_id, "seal looks broken")
    assert refused.value.code == 409
    await gate.wait_state(LaneState.PASSING)
    assert [r.action for r in gate.daemon.store.audit.records(subject=tx_id)] == ["approve"]
    await gate.drive_through()


async def test_an_action_the_full_store_cannot_record_is_refused_503_and_changes_nothing(
    gate: KioskGate,
) -> None:
    decl = declaration(9)
    gate.seed(decl)
    await gate.arrive(camera_read(decl, plate="51G10099"), 28_000)  # no declaration for that plate: held
    await gate.wait_state(LaneState.HOLD)
    tx_id = gate.daemon.view.tx_id
    conn = gate.daemon.store.conn  # the kiosk's connection, which writes the officer's audit record
    async with as_user(gate, "olga") as (http, csrf):
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        try:
            with contextlib.suppress(sqlite3.OperationalError):  # a real SQLITE_FULL, as on a full disk
                while True:
                    gate.daemon.store.outbox.append("test.filler", {}, datetime.now(UTC), critical=False)
            refused = await http.post(
                "/api/v1/lane/approve", json={"tx_id": tx_id, "reason": "papers checked"}, headers=csrf
            )
            assert refused.status_code == 503
            assert refused.json()["detail"].startswith("the store cannot record this action now")
        finally:
            conn.execute("PRAGMA max_page_count = 1073741823")
            with conn:
                conn.execute("DELETE FROM outbox WHERE kind = 'test.filler'")
        assert gate.daemon.view.state is LaneState.HOLD
        assert not (await gate.controller.read_coils())["barrier_open"]
        assert gate.daemon.store.audit.records(subject=tx_id) == []
        rejected = await http.post(
            "/api/v1/lane/reject", json={"tx_id": tx_id, "reason": "no papers"}, headers=csrf
        )
        assert rejected.status_code == 202  # with room again, the next action goes through
    await gate.back_out()


async def test_a_held_truck_s_reads_name_their_region_in_their_evidence_and_the_closest_declarations(
    gate: KioskGate,
) -> None:
    decl = declaration(41)
    gate.seed(decl, *(declaration(n) for n in range(42, 49)))
    box = decl.containers[0].number
    misread_box = box[:5] + ("7" if box[5] != "7" else "8") + box[6:]
    ident = with_evidence(camera_read(decl, plate="51G10041"))
    ident = replace(ident, containers=(replace(ident.containers[0], text=misread_box),))
    await gate.arrive(ident, 28_000)
    await gate.wait_state(LaneState.HOLD)
    tx_id = gate.daemon.view.tx_id
    async with as_user(gate, "olga") as (http, csrf):
        view = (await http.get("/api/v1/lane")).json()
        plate = view["vehicle"]["plate"]
        assert ident.plate is not None
        assert plate["evidence_box"] == list(ident.plate.evidence_box or ())
        image = await http.get(plate["evidence_url"])
        assert (image.status_code, image.headers["content-type"]) == (200, "image/jpeg")
        assert view["alarms"] == []
        assert view["cameras"] == []  # the scripted demo cameras have no readers

        answer = await http.get("/api/v1/lane/closest", params={"tx_id": tx_id})
        assert answer.status_code == 200
        found = answer.json()["declarations"]
        assert len(found) == LIMIT  # eight seeded declarations are a few edits away
        first = found[0]
        assert first["plate"] == {"text": "51C10041", "read": "51G10041", "distance": 1, "differs": [2]}
        assert first["containers"] == [{"text": box, "read": misread_box, "distance": 1, "differs": [5]}]
        assert [d["distance"] for d in found] == sorted(d["distance"] for d in found)
        # Only what a correction sends: no declaration number, seal, weight, channel or validity.
        assert {key for d in found for key in d} == {"plate", "containers", "distance"}
        assert decl.number not in answer.text
        assert str(decl.containers[0].seal) not in answer.text

        other = await http.get("/api/v1/lane/closest", params={"tx_id": "an-earlier-truck"})
        assert other.status_code == 409
        bad = await http.get("/api/v1/lane/closest", params={"tx_id": "x\u202ey"})
        assert bad.status_code == 422
    async with as_user(gate, "vic") as (http, _):
        refused = await http.get("/api/v1/lane/closest", params={"tx_id": tx_id})
        assert (refused.status_code, refused.json()["detail"]) == (403, "role viewer may not do this")
    async with httpx.AsyncClient(base_url=gate.base_url, timeout=10) as anonymous:
        assert (await anonymous.get("/api/v1/lane/closest", params={"tx_id": tx_id})).status_code == 401
    async with as_user(gate, "olga") as (http, csrf):
        rejected = await http.post(
            "/api/v1/lane/reject", json={"tx_id": tx_id, "reason": "papers for another truck"}, headers=csrf
        )
        assert rejected.status_code == 202
        await eventually(lambda: gate.daemon.view.current is not None and gate.daemon.view.current.rejected)
        view = (await http.get("/api/v1/lane")).json()
        assert view["held"] is False  # rejected: it must back out, no more corrections offered
        late = await http.get("/api/v1/lane/closest", params={"tx_id": tx_id})
        assert late.status_code == 409
    await gate.back_out()


async def test_the_closest_declarations_are_searched_off_the_daemon_s_loop(gate: KioskGate) -> None:
    """The search reads and compares every cached declaration (seconds for a large cache): it runs on a
    worker thread, so while it waits the lane view, which the daemon's loop answers, still answers."""
    decl = declaration(51)
    gate.seed(decl)
    await gate.arrive(camera_read(decl, plate="51G10051"), 28_000)
    await gate.wait_state(LaneState.HOLD)
    tx_id = gate.daemon.view.tx_id
    async with as_user(gate, "olga") as (http, csrf):
        assert routes_lane._CLOSEST_ONE_AT_A_TIME.acquire(blocking=False)  # a search under way
        try:
            search = asyncio.create_task(http.get("/api/v1/lane/closest", params={"tx_id": tx_id}))
            view = await http.get("/api/v1/lane")
            assert view.status_code == 200
            assert view.json()["vehicle"]["plate"]["text"] == "51G10051"
            assert not search.done()  # waiting for its turn on a thread, not holding the loop
        finally:
            routes_lane._CLOSEST_ONE_AT_A_TIME.release()
        answer = await search
        assert answer.status_code == 200
        assert answer.json()["declarations"][0]["plate"]["text"] == "51C10051"
        rejected = await http.post(
            "/api/v1/lane/reject", json={"tx_id": tx_id, "reason": "papers for another truck"}, headers=csrf
        )
        assert rejected.status_code == 202
    await gate.back_out()
