"""One live frame from a configured camera, as the lane sees it (rotated), for aiming and focusing.

`gate-edge vision snapshot` saves it as JPEG with the region of interest drawn and a focus figure; `gate-edge
vision read --camera` reads it. The camera is opened through the lane's own sources (vision.cameras), so a
URL, device or folder that works here works in the daemon.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vision.cameras import Activatable, SourceError, open_source, rotate
from vision.config import CameraConfig, VisionConfig
from vision.read import Image

_ROI_COLOUR = (0, 220, 0)


class CameraError(Exception):
    """The camera is not configured, cannot be opened or gives no usable frame; the message says which."""


def find_camera(vision: VisionConfig, name: str) -> CameraConfig:
    """The camera whose id is `name`; CameraError naming the configured ids otherwise."""
    for camera in vision.cameras:
        if camera.id == name:
            return camera
    known = ", ".join(c.id for c in vision.cameras) or "none (vision.cameras is empty)"
    raise CameraError(f"no camera {name!r} in vision.cameras; configured: {known}")


def live_frame(camera: CameraConfig) -> Image:
    """The camera's next full frame, rotated as configured."""
    try:
        source = open_source(camera.source, camera.stall_timeout_s)
    except SourceError as exc:
        raise CameraError(f"camera {camera.id}: {exc}") from exc
    try:
        if isinstance(source, Activatable):
            source.set_active(True)  # the next frame, not only the next key frame
        return rotate(source.read(), camera.rotation)
    except SourceError as exc:
        raise CameraError(f"camera {camera.id}: {exc}") from exc
    finally:
        source.close()


def roi_problem(frame: Image, roi: tuple[int, int, int, int] | None) -> str | None:
    """Why the region of interest does not fit the frame, or None."""
    if roi is None:
        return None
    height, width = frame.shape[:2]
    x, y, w, h = roi
    if x + w > width or y + h > height:
        return f"the region of interest {x},{y},{w},{h} reaches past the {width}x{height} frame"
    return None


def focus(frame: Image, roi: tuple[int, int, int, int] | None) -> float:
    """Variance of the Laplacian of the region (the whole frame without one): higher is sharper."""
    view = frame[roi[1] : roi[1] + roi[3], roi[0] : roi[0] + roi[2]] if roi else frame
    if view.size == 0:
        return 0.0
    grey = cv2.cvtColor(view, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def with_roi(frame: Image, roi: tuple[int, int, int, int] | None) -> Image:
    """A copy of the frame with the region of interest drawn and named."""
    image = frame.copy()
    if roi is None:
        return image
    x, y, w, h = roi
    thickness = max(2, image.shape[1] // 480)
    cv2.rectangle(image, (x, y), (x + w, y + h), _ROI_COLOUR, thickness)
    label_y = y - 8 if y >= 24 else y + 24
    cv2.putText(image, "region of interest", (x + 4, label_y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, _ROI_COLOUR, 2)
    return np.asarray(image, dtype=np.uint8)


def save_jpeg(image: Image, out: Path) -> None:
    """Write the JPEG; CameraError naming the path when it cannot be written."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise CameraError(f"{out}: the frame could not be encoded as JPEG")
    try:
        out.write_bytes(np.asarray(data).tobytes())
    except OSError as exc:
        raise CameraError(f"{out}: cannot write: {exc.strerror or exc}") from exc


#: Far above any camera frame's JPEG or PNG; a bigger file is not one, and is not read whole.
MAX_IMAGE_BYTES = 64 * 1024 * 1024


def load_image(name: str) -> Image:
    """An image file, decoded; CameraError saying what is wrong with it (missing, a folder, not an image)."""
    from vision.cameras import decode_image

    path = Path(name)
    if not path.exists():
        raise CameraError("no such file")
    if path.is_dir():
        raise CameraError("a directory, not an image file")
    if not path.is_file():  # a FIFO would wait forever for a writer, a device never end
        raise CameraError("not a regular file (a pipe or device), not an image file")
    try:
        with path.open("rb") as file:
            data = file.read(MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        raise CameraError(f"cannot read it: {exc.strerror or exc}") from exc
    if len(data) > MAX_IMAGE_BYTES:
        raise CameraError(f"over {MAX_IMAGE_BYTES // (1024 * 1024)} MiB: not a camera image")
    try:
        return decode_image(data, name)
    except SourceError as exc:
        detail = str(exc).removeprefix(f"{name}: ")
        if "decodable" in detail:
            detail = "not an image OpenCV can decode (JPEG, PNG, BMP, WebP...), or a corrupt or truncated one"
        raise CameraError(detail) from exc
