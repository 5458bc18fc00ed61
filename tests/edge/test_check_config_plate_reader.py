"""check-config loads the plate-trained reader a camera will read with: a bad model shows before the start."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.cli import main
from vision.read import default_model_dir

# A lane with a plate camera (its controller's watchdog waived: this is about the vision section).
CAMERA = (
    "devices:\n  io:\n    watchdog:\n      enabled: false\n      waive_reason: bench lane\n"
    "vision:\n  cameras:\n    - id: front\n      role: plate_front\n      source: '0'\n"
)


def _check(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gate.yaml"
    path.write_text(text)
    return path


def test_the_shipped_plate_reader_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(_check(tmp_path, CAMERA))]) == 0
    assert "ok (gate" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("model", "says"),
    [
        ("absent.onnx", "model file not found"),
        ("broken.onnx", "cannot load"),
        (str(default_model_dir() / "PP-OCRv6_rec_small.onnx"), "not a plate reader"),
    ],
)
def test_a_missing_broken_or_wrong_plate_reader_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], model: str, says: str
) -> None:
    (tmp_path / "broken.onnx").write_bytes(b"\x08\x07not an onnx model")
    path = _check(tmp_path, CAMERA + f"  plate_reader_file: '{tmp_path / model}'\n")
    assert main(["check-config", str(path)]) == 1
    err = capsys.readouterr().err
    assert "vision.plate_reader_file: " in err
    assert says in err


def test_a_lane_that_does_not_read_with_it_does_not_load_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = CAMERA + "  plate_readers: [ppocr]\n  plate_reader_file: /nonexistent/model.onnx\n"
    assert main(["check-config", str(_check(tmp_path, text))]) == 0
