"""Fixtures for vision tests: the real PP-OCR ONNX models from the rapidocr wheel, loaded once."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from vision.config import VisionConfig
from vision.pipeline import Recognizer, build_recognizer


@pytest.fixture(scope="session")
def recognizer() -> Recognizer:
    return build_recognizer(VisionConfig(threads=2, det_sizes=(640, 960)))


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll `condition` every 20 ms until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False
