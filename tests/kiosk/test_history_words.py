"""Table tests: every cause the lane writes is said in both languages, and how a transaction's end is told."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

import edge
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
        (
            _record(TxStatus.COMPLETED, TxResult.PASSED, officer="central-kim"),
            [],
            (Ending.PASSED_BY_OFFICER, "officer", "central-kim"),
        ),
    ],
)
def test_how_a_transaction_ended_and_who_decided(
    record: TransactionRecord, audit: list[AuditRecord], told: tuple[Ending, str, str | None]
) -> None:
    result = tell(record, audit)
    assert (result.ending, result.decided_by, result.officer) == told


# The lane's calls that write a transition's cause, and which argument holds it.
_CAUSE_ARG = {"go": 1, "to_idle": 0, "open": 0, "decide": 0, "enter_fault": 0, "_hold": 1, "_close": 1}
_CAUSE_ARG["_after_identification"] = 1
# What an f-string's placeholder stands for, by the words in its expression.
_SAMPLES = [("officer", "olga"), ("reason", "checked by eye"), ("detail", "timed out"), ("kg", "32480")]
_SAMPLES += [("outcome", "HOLD"), ("prefix", "recovered"), ("cause", "identified"), ("_s", "1.5")]
_SAMPLES += [("why", "vehicle crossed"), ("direction", "up"), ("timeouts", "8")]
# Names the handlers put a cause in before passing it on: what is assigned to them is a cause too.
_CAUSE_NAMES = {"cause", "why", "detail"}
_HANDLERS = {"lane_arrival.py", "lane_barrier.py", "lane_decision.py", "lane_recovery.py"}


def _sample(node: ast.expr) -> list[str]:
    """The texts a cause argument can take: constants as written, f-strings with sample values."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _sample(node.body) + _sample(node.orelse)
    if isinstance(node, ast.JoinedStr):
        text = ""
        for part in node.values:
            if isinstance(part, ast.Constant):
                text += str(part.value)
            elif isinstance(part, ast.FormattedValue):
                source = ast.unparse(part.value)
                text += next((value for word, value in _SAMPLES if word in source), f"<{source}>")
        return [text]
    return []  # a name: its values are written where it is set, and checked there if literal


def _lane_causes() -> list[str]:
    causes = []
    for module in sorted(Path(edge.__file__).parent.glob("lane*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and module.name in _HANDLERS:
                names = {t.id for t in node.targets if isinstance(t, ast.Name)}
                causes += _sample(node.value) if names & _CAUSE_NAMES else []
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            at = _CAUSE_ARG.get(name)
            if at is not None and len(node.args) > at:
                causes += _sample(node.args[at])
    return causes


def test_every_cause_the_lane_code_writes_has_a_form_in_both_languages() -> None:
    causes = _lane_causes()
    assert len(causes) >= 25  # the scan finds the lane's causes (it found 30 when written)
    assert [c for c in causes if not known_cause(c)] == []
