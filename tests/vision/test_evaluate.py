"""`gate-edge vision eval`: labels read, every image scored (a corrupt one as a miss), figures right."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from edge.cli import main
from vision.config import VisionConfig
from vision.evaluate import Outcome, Sample, load_labels, score
from vision.render import render_plate, render_scene


def _outcome(truth: str, read: str, valid: bool, ms: float = 10.0) -> Outcome:
    return Outcome(Sample("x.jpg", truth, None), read, valid, 0.9, ms)


def test_score_counts_exact_valid_share_precision_and_o_as_0_separately() -> None:
    report = score(
        [
            _outcome("AC0M7V", "AC0M7V", True),
            _outcome("AC0M7V", "ACOM7V", False),  # O read where the label writes 0: one glyph on the plate
            _outcome("51C12345", "51C12346", True),  # a wrong valid read
            _outcome("51C12345", "", False, ms=30.0),
        ]
    )
    assert report.n == 4
    assert report.exact == 0.25
    assert report.exact_o_is_0 == 0.5
    assert report.valid_share == 0.5
    assert report.valid_precision == 0.5
    assert report.char_acc == pytest.approx((1 + 5 / 6 + 7 / 8 + 0) / 4, abs=1e-4)
    assert report.p50_ms == 10.0


def test_labels_file_missing_or_without_text_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no labels\.csv"):
        load_labels(tmp_path)
    (tmp_path / "labels.csv").write_text("filename,plate\na.jpg,51C12345\n")
    with pytest.raises(ValueError, match="rows need filename and text"):
        load_labels(tmp_path)


def test_eval_command_reads_crops_and_scenes_and_prints_the_issue_s_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = ["filename,text,x,y,w,h"]
    for i, text in enumerate(["51C12345", "30E67890"]):
        cv2.imwrite(str(tmp_path / f"crop{i}.png"), render_plate(text, height=48))
        rows.append(f"crop{i}.png,{text},,,,")
    plate = render_plate("29A44039", height=40)
    cv2.imwrite(str(tmp_path / "scene.png"), render_scene([(plate, (800, 700))]))
    h, w = plate.shape[:2]
    rows.append(f"scene.png,29A44039,800,700,{w},{h}")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    rows.append("broken.jpg,51C99999,,,,")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")

    code = main(["vision", "eval", "--dataset", str(tmp_path), "--kind", "plate", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("n", "exact", "char_acc", "valid_share", "valid_precision", "p50_ms", "p95_ms"):
        assert key in report
    assert report["n"] == 4
    assert report["exact"] == 0.75  # the three rendered plates; the corrupt file is a miss, not a crash
    assert report["valid_precision"] == 1.0


def test_eval_command_on_a_folder_without_labels_exits_1_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["vision", "eval", "--dataset", str(tmp_path), "--kind", "plate"])
    assert code == 1
    assert "no labels.csv" in capsys.readouterr().err


def test_reader_only_reads_the_labelled_box_and_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plate = render_plate("51C12345", height=40)
    cv2.imwrite(str(tmp_path / "scene.png"), render_scene([(plate, (900, 700))]))
    h, w = plate.shape[:2]
    # The plate's own box, then a box round its left half only.
    rows = [
        "filename,text,x,y,w,h",
        f"scene.png,51C12345,900,700,{w},{h}",
        f"scene.png,51C12345,900,700,{w // 2},{h}",
    ]
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    args = ["vision", "eval", "--dataset", str(tmp_path), "--kind", "plate", "--json"]
    assert main(args) == 0
    # The whole pipeline detects the plate itself: the half box only says which read is the label's.
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["exact"] == 1.0
    assert main([*args, "--reader-only", "--errors"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out.strip().splitlines()[-1])["exact"] == 0.5
    assert "scene.png: 51C12345 read " in captured.err  # the half box: part of the plate, not all of it


def test_rec_model_option_loads_that_model_and_names_a_bad_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cv2.imwrite(str(tmp_path / "crop.png"), render_plate("51C12345", height=48))
    (tmp_path / "labels.csv").write_text("filename,text\ncrop.png,51C12345\n")
    not_onnx = tmp_path / "rec.onnx"
    not_onnx.write_bytes(b"not a model")
    args = ["vision", "eval", "--dataset", str(tmp_path), "--kind", "plate", "--rec-model"]
    assert main([*args, str(not_onnx)]) == 1
    assert f"cannot load {not_onnx} as an ONNX model" in capsys.readouterr().err
    # A real ONNX model that is not a recognizer (the text detector) is refused for what it lacks.
    assert main([*args, str(VisionConfig().det_model)]) == 1
    assert "no character list" in capsys.readouterr().err
    assert main([*args, str(VisionConfig().rec_model), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["exact"] == 1.0
