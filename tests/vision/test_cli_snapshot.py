"""`gate-edge vision snapshot` and `vision read --camera` on configured cameras (the GStreamer RTSP test
camera, a folder of rendered frames), and `vision read`'s answers to bad input: one clear line, no OpenCV
or FFmpeg log lines, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml

from devices.sim.net import free_tcp_port
from edge.cli.vision_reads import read_json, why_not_valid
from edge.config import GateConfig
from tests.vision.h264_camera import start_rtsp_server
from vision.candidates import Candidate
from vision.config import VisionConfig
from vision.identity import ReadKind
from vision.render import render_container_code, render_plate, render_scene

pytestmark = pytest.mark.timeout(120)


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        cwd=cwd,
    )


def _config(tmp_path: Path, *cameras: dict[str, Any]) -> Path:
    config = GateConfig.model_validate({"vision": {"cameras": list(cameras)}})
    path = tmp_path / "gate.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    return path


@pytest.fixture
def rtsp_port() -> Iterator[int]:
    port = free_tcp_port()
    server = start_rtsp_server(port)  # 640x480 MJPEG test pattern
    yield port
    server.kill()
    server.wait()


def _plate_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    scene = render_scene([(render_plate("51C12345", height=80), (400, 450))], size=(1280, 720))
    cv2.imwrite(str(folder / "0001.png"), scene)
    return folder


def test_snapshot_saves_a_live_rtsp_frame_with_the_region_of_interest_drawn(
    tmp_path: Path, rtsp_port: int
) -> None:
    camera = {"id": "lane3-front", "role": "plate_front", "source": f"rtsp://127.0.0.1:{rtsp_port}/cam"}
    config = _config(tmp_path, camera | {"roi": [100, 80, 400, 300]})
    out = tmp_path / "aim.jpg"
    result = _cli("vision", "snapshot", "lane3-front", "--out", str(out), "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert f"camera lane3-front: 640x480 frame saved to {out}" in result.stdout
    assert "region of interest: 100,80,400,300" in result.stdout
    assert "focus: " in result.stdout
    assert result.stderr == ""  # no FFmpeg or OpenCV lines
    image = cv2.imread(str(out))
    assert image.shape == (480, 640, 3)
    top_edge = image[80, 150:450].astype(int)  # the rectangle's top side: green, whatever the pattern
    assert (top_edge[:, 1] > 180).all()
    assert (top_edge[:, [0, 2]] < 80).all()


def test_snapshot_of_a_stopped_camera_says_so_in_one_line(tmp_path: Path) -> None:
    port = free_tcp_port()
    config = _config(
        tmp_path, {"id": "gone", "role": "plate_front", "source": f"rtsp://127.0.0.1:{port}/cam"}
    )
    result = _cli("vision", "snapshot", "gone", "--out", str(tmp_path / "x.jpg"), "--config", str(config))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"vision snapshot: camera gone: cannot open rtsp://127.0.0.1:{port}/cam")
    assert not (tmp_path / "x.jpg").exists()


def test_snapshot_rotates_as_configured_and_warns_of_a_region_past_the_frame(tmp_path: Path) -> None:
    folder = _plate_folder(tmp_path)
    camera = {
        "id": "side",
        "role": "plate_front",
        "source": str(folder),
        "rotation": 90,
        "roi": [0, 0, 800, 800],
    }
    config = _config(tmp_path, camera)
    result = _cli("vision", "snapshot", "side", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "720x1280 frame, rotated 90 degrees saved to snapshot-side-" in result.stdout
    assert "region of interest 0,0,800,800 reaches past the 720x1280 frame" in result.stderr
    (saved,) = tmp_path.glob("snapshot-side-*.jpg")
    assert cv2.imread(str(saved)).shape == (1280, 720, 3)


def test_snapshot_of_an_unknown_camera_names_the_configured_ones(tmp_path: Path) -> None:
    config = _config(tmp_path, {"id": "front", "role": "plate_front", "source": str(_plate_folder(tmp_path))})
    result = _cli("vision", "snapshot", "rear", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.strip() == "vision snapshot: no camera 'rear' in vision.cameras; configured: front"


def test_read_camera_reads_a_live_frame_in_its_region_of_interest(tmp_path: Path) -> None:
    camera = {
        "id": "front",
        "role": "plate_front",
        "source": str(_plate_folder(tmp_path)),
        "roi": [300, 350, 900, 350],
    }
    result = _cli("vision", "read", "--camera", "front", "--config", str(_config(tmp_path, camera)))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["camera"] == "front"
    assert answer["kind"] == "plate"
    best = answer["reads"][0]
    assert (best["text"], best["valid"]) == ("51C12345", True)
    x, y, _, _ = best["box"]
    assert x >= 300  # found inside the region, in frame coordinates
    assert y >= 350


def test_read_says_what_is_wrong_with_each_bad_file_without_opencv_lines(tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    result = _cli("vision", "read", str(tmp_path / "missing.png"), str(text), str(empty), str(tmp_path))
    assert result.returncode == 1
    errors = [json.loads(line)["error"] for line in result.stdout.splitlines()]
    assert errors == [
        "no such file",
        "not an image OpenCV can decode (JPEG, PNG, BMP, WebP...), or a corrupt or truncated one",
        "empty file",
        "a directory, not an image file",
    ]
    assert result.stderr == ""  # OpenCV's "[ WARN:0@...] imread_(...)" no longer reaches the terminal


def test_read_container_gives_the_reason_a_read_is_not_valid_and_the_frames_the_lane_needs(
    tmp_path: Path,
) -> None:
    wrong = tmp_path / "wrong.png"
    cv2.imwrite(str(wrong), render_container_code("MSKU3866037"))  # check digit 6
    right = tmp_path / "right.png"
    cv2.imwrite(str(right), render_container_code("MSKU3866036"))
    result = _cli("vision", "read", "--kind", "container", str(wrong), str(right))
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line)["reads"][0] for line in result.stdout.splitlines())
    assert first["valid"] is False
    assert first["reason"] == "its ISO 6346 check digit does not hold: MSKU386603 makes 6, not 7"
    assert (second["text"], second["valid"], second["lane_needs_frames"]) == ("MSKU3866036", True, 2)
    assert "reason" not in second


def test_read_options_each_have_help_and_valid_is_explained() -> None:
    result = _cli("vision", "read", "--help")
    assert result.returncode == 0
    help_text = " ".join(result.stdout.split())
    for words in (
        "IMAGE image files",
        "--kind {plate,container} what to read",
        "--crop each image is a crop",
        "--camera NAME read one live frame",
        "lane_needs_frames",
        "one image cannot confirm",
    ):
        assert words in help_text


def _candidate(text: str, kind: ReadKind, **fields: Any) -> Candidate:
    base: dict[str, Any] = {"probs": (0.99,) * len(text), "valid": False, "box": (10, 10, 200, 40)}
    return Candidate(kind=kind, text=text, **(base | fields))


@pytest.mark.parametrize(
    ("read", "others", "reason"),
    [
        (_candidate("51C12", ReadKind.PLATE), [], "not the form of a plate of the lane's grammar (vietnam)"),
        (
            _candidate("51C12345", ReadKind.PLATE, grammatical=True, probs=(0.99,) * 7 + (0.41,)),
            [],
            "its weakest character is read 0.41 sure, below vision.min_valid_confidence 0.8",
        ),
        (
            _candidate("51C12345", ReadKind.PLATE, grammatical=True),
            [_candidate("51C12346", ReadKind.PLATE, grammatical=True, box=(20, 12, 190, 40))],
            "contested: another read of the same place (51C12346) is nearly as sure",
        ),
        (
            _candidate("51C12345", ReadKind.PLATE, grammatical=True),
            [],
            "unconfirmed: a second crop of the plate (or the second reader) did not read the same text",
        ),
        (
            _candidate("HELLO", ReadKind.CONTAINER),
            [],
            "not a container number: no ISO 6346 owner code, serial and check digit",
        ),
        (
            _candidate("MSKU3866036", ReadKind.CONTAINER, corrections=2),
            [],
            "2 look-alike characters had to change for its check digit to hold",
        ),
    ],
)
def test_why_a_read_is_not_valid_names_the_rule_it_fails(
    read: Candidate, others: list[Candidate], reason: str
) -> None:
    vision = VisionConfig(grammar="vietnam")
    assert why_not_valid(read, [read, *others], vision) == reason
    assert read_json(read, [read, *others], vision)["reason"] == reason


def test_a_valid_read_has_no_reason_and_a_plate_needs_the_configured_frames() -> None:
    vision = VisionConfig(grammar="vietnam", min_frames=3)
    read = _candidate("51C12345", ReadKind.PLATE, grammatical=True, valid=True)
    out = read_json(read, [read], vision)
    assert out["valid"] is True
    assert "reason" not in out
    assert out["lane_needs_frames"] == 3
    assert "lane_needs_frames" not in read_json(read, [read], VisionConfig(grammar="vietnam"))
    assert np.isclose(out["confidence"], 0.99)


def test_read_of_a_pipe_or_a_device_answers_at_once_instead_of_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "frame.jpg"
    os.mkfifo(fifo)  # nobody writes: opening it for reading used to wait forever
    result = _cli("vision", "read", str(fifo), "/dev/zero")
    assert result.returncode == 1
    errors = [json.loads(line)["error"] for line in result.stdout.splitlines()]
    assert errors == ["not a regular file (a pipe or device), not an image file"] * 2
