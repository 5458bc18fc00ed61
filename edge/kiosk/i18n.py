"""The screen's words in Vietnamese and English; the page picks one, the officer switches at any time.

Reason texts come from the decision module (one source for the kiosk and the records). The Vietnamese
wording is to be reviewed by the customs office for its usual terms.
"""

from __future__ import annotations

from typing import Final, Literal

from edge.decision import REASON_TEXT, REASON_TEXT_VI

Language = Literal["vi", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("vi", "en")

# key: (Vietnamese, English)
_LABELS: Final[dict[str, tuple[str, str]]] = {
    "title": ("Màn hình cổng kiểm soát", "Gate lane kiosk"),
    "lang_switch": ("English", "Tiếng Việt"),
    "user": ("Tên đăng nhập", "User name"),
    "password": ("Mật khẩu", "Password"),
    "log_in": ("Đăng nhập", "Log in"),
    "log_out": ("Đăng xuất", "Log out"),
    "login_failed": ("Sai tên đăng nhập hoặc mật khẩu", "Wrong user name or password"),
    # 429: failed logins (or too many attempts) not yet waited out; {seconds} is the answer's Retry-After.
    "login_throttled": (
        "Quá nhiều lần đăng nhập: vui lòng thử lại sau {seconds} giây",
        "Too many login attempts: try again in {seconds} s",
    ),
    "session_expired": ("Phiên làm việc đã hết hạn", "Session expired: log in again"),
    "tab_live": ("Làn xe", "Lane"),
    "tab_history": ("Lịch sử", "History"),
    "tab_health": ("Thiết bị", "Devices"),
    "connected": ("Trực tuyến", "Live"),
    "disconnected": ("Mất kết nối", "Reconnecting"),
    "lane_state": ("Trạng thái làn", "Lane state"),
    "state_IDLE": ("Chờ xe", "Waiting for a vehicle"),
    "state_ARRIVED": ("Xe đã vào", "Vehicle arrived"),
    "state_IDENTIFYING": ("Đang nhận dạng", "Identifying"),
    "state_WEIGHING": ("Đang cân", "Weighing"),
    "state_DECIDING": ("Đang xét", "Deciding"),
    "state_OPENING": ("Đang mở barie", "Opening"),
    "state_PASSING": ("Xe đang qua", "Vehicle passing"),
    "state_CLOSING": ("Đang đóng barie", "Closing"),
    "state_HOLD": ("Tạm giữ", "Held"),
    "state_FAULT": ("Lỗi thiết bị", "Fault"),
    "outcome_PASS": ("CHO QUA", "PASS"),
    "outcome_HOLD": ("TẠM GIỮ", "HOLD"),
    "outcome_REJECT": ("TỪ CHỐI", "REJECT"),
    "outcome_none": ("Chưa có quyết định", "No decision yet"),
    "officer_needed": ("Cần cán bộ quyết định", "Officer decision needed"),
    "must_back_out": ("xe phải lùi ra", "vehicle must back out"),
    "light": ("Đèn tín hiệu", "Traffic light"),
    "light_red": ("ĐỎ", "RED"),
    "light_green": ("XANH", "GREEN"),
    "barrier": ("Barie", "Barrier"),
    "barrier_up": ("Mở", "Up"),
    "barrier_down": ("Đóng", "Down"),
    "barrier_moving": ("Đang chạy", "Moving"),
    "barrier_unknown": ("Không rõ", "Unknown"),
    "entry_loop": ("Vòng từ vào", "Entry loop"),
    "exit_loop": ("Vòng từ ra", "Exit loop"),
    "photocell": ("Cảm biến quang", "Photocell"),
    "occupied": ("Có xe", "Occupied"),
    "clear": ("Trống", "Clear"),
    "no_vehicle": ("Không có xe trong làn", "No vehicle in the lane"),
    "vehicle": ("Phương tiện", "Vehicle"),
    "plate": ("Biển số", "Plate"),
    "containers": ("Số container", "Containers"),
    "weight": ("Trọng lượng", "Weight"),
    "no_weight": ("Chưa có số cân", "No stable weight"),
    "declaration": ("Tờ khai", "Declaration"),
    "none": ("Không có", "None"),
    "confidence": ("Độ tin cậy", "Confidence"),
    "valid": ("Hợp lệ", "Valid"),
    "invalid": ("Không hợp lệ", "Invalid"),
    "camera_read": ("Camera đọc", "Camera read"),
    "corrected_by": ("Đã sửa", "Corrected"),
    "decision": ("Quyết định", "Decision"),
    "reasons": ("Lý do", "Reasons"),
    "every_rule_holds": ("Đạt tất cả điều kiện", "Every rule holds"),
    "evidence": ("Ảnh bằng chứng", "Evidence"),
    "approve": ("Cho qua", "Approve"),
    "reject": ("Từ chối", "Reject"),
    "correct": ("Sửa kết quả đọc", "Correct read"),
    "inspection_done": ("Đã kiểm tra thực tế", "Inspection done"),
    "manual_open": ("Mở barie thủ công", "Open barrier by hand"),
    "reason_required": ("Lý do (bắt buộc)", "Reason (required)"),
    "reason_other": ("Lý do khác…", "Other reason…"),
    "new_plate": ("Biển số đúng", "Correct plate"),
    "new_containers": ("Số container đúng (cách nhau bởi dấu phẩy)", "Correct containers (comma separated)"),
    "confirm": ("Xác nhận", "Confirm"),
    "cancel": ("Hủy", "Cancel"),
    "done": ("Đã ghi nhận", "Recorded"),
    "refused": ("Không thực hiện được", "Refused"),
    "rejected_by": ("Đã từ chối bởi", "Rejected by"),
    "approved_by": ("Đã cho qua bởi", "Approved by"),
    "search": ("Tìm kiếm", "Search"),
    "from": ("Từ", "From"),
    "to": ("Đến", "To"),
    "results": ("Kết quả", "Results"),
    "started": ("Bắt đầu", "Started"),
    "status": ("Trạng thái", "Status"),
    "status_completed": ("Hoàn tất", "Completed"),
    "status_interrupted": ("Gián đoạn", "Interrupted"),
    "correct_read": ("Sửa kết quả đọc", "Corrected a read"),
    "timeline": ("Diễn biến", "Timeline"),
    "audit": ("Nhật ký thao tác", "Officer actions"),
    "exits": ("Lượt qua cổng đã ghi", "Exits recorded"),
    "exit_unconfirmed": ("CHƯA XÁC NHẬN", "UNCONFIRMED"),
    "exit_unconfirmed_note": (
        "Có thể đã qua cổng khi mất kết nối bộ điều khiển: tờ khai coi như đã dùng cho đến khi "
        "cán bộ xác nhận",
        "May have passed while the controller link was down: the declaration counts as used until an "
        "officer confirms",
    ),
    "no_results": ("Không tìm thấy giao dịch", "No transactions found"),
    "devices": ("Thiết bị", "Devices"),
    "io_controller": ("Bộ điều khiển I/O", "I/O controller"),
    "scale": ("Trạm cân", "Weighbridge"),
    "store": ("Lưu trữ dữ liệu tại làn", "Local store"),
    "sync": ("Đồng bộ với trung tâm", "Sync with central"),
    "broker": ("Kết nối trung tâm", "Broker connection"),
    "outbox_depth": ("Sự kiện chờ gửi", "Events waiting"),
    "oldest_pending": ("Sự kiện cũ nhất chờ", "Oldest waiting"),
    "last_clearance": ("Cập nhật thông quan gần nhất", "Last clearance update"),
    "alarms": ("Cảnh báo", "Alarms"),
    "ok": ("Tốt", "OK"),
    "down": ("Lỗi", "Down"),
    "unknown": ("Chưa rõ", "Unknown"),
    "seconds_ago": ("giây trước", "s ago"),
    "role_officer": ("Cán bộ", "Officer"),
    "role_supervisor": ("Giám sát", "Supervisor"),
    "role_viewer": ("Chỉ xem", "Viewer"),
    "view_only": ("Tài khoản chỉ xem: không thao tác được", "View-only account: no actions"),
}

# Reasons offered per action; the officer may type another. Stored as shown, in the chosen language.
_PRESETS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "approve": (
        ("Đã kiểm tra biển số bằng mắt", "Plate checked by eye"),
        ("Đã kiểm tra chứng từ tại cổng", "Documents checked at the gate"),
        ("Đã cân lại, trong sai số cho phép", "Weighed again: within tolerance"),
        ("Đã kiểm tra niêm phong container", "Container seals checked"),
    ),
    "reject": (
        ("Tờ khai không khớp với phương tiện", "Declaration does not match the vehicle"),
        ("Niêm phong bị hỏng hoặc thiếu", "Seal broken or missing"),
        ("Chuyển sang khu vực kiểm tra", "Sent to the inspection area"),
    ),
    "correct": (
        ("Camera đọc sai biển số", "Camera misread the plate"),
        ("Camera đọc sai số container", "Camera misread a container"),
    ),
    "inspection_done": (("Đã kiểm tra thực tế tại cổng", "Physical inspection done at the gate"),),
    "manual_open": (
        ("Bảo trì barie", "Barrier maintenance"),
        ("Xe ưu tiên / khẩn cấp", "Emergency vehicle"),
    ),
}


def strings(language: Language) -> dict[str, object]:
    """Every label, the reason texts and the preset reasons, in `language`."""
    index = LANGUAGES.index(language)
    labels: dict[str, object] = {key: pair[index] for key, pair in _LABELS.items()}
    texts = REASON_TEXT_VI if language == "vi" else REASON_TEXT
    labels["reason_text"] = {reason.value: text for reason, text in texts.items()}
    labels["presets"] = {action: [pair[index] for pair in pairs] for action, pairs in _PRESETS.items()}
    return labels
