"""What the kiosk sees of one lane and may do to it: the narrow interface the lane daemon provides.

The kiosk reads the lane's latest picture, its report and readiness, the store's history and audit, and
acts only through the officer desk; it never reaches into the daemon that wires these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from edge.lane_status import LaneStatus
    from edge.metrics import GateMetrics
    from edge.store import AuditRepo, DeclarationRepo, StoreConnection, TransactionRepo
    from edge.supervision import LaneReport, Readiness
    from vision.cameras import CameraStats

Listener = Callable[[str, dict[str, Any]], None]
"""Called with (kind, data) on the daemon's loop for every transaction step."""


class OfficerActions(Protocol):
    """The officer desk: each action checked against the lane, audited, then handed to the lane."""

    @property
    def pending(self) -> str | None:
        """The transaction an officer's action is being applied to, if any."""

    def approve(self, officer: str, reason: str, before: Any = None, after: Any = None) -> None: ...

    def reject(self, officer: str, reason: str, before: Any = None, after: Any = None) -> None: ...

    def correct(
        self,
        officer: str,
        reason: str,
        plate: str | None = None,
        containers: list[str] | None = None,
        *,
        supervisor: bool = False,
    ) -> None: ...

    def inspection_done(self, officer: str, reason: str) -> None: ...

    def open(self, officer: str, reason: str, before: Any = None, after: Any = None) -> None: ...


class LaneRecords(Protocol):
    """The store as the kiosk reads it: transactions, the audit trail, the connection users live on."""

    @property
    def conn(self) -> StoreConnection: ...

    @property
    def transactions(self) -> TransactionRepo: ...

    @property
    def audit(self) -> AuditRepo: ...

    @property
    def declarations(self) -> DeclarationRepo:
        """The cached declarations: the closest cleared ones are offered for a held vehicle's correction."""

    @property
    def path(self) -> Path | None:
        """The database file (None in memory): a read too slow for the daemon's loop opens its own
        connection to it on a worker thread."""


class LaneAccess(Protocol):
    """One lane as the kiosk sees it (the lane daemon provides it)."""

    @property
    def view(self) -> LaneStatus:
        """The lane as of its last step (immutable): what officers' actions are checked against."""

    @property
    def officer(self) -> OfficerActions: ...

    @property
    def store(self) -> LaneRecords: ...

    @property
    def metrics(self) -> GateMetrics: ...

    @property
    def evidence_dir(self) -> Path:
        """Where the evidence images are kept, named by their SHA-256."""

    def add_listener(self, listener: Listener) -> None: ...

    def report(self) -> LaneReport:
        """The lane status now: lane, light, devices, storage, outbox (reads the store: main loop only)."""

    def readiness(self) -> Readiness: ...

    def camera_stats(self) -> Mapping[str, CameraStats]:
        """Each camera reader's state, fps, last frame age and fault; empty where no cameras identify."""
