"""Every alarm code, lane fault and refusal an officer can meet has words in Vietnamese and English.

Table tests pin the words of today's codes; scans read the code that raises them (the lane's and the
store's `alarm(...)` calls, the uplink's alarms, the lane's fault causes, the store's fault sentences,
the kiosk's and the officer desk's refusals) and fail when a new one reaches the screen without words,
as tests/kiosk/test_history_words.py does for the lane's causes.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import edge
import sync
import webauth
from edge.kiosk import device_faults
from edge.kiosk.device_faults import fault_kind
from edge.kiosk.i18n import strings
from edge.kiosk.refusals import refusal_key, refusal_words
from sync.health import BACKLOG_ALARM
from sync.supervisor import alarm_code

EDGE = Path(edge.__file__).parent
SYNC = Path(sync.__file__).parent
WEBAUTH = Path(webauth.__file__).parent
VI, EN = strings("vi"), strings("en")

# A placeholder's sample value by the name it fills; any other name reads "1".
SAMPLES = {"direction": "up", "role": "viewer", "exc": "timed out"}


def _sample(node: ast.expr) -> str:
    """A string literal, or an f-string filled with sample values."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    assert isinstance(node, ast.JoinedStr), ast.dump(node)
    parts = []
    for part in node.values:
        if isinstance(part, ast.Constant):
            parts.append(str(part.value))
        else:
            assert isinstance(part, ast.FormattedValue)
            name = ast.unparse(part.value).split(".")[-1]
            parts.append(SAMPLES.get(name, "1"))
    return "".join(parts)


def _texts(node: ast.expr) -> list[str]:
    """Each text `node` can be: both branches of an f-string's `'a' if ... else 'b'` are expanded."""
    if isinstance(node, ast.JoinedStr):
        for i, part in enumerate(node.values):
            if isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.IfExp):
                branches = (part.value.body, part.value.orelse)
                return [
                    text
                    for branch in branches
                    for text in _texts(ast.JoinedStr([*node.values[:i], branch, *node.values[i + 1 :]]))
                ]
    return [_sample(node)]


