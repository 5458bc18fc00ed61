"""Device words for the screen: a driver's raw fault text sorted into a known kind the kiosk can say in
Vietnamese and English. The raw text stays beside it (a technician needs "[Errno 2] ... /dev/ttyUSB0"),
but an officer reading Vietnamese is not handed an English OS error as the headline.
"""

from __future__ import annotations

import re
from typing import Final

# (kind, pattern) in order: the first that matches the raw text names it. Patterns follow the drivers'
# own sentences (devices/modbus_io.py, devices/scale/driver.py, vision/cameras.py, vision/stream_decoder.py).
_KINDS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("ok", r"^(connected( to .*)?|reading|ok)$"),
        # the lane's own fault words: edge/lane_recovery.py's cause, edge/lane.py's while the link is down
        ("link_lost", r"^link (lost|down)\b"),
        ("barrier_timeout", r"^barrier not (up|down) within"),
        ("connecting", r"^(connecting|not started)$"),
        ("waiting_first_frame", r"^waiting for first frame$"),
        ("stopped", r"^driver stopped$"),
        ("writes_failing", r"writes? (are )?failing|refused writes|database is locked|disk i/o error"),
        ("records_lost", r"records lost"),
        ("space_unknown", r"^free space unknown"),  # edge/storage_health.py: the probe itself failed
        ("space_low", r"space (is )?low|free space|no space left"),
        ("no_answer", r"no valid answer from"),
        ("connection_lost", r"^connection to .* lost$"),
        ("refused", r"connection refused|errno 111"),
        ("port_missing", r"no such (file|video file) or (directory|device)|errno 2\b|cannot be opened"),
        ("port_lost", r"^scale port .* lost"),
        ("no_scale_frames", r"no valid .* frame from the scale"),
        ("stream_stalled", r"\(stalled\)$"),
        ("no_frame", r"no frame|stream ended|vanished|no images"),
        ("cannot_open", r"cannot open"),
        ("frame_too_large", r"over the limit of .* pixels"),
        ("bad_frame", r"empty file|empty frame|not a decodable image"),
        ("permission", r"permission denied|errno 13\b"),
    )
)


def fault_kind(detail: str | None) -> str:
    """The known kind of a device's status text ('ok', 'port_missing', ...), or 'other'."""
    if not detail:
        return "ok"
    text = detail.strip()
    for kind, pattern in _KINDS:
        if pattern.search(text):
            return kind
    return "other"
