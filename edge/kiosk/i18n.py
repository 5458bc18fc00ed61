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
    # --- live lane view: evidence, closest declarations, alarms, devices (issue #12) ---
    "state_REJECTED": ("Từ chối — xe quay đầu", "Rejected — turning back"),
    "lane_alarms": ("Cảnh báo làn", "Lane alarms"),
    "sync_alarms": ("Cảnh báo đồng bộ", "Sync alarms"),
    "alarm_since": ("từ", "since"),
    "alarm_pass_timeout": (
        "Xe chưa qua hết sau khi mở barie: barie giữ mở",
        "Path not clear after opening: barrier kept open",
    ),
    "alarm_link_lost": ("Mất kết nối bộ điều khiển làn", "Lane controller link lost"),
    "alarm_barrier_open_timeout": ("Barie không mở hết đúng thời gian", "Barrier did not open in time"),
    "alarm_barrier_close_timeout": ("Barie không đóng hết đúng thời gian", "Barrier did not close in time"),
    "alarm_unauthorized_passage": (
        "Có xe ở vòng từ ra khi barie đang đóng",
        "Exit loop occupied while the barrier was down",
    ),
    "alarm_passage_unconfirmed": (
        "Không xác nhận được xe đã qua khi mất kết nối",
        "Passage not confirmed while the link was down",
    ),
    "alarm_other": ("Cảnh báo làn", "Lane alarm"),
    "cameras": ("Camera", "Cameras"),
    "no_cameras": (
        "Không có camera (làn nhận dạng bằng nguồn mô phỏng)",
        "No cameras (the lane identifies from a simulator)",
    ),
    "camera_OK": ("Đã kết nối", "Connected"),
    "camera_FAULT": ("LỖI", "FAULT"),
    "camera_STARTING": ("Đang kết nối", "Connecting"),
    "camera_STOPPED": ("Đã dừng", "Stopped"),
    "fps": ("khung hình/giây", "fps"),
    "last_frame": ("khung hình gần nhất", "last frame"),
    "sync_disabled": ("Đã tắt (không cấu hình đồng bộ)", "Disabled (sync not configured)"),
    "sync_not_running": ("Không chạy tại làn này", "Not running beside this lane"),
    "age_now": ("vừa xong", "just now"),
    "age_s": ("{n} giây trước", "{n} s ago"),
    "age_min": ("{n} phút trước", "{n} min ago"),
    "age_h": ("{n} giờ trước", "{n} h ago"),
    "age_d": ("{n} ngày trước", "{n} days ago"),
    "fault_ok": ("Tốt", "OK"),
    "fault_link_lost": ("Mất kết nối bộ điều khiển", "Controller link lost"),
    "fault_barrier_timeout": ("Barie bị kẹt", "Barrier stuck"),
    "fault_connecting": ("Đang kết nối", "Connecting"),
    "fault_waiting_first_frame": ("Đang chờ số cân đầu tiên", "Waiting for the first reading"),
    "fault_stopped": ("Đã dừng", "Stopped"),
    "fault_writes_failing": ("Không ghi được dữ liệu", "Writes failing"),
    "fault_records_lost": ("Đã mất bản ghi", "Records lost"),
    "fault_space_low": ("Sắp hết dung lượng lưu trữ", "Disk space low"),
    "fault_no_answer": ("Thiết bị không trả lời", "No answer from the device"),
    "fault_connection_lost": ("Mất kết nối", "Connection lost"),
    "fault_refused": ("Thiết bị từ chối kết nối", "Connection refused"),
    "fault_port_missing": ("Không tìm thấy cổng hoặc thiết bị", "Port or device not found"),
    "fault_port_lost": ("Mất cổng kết nối", "Port lost"),
    "fault_no_scale_frames": ("Không nhận được dữ liệu hợp lệ từ cân", "No valid data from the scale"),
    "fault_stream_stalled": ("Luồng video bị treo", "Video stream stalled"),
    "fault_no_frame": ("Không nhận được hình ảnh", "No picture"),
    "fault_cannot_open": ("Không mở được nguồn video", "Cannot open the video source"),
    "fault_frame_too_large": ("Độ phân giải quá lớn", "Frame too large"),
    "fault_bad_frame": ("Hình ảnh bị hỏng", "Corrupt picture"),
    "fault_permission": ("Không có quyền truy cập", "Permission denied"),
    "fault_other": ("Lỗi thiết bị", "Device fault"),
    "tap_to_enlarge": ("Chạm để phóng to", "Tap to enlarge"),
    "no_image": ("Không có ảnh", "No image"),
    "close": ("Đóng", "Close"),
    "zoom_hint": ("Chụm hai ngón hoặc cuộn để phóng to", "Pinch or scroll to zoom"),
    "corrected_to": ("sửa thành", "corrected to"),
    "closest_declarations": ("Tờ khai đã thông quan gần giống nhất", "Closest cleared declarations"),
    "no_close_declaration": ("Không có tờ khai nào gần giống", "No cleared declaration is close"),
    "differ": ("Số ký tự khác: {n}", "Characters that differ: {n}"),
    "closest_reason": (
        "Sửa theo tờ khai đã thông quan gần giống nhất",
        "Corrected to the closest cleared declaration",
    ),
    # --- history: how each transaction ended, who decided, corrections, evidence (issue #12) ---
    "ending": ("Kết quả", "Outcome"),
    "ending_passed": ("Đã qua cổng", "Passed"),
    "ending_passed_by_officer": ("Cán bộ cho qua", "Passed by officer"),
    "ending_opened_by_hand": ("Mở barie thủ công", "Opened by hand"),
    "ending_rejected": ("Từ chối — xe đã lùi ra", "Rejected — backed out"),
    "ending_turned_back": ("Quay đầu, không qua cổng", "Turned back"),
    "ending_aborted": ("Đã hủy", "Aborted"),
    "ending_unconfirmed": ("Chưa xác nhận đã qua", "Passage unconfirmed"),
    "ending_interrupted": ("Gián đoạn", "Interrupted"),
    "ending_in_progress": ("Đang xử lý", "In progress"),
    "ending_unknown": ("Hoàn tất (không ghi kết quả)", "Completed (outcome not recorded)"),
    "decided_by": ("Người quyết định", "Decided by"),
    "decided_automatic": ("Tự động", "Automatic"),
    "decided_none": ("Chưa quyết định", "Not decided"),
    "corrections": ("Sửa kết quả đọc", "Corrections"),
    "open_frame": ("Mở ảnh đầy đủ", "Open the full frame"),
    # --- issue #12's loose ends: the history outcome filter, sync and store alarms, refusals ---
    # The History filter's choices are the lane's stored results (edge.store.transactions.TxResult).
    "result_any": ("Tất cả", "Any"),
    "result_passed": ("Đã qua cổng (tự động hoặc cán bộ cho qua)", "Passed (automatic or by an officer)"),
    "result_rejected": ("Từ chối — xe đã lùi ra", "Rejected — backed out"),
    "result_left": ("Quay đầu, không qua cổng", "Turned back"),
    "result_aborted": ("Đã hủy", "Aborted"),
    "result_unconfirmed": ("Chưa xác nhận đã qua", "Passage unconfirmed"),
    # Alarms the store side raises (edge/daemon.py, edge/lane_writer.py): in the record and at central.
    "alarm_decision_not_recorded": (
        "Không ghi được quyết định: xe bị tạm giữ",
        "Decision not recorded: vehicle held",
    ),
    "alarm_storage_low": ("Sắp hết dung lượng lưu trữ tại làn", "Lane store disk space low"),
    "alarm_store_write_failed": ("Không ghi được dữ liệu tại làn", "Lane store refuses writes"),
    # The uplink's alarms (sync/health.py, sync/service.py, sync/supervisor.py), shown by code until now.
    "sync_alarm_outbox_backlog": (
        "Quá nhiều sự kiện chờ gửi về trung tâm",
        "Too many events waiting to be sent to central",
    ),
    "sync_alarm_broker_refused": ("Trung tâm từ chối kết nối", "Central's broker refuses the connection"),
    "sync_alarm_drainer_restarted": (
        "Việc gửi sự kiện bị lỗi và đã khởi động lại",
        "Event sending failed and was restarted",
    ),
    "sync_alarm_inbound_restarted": (
        "Việc nhận tin từ trung tâm bị lỗi và đã khởi động lại",
        "Receiving from central failed and was restarted",
    ),
    "sync_alarm_upkeep_restarted": (
        "Việc dọn hàng đợi sự kiện bị lỗi và đã khởi động lại",
        "Outbox upkeep failed and was restarted",
    ),
    "sync_alarm_telemetry_restarted": (
        "Việc gửi số liệu trạng thái bị lỗi và đã khởi động lại",
        "Telemetry failed and was restarted",
    ),
    "sync_alarm_other": ("Cảnh báo đồng bộ", "Sync alarm"),
    # Refusals (HTTP 4xx and 503) as the officer reads them; edge/kiosk/refusals.py matches the English
    # detail the server writes to one of these and fills in its {names}.
    "refusal_account_disabled": ("Tài khoản đã bị khóa", "Account disabled"),
    "refusal_cross_site": ("Yêu cầu từ trang khác bị từ chối", "Cross-site request refused"),
    "refusal_other_origin": ("Yêu cầu từ nguồn khác bị từ chối", "Request from another origin refused"),
    "refusal_csrf": (
        "Mã bảo vệ phiên thiếu hoặc sai: tải lại trang",
        "CSRF token missing or wrong: reload the page",
    ),
    "refusal_role": ("Vai trò {role} không được làm việc này", "Role {role} may not do this"),
    "refusal_no_transaction": ("Không có giao dịch này", "No such transaction"),
    "refusal_no_evidence": ("Không có ảnh bằng chứng này", "No such evidence image"),
    "refusal_not_waiting": (
        "Không có xe nào của giao dịch này chờ cán bộ",
        "No vehicle with that transaction waits for an officer",
    ),
    "refusal_none_held": ("Không có xe nào đang bị tạm giữ tại làn", "No vehicle is held at the lane"),
    "refusal_held_changed": (
        "Xe đang giữ đã thay đổi: màn hình đang hiện xe trước đó",
        "The held vehicle changed: the screen showed an earlier one",
    ),
    "refusal_already_rejected": (
        "{officer} đã từ chối xe này: xe phải lùi ra",
        "Already rejected by {officer}: it must back out",
    ),
    "refusal_action_pending": (
        "Thao tác của cán bộ khác trên xe này đang được thực hiện",
        "Another officer's action on this vehicle is being applied",
    ),
    "refusal_supervisor_to_pass": (
        "Chỉ giám sát viên được cho xe bị từ chối đi qua",
        "Only a supervisor may let a rejected vehicle pass",
    ),
    "refusal_no_inspection": (
        "Xe đang giữ không chờ kiểm tra thực tế",
        "The held vehicle is not waiting for an inspection",
    ),
    "refusal_no_declaration": (
        "Không có xe đang giữ với tờ khai đã khớp",
        "No held vehicle with a matched declaration",
    ),
    "refusal_lane_busy": ("Làn chưa nhận được thao tác lúc này: {why}", "The lane cannot take it now: {why}"),
    "refusal_store_busy": (
        "Chưa ghi được thao tác vào dữ liệu ({why}): thử lại",
        "The store cannot record this action now ({why}): try again",
    ),
    "refusal_controller_unreachable": (
        "Không kết nối được bộ điều khiển làn",
        "The lane controller is not reachable",
    ),
    "refusal_barrier_open": ("Barie đã mở sẵn", "The barrier is already open"),
    "refusal_lane_not_started": ("Làn chưa khởi động xong", "The lane has not started"),
    "refusal_invalid_input": ("Dữ liệu không hợp lệ", "Invalid input"),
    "fault_space_unknown": ("Không đo được dung lượng lưu trữ còn trống", "Free space unknown"),
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