def _literal(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def _calls(path: Path) -> Iterator[ast.Call]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            yield node


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


# --- alarms ---------------------------------------------------------------------------------------


def lane_alarm_codes() -> set[str]:
    """Codes of the lane's `lane.alarm(code, ...)` and the store's `r.alarm(tx_id, code, ...)` calls."""
    codes = set()
    for path in EDGE.glob("*.py"):
        for call in _calls(path):
            if _name(call) != "alarm" or not call.args:
                continue
            literal = [a for a in call.args[:2] if _literal(a)]
            if literal:  # a call that only passes a code on (message.code) raises none of its own
                codes.update(_texts(literal[0]))
    return codes


def sync_alarm_codes() -> set[str]:
    """The backlog alarm, the codes SyncService.alarms adds, and one per supervised task."""
    codes = {BACKLOG_ALARM}
    for call in _calls(SYNC / "service.py"):
        first = call.args[0] if call.args else None
        if first is None or not _literal(first):
            continue
        if _name(call) == "add" and ast.unparse(call.func).startswith("found."):
            codes.add(_sample(first))
        if _name(call) == "supervised" or ast.unparse(call.func) == "self.supervisor.run":
            codes.add(alarm_code(_sample(first)))
    return codes


def test_the_scans_find_todays_codes() -> None:
    assert {
        "link_lost",
        "pass_timeout",
        "barrier_open_timeout",
        "barrier_close_timeout",
    } <= lane_alarm_codes()
    assert {"storage_low", "store_write_failed", "decision_not_recorded"} <= lane_alarm_codes()
    assert {
        "outbox_backlog",
        "broker_refused",
        "inbound_restarted",
        "drainer_restarted",
    } <= sync_alarm_codes()


@pytest.mark.parametrize("code", sorted(lane_alarm_codes()))
def test_each_lane_alarm_code_has_words(code: str) -> None:
    assert f"alarm_{code}" in VI, f"{code}: add alarm_{code} to edge/kiosk/i18n.py"
    assert VI[f"alarm_{code}"] != EN[f"alarm_{code}"]


@pytest.mark.parametrize("code", sorted(sync_alarm_codes()))
def test_each_sync_alarm_code_has_words(code: str) -> None:
    assert f"sync_alarm_{code}" in VI, f"{code}: add sync_alarm_{code} to edge/kiosk/i18n.py"
    assert VI[f"sync_alarm_{code}"] != EN[f"sync_alarm_{code}"]


@pytest.mark.parametrize(
    ("key", "vi", "en"),
    [
        (
            "sync_alarm_outbox_backlog",
            "Quá nhiều sự kiện chờ gửi về trung tâm",
            "Too many events waiting to be sent to central",
        ),
        ("sync_alarm_broker_refused", "Trung tâm từ chối kết nối", "Central's broker refuses the connection"),
        (
            "sync_alarm_inbound_restarted",
            "Việc nhận tin từ trung tâm bị lỗi và đã khởi động lại",
            "Receiving from central failed and was restarted",
        ),
        ("alarm_storage_low", "Sắp hết dung lượng lưu trữ tại làn", "Lane store disk space low"),
        ("alarm_store_write_failed", "Không ghi được dữ liệu tại làn", "Lane store refuses writes"),
    ],
)
def test_alarm_words(key: str, vi: str, en: str) -> None:
    assert (VI[key], EN[key]) == (vi, en)


# --- faults ---------------------------------------------------------------------------------------


def lane_fault_words() -> list[str]:
    """The lane's fault causes (`enter_fault(...)`, a literal or the f-string assigned to the name passed)
    and what edge/lane.py's `fault` property says while the link is down."""
    found: list[str] = []
    for path in EDGE.glob("lane*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            assigned = {
                target.id: node.value
                for node in ast.walk(function)
                if isinstance(node, ast.Assign)
                for target in node.targets
                if isinstance(target, ast.Name) and _literal(node.value)
            }
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and _name(node) == "enter_fault" and node.args:
                    cause = node.args[0]
                    if isinstance(cause, ast.Name):
                        cause = assigned[cause.id]
                    found.extend(_texts(cause))
                returned = node.value if isinstance(node, ast.Return) else None
                if function.name == "fault" and returned is not None and _literal(returned):
                    found.extend(_texts(returned))
    return found


def store_fault_words() -> list[str]:
    """The sentences edge/storage_health.py's `fault()` joins."""
    return [
        text
        for call in _calls(EDGE / "storage_health.py")
        if _name(call) == "append" and call.args and _literal(call.args[0])
        for text in _texts(call.args[0])
    ]


def test_the_fault_scans_find_todays_words() -> None:
    assert {"link lost: 1", "link down: 1", "barrier not up within 1s"} <= set(lane_fault_words())
    assert "free space unknown: 1" in store_fault_words()


@pytest.mark.parametrize("words", lane_fault_words() + store_fault_words())
def test_each_lane_and_store_fault_has_a_known_kind(words: str) -> None:
    assert fault_kind(words) != "other", f"{words!r}: give it a kind in edge/kiosk/device_faults.py"


@pytest.mark.parametrize(
    ("words", "kind"),
    [
        ("link down: connection to 10.0.0.5:502 lost", "link_lost"),
        ("link lost: timed out", "link_lost"),
        ("barrier not down within 8s", "barrier_timeout"),
        ("free space unknown: [Errno 13] Permission denied", "space_unknown"),
        ("free space 120 MB, below 500 MB", "space_low"),
        ("writes failing (database is locked); 4 records wait in memory", "writes_failing"),
    ],
)
def test_fault_kinds(words: str, kind: str) -> None:
    assert fault_kind(words) == kind


def test_every_fault_kind_has_words() -> None:
    kinds = [kind for kind, _ in device_faults._KINDS]
    missing = [kind for kind in kinds if f"fault_{kind}" not in VI]
    assert not missing, f"add fault_<kind> to edge/kiosk/i18n.py for {missing}"


# --- refusals -------------------------------------------------------------------------------------

REFUSERS = ("refuse", "ActionRefused", "LaneNotHolding", "HTTPException", "__init__")  # __init__: a subclass


def refusal_sentences() -> list[tuple[str, str]]:
    """(where, sentence) of each refusal the kiosk, its web security (webauth) and the officer desk write:
    the detail of `refuse`, `ActionRefused`, `HTTPException` and `LaneNotHolding` (a literal, or a module's
    constant named), and the manual open refusals."""
    paths = [
        *sorted((EDGE / "kiosk").glob("*.py")),
        *sorted(WEBAUTH.glob("*.py")),
        EDGE / "officer.py",
        EDGE / "lane_status.py",
    ]
    found: list[tuple[str, str]] = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            target.id: node.value
            for node in tree.body
            if isinstance(node, ast.Assign) and _literal(node.value)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            detail: ast.expr | None = None
            if isinstance(node, ast.Call) and _name(node) in REFUSERS:
                detail = next((k.value for k in node.keywords if k.arg == "detail"), None)
                if detail is None and node.args:
                    detail = node.args[-1] if _name(node) != "LaneNotHolding" else node.args[0]
                if isinstance(detail, ast.Name) and detail.id in constants:
                    detail = constants[detail.id]
            if isinstance(node, ast.FunctionDef) and node.name.endswith("open_refusal"):
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return) and ret.value is not None and _literal(ret.value):
                        found.extend((f"{path.name}:{ret.lineno}", t) for t in _texts(ret.value))
            if detail is not None and _literal(detail):
                found.extend((f"{path.name}:{node.lineno}", t) for t in _texts(detail))  # type: ignore[attr-defined]
    return found


