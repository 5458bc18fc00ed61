"""Why a vehicle is held or turned back: the reasons, and each reason's sentence for one vehicle.

Every sentence is written in English, for the record and the central office, and in Vietnamese, for the
officer at the kiosk; both from the same facts, so the two never disagree. The Vietnamese wording is to
be reviewed by the customs office for its usual terms. Numbers are written each language's way: a
weight of 35,000.5 kg is `35,000.5` in English and `35.000,5` in Vietnamese, a confidence `0.40` and
`0,40`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from vision import iso6346
from vision.iso6346 import normalise as normalise_container


class Reason(StrEnum):
    NO_DECLARATION = "no_declaration"
    NOT_CLEARED = "not_cleared"
    RED_NOT_INSPECTED = "red_not_inspected"
    CONTAINER_MISMATCH = "container_mismatch"
    WEIGHT_OUT_OF_TOLERANCE = "weight_out_of_tolerance"
    ALREADY_EXITED = "already_exited"
    EXIT_UNCONFIRMED = "exit_unconfirmed"
    EXPIRED = "expired"
    WATCHLISTED = "watchlisted"
    LOW_CONFIDENCE = "low_confidence"
    NO_STABLE_WEIGHT = "no_stable_weight"
    NOT_RECORDED = "not_recorded"


REASON_TEXT: dict[Reason, str] = {
    Reason.NO_DECLARATION: "No cleared declaration found for this vehicle",
    Reason.NOT_CLEARED: "Declaration is not cleared",
    Reason.RED_NOT_INSPECTED: "Red channel: physical inspection not done",
    Reason.CONTAINER_MISMATCH: "Containers do not match the declaration",
    Reason.WEIGHT_OUT_OF_TOLERANCE: "Weight is outside the declared tolerance",
    Reason.ALREADY_EXITED: "Already exited under this declaration",
    Reason.EXIT_UNCONFIRMED: "A passage under this declaration could not be confirmed",
    Reason.EXPIRED: "Declaration is not valid at this time",
    Reason.WATCHLISTED: "Vehicle is on the watchlist",
    Reason.LOW_CONFIDENCE: "Camera read is uncertain",
    Reason.NO_STABLE_WEIGHT: "No stable weight from the weighbridge",
    Reason.NOT_RECORDED: "The decision could not be recorded",
}

REASON_TEXT_VI: dict[Reason, str] = {
    Reason.NO_DECLARATION: "Không tìm thấy tờ khai đã thông quan cho phương tiện này",
    Reason.NOT_CLEARED: "Tờ khai chưa được thông quan",
    Reason.RED_NOT_INSPECTED: "Luồng đỏ: chưa kiểm tra thực tế hàng hóa",
    Reason.CONTAINER_MISMATCH: "Số container không khớp với tờ khai",
    Reason.WEIGHT_OUT_OF_TOLERANCE: "Trọng lượng cân vượt quá sai số cho phép so với tờ khai",
    Reason.ALREADY_EXITED: "Đã qua cổng theo tờ khai này",
    Reason.EXIT_UNCONFIRMED: "Không xác nhận được lượt qua cổng trước đó theo tờ khai này",
    Reason.EXPIRED: "Tờ khai không còn hiệu lực tại thời điểm này",
    Reason.WATCHLISTED: "Phương tiện nằm trong danh sách theo dõi",
    Reason.LOW_CONFIDENCE: "Kết quả nhận dạng của camera không chắc chắn",
    Reason.NO_STABLE_WEIGHT: "Chưa có số cân ổn định từ trạm cân",
    Reason.NOT_RECORDED: "Không lưu được quyết định",
}

_STATUS_VI = {
    "cleared": "đã thông quan",
    "pending": "đang chờ thông quan",
    "revoked": "đã bị hủy thông quan",
    "rejected": "đã bị từ chối",
}


@dataclass(frozen=True, slots=True)
class Detail:
    """One reason's sentence for one vehicle: English for the record, Vietnamese for the kiosk."""

    en: str
    vi: str


def no_plate() -> Detail:
    return Detail("No usable plate was read", "Không đọc được biển số nào dùng được")


def no_declaration(plate: str) -> Detail:
    return Detail(
        f"No cached declaration lists plate {plate}",
        f"Không có tờ khai nào trong dữ liệu tại cổng ghi biển số {plate}",
    )


def watchlisted(plate: str) -> Detail:
    return Detail(f"Plate {plate} is on the watchlist", f"Biển số {plate} nằm trong danh sách theo dõi")


