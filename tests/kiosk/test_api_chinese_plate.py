"""A Chinese truck through the kiosk: the officer corrects a plate read without its province character,
the lane decides again with 桂A12345 kept whole, and history finds it however the plate is typed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from edge.lane import LaneState
from tests.kiosk.conftest import KioskGate, as_user, camera_read, declaration, eventually, gate_config

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gate(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KioskGate]:
    """A northern lane that expects Vietnamese and Chinese plates: an officer's 桂A12345 is of its forms
    (a lane of Vietnamese plates alone refuses it to an officer: a supervisor's correction)."""
    db = tmp_path_factory.mktemp("kiosk-cn") / "gate.db"
    config = gate_config(db)
    vision = config.vision.model_copy(update={"grammar": ("vietnam", "china")})
    running = KioskGate(db, config=config.model_copy(update={"vision": vision}))
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def test_an_officer_corrects_a_chinese_plate_and_history_finds_it(gate: KioskGate) -> None:
    decl = declaration(31, plates=("桂A12345",))
    gate.seed(decl)
    await gate.arrive(camera_read(decl, plate="A12345"), 28_000)  # the province character was not read
    await gate.wait_state(LaneState.HOLD)
    tx_id = gate.daemon.view.tx_id
    assert tx_id is not None
    async with as_user(gate, "olga") as (http, csrf):
        corrected = await http.post(
            "/api/v1/lane/correct",
            json={"tx_id": tx_id, "reason": "province character not read", "plate": "桂a·12345"},
            headers=csrf,
        )
        assert corrected.status_code == 202
        await eventually(lambda: gate.daemon.view.state is LaneState.PASSING)
        vehicle = (await http.get("/api/v1/lane")).json()["vehicle"]
        assert vehicle["plate"]["text"] == "桂A12345"
        assert vehicle["camera_plate"]["text"] == "A12345"
        assert vehicle["declaration_number"] == decl.number
    await gate.drive_through()
    async with as_user(gate, "vic") as (http, _):
        for typed in ("桂A12345", "桂a 123.45", "桂Ａ１２３４５"):
            found = (await http.get("/api/v1/transactions", params={"plate": typed})).json()
            assert [(t["id"], t["plate"]) for t in found] == [(tx_id, "桂A12345")], typed