def test_the_refusal_scan_finds_todays_sentences() -> None:
    sentences = {text for _, text in refusal_sentences()}
    assert {"no vehicle is held at the lane", "no held vehicle", "the barrier is already open"} <= sentences
    assert "role viewer may not do this" in sentences
    assert {"not logged in, or the session expired", "cross-site request refused"} <= sentences
    assert "request body over the 1-byte limit" in sentences


# Sentences the screen never shows as they are: CorrectionNeedsSupervisor's f"{exc.en} / {exc.vi}" says
# both itself; a 401 shows the login with "session expired"; a 413 no screen form can cause.
NOT_SHOWN = ("1 / 1", "not logged in, or the session expired", "request body over the 1-byte limit")


@pytest.mark.parametrize(("where", "sentence"), refusal_sentences())
def test_each_refusal_has_words_in_both_languages(where: str, sentence: str) -> None:
    if sentence in NOT_SHOWN:
        assert refusal_words(sentence) is None  # answered as before: {"detail": ...} alone
        return
    words = refusal_words(sentence)
    assert words is not None, f"{where}: {sentence!r} has no form in edge/kiosk/refusals.py"
    assert words["vi"] != words["en"]


@pytest.mark.parametrize(
    ("detail", "vi", "en"),
    [
        (
            "no vehicle is held at the lane",
            "Không có xe nào đang bị tạm giữ tại làn",
            "No vehicle is held at the lane",
        ),
        (
            "role viewer may not do this",
            "Vai trò Chỉ xem không được làm việc này",
            "Role Viewer may not do this",
        ),
        (
            "already rejected by olga: it must back out",
            "olga đã từ chối xe này: xe phải lùi ra",
            "Already rejected by olga: it must back out",
        ),
        (
            "the store cannot record this action now (disk I/O error); try again",
            "Chưa ghi được thao tác vào dữ liệu (disk I/O error): thử lại",
            "The store cannot record this action now (disk I/O error): try again",
        ),
    ],
)
def test_refusal_words(detail: str, vi: str, en: str) -> None:
    assert refusal_words(detail) == {"vi": vi, "en": en}


def test_an_unknown_refusal_has_no_words() -> None:
    assert refusal_key("a sentence from a newer release") is None
    assert refusal_words("no vehicle is held at the lane, or so") is None
