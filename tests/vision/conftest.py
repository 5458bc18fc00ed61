"""Fixtures for vision tests: the real PP-OCR ONNX models from the rapidocr wheel, loaded once."""

from __future__ import annotations

import pytest

from vision.config import VisionConfig
from vision.pipeline import Recognizer, build_recognizer
from vision.plates import VIETNAM


@pytest.fixture(scope="session")
def recognizer() -> Recognizer:
    cfg = VisionConfig()
    return build_recognizer(cfg.det_model, cfg.rec_model, VIETNAM, threads=2, det_sizes=(640, 960))
