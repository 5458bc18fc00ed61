"""A generated H.264 camera for the stream decoder tests and benchmark: a moving test pattern with its frame
number drawn in, encoded by PyAV's libx264 and served over RTSP by rtsp_server.py (GStreamer, its own
process), paced at the stream's frame rate and looping.

The frame number is 16 bits drawn as black/white blocks along the top edge (`frame_number` reads them
back), so a test can tell which frame of the stream a decoded image is: a key frame (a multiple of the GOP)
or the frame that was being sent at a given moment.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import threading
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from vision.read import Image

RTSP_SERVER = Path(__file__).with_name("rtsp_server.py")
BITS = 16


def _block(width: int) -> int:
    return width // (BITS + 4)


def write_pattern(
    path: Path,
    *,
    size: tuple[int, int] = (640, 360),
    frames: int = 250,
    fps: int = 25,
    gop: int = 25,
    bitrate: int = 1_000_000,
    drop_key_frames: bool = False,
) -> None:
    """Encode `frames` frames (key frames every `gop`, no B-frames, one slice per frame, like most IP
    cameras) as H.264 access units, each written as a 4-byte big-endian length and its Annex B bytes.

    `drop_key_frames` leaves the key frames' picture out (their SPS and PPS stay): a stream that never
    sends a decodable frame.
    """
    width, height = size
    codec = av.CodecContext.create("libx264", "w")
    assert isinstance(codec, av.VideoCodecContext)
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = Fraction(1, fps)
    codec.framerate = Fraction(fps)
    codec.bit_rate = bitrate
    codec.gop_size = gop
    codec.options = {
        "preset": "veryfast",
        "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:sliced-threads=0",
    }
    rng = np.random.default_rng(6346)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (height + 64, width + 64), dtype=np.uint8), (0, 0), 1.5)
    block = _block(width)
    units: list[tuple[bytes, bool]] = []
    for n in range(frames):
        y = texture[(2 * n) % 64 : (2 * n) % 64 + height, (3 * n) % 64 : (3 * n) % 64 + width].copy()
        x = (n * width // 100) % (width - width // 10)
        y[height // 3 : height // 2, x : x + width // 10] = 255  # a moving white box
        y[: block + 4, : (BITS + 1) * block] = 128
        for bit in range(BITS):
            y[2 : block + 2, bit * block : (bit + 1) * block] = 235 if (n >> bit) & 1 else 16
        frame = av.VideoFrame.from_ndarray(
            np.ascontiguousarray(np.dstack([y, y, y]), dtype=np.uint8), format="bgr24"
        )
        frame.pts = n
        units += [(bytes(p), p.is_keyframe) for p in codec.encode(frame)]
    units += [(bytes(p), p.is_keyframe) for p in codec.encode(None)]
    with path.open("wb") as out:
        for data, key in units:
            unit = _without_idr(data) if key and drop_key_frames else data
            out.write(struct.pack(">I", len(unit)) + unit)


def read_units(path: Path) -> list[bytes]:
    """The access units of a file `write_pattern` wrote."""
    data = path.read_bytes()
    units, at = [], 0
    while at < len(data):
        (size,) = struct.unpack(">I", data[at : at + 4])
        units.append(data[at + 4 : at + 4 + size])
        at += 4 + size
    return units


def _without_idr(unit: bytes) -> bytes:
    """An Annex B access unit without its IDR slices (NAL type 5)."""
    parts = unit.split(b"\x00\x00\x01")
    kept = [p for p in parts[1:] if p and p[0] & 0x1F != 5]
    return b"".join(b"\x00\x00\x00\x01" + p.rstrip(b"\x00") for p in kept)


def frame_number(image: Image) -> int:
    """The frame number drawn into a decoded frame of the pattern."""
    block = _block(image.shape[1])
    row = image[2 + block // 2, :, 1]
    return sum(1 << bit for bit in range(BITS) if row[bit * block + block // 2] > 128)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_rtsp_server(port: int, units: Path | None = None, fps: int = 25) -> subprocess.Popen[str]:
    """rtsp_server.py on `port` (serving `units`, else its MJPEG test pattern), waited for (at most 20 s)."""
    args = [str(units), str(fps)] if units else []
    server = subprocess.Popen(
        ["/usr/bin/python3", str(RTSP_SERVER), str(port), *args], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    out = server.stdout
    ready: list[str] = []
    reader = threading.Thread(target=lambda: ready.append(out.readline()), daemon=True)
    reader.start()
    reader.join(20)
    if ready != ["ready\n"]:
        server.kill()
        server.wait()
        raise RuntimeError(f"the RTSP server did not start: {ready}")
    return server
