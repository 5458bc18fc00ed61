"""Live streams decoded on demand: every packet is received, only key frames are decoded while idle.

A camera's reader decoding every frame of a 1080p25 H.264 stream costs about a tenth of a core, for frames
nobody reads while the lane is idle. `StreamSource` (PyAV) keeps the stream connected and demuxed and keeps
the packets received since the last key frame. While idle it decodes a key frame as it comes (at most one
each `IDLE_FRAME_INTERVAL_S`), so the camera's frame age stays fresh and a dead camera is still seen. When
set active (the lane's identification window opens) it decodes the kept packets at once, from that key
frame to the newest, and returns the newest frame: the scene as it is now, not as it was at the last key
frame; then it decodes every frame until it is set idle again.

The kept packets are bounded by count and bytes (`max_kept_packets`, `max_kept_bytes`) and by time (three
quarters of the stall timeout): a stream with a long GOP reaches a bound, its kept packets are then decoded
at once and dropped, as an activation does, which returns a current frame and keeps the decoder ready to go
on from there. Such a stream costs as much as decoding every frame, never unbounded memory. Packets before the
first key frame cannot be decoded and are not kept: a stream that sends no key frame gives no frame, and
`read` raises SourceError once `stall_timeout_s` has passed without one.

Not done with FFmpeg's `skip_frame = NONKEY`: the decoder is simply not given the packets it need not
decode yet, which has the same effect and lets it go on from the key frame without decoding it twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import av
import av.error
import cv2
import numpy as np
from av.video.stream import VideoStream

from vision.cameras import MAX_FRAME_PIXELS, SourceError, check_frame, check_frame_size
from vision.read import Image

log = logging.getLogger(__name__)

# While idle, a key frame is decoded only when the last frame is this old (a 1080p key frame takes 13-16 ms
# to decode): every other key frame of a 1 s GOP, one each 1.5 s of an MJPEG stream.
IDLE_FRAME_INTERVAL_S = 1.5
# While idle, the kept packets are decoded when the last frame is this share of the stall timeout old (a
# GOP longer than that): the frame age stays below the timeout, and read() raises only when nothing decodes.
REFRESH_SHARE = 0.75
MAX_KEPT_PACKETS = 300  # 12 s at 25 fps: more than a camera's GOP (1-4 s) or 3/4 of the default timeout
MAX_KEPT_BYTES = 16 << 20  # 16 MiB: 2.5 s of a 50 Mbit/s stream
# Errors that say PyAV cannot handle the source at all (not that the camera is down): the camera falls
# back to OpenCV's capture for it.
_UNSUPPORTED = (
    av.error.ProtocolNotFoundError,
    av.error.DemuxerNotFoundError,
    av.error.DecoderNotFoundError,
    av.error.PatchWelcomeError,
)


class StreamUnsupported(SourceError):
    """PyAV cannot open or decode this source (no protocol, demuxer, video stream or decoder for it)."""


@dataclass(frozen=True, slots=True)
class DecodeStats:
    packets: int  # video packets received since the stream was opened
    keys: int  # of them key frames
    decoded: int  # frames decoded
    returned: int  # frames converted and returned by read()
    kept: int  # packets kept now (received since the last decoded one)
    kept_peak: int  # most packets kept at once
    kept_bytes_peak: int  # most bytes kept at once
    early: int  # times the kept packets were decoded while idle because a bound was reached


class StreamSource:
    """A live stream (rtsp://, http(s)://) read with PyAV, decoded in full only while active."""

    def __init__(
        self,
        url: str,
        stall_timeout_s: float,
        *,
        max_kept_packets: int = MAX_KEPT_PACKETS,
        max_kept_bytes: int = MAX_KEPT_BYTES,
        max_pixels: int = MAX_FRAME_PIXELS,
    ) -> None:
        self._url = url
        self._max_pixels = max_pixels
        self._stall_s = stall_timeout_s
        self._max_packets = max_kept_packets
        self._max_bytes = max_kept_bytes
        options = {"rtsp_transport": "tcp", "analyzeduration": "1000000"}  # as OpenCV's FFmpeg capture
        # FFmpeg's own bound, for the decoding that probes the stream and for the decoder: an oversized frame
        # is never allocated, and its size still read from the stream's headers.
        options["max_pixels"] = str(max_pixels)
        opening = time.monotonic()
        try:
            container = av.open(url, options=options, timeout=(stall_timeout_s, stall_timeout_s))
        except _UNSUPPORTED as exc:
            raise StreamUnsupported(f"{url}: {exc}") from exc
        except (av.error.FFmpegError, OSError) as exc:
            waited = time.monotonic() - opening
            if waited >= stall_timeout_s:
                # FFmpeg's words for a camera that took the connection and never answered ("Invalid data
                # found when processing input", "Immediate exit requested") read as a bad stream.
                raise SourceError(
                    f"cannot open {url}: no answer, timed out after {waited:.0f} s "
                    f"(stall_timeout_s {stall_timeout_s:g})"
                ) from exc
            raise SourceError(f"cannot open {url}: {exc}") from exc
        if not isinstance(container, av.container.InputContainer) or not container.streams.video:
            container.close()
            raise StreamUnsupported(f"{url}: no video stream")
        self._container = container
        self._stream = container.streams.video[0]
        self._decoder = self._stream.codec_context
        if self._decoder is None:  # PyAV has no decoder for the stream's codec
            container.close()
            raise StreamUnsupported(f"{url}: no decoder for its video")
        try:
            # The size the stream declares (0 where none was found): a stream of oversized frames faults the
            # camera before one is decoded; not StreamUnsupported, which would hand it to OpenCV's capture.
            check_frame_size(self._decoder.width, self._decoder.height, url, max_pixels)
        except SourceError:
            container.close()
            raise
        self._decoder.options = {"max_pixels": str(max_pixels)}
        self._decoder.thread_type = "SLICE"  # frame threading would hold each frame back a few packets
        self._packets: Iterator[av.Packet[VideoStream]] = container.demux(self._stream)
        self._active = False
        # Received, not yet decoded: kept[0] is a key frame or the packet the decoder needs next.
        self._kept: list[av.Packet[VideoStream]] = []
        self._kept_bytes = 0
        self._synced = False  # a key frame came: the packets from there on can be decoded
        self._last_frame_at = 0.0  # monotonic time of the last frame returned
        self._packet_at = time.monotonic()  # of the last packet received
        self._stalled = f"{url}: no data for {stall_timeout_s:g} s (stalled)"
        counted = ("packets", "keys", "decoded", "returned", "kept_peak", "kept_bytes_peak", "early")
        self._counts = dict.fromkeys(counted, 0)

    def set_active(self, active: bool) -> None:
        """Active: decode the kept packets and every frame after them; idle: key frames only."""
        self._active = active

    def stats(self) -> DecodeStats:
        return DecodeStats(kept=len(self._kept), **self._counts)

    def read(self) -> Image:
        """The newest frame: the next key frame while idle, the next frame (after the kept ones) while
        active; SourceError when the stream ends, stalls or gives no decodable frame in the stall timeout."""
        waiting_since = time.monotonic()
        while True:
            packet = self._next_packet()
            image = self._take(packet)
            now = time.monotonic()
            if image is not None:
                self._last_frame_at = now
                self._counts["returned"] += 1
                return check_frame(image, self._url, self._max_pixels)
            if now - waiting_since > self._stall_s:
                raise SourceError(
                    f"{self._url}: no decodable frame in {self._stall_s:g} s"
                    + ("" if self._synced else " (no key frame)")
                )

    def close(self) -> None:
        self._kept.clear()
        self._container.close()

    def _next_packet(self) -> av.Packet[VideoStream]:
        try:
            packet = next(self._packets)
        except StopIteration:
            raise SourceError(f"{self._url}: stream ended") from None
        except av.error.ExitError:  # the read timeout's interrupt
            raise SourceError(self._stalled) from None
        except (av.error.FFmpegError, OSError) as exc:
            raise SourceError(f"{self._url}: {exc}") from exc
        if packet.size == 0:  # the demuxer's end-of-stream packet
            raise SourceError(f"{self._url}: stream ended")
        now = time.monotonic()
        if now - self._packet_at > self._stall_s:
            # The read timeout's first interrupt can end in a packet (the RTSP demuxer gives what it holds
            # and waits again): a gap this long is the stall, not the timeout that would follow it.
            raise SourceError(self._stalled)
        self._packet_at = now
        self._counts["packets"] += 1
        self._counts["keys"] += packet.is_keyframe
        return packet

    def _take(self, packet: av.Packet[VideoStream]) -> Image | None:
        """Keep or decode one packet; the frame to return, if this packet gives one."""
        if packet.is_keyframe:
            # Nothing before a key frame is needed to decode it and what follows: older kept packets go.
            self._drop_kept()
            self._synced = True
        elif not self._synced:
            return None  # before the first key frame: cannot be decoded, not kept
        self._kept.append(packet)
        self._kept_bytes += packet.size
        self._counts["kept_peak"] = max(self._counts["kept_peak"], len(self._kept))
        self._counts["kept_bytes_peak"] = max(self._counts["kept_bytes_peak"], self._kept_bytes)
        if self._active:
            return self._decode_kept()
        since_frame = time.monotonic() - self._last_frame_at
        if packet.is_keyframe and since_frame >= IDLE_FRAME_INTERVAL_S:
            return self._decode_kept()
        if (
            len(self._kept) >= self._max_packets
            or self._kept_bytes >= self._max_bytes
            or since_frame > self._stall_s * REFRESH_SHARE
        ):
            self._counts["early"] += 1
            return self._decode_kept()
        return None

    def _decode_kept(self) -> Image | None:
        """Decode every kept packet in order; the newest frame (the only one converted), if any."""
        newest: av.VideoFrame | None = None
        for packet in self._kept:
            try:
                frames = self._decoder.decode(packet)
            except av.error.FFmpegError as exc:  # a damaged packet: the frames after it may recover
                if self._decoder.width * self._decoder.height > self._max_pixels:
                    # Not damaged: the stream changed to a size over the decoder's max_pixels.
                    self._drop_kept()
                    check_frame_size(self._decoder.width, self._decoder.height, self._url, self._max_pixels)
                log.debug("%s: packet not decoded: %s", self._url, exc)
                continue
            self._counts["decoded"] += len(frames)
            if frames:
                newest = frames[-1]
        self._drop_kept()
        return None if newest is None else to_bgr(newest)

    def _drop_kept(self) -> None:
        self._kept.clear()
        self._kept_bytes = 0


def to_bgr(frame: av.VideoFrame) -> Image:
    """A decoded frame as a BGR image (planar 4:2:0 through OpenCV, a third cheaper than swscale)."""
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        planes = frame.to_ndarray(format="yuv420p")
        return np.asarray(cv2.cvtColor(planes, cv2.COLOR_YUV2BGR_I420), dtype=np.uint8)
    return np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
