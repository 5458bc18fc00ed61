"""What the screen and the API show: JSON models built from the daemon's state, the same for both.

The models are the OpenAPI response schemas, so schemathesis checks every answer against them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.decision import REASON_TEXT, REASON_TEXT_VI, Decision, Outcome, Reason
from edge.kiosk.device_faults import fault_kind
from edge.kiosk.health_views import AlarmView, CameraView, alarm_views, camera_views
from edge.lane import LaneState
from vision.identity import Identification, Read

if TYPE_CHECKING:
    from edge.kiosk.lane_access import LaneAccess
    from edge.kiosk.lane_alarms import ActiveAlarm
    from edge.lane_status import LaneStatus
    from edge.supervision import LaneReport

SHA256 = re.compile(r"^[0-9a-f]{64}$")


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class ErrorBody(_View):
    detail: str = Field(description="What went wrong, in plain words.")
    words: dict[str, str] | None = Field(
        None, description="The same in the screen's languages (vi, en), when the kiosk knows the sentence."
    )


class ReadView(_View):
    text: str
    confidence: float = Field(description="0..1; an officer's correction reads 1.0.")
    valid: bool = Field(description="Plate grammar, or the container's ISO 6346 check digit, holds.")
    source: str = Field(description="Camera id, 'simulator', or 'officer:<name>' for a correction.")
    evidence_url: str | None = Field(None, description="The evidence image of this read, when kept.")
    evidence_box: list[int] | None = Field(
        None, description="The read's region in the evidence image: x, y, width, height in pixels."
    )


class ReasonView(_View):
    code: Reason
    text_en: str
    text_vi: str
    detail: str = Field(description="The decision's own sentence for this vehicle (English).")
    detail_vi: str = Field(
        description="The same sentence in Vietnamese: the English one when the decision has no Vietnamese "
        "sentence, the reason's Vietnamese text when the decision is no longer in memory."
    )


class VehicleView(_View):
    tx_id: str
    plate: ReadView | None
    containers: list[ReadView]
    camera_plate: ReadView | None = Field(
        None, description="The camera's read, kept when an officer corrected the plate."
    )
    camera_containers: list[ReadView] | None = Field(
        None, description="The camera's container reads, kept when an officer corrected them."
    )
    weight_kg: float | None
    outcome: Outcome | None
    reasons: list[ReasonView]
    declaration_number: str | None
    hold_cause: str | None
    approved_by: str | None
    rejected_by: str | None
    officer_reason: str | None


class ModbusHealth(_View):
    up: bool
    detail: str
    kind: str = Field("ok", description="The detail sorted into a kind the screen words in both languages.")


class ScaleHealth(_View):
    ok: bool
    detail: str
    kind: str = Field("ok", description="The detail sorted into a kind the screen words in both languages.")
    last_weight_kg: float | None


class StorageView(_View):
    ok: bool = Field(description="The store takes the lane's records and has room above the watermark.")
    detail: str = Field(description="What is wrong with the store (writes failing, space low), or 'ok'.")
    pending_writes: int = Field(description="Lane records kept in memory until the store takes them.")
    kind: str = Field("ok", description="The detail sorted into a kind the screen words in both languages.")


class SyncView(_View):
    enabled: bool | None = Field(
        description="Sync with central is configured; null until the uplink reports."
    )
    outbox_depth: int = Field(description="Events waiting for central.")
    oldest_pending_age_s: float | None = Field(description="Age of the oldest undelivered event.")
    broker_connected: bool | None = Field(description="MQTT link to central; null until sync reports.")
    last_clearance_age_s: float | None = Field(description="Age of the last clearance update received.")
    alarms: list[str] = Field(description="Sync alarms raised, e.g. outbox_backlog.")


class BarrierView(_View):
    position: Literal["up", "down", "moving", "unknown"]
    commanded: Literal["open", "closed"] | None


class DetectorsView(_View):
    entry_loop: bool
    exit_loop: bool
    photocell: bool


class ActionsView(_View):
    """Which officer actions the lane would accept now (the caller's role decides the rest)."""

    approve: bool
    reject: bool
    correct: bool
    inspection_done: bool
    manual_open: bool


class LaneView(_View):
    gate_id: str
    lane_id: str
    state: LaneState
    held: bool = Field(description="A vehicle waits for an officer's decision.")
    light: Literal["red", "green"]
    barrier: BarrierView
    detectors: DetectorsView
    link_up: bool
    fault: str | None
    fault_kind: str | None = Field(None, description="The lane fault sorted into a kind the screen words.")
    modbus: ModbusHealth
    scale: ScaleHealth
    storage: StorageView
    sync: SyncView
    vehicle: VehicleView | None
    actions: ActionsView
    alarms: list[AlarmView] = Field(description="Lane alarms standing now (pass_timeout, link_lost, ...).")
    cameras: list[CameraView] = Field(description="Each camera reader; empty where no cameras identify.")
    at: datetime = Field(description="When this view was taken (UTC).")


def read_view(read: Read | None) -> ReadView | None:
    if read is None:
        return None
    sha = read.evidence_sha256
    url = f"/api/v1/evidence/{sha}" if sha and SHA256.match(sha) else None
    box = list(read.evidence_box) if url is not None and read.evidence_box is not None else None
    return ReadView(
        text=read.text,
        confidence=read.confidence,
        valid=read.valid,
        source=read.source,
        evidence_url=url,
        evidence_box=box,
    )


def reason_view(reason: Reason, decision: Decision | None) -> ReasonView:
    """The reason's fixed texts and the decision's sentences for this vehicle; the fixed texts stand in
    when the decision is no longer in memory (an older transaction after a restart)."""
    en = vi = None
    if decision is not None and reason in decision.reasons:
        i = decision.reasons.index(reason)
        en = decision.details[i]
        vi = decision.details_vi[i] if decision.details_vi else None
    return ReasonView(
        code=reason,
        text_en=REASON_TEXT[reason],
        text_vi=REASON_TEXT_VI[reason],
        detail=en or REASON_TEXT[reason],
        # The facts in English rather than none: the officer needs the numbers more than the language.
        detail_vi=vi or en or REASON_TEXT_VI[reason],
    )


def _containers(ident: Identification) -> list[ReadView]:
    return [v for v in (read_view(r) for r in ident.containers) if v is not None]


def vehicle_view(
    lane: LaneStatus, decisions: Mapping[str, Decision], camera: Identification | None
) -> VehicleView | None:
    """The current vehicle, its reads (and the camera's, if corrected) and the reasons in plain words."""
    vehicle = lane.current
    if vehicle is None:
        return None
    ident = vehicle.identification or Identification(plate=None)
    decision = decisions.get(vehicle.tx_id)
    camera_plate = camera_boxes = None
    if camera is not None and camera.plate != ident.plate:
        camera_plate = read_view(camera.plate)
    if camera is not None and camera.containers != ident.containers:
        camera_boxes = _containers(camera)
    return VehicleView(
        tx_id=vehicle.tx_id,
        plate=read_view(ident.plate),
        containers=_containers(ident),
        camera_plate=camera_plate,
        camera_containers=camera_boxes,
        weight_kg=vehicle.weight_kg,
        outcome=vehicle.outcome,
        reasons=[reason_view(r, decision) for r in vehicle.reasons],
        declaration_number=vehicle.declaration_number,
        hold_cause=vehicle.hold_cause,
        approved_by=vehicle.approved_by,
        rejected_by=vehicle.rejected_by,
        officer_reason=vehicle.officer_reason,
    )


def actions_view(lane: LaneStatus) -> ActionsView:
    vehicle = lane.awaiting_officer()
    return ActionsView(
        approve=vehicle is not None,
        reject=vehicle is not None,
        correct=vehicle is not None,
        inspection_done=vehicle is not None and Reason.RED_NOT_INSPECTED in vehicle.reasons,
        manual_open=lane.manual_open_refusal() is None,
    )


def _barrier_position(up: bool, down: bool, link_up: bool) -> Literal["up", "down", "moving", "unknown"]:
    if not link_up or (up and down):
        return "unknown"
    return "up" if up else "down" if down else "moving"


def _light(reported: str | None, state: LaneState) -> Literal["red", "green"]:
    """The lamp the lane last set, if it reports it; else what the lane state implies."""
    if reported in ("red", "green"):
        return "green" if reported == "green" else "red"
    return "green" if state in (LaneState.OPENING, LaneState.PASSING) else "red"


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def storage_view(report: LaneReport) -> StorageView:
    fault = report.storage.fault()
    return StorageView(
        ok=fault is None,
        detail=fault or "ok",
        pending_writes=report.storage.pending_writes,
        kind=fault_kind(fault),
    )


def sync_view(report: LaneReport, sync: Mapping[str, Any], now: datetime) -> SyncView:
    """Outbox figures from the store; the link and clearance figures from the uplink's status, when wired."""
    oldest = report.outbox_oldest_at
    connected = sync.get("connected")
    alarms = sync.get("alarms")
    return SyncView(
        enabled=sync.get("enabled") if isinstance(sync.get("enabled"), bool) else None,
        outbox_depth=report.outbox_depth,
        oldest_pending_age_s=None if oldest is None else max(0.0, (now - oldest).total_seconds()),
        broker_connected=connected if isinstance(connected, bool) else None,
        last_clearance_age_s=_number(sync.get("clearance_age_s")),
        alarms=[str(a) for a in alarms] if isinstance(alarms, list) else [],
    )


def lane_view(
    access: LaneAccess,
    decisions: Mapping[str, Decision],
    camera_reads: Mapping[str, Identification],
    sync: Mapping[str, Any],
    alarms: Sequence[ActiveAlarm] = (),
) -> LaneView:
    """One consistent picture of the lane, taken on the daemon's loop between two lane events."""
    now = datetime.now(UTC)
    report = access.report()
    lane = report.lane
    snap = lane.snapshot
    devices = report.devices
    vehicle = lane.current
    return LaneView(
        gate_id=report.gate_id,
        lane_id=lane.lane_id,
        state=lane.state,
        held=lane.awaiting_officer() is not None,
        light=_light(report.light, lane.state),
        barrier=BarrierView(
            position=_barrier_position(snap.barrier_up, snap.barrier_down, lane.link_up),
            commanded=lane.barrier_commanded,
        ),
        detectors=DetectorsView(
            entry_loop=snap.entry_loop, exit_loop=snap.exit_loop, photocell=snap.photocell
        ),
        link_up=lane.link_up,
        fault=lane.fault,
        fault_kind=fault_kind(lane.fault) if lane.fault else None,
        modbus=ModbusHealth(
            up=devices.modbus_up, detail=devices.modbus_detail, kind=fault_kind(devices.modbus_detail)
        ),
        scale=ScaleHealth(
            ok=devices.scale_ok,
            detail=devices.scale_detail,
            kind=fault_kind(devices.scale_detail),
            last_weight_kg=devices.last_weight_kg,
        ),
        storage=storage_view(report),
        sync=sync_view(report, sync, now),
        vehicle=vehicle_view(lane, decisions, camera_reads.get(vehicle.tx_id) if vehicle else None),
        actions=actions_view(lane),
        alarms=alarm_views(alarms),
        cameras=camera_views(access.camera_stats()),
        at=now,
    )
