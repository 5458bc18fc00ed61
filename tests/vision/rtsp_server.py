"""An RTSP camera for the tests: GStreamer's RTSP server sending a moving test pattern as RTP/JPEG, or
recorded H.264 access units as RTP/H.264, paced at their frame rate and looping.

Run by Debian's /usr/bin/python3 (python3-gi, gir1.2-gst-rtsp-server-1.0; `make system-deps` installs
them): `python3 rtsp_server.py PORT [UNITS FPS]` serves rtsp://127.0.0.1:PORT/cam and prints "ready".
UNITS is a file of H.264 access units, each a 4-byte big-endian length and its Annex B bytes
(tests/vision/h264_camera.py writes them).
"""

import struct
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

PIPELINE = (
    "( videotestsrc is-live=true pattern=ball ! video/x-raw,format=I420,width=640,height=480,framerate=15/1"
    " ! jpegenc ! rtpjpegpay name=pay0 pt=26 )"
)
H264_PIPELINE = (
    "( appsrc name=units format=time"
    " caps=video/x-h264,stream-format=byte-stream,alignment=au,framerate={fps}/1"
    " ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
)


def load_units(path):
    with open(path, "rb") as file:
        data = file.read()
    units, at = [], 0
    while at < len(data):
        (size,) = struct.unpack(">I", data[at : at + 4])
        units.append(data[at + 4 : at + 4 + size])
        at += 4 + size
    return units


def feed(units, fps):
    """A media-configure handler: the media's appsrc gets the units in a loop, timestamped at `fps` (the
    server's sink sends each at its time)."""

    def configure(factory, media):
        source = media.get_element().get_by_name_recurse_up("units")
        sent = [0]

        def need_data(src, length):
            n = sent[0]
            sent[0] += 1
            buffer = Gst.Buffer.new_wrapped(units[n % len(units)])
            buffer.pts = buffer.dts = n * Gst.SECOND // fps
            buffer.duration = Gst.SECOND // fps
            src.emit("push-buffer", buffer)

        source.connect("need-data", need_data)

    return configure


def main() -> None:
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(sys.argv[1])
    factory = GstRtspServer.RTSPMediaFactory()
    if len(sys.argv) > 2:
        fps = int(sys.argv[3])
        factory.set_launch(H264_PIPELINE.format(fps=fps))
        factory.connect("media-configure", feed(load_units(sys.argv[2]), fps))
    else:
        factory.set_launch(PIPELINE)
    factory.set_shared(True)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{sys.argv[1]}")
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
