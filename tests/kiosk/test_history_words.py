"""Table tests: every cause the lane writes is said in both languages, and how a transaction's end is told."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from edge.decision import Outcome
from edge.kiosk.causes import known_cause, translate_cause
from edge.kiosk.endings import Ending, tell
from edge.store import AuditRecord, TransactionRecord, TxStatus
from edge.store.transactions import TxResult

T = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)

# Each form as edge/lane_*.py writes it today (with numbers and names filled in), and its Vietnamese.
CAUSES = [
    ("entry loop occupied", "xe vào vòng từ"),
    ("entry loop held 0.5s", "xe dừng trên vòng từ 0,5 giây"),
    ("identified; weight already stable", "đã nhận dạng; số cân đã ổn định"),
    (
        "identification timeout: no read; weight not required",
        "hết thời gian nhận dạng: không đọc được; không yêu cầu cân",
    ),
    ("identified; scale faulted", "đã nhận dạng; trạm cân lỗi"),
    ("stable weight 32480 kg", "số cân ổn định 32.480 kg"),
    ("stable weight 1.0048e+06 kg", "số cân ổn định 1.004.800 kg"),
    ("scale fault: [Errno 5] I/O error", "trạm cân lỗi: [Errno 5] I/O error"),
    ("no stable weight within 20.0s", "không có số cân ổn định trong 20 giây"),
    ("decision PASS", "quyết định CHO QUA"),
    ("decision REJECT", "quyết định TỪ CHỐI"),
    ("no decision within 5s", "không có quyết định trong 5 giây"),
    ("corrected by olga: plate; was wrong", "olga sửa kết quả đọc: plate; was wrong"),
    ("corrected by olga: inspection done: seals fine", "olga đã kiểm tra thực tế: seals fine"),
    ("approved by sam: weighed again", "sam cho qua: weighed again"),
    ("manual open by sam: ambulance", "sam mở barie thủ công: ambulance"),
    ("barrier up limit", "barie đã lên hết"),
    ("barrier not down within 8s", "barie không hạ hết trong 8 giây"),
    ("vehicle crossed; path clear 1.5s", "xe đã qua; lối qua trống 1,5 giây"),
    ("entry loop clear; path clear 1.5s", "vòng từ vào trống; lối qua trống 1,5 giây"),
    ("securing: path clear 1.5s", "đóng để bảo đảm an toàn: lối qua trống 1,5 giây"),
    ("obstruction while closing", "có vật cản khi barie đang hạ"),
    ("barrier down limit", "barie đã hạ hết"),
    ("rejected vehicle backed out", "xe bị từ chối đã lùi ra"),
    ("entry loop cleared: vehicle left", "vòng từ vào trống: xe đã rời đi"),
    ("link lost: timed out", "mất kết nối bộ điều khiển: timed out"),
    ("startup: barrier down", "khởi động: barie đang hạ"),
    (
        "recovered (2 detector activations counted while the link was down): barrier not down; "
        "cleared transaction resumes",
        "đã khôi phục (2 lần cảm biến tác động khi mất kết nối): barie chưa hạ; giao dịch đã được cho qua "
        "tiếp tục",
    ),
    (
        "recovered: barrier not down; securing, closes once the path is clear",
        "đã khôi phục: barie chưa hạ; đóng để bảo đảm an toàn khi lối qua trống",
    ),
    ("daemon restarted", "chương trình khởi động lại"),
]


@pytest.mark.parametrize(("cause", "vi"), CAUSES)
def test_each_lane_cause_is_said_in_vietnamese(cause: str, vi: str) -> None:
    assert known_cause(cause)
    assert translate_cause(cause, "vi") == vi


def test_english_numbers_get_thousands_separators_and_unknown_causes_stay_as_written() -> None:
    assert translate_cause("stable weight 32480 kg", "en") == "stable weight 32,480 kg"
    assert translate_cause("a cause from a newer lane", "vi") == "a cause from a newer lane"
    assert not known_cause("a cause from a newer lane; identified")


def _record(
    status: TxStatus, result: TxResult | None, outcome: Outcome | None = Outcome.HOLD, **kw: object
) -> TransactionRecord:
    fields: dict[str, object] = {
        "id": "tx", "lane_id": "lane-1", "started_at": T, "ended_at": T, "state": "IDLE", "status": status,
        "plate": "51C10001", "plate_confidence": 0.9, "containers": (), "gross_kg": 28_000.0,
        "outcome": outcome, "reasons": (), "declaration_number": "D1", "decided_at": T, "officer": None,
        "note": None, "result": result,
    }  # fmt: skip
    return TransactionRecord(**{**fields, **kw})  # type: ignore[arg-type]


def _audit(*actions: tuple[str, str]) -> list[AuditRecord]:
    return [
        AuditRecord(i, T, actor, action, "tx", "why", None, None, "0", "0")
        for i, (actor, action) in enumerate(actions, 1)
    ]


@pytest.mark.parametrize(
    ("record", "audit", "told"),
    [
        (_record(TxStatus.COMPLETED, TxResult.PASSED, Outcome.PASS), [], (Ending.PASSED, "automatic", None)),
        (
            _record(TxStatus.COMPLETED, TxResult.PASSED),
            _audit(("olga", "correct_read"), ("sam", "approve")),
            (Ending.PASSED_BY_OFFICER, "officer", "sam"),
        ),
        (
            _record(TxStatus.COMPLETED, TxResult.PASSED),
            _audit(("sam", "manual_open")),
            (Ending.OPENED_BY_HAND, "officer", "sam"),
        ),
        (_record(TxStatus.COMPLETED, TxResult.ABORTED), [], (Ending.ABORTED, "automatic", None)),
        (
            _record(TxStatus.COMPLETED, TxResult.ABORTED),
            _audit(("sam", "manual_open")),
            (Ending.ABORTED, "officer", "sam"),
        ),
        (
            _record(TxStatus.COMPLETED, TxResult.UNCONFIRMED, Outcome.PASS),
            [],
            (Ending.UNCONFIRMED, "automatic", None),
        ),
        (
            _record(TxStatus.COMPLETED, TxResult.REJECTED),
            _audit(("olga", "reject")),
            (Ending.REJECTED, "officer", "olga"),
        ),
        (_record(TxStatus.COMPLETED, TxResult.LEFT, None), [], (Ending.TURNED_BACK, "none", None)),
        (_record(TxStatus.OPEN, None, None), [], (Ending.IN_PROGRESS, "none", None)),
        (_record(TxStatus.INTERRUPTED, None), [], (Ending.INTERRUPTED, "automatic", None)),
        # Rows completed before the result was kept: told from the exits and the audit, or said unknown.
        (
            _record(TxStatus.COMPLETED, None, exits=(("D1", ""),)),
            _audit(("olga", "approve")),
            (Ending.PASSED_BY_OFFICER, "officer", "olga"),
        ),
        (_record(TxStatus.COMPLETED, None), _audit(("olga", "reject")), (Ending.REJECTED, "officer", "olga")),
        (_record(TxStatus.COMPLETED, None), [], (Ending.UNKNOWN, "automatic", None)),
    ],
)
def test_how_a_transaction_ended_and_who_decided(
    record: TransactionRecord, audit: list[AuditRecord], told: tuple[Ending, str, str | None]
) -> None:
    result = tell(record, audit)
    assert (result.ending, result.decided_by, result.officer) == told
