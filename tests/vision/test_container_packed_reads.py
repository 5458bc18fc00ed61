"""Narrow container crops packed into shared input rows of the real PP-OCR recognizer (vision/read.py):
each crop read as it is read alone, in its own place, for fewer of the model's input pixels; container
frames of every painted layout read alike either way; plate crops (grey padding) still read alone."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from vision.config import VisionConfig
from vision.identity import ReadKind
from vision.pipeline import Recognizer, build_recognizer
from vision.read import Image, TextReader
from vision.render import CONTAINER_LAYOUTS, render_container_code, render_plate, render_scene


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return build_recognizer(VisionConfig(threads=2))


@pytest.fixture
def unpacked(recognizer: Recognizer) -> Iterator[Recognizer]:
    recognizer.reader.pack = False
    try:
        yield recognizer
    finally:
        recognizer.reader.pack = True


class ColumnCount:
    """The recognition model's input columns (rows x width) over the runs of a reader's session."""

    def __init__(self, reader: TextReader) -> None:
        self.columns = 0
        self._session = reader._session
        self._run = self._session.run

        def counted(names: object, feed: dict[str, np.ndarray]) -> object:
            tensor = next(iter(feed.values()))
            self.columns += int(tensor.shape[0] * tensor.shape[3])
            return self._run(names, feed)

        self._session.run = counted

    def close(self) -> None:
        self._session.run = self._run


def _crops() -> list[Image]:
    """What a container frame's rounds read: a whole line, owner codes, serials, size/type codes,
    single characters and short words, a plate, and one crop too small to read."""
    return [
        render_container_code("MSKU3866036", layout="one_block", height=40),
        render_plate("TARE", height=36),
        render_plate("51C12345", height=36),
        render_plate("MSKU", height=40),
        render_plate("3866036", height=40),
        render_plate("7", height=48),
        render_plate("45G1", height=40),
        np.zeros((2, 40, 3), dtype=np.uint8),
        render_plate("22G1", height=30),
        # The characters of a column of character-sized regions, and short words of a door's panel.
        *(render_plate(text, height=40) for text in ("3", "9", "U", "0", "4", "KG", "20")),
    ]


def _packed_and_alone(
    reader: TextReader, crops: list[Image], background_pad: bool
) -> tuple[list, list, int, int]:
    """The reads of `crops` packed and alone, and the model's input columns each took."""
    count = ColumnCount(reader)
    try:
        packed = reader.read(crops, background_pad=background_pad)
        packed_columns = count.columns
        reader.pack = False
        alone = reader.read(crops, background_pad=background_pad)
    finally:
        reader.pack = True
        count.close()
    return packed, alone, packed_columns, count.columns - packed_columns


def test_packed_container_crops_read_as_each_read_alone_for_fewer_input_pixels(
    recognizer: Recognizer,
) -> None:
    crops = _crops()
    packed, alone, packed_columns, alone_columns = _packed_and_alone(recognizer.reader, crops, True)
    assert [r.text for r in packed] == [r.text for r in alone]
    assert packed[0].text == "MSKU3866036"
    assert packed[2].text == "51C12345"
    assert packed[5].text == "7"
    assert packed[7].text == ""  # too small to read, in its place
    # What alone is read surely enough to be valid is read as surely packed (a lone `0`, unsure alone
    # between O and 0, may come out surer).
    sureness = [(a.confidence, b.confidence) for a, b in zip(packed, alone, strict=True)]
    assert all(a >= 0.8 for a, b in sureness if b >= 0.8), sureness
    assert packed_columns <= alone_columns * 0.8


def test_plate_crops_are_read_alone(recognizer: Recognizer) -> None:
    # Grey padding: a plate crop is read alone, as before packing (vito lost valid reads packed).
    packed, alone, packed_columns, alone_columns = _packed_and_alone(recognizer.reader, _crops(), False)
    assert packed_columns == alone_columns
    assert [(r.text, r.probs) for r in packed] == [(r.text, r.probs) for r in alone]


def test_each_packed_crop_keeps_its_own_time_steps(recognizer: Recognizer) -> None:
    # A short crop packed beside others is decoded from its own steps: neither its neighbour's characters
    # nor a shifted copy of its own.
    crops = [
        render_plate("MSKU", height=40),
        render_plate("7", height=48),
        render_plate("3866036", height=40),
    ]
    reads = recognizer.reader.read(crops, background_pad=True)
    assert [r.text for r in reads] == ["MSKU", "7", "3866036"]
    assert all(r.steps is not None and len(r.steps) >= len(r.text) for r in reads)


@pytest.mark.parametrize("layout", CONTAINER_LAYOUTS)
def test_a_container_frame_reads_alike_packed_or_not(
    recognizer: Recognizer, unpacked: Recognizer, layout: str
) -> None:
    frame = render_scene(
        [(render_container_code("TGHU8845399", layout=layout, height=40), (700, 150))], seed=3
    )
    alone = unpacked.read_frame(frame, ReadKind.CONTAINER)
    recognizer.reader.pack = True
    packed = recognizer.read_frame(frame, ReadKind.CONTAINER)
    assert (packed[0].text, packed[0].valid) == ("TGHU8845399", True)
    assert (packed[0].text, packed[0].valid) == (alone[0].text, alone[0].valid)
