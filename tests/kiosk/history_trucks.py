"""Trucks driven through the running test gate so that each ends another way, for the history's tests.

Each helper drives one real truck through the simulators and the daemon (officers act through the kiosk's
API, as the screen does) and returns its transaction id once the lane is idle and the records are written.
"""

from __future__ import annotations

from collections.abc import Mapping

from edge.lane import LaneState
from tests.kiosk.conftest import KioskGate, as_user, camera_read, declaration, eventually
from tests.kiosk.evidence_frames import with_evidence


async def _held(gate: KioskGate) -> str:
    await gate.wait_state(LaneState.HOLD)
    tx_id = gate.daemon.view.tx_id
    assert tx_id is not None
    return str(tx_id)


async def _act(gate: KioskGate, officer: str, action: str, body: Mapping[str, object]) -> None:
    async with as_user(gate, officer) as (http, csrf):
        answer = await http.post(f"/api/v1/lane/{action}", json=body, headers=csrf)
        assert answer.status_code == 202, answer.text


async def passed_automatically(gate: KioskGate, n: int, kg: float = 28_000) -> str:
    """Cleared, read right (with evidence frames), weighed within tolerance: the lane lets it pass."""
    decl = declaration(n)
    gate.seed(decl)
    await gate.arrive(with_evidence(camera_read(decl)), kg)
    await gate.wait_state(LaneState.PASSING)
    tx_id = str(gate.daemon.view.tx_id)
    await gate.drive_through()
    return tx_id


async def corrected_and_approved(gate: KioskGate, n: int, officer: str = "olga") -> str:
    """The plate misread (the camera's frame kept) and the truck 25 % over: corrected, then approved."""
    decl = declaration(n)
    gate.seed(decl)
    await gate.arrive(with_evidence(camera_read(decl, plate=f"51G{10000 + n}")), 35_000)
    tx_id = await _held(gate)
    body = {"tx_id": tx_id, "reason": "Camera misread the plate", "plate": decl.plates[0]}
    await _act(gate, officer, "correct", body)
    await eventually(
        lambda: (
            gate.daemon.view.state is LaneState.HOLD
            and gate.daemon.view.current is not None
            and bool(gate.daemon.view.current.declaration_number)
        )
    )
    await _act(gate, officer, "approve", {"tx_id": tx_id, "reason": "weighed again on the second bridge"})
    await gate.wait_state(LaneState.PASSING)
    await gate.drive_through()
    return tx_id


async def rejected(gate: KioskGate, n: int, officer: str = "olga") -> str:
    """No declaration for the plate: held, an officer rejects it, it backs out."""
    decl = declaration(n)  # not seeded
    await gate.arrive(camera_read(decl), 28_000)
    tx_id = await _held(gate)
    await _act(gate, officer, "reject", {"tx_id": tx_id, "reason": "no papers for this truck"})
    await eventually(lambda: gate.daemon.view.current is not None and gate.daemon.view.current.rejected)
    await gate.back_out()
    return tx_id


async def turned_back(gate: KioskGate, n: int) -> str:
    """Held for its weight (32,480 kg against 28,000 declared); it backs out with no officer's word."""
    decl = declaration(n)
    gate.seed(decl)
    await gate.arrive(camera_read(decl), 32_480)
    tx_id = await _held(gate)
    await gate.back_out()
    return tx_id
