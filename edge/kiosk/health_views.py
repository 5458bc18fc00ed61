"""The lane's alarms and its cameras as the screen and the API show them (parts of the LaneView)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.kiosk.device_faults import fault_kind

if TYPE_CHECKING:
    from edge.kiosk.lane_alarms import ActiveAlarm
    from vision.cameras import CameraStats


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class AlarmView(_View):
    code: str = Field(description="The lane's alarm code, e.g. pass_timeout, link_lost; the screen words it.")
    detail: str = Field(description="The lane's own sentence (English), for the record and a technician.")
    tx_id: str | None
    since: datetime = Field(description="When the alarm was first raised (UTC).")
    repeats: int = Field(description="How often it was raised in this spell.")


class CameraView(_View):
    id: str
    state: Literal["STARTING", "OK", "FAULT", "STOPPED"]
    fps: float
    last_frame_age_s: float | None = Field(description="Age of the newest frame; null before the first.")
    fault: str | None = Field(description="The reader's own words for its fault (raw, English).")
    fault_kind: str = Field(description="The fault sorted into a kind the screen words in both languages.")


CameraState = Literal["STARTING", "OK", "FAULT", "STOPPED"]
_STATES: dict[str, CameraState] = {"STARTING": "STARTING", "OK": "OK", "FAULT": "FAULT", "STOPPED": "STOPPED"}


def alarm_views(alarms: Iterable[ActiveAlarm]) -> list[AlarmView]:
    return [
        AlarmView(code=a.code, detail=a.detail, tx_id=a.tx_id, since=a.since, repeats=a.repeats)
        for a in alarms
    ]


def camera_views(stats: Mapping[str, CameraStats]) -> list[CameraView]:
    """Each camera, in name order; an unknown state reads as FAULT rather than breaking the view."""
    views = []
    for name in sorted(stats):
        s = stats[name]
        state = str(s.state)
        error = s.error if state != "OK" else None
        views.append(
            CameraView(
                id=name,
                state=_STATES.get(state, "FAULT"),
                fps=float(s.fps),
                last_frame_age_s=s.last_frame_age_s,
                fault=error,
                fault_kind=fault_kind(error) if error else "ok",
            )
        )
    return views
