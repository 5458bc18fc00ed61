"""The lane's handlers for faults and recovery: a lost link, and coming back from FAULT (startup too).

Rows of `TRANSITIONS` (edge/lane.py) for LinkLost in every state and for FAULT. Each handler is a function
(lane, event, now) -> None that works through the lane's handler API (see `Lane`). A stuck barrier's FAULT
is entered in edge/lane_barrier.py (`on_barrier_timeout`) and left here.

Decisions:
- The lane is born in FAULT ("not started"); `startup()` (or a first LinkRestored) brings it up exactly like a
  recovery, so it never opens at start, and a barrier found not down is closed through the interlock.
- Recovery from FAULT (link back, or a stuck barrier seen at a limit again): while the link was down the
  entry loop could not be seen, so a transaction not yet cleared is ended "aborted" and a vehicle still on
  the entry loop starts a new one (re-identified, re-decided). A cleared transaction that had reached
  OPENING/PASSING/CLOSING resumes in PASSING if the barrier is not down; if the barrier is down it ends
  "passed" when its vehicle crossed, else "aborted". A barrier found not down with no cleared transaction
  is "secured": PASSING without a transaction, closing as soon as the path is clear for the hold time,
  whatever is on the entry loop.
- One declaration, one passage: a vehicle that crossed while the link was down is a crossing. Its evidence,
  on LinkRestored: the path obstructed in the first snapshot, or the controller's activation counters
  (`InputSnapshot.activations_since`) advanced since the last snapshot before the loss, which tells even a
  vehicle that came and went inside the outage. Counters that advance between two polls while the barrier
  is open count too (a pulse shorter than a poll). The counting is `LanePath.account_outage`.
- Without counters, a cleared transaction that was in OPENING/PASSING when the link dropped, with no
  crossing seen and the path clear on recovery, cannot be known to have crossed or not. The safe side: it
  ends "unconfirmed" (its declaration counts as used; the decision holds the next vehicle under it for an
  officer, reason exit_unconfirmed), an alarm "passage_unconfirmed" says so, and the lane is secured (a
  vehicle on the entry loop, the same truck or another, is re-identified and re-decided). An officer who
  lets it through confirms the exit.
- A barrier move timeout is a FAULT that clears only when the barrier is seen at a limit other than where
  it stuck (or a supervisor's OfficerOpen retries); the lane does not keep driving a stuck barrier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edge.lane_events import Inputs, LaneState, LinkLost, LinkRestored, Tick
from edge.lane_path import AFTER_OPEN

if TYPE_CHECKING:
    from edge.lane import Lane

S = LaneState


def on_link_lost(lane: Lane, event: LinkLost, now: float) -> None:
    """Any state: FAULT (S4: nothing is commanded on a dead link), and an alarm."""
    if lane.state is not S.FAULT:
        lane.enter_fault(f"link lost: {event.detail}", now)
    lane.alarm("link_lost", event.detail)


def on_recover(lane: Lane, _: Inputs | LinkRestored | Tick, now: float) -> None:
    """FAULT: leave it once the link is up and a stuck barrier has been seen at another limit."""
    if not lane.path.link_up:
        return
    snap = lane.path.snapshot
    limits = (snap.barrier_up, snap.barrier_down)
    if lane.barrier_fault is not None and (
        snap.barrier_up == snap.barrier_down or limits == lane.fault_limits
    ):
        return  # not yet seen moving to a limit: wait for a technician, or a supervisor's OfficerOpen
    prefix = "recovered" if lane.started else "startup"
    lane.started, lane.barrier_fault = True, None
    vehicle, resumable = lane.tx.current, lane.suspended in AFTER_OPEN
    passage, counted = lane.passage_result(), lane.path.outage_count
    lane.suspended, lane.path.unconfirmed, lane.path.outage_count = None, False, None
    if counted:
        prefix += f" ({counted} detector activations counted while the link was down)"
    if passage == "unconfirmed" and vehicle is not None:
        lane.alarm(
            "passage_unconfirmed",
            f"transaction {vehicle.tx_id}: the barrier was open while the link was down and the"
            " controller counts no activations, so whether the vehicle crossed is unknown; its"
            " declaration counts as used and the next vehicle under it is held for an officer",
        )
    if snap.barrier_down and not snap.barrier_up:
        lane.light("red")
        lane.to_idle(f"{prefix}: barrier down", passage or "aborted", now)
    elif vehicle is not None and vehicle.cleared and resumable and passage != "unconfirmed":
        lane.secure_when_clear = False
        lane.go(S.PASSING, f"{prefix}: barrier not down; cleared transaction resumes", now)
        lane.light("red" if lane.path.crossed else "green")
    else:
        lane.go(S.PASSING, f"{prefix}: barrier not down; securing, closes once the path is clear", now)
        lane.end_tx(passage or "aborted", now)
        lane.path.crossed, lane.secure_when_clear = False, True
        lane.light("red")