def not_valid(what: str, text: str) -> Detail:
    """`what`: plate or container."""
    if what == "plate":
        return Detail(f"plate {text!r} is not a valid plate number", f"biển số {text!r} không hợp lệ")
    return Detail(
        f"container {text!r} is not a valid container number", f"số container {text!r} không hợp lệ"
    )


def bad_check_digit(text: str, digit: str, expected: int) -> Detail:
    """A container number of the right shape whose check digit is not the one its first ten give."""
    return Detail(
        f"container {text!r} has check digit {digit}, its number gives {expected}",
        f"số container {text!r} có chữ số kiểm tra {digit}, đúng ra phải là {expected}",
    )


def container_fault(text: str) -> Detail:
    """A container number whose check fails: its check digit and the right one when it has a container
    number's shape (3 letters, U, J or Z, 7 digits), else that it is none."""
    number = normalise_container(text)
    if _CONTAINER_SHAPE.fullmatch(number):
        return bad_check_digit(number, number[10], iso6346.check_digit(number[:10]))
    return not_valid("container", text)


_CONTAINER_SHAPE = re.compile(r"[A-Z]{3}[UJZ][0-9]{7}")


def too_few_frames(what: str, text: str) -> Detail:
    """A read whose text is valid (a plate's form, a right check digit) seen in fewer frames than the
    lane requires to confirm it: not a misread, not yet a read."""
    name_vi = "biển số" if what == "plate" else "số container"
    return Detail(
        f"{what} {text!r} was read in fewer frames than required to confirm it",
        f"{name_vi} {text!r} được đọc ở ít khung hình hơn số cần để xác nhận",
    )


def plate_unconfirmed(text: str, grammar: str) -> Detail:
    """A plate read of a form the lane expects, at a good confidence, that its grammar still did not
    accept: a look-alike character (O or 0) or a form two countries' plates share."""
    return Detail(
        f"plate {text!r} has the form of a {grammar} plate but was not confirmed as one (a character that"
        " looks like another, or a form of two countries' plates)",
        f"biển số {text!r} có dạng biển số {grammar} nhưng chưa được xác nhận (có ký tự dễ nhầm với ký"
        " tự khác, hoặc dạng biển số của hai nước)",
    )


def unsure(what: str, text: str, confidence: float, minimum: float) -> Detail:
    """`what`: plate or container."""
    name_vi = "biển số" if what == "plate" else "số container"
    got, least = f"{confidence:.2f}", f"{minimum:.2f}"
    return Detail(
        f"{what} {text!r} read at confidence {got}, below {least}",
        f"{name_vi} {text!r} đọc với độ tin cậy {_vi(got)}, dưới ngưỡng {_vi(least)}",
    )


def uncertain(doubts: Sequence[Detail]) -> Detail:
    return Detail(
        "Uncertain reads: " + "; ".join(d.en for d in doubts),
        "Kết quả đọc không chắc chắn: " + "; ".join(d.vi for d in doubts),
    )


def not_cleared(number: str, status: str) -> Detail:
    vi = _STATUS_VI.get(status, f"ở trạng thái {status}")
    return Detail(f"Declaration {number} is {status}, not cleared", f"Tờ khai {number} {vi}")


def red_not_inspected(number: str) -> Detail:
    return Detail(
        f"Declaration {number} is red channel and its inspection is not recorded as done",
        f"Tờ khai {number} thuộc luồng đỏ, chưa ghi nhận đã kiểm tra thực tế hàng hóa",
    )


def containers_differ(
    number: str,
    missing: Sequence[str],
    extra: Sequence[str],
    invalid: Sequence[str],
    unconfirmed: Sequence[str] = (),
    weak: Sequence[str] = (),
) -> Detail:
    """`missing`: declared and not read at all; `invalid`: reads whose check digit fails; `unconfirmed`:
    right check digit, read in fewer frames than required; `weak`: right check digit, read with low
    confidence. A number is in one list only, so no sentence contradicts another."""
    en, vi = [], []
    if missing:
        en.append("declared but not read: " + ", ".join(missing))
        vi.append("khai báo nhưng không đọc được: " + ", ".join(missing))
    if extra:
        en.append("read but not declared: " + ", ".join(extra))
        vi.append("đọc được nhưng không có trong tờ khai: " + ", ".join(extra))
    if unconfirmed:
        en.append("read in fewer frames than required to confirm: " + ", ".join(unconfirmed))
        vi.append("đọc được ở ít khung hình hơn số cần để xác nhận: " + ", ".join(unconfirmed))
    if weak:
        en.append("read with low confidence: " + ", ".join(weak))
        vi.append("đọc được nhưng độ tin cậy thấp: " + ", ".join(weak))
    if invalid:
        en.append("read with an invalid check digit: " + ", ".join(invalid))
        vi.append("đọc được nhưng sai chữ số kiểm tra: " + ", ".join(invalid))
    return Detail(
        f"Containers differ from declaration {number}: " + "; ".join(en),
        f"Container không khớp với tờ khai {number}: " + "; ".join(vi),
    )


