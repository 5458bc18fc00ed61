"""A transition's cause in the officer's language: the lane writes its causes in English, the screen may not.

The lane (edge/lane_*.py) joins the parts of a cause with "; " and puts numbers and names into them. Each part
is matched against the forms below and written again in Vietnamese or English, numbers in the language's
style (32.480 kg / 32,480 kg). An officer's own words (a reason, a device's detail) stay as they were typed.
A part this module does not know is kept as written, in English: the officer still reads the fact.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final

from edge.kiosk.i18n import Language
from edge.reasons import kg, kg_vi

Words = dict[str, str]
"""A part's named values: numbers as written by the lane, names and free text as they were."""


@dataclass(frozen=True)
class _Form:
    pattern: re.Pattern[str]
    vi: str
    en: str


def _form(pattern: str, vi: str, en: str) -> _Form:
    return _Form(re.compile(pattern + r"\Z", re.DOTALL), vi, en)


_NUM = r"(?P<{}>[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"
_OUTCOME_VI: Final = {"PASS": "CHO QUA", "HOLD": "TẠM GIỮ", "REJECT": "TỪ CHỐI"}

# Whole causes that carry an officer's words (which may hold "; " themselves): matched before splitting.
_WHOLE: Final[tuple[_Form, ...]] = (
    _form(r"corrected by (?P<officer>.+?): inspection done: (?P<text>.*)",
          "{officer} đã kiểm tra thực tế: {text}", "inspection done by {officer}: {text}"),
    _form(r"corrected by (?P<officer>.+?): (?P<text>.*)", "{officer} sửa kết quả đọc: {text}",
          "corrected by {officer}: {text}"),
    _form(r"approved by (?P<officer>.+?): (?P<text>.*)", "{officer} cho qua: {text}",
          "approved by {officer}: {text}"),
    _form(r"manual open by (?P<officer>.+?): (?P<text>.*)", "{officer} mở barie thủ công: {text}",
          "opened by hand by {officer}: {text}"),
)  # fmt: skip

_PARTS: Final[tuple[_Form, ...]] = (
    _form(r"entry loop occupied", "xe vào vòng từ", "entry loop occupied"),
    _form(r"entry loop held " + _NUM.format("s") + "s", "xe dừng trên vòng từ {s} giây",
          "entry loop held {s} s"),
    _form(r"entry loop cleared: vehicle left", "vòng từ vào trống: xe đã rời đi",
          "entry loop cleared: vehicle left"),
    _form(r"entry loop clear", "vòng từ vào trống", "entry loop clear"),
    _form(r"rejected vehicle backed out", "xe bị từ chối đã lùi ra", "rejected vehicle backed out"),
    _form(r"identified", "đã nhận dạng", "identified"),
    _form(r"identification timeout: no read", "hết thời gian nhận dạng: không đọc được",
          "identification timeout: no read"),
    _form(r"weight already stable", "số cân đã ổn định", "weight already stable"),
    _form(r"weight not required", "không yêu cầu cân", "weight not required"),
    _form(r"scale faulted", "trạm cân lỗi", "scale faulted"),
    _form(r"scale fault: (?P<text>.*)", "trạm cân lỗi: {text}", "scale fault: {text}"),
    _form(r"stable weight " + _NUM.format("kg") + " kg", "số cân ổn định {kg} kg", "stable weight {kg} kg"),
    _form(r"no stable weight within " + _NUM.format("s") + "s", "không có số cân ổn định trong {s} giây",
          "no stable weight within {s} s"),
    _form(r"decision (?P<outcome>PASS|HOLD|REJECT)", "quyết định {outcome}", "decision {outcome}"),
    _form(r"no decision within " + _NUM.format("s") + "s", "không có quyết định trong {s} giây",
          "no decision within {s} s"),
    _form(r"barrier up limit", "barie đã lên hết", "barrier fully up"),
    _form(r"barrier down limit", "barie đã hạ hết", "barrier fully down"),
    _form(r"barrier not up within " + _NUM.format("s") + "s", "barie không lên hết trong {s} giây",
          "barrier not up within {s} s"),
    _form(r"barrier not down within " + _NUM.format("s") + "s", "barie không hạ hết trong {s} giây",
          "barrier not down within {s} s"),
    _form(r"securing: path clear " + _NUM.format("s") + "s",
          "đóng để bảo đảm an toàn: lối qua trống {s} giây", "securing: path clear {s} s"),
    _form(r"vehicle crossed", "xe đã qua", "vehicle crossed"),
    _form(r"path clear " + _NUM.format("s") + "s", "lối qua trống {s} giây", "path clear {s} s"),
    _form(r"obstruction while closing", "có vật cản khi barie đang hạ", "obstruction while closing"),
    _form(r"link lost: (?P<text>.*)", "mất kết nối bộ điều khiển: {text}", "controller link lost: {text}"),
    _form(r"(?P<when>recovered|startup)(?: \(" + _NUM.format("n") + r" detector activations counted while the"
          r" link was down\))?: barrier (?P<down>down|not down)",
          "{when}{counted}: barie {down}", "{when}{counted}: barrier {down}"),
    _form(r"cleared transaction resumes", "giao dịch đã được cho qua tiếp tục",
          "cleared transaction resumes"),
    _form(r"securing, closes once the path is clear", "đóng để bảo đảm an toàn khi lối qua trống",
          "securing, closes once the path is clear"),
    _form(r"daemon restarted", "chương trình khởi động lại", "daemon restarted"),
    _form(r"restart", "khởi động lại", "restart"),
)  # fmt: skip

_WORDS_VI: Final = {
    "recovered": "đã khôi phục",
    "startup": "khởi động",
    "down": "đang hạ",
    "not down": "chưa hạ",
}


def _number(text: str, language: Language) -> str:
    value = float(text)
    if not math.isfinite(value):
        return text
    return kg_vi(value) if language == "vi" else kg(value)


def _fill(form: _Form, found: re.Match[str], language: Language) -> str:
    values: Words = {k: v for k, v in found.groupdict().items() if v is not None}
    for name in ("s", "kg", "n"):
        if name in values:
            values[name] = _number(values[name], language)
    if "outcome" in values and language == "vi":
        values["outcome"] = _OUTCOME_VI[values["outcome"]]
    if "when" in values:
        counted = ""
        if "n" in values:
            counted = (
                f" ({values['n']} lần cảm biến tác động khi mất kết nối)"
                if language == "vi"
                else f" ({values['n']} detector activations counted while the link was down)"
            )
        values["counted"] = counted
        if language == "vi":
            values["when"], values["down"] = _WORDS_VI[values["when"]], _WORDS_VI[values["down"]]
    return (form.vi if language == "vi" else form.en).format_map(values)


def _first(forms: tuple[_Form, ...], text: str, language: Language) -> str | None:
    for form in forms:
        found = form.pattern.match(text)
        if found is not None:
            return _fill(form, found, language)
    return None


def _part(text: str, language: Language) -> str:
    said = _first(_PARTS, text, language)
    return text if said is None else said


def translate_cause(cause: str, language: Language) -> str:
    """`cause` as the lane wrote it, said in `language`; unknown parts stay as written."""
    whole = _first(_WHOLE, cause, language)
    if whole is not None:
        return whole
    return "; ".join(_part(part, language) for part in cause.split("; "))


def known_cause(cause: str) -> bool:
    """Every part of `cause` has a form here (the tests hold the lane's causes to it)."""
    if _first(_WHOLE, cause, "en") is not None:
        return True
    return all(_first(_PARTS, part, "en") is not None for part in cause.split("; "))
