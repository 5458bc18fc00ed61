"""The history's API tells how each transaction ended and who decided, the camera's read beside a correction,
the evidence frames, the causes in both languages; its query parameters refuse hostile values with a 4xx."""

from __future__ import annotations

from typing import Any

import pytest

from edge.kiosk.causes import known_cause
from tests.kiosk.conftest import KioskGate, as_user
from tests.kiosk.history_trucks import corrected_and_approved, passed_automatically, rejected, turned_back

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _detail(gate: KioskGate, tx_id: str) -> dict[str, Any]:
    async with as_user(gate, "vic") as (http, _):
        answer = await http.get(f"/api/v1/transactions/{tx_id}")
        assert answer.status_code == 200, answer.text
        detail: dict[str, Any] = answer.json()
        return detail


async def test_each_transaction_says_how_it_ended_and_who_decided(gate: KioskGate) -> None:
    ids = {
        "passed": await passed_automatically(gate, 41),
        "passed_by_officer": await corrected_and_approved(gate, 42),
        "rejected": await rejected(gate, 43),
        "turned_back": await turned_back(gate, 44),
    }
    told = {}
    for ending, tx_id in ids.items():
        detail = await _detail(gate, tx_id)
        told[ending] = (detail["ending"], detail["decided_by"], detail["officer"], detail["result"])
    assert told == {
        "passed": ("passed", "automatic", None, "passed"),
        "passed_by_officer": ("passed_by_officer", "officer", "olga", "passed"),
        "rejected": ("rejected", "officer", "olga", "rejected"),
        "turned_back": ("turned_back", "automatic", None, "left"),
    }
    async with as_user(gate, "vic") as (http, _):
        found = (await http.get("/api/v1/transactions", params={"result": "rejected"})).json()
        assert ids["rejected"] in [row["id"] for row in found]
        assert {row["result"] for row in found} == {"rejected"}
        page = (await http.get("/api/v1/transactions", params={"limit": 10})).json()
    rows = {row["id"]: (row["ending"], row["officer"]) for row in page}
    assert rows[ids["passed_by_officer"]] == ("passed_by_officer", "olga")
    assert rows[ids["turned_back"]] == ("turned_back", None)


async def test_a_corrected_read_shows_the_cameras_read_and_its_frame_beside_the_officers(
    gate: KioskGate,
) -> None:
    tx_id = await corrected_and_approved(gate, 45)
    detail = await _detail(gate, tx_id)
    assert (detail["plate"], detail["camera_plate"]) == ("51C10045", "51G10045")
    (correction,) = detail["corrections"]
    assert (correction["officer"], correction["reason"]) == ("olga", "Camera misread the plate")
    assert (correction["plate_before"], correction["plate_after"]) == ("51G10045", "51C10045")
    assert correction["containers_before"] == correction["containers_after"]
    kinds = [(e["kind"], e["text"]) for e in detail["evidence"]]
    assert kinds == [("plate", "51G10045"), ("container", detail["containers"][0])]
    async with as_user(gate, "vic") as (http, _):
        frame = await http.get(detail["evidence"][0]["url"])
        assert (frame.status_code, frame.headers["content-type"]) == (200, "image/jpeg")
        assert frame.content[:2] == b"\xff\xd8"
    async with as_user(gate, "vic") as (http, csrf):
        assert (await http.post("/api/v1/logout", json={}, headers=csrf)).status_code < 300
        refused = await http.get(detail["evidence"][0]["url"])
        assert refused.status_code == 401  # the frames are for a logged-in officer only


async def test_every_cause_of_a_real_pass_is_said_in_vietnamese_with_its_numbers_in_local_style(
    gate: KioskGate,
) -> None:
    tx_id = await turned_back(gate, 46)
    detail = await _detail(gate, tx_id)
    causes = [t["cause"] for t in detail["transitions"]]
    assert all(known_cause(c) for c in causes), causes
    by_cause = {t["cause"]: (t["cause_vi"], t["cause_en"]) for t in detail["transitions"]}
    assert by_cause["stable weight 32480 kg"] == ("số cân ổn định 32.480 kg", "stable weight 32,480 kg")
    assert by_cause["decision HOLD"] == ("quyết định TẠM GIỮ", "decision HOLD")
    assert by_cause["entry loop cleared: vehicle left"][0] == "vòng từ vào trống: xe đã rời đi"
    passed = await _detail(gate, await passed_automatically(gate, 47))
    assert all(known_cause(t["cause"]) for t in passed["transitions"])
    assert all(t["cause_vi"] != t["cause"] for t in passed["transitions"])


@pytest.mark.parametrize(
    ("path", "params", "where"),
    [
        ("/api/v1/transactions", {"result": "teleported"}, ["query", "result"]),
        ("/api/v1/transactions", {"result": "x" * 5000}, ["query", "result"]),
        ("/api/v1/transactions", {"result": ""}, ["query", "result"]),
        ("/api/v1/transactions", {"limit": "0"}, ["query", "limit"]),
        ("/api/v1/transactions", {"limit": "1e9"}, ["query", "limit"]),
        ("/api/v1/transactions/" + "a" * 65, {}, ["path", "tx_id"]),
    ],
)
async def test_hostile_history_parameters_get_a_422_that_names_the_parameter(
    gate: KioskGate, path: str, params: dict[str, str], where: list[str]
) -> None:
    async with as_user(gate, "vic") as (http, _):
        answer = await http.get(path, params=params)
    assert answer.status_code == 422, answer.text
    assert [error["loc"] for error in answer.json()["detail"]] == [where]


async def test_an_unknown_transaction_and_a_path_outside_the_evidence_folder_get_404(gate: KioskGate) -> None:
    async with as_user(gate, "vic") as (http, _):
        assert (await http.get("/api/v1/transactions/no-such-truck")).status_code == 404
        for name in ("..%2F..%2Fgate.db", "%2E%2E", "a" * 63, "A" * 64):
            answer = await http.get(f"/api/v1/evidence/{name}")
            assert 400 <= answer.status_code < 500, (name, answer.status_code)