def no_stable_weight(number: str, declared_kg: float) -> Detail:
    return Detail(
        f"No stable weight; declaration {number} declares {kg(declared_kg)} kg",
        f"Chưa có số cân ổn định; tờ khai {number} khai báo {kg_vi(declared_kg)} kg",
    )


def weight_out_of_tolerance(weight_kg: float, declared_kg: float, allowed_kg: float) -> Detail:
    return Detail(
        f"Measured {kg(weight_kg)} kg is outside {kg(declared_kg)} kg ± {kg(allowed_kg)} kg",
        f"Số cân {kg_vi(weight_kg)} kg nằm ngoài {kg_vi(declared_kg)} kg ± {kg_vi(allowed_kg)} kg",
    )


def already_exited(number: str, containers: Sequence[str]) -> Detail:
    return Detail(
        f"Already exited under declaration {number}: container {', '.join(containers)}",
        f"Đã qua cổng theo tờ khai {number}: container {', '.join(containers)}",
    )


def already_exited_without_containers(number: str) -> Detail:
    return Detail(
        f"Declaration {number} (no containers) has already been used to exit",
        f"Tờ khai {number} (không có container) đã được dùng để qua cổng",
    )


def exit_unconfirmed(number: str, containers: Sequence[str]) -> Detail:
    """An earlier passage under the declaration happened while the lane could not watch the barrier."""
    what = f"container {', '.join(containers)}" if containers else "the vehicle (no containers)"
    what_vi = f"container {', '.join(containers)}" if containers else "phương tiện (không có container)"
    return Detail(
        f"Declaration {number}: {what} may already have exited; the barrier was open while the lane"
        " controller could not be read, so the earlier passage is unconfirmed",
        f"Tờ khai {number}: {what_vi} có thể đã qua cổng; barie mở trong lúc mất kết nối với bộ điều khiển"
        " làn, nên lượt qua cổng trước đó chưa được xác nhận",
    )


def expired(number: str, valid_from: datetime, valid_until: datetime, now: datetime) -> Detail:
    span = (when(valid_from), when(valid_until), when(now))
    return Detail(
        f"Declaration {number} is valid from {span[0]} to {span[1]}; now is {span[2]}",
        f"Tờ khai {number} có hiệu lực từ {span[0]} đến {span[1]}; hiện tại là {span[2]}",
    )


def not_recorded(error: str) -> Detail:
    """The lane's store refused the decision's record: no vehicle passes on a decision left unrecorded."""
    return Detail(
        f"The decision could not be recorded ({error}); the vehicle waits for an officer",
        f"Không lưu được quyết định ({error}); phương tiện chờ cán bộ hải quan xử lý",
    )


def kg(value: float) -> str:
    """A weight as written on the screen: whole kilograms without decimals, thousands separated."""
    if math.isfinite(value) and value == round(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def kg_vi(value: float) -> str:
    """The same weight written the Vietnamese way: `.` between thousands, `,` before decimals."""
    return _vi(kg(value))


def _vi(number: str) -> str:
    return number.translate(_SWAP_MARKS)


_SWAP_MARKS = str.maketrans({",": ".", ".": ","})


def when(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="minutes")


def plate_not_readable(text: str) -> Detail:
    """A plate read that is none of the plate forms the lane reads: most often a plate written in a script
    the cameras' readers do not know (Lao), read as look-alike Latin letters; or a misread."""
    return Detail(
        f"plate {text!r} matches none of the plate forms this lane expects: check the plate by eye (a plate"
        " in Lao or any script other than Latin and Chinese cannot be read by the cameras)",
        f"biển số {text!r} không khớp dạng biển số nào mà làn này chờ đợi: cần kiểm tra biển số bằng mắt"
        " (camera không đọc được biển số viết bằng chữ Lào hay chữ nào khác ngoài chữ Latinh và chữ Hán)",
    )
