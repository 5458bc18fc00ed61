"""`gate-edge vision train-detector` without and with ultralytics.

Training itself needs the `train` extra and minutes of CPU, so it does not run here: the recipe in
training/detector/README.md ran it, and test_yolo_export.py checks what it made. Here the `ultralytics`
module is replaced by a stand-in (a fake, saying so) that records what the command asks of it.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import pytest

from edge.cli import main


def test_without_the_train_extra_the_command_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ultralytics", None)  # import fails, as without the extra
    assert main(["vision", "train-detector", "--data", str(tmp_path / "data.yaml")]) == 2
    assert "pip install 'border-gate-edge[train]'" in capsys.readouterr().err


class _StandInYOLO:
    """Records the calls; `export` writes a file where ultralytics would."""

    calls: ClassVar[list[tuple[str, Any]]] = []

    def __init__(self, model: str) -> None:
        self.calls.append(("model", model))

    def train(self, **kwargs: Any) -> None:
        self.calls.append(("train", kwargs))
        self._run = Path(kwargs["project"]) / kwargs["name"]

    def export(self, **kwargs: Any) -> str:
        self.calls.append(("export", kwargs))
        (self._run / "weights").mkdir(parents=True)
        path = self._run / "weights" / "best.onnx"
        path.write_bytes(b"onnx bytes")
        return str(path)


def test_the_command_trains_offline_friendly_and_puts_the_export_where_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ultralytics", types.SimpleNamespace(YOLO=_StandInYOLO))
    _StandInYOLO.calls = []
    data = tmp_path / "data.yaml"
    args = ["vision", "train-detector", "--data", str(data), "--runs", str(tmp_path / "runs")]
    assert main(args) == 1  # no dataset yet: refused before any training
    assert "no such dataset YAML" in capsys.readouterr().err
    assert _StandInYOLO.calls == []

    data.write_text("names: {0: plate, 1: container_code}\n")
    out = tmp_path / "models" / "detector.onnx"
    extra = ["--model", "gate.yaml", "--epochs", "3", "--imgsz", "480", "--device", "cpu", "--out", str(out)]
    assert main([*args, *extra]) == 0
    assert out.read_bytes() == b"onnx bytes"
    (_, model), (_, train), (_, export) = _StandInYOLO.calls
    assert model == "gate.yaml"
    assert train["data"] == str(data)
    assert (train["epochs"], train["imgsz"], train["device"]) == (3, 480, "cpu")
    assert train["plots"] is False  # plotting fetches a font: training must work offline
    assert train["project"] == str((tmp_path / "runs").resolve())
    assert export == {"format": "onnx", "imgsz": 480, "dynamic": False, "simplify": True}
