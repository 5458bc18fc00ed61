"""The demo's truck drivers and its simulated officer: each truck obeys the lane, whoever decided.

A driver stops on the entry loop and the weighbridge, then does what the lane tells it: drives through an
open barrier, turns back at a REJECT or an officer's rejection, and otherwise waits, held, for an officer,
be it a person at the kiosk (`demo.officer_auto_s: 0`) or the simulated officer below.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Protocol

from devices.sim.lane_controller import LaneControllerSim
from devices.sim.scale_peer import ScaleSimPeer
from edge.daemon import LaneDaemon
from edge.decision import Decision, Outcome
from edge.demo.traffic import Scenario, SimVehicle
from edge.lane import LaneState
from edge.lane_events import Vehicle
from edge.reasons import REASON_TEXT

log = logging.getLogger("edge.demo")

SIM_OFFICER = "demo-officer"
TURN_BACK_S = 1.0  # a driver told to turn back reverses after this long (an officer may approve first)
DECIDE_PATIENCE_S = 40.0  # a lane that decides nothing for this long is logged (and the truck waits on)
ACTED_PATIENCE_S = 15.0  # the lane applies an officer's action well within this
_STEP_S = 0.05
_OPEN = (LaneState.OPENING, LaneState.PASSING)


class TruckPrinter(Protocol):
    """What the driver needs of the demo's console."""

    decided: int
    vehicle: SimVehicle | None
    latest: Decision | None

    def print_officer_actions(self) -> None: ...


async def wait_for(predicate: Callable[[], bool], timeout: float, step: float = _STEP_S) -> bool:
    """Poll `predicate` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(step)
    return True


def _moved_on(daemon: LaneDaemon, held: Vehicle) -> bool:
    """The lane has acted on an officer's answer to `held`: another picture of the vehicle, or no hold."""
    return daemon.view.current != held or daemon.view.state is not LaneState.HOLD


def hold_reason(held: Vehicle, decision: Decision | None) -> str:
    """Why the lane holds the vehicle, in the words an officer would write: the decision's facts."""
    if decision is not None and decision.details:
        text = "; ".join(decision.details)
    elif held.reasons:
        text = "; ".join(REASON_TEXT[r] for r in held.reasons)
    else:
        text = held.hold_cause or "held for an officer"
    return text[:500]  # the kiosk's limit on a reason


class TruckDriver:
    """Drives each generated truck through the simulated lane and answers holds as configured."""

    def __init__(
        self,
        daemon: LaneDaemon,
        controller: LaneControllerSim,
        scale: ScaleSimPeer,
        printer: TruckPrinter,
        officer_auto_s: float,
    ) -> None:
        self._daemon = daemon
        self._controller = controller
        self._scale = scale
        self._printer = printer
        self._officer_auto_s = officer_auto_s

    async def one_vehicle(self, vehicle: SimVehicle) -> None:
        """Bring `vehicle` to the stop line and stay with it until it has left the lane, either way."""
        daemon = self._daemon
        await wait_for(lambda: daemon.view.state is LaneState.IDLE, timeout=30)
        self._printer.vehicle = vehicle
        decided_before = self._printer.decided
        await self._controller.vehicle_arrives()
        self._scale.drive_on(vehicle.gross_kg)
        if not await wait_for(lambda: daemon.view.tx_id is not None, timeout=10):
            log.error("the lane started no transaction for %s (lane %s)", vehicle.plate, daemon.view.state)
            await self._back_out()
            return
        tx_id = daemon.view.tx_id
        if not await wait_for(
            lambda: self._printer.decided > decided_before or daemon.view.state in (*_OPEN, LaneState.HOLD),
            timeout=DECIDE_PATIENCE_S,
        ):
            log.error(
                "no decision for %s within %.0f s (lane %s)",
                vehicle.plate,
                DECIDE_PATIENCE_S,
                daemon.view.state,
            )
        await self._follow(vehicle, tx_id)

    async def _follow(self, vehicle: SimVehicle, tx_id: str | None) -> None:
        """Obey the lane until the truck is gone: through an open barrier, or back off the loop."""
        daemon = self._daemon
        answered = 0  # the simulated officer's actions on this truck
        while True:
            self._printer.print_officer_actions()
            view = daemon.view
            if view.state in _OPEN:
                await self._drive_through()
                return
            if view.tx_id != tx_id:  # the transaction ended without this truck moving (a manual open)
                await self._back_out()
                return
            held = view.held_vehicle()
            if held is None or daemon.officer.pending == tx_id:  # deciding, or an action being applied
                await asyncio.sleep(_STEP_S)
                continue
            if held.rejected_by is not None:
                await asyncio.sleep(TURN_BACK_S)
                await self._back_out()
                return
            if held.outcome is Outcome.REJECT:  # the red light and the screen turn the driver back
                if await wait_for(lambda: daemon.view.state in _OPEN, timeout=TURN_BACK_S):
                    continue  # a supervisor approved it in the meantime
                await self._back_out()
                return
            if self._officer_auto_s > 0:
                await asyncio.sleep(self._officer_auto_s)
                if daemon.view.current == held and daemon.view.state is LaneState.HOLD:
                    self._simulated_officer(vehicle, held, answered)
                    answered += 1
                await wait_for(functools.partial(_moved_on, daemon, held), ACTED_PATIENCE_S)
                continue
            await asyncio.sleep(_STEP_S)  # a person at the kiosk decides; the truck waits, held

    def _simulated_officer(self, vehicle: SimVehicle, held: Vehicle, answered: int) -> None:
        """What an officer at the kiosk would do with each kind of held truck (through the officer desk)."""
        desk = self._daemon.officer
        try:
            if answered == 0 and vehicle.scenario is Scenario.RED_UNINSPECTED:
                desk.inspection_done(SIM_OFFICER, "physical inspection completed, seals intact")
            elif answered == 0 and vehicle.scenario in (Scenario.LOW_CONFIDENCE, Scenario.CLEARED):
                # A cleared truck held by a misread: the officer types what the plate and containers say.
                desk.correct(SIM_OFFICER, "reads checked by eye", vehicle.plate, list(vehicle.containers))
            else:  # the truck does not match, or is still held after the first answer: refused, saying why
                desk.reject(SIM_OFFICER, hold_reason(held, self._printer.latest))
        except Exception as exc:  # the lane busy or the vehicle gone: the truck waits, the next look retries
            log.warning("the simulated officer could not act on %s: %s", vehicle.plate, exc)

    async def _drive_through(self) -> None:
        await wait_for(lambda: self._daemon.view.state is LaneState.PASSING, timeout=15)
        self._scale.drive_off()
        try:
            await self._controller.vehicle_drives_through(timeout=20)
        except TimeoutError:
            log.error("the barrier did not open for the truck: it backs out")
            await self._back_out()

    async def _back_out(self) -> None:
        self._scale.drive_off()
        await self._controller.vehicle_backs_out()
