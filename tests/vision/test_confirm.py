"""Valid plate reads need a second, differently framed crop to agree; eval scores the labelled box."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from vision.candidates import Candidate
from vision.detect import Region, quad_from_box
from vision.evaluate import pick
from vision.identity import ReadKind
from vision.pipeline import Recognizer
from vision.plates import GENERIC, VIETNAM
from vision.read import Image, LineRead, TextReader, plain_letter


class ScriptedReader(TextReader):
    """Reads each batch as the next scripted text, whatever the crops show."""

    def __init__(self, batches: Sequence[str]) -> None:
        self.batches = list(batches)
        self.calls: list[int] = []

    def read(self, crops: Sequence[Image], background_pad: bool = False) -> list[LineRead]:
        text = self.batches.pop(0)
        self.calls.append(len(crops))
        return [LineRead(text, (0.99,) * len(text), (("0", 0.0),) * len(text)) for _ in crops]


class OneRegion:
    def __init__(self, box: tuple[int, int, int, int]) -> None:
        self.box = box

    def detect(self, frame: Image) -> list[Region]:
        return [Region(quad_from_box(*self.box), 0.9)]


def _recognizer(reads: Sequence[str], grammar: str = "vietnam") -> tuple[Recognizer, ScriptedReader]:
    reader = ScriptedReader(reads)
    chosen = VIETNAM if grammar == "vietnam" else GENERIC
    return Recognizer(OneRegion((200, 200, 200, 50)), reader, chosen), reader


def test_plate_read_alike_by_the_stretched_crop_stays_valid() -> None:
    recognizer, reader = _recognizer(["51C12345", "51C12345"])
    found = recognizer.read_crop(np.full((24, 94, 3), 200, np.uint8), ReadKind.PLATE)
    assert found is not None
    assert (found.text, found.valid) == ("51C12345", True)
    assert len(reader.calls) == 2


def test_plate_read_otherwise_by_the_stretched_crop_is_not_valid() -> None:
    # A run of one digit merged by CTC in one crop, split in the other: neither is trusted.
    recognizer, _ = _recognizer(["30E9999", "30E99999"])
    found = recognizer.read_crop(np.full((24, 94, 3), 200, np.uint8), ReadKind.PLATE)
    assert found is not None
    assert (found.text, found.valid) == ("30E9999", False)


def test_plate_cut_by_its_box_is_not_valid_when_the_wider_crop_reads_more() -> None:
    recognizer, _ = _recognizer(["SU216", "6LSU216"], grammar="generic")
    found = recognizer.read_frame(np.full((600, 800, 3), 200, np.uint8), ReadKind.PLATE)
    assert [(c.text, c.valid) for c in found] == [("SU216", False)]


def test_invalid_reads_cost_no_confirming_read() -> None:
    recognizer, reader = _recognizer(["ABC"])
    found = recognizer.read_crop(np.full((24, 94, 3), 200, np.uint8), ReadKind.PLATE)
    assert found is None or not found.valid
    assert len(reader.calls) == 1


@pytest.mark.parametrize(("entry", "plain"), [("Ö", "O"), ("ō", "O"), ("ž", "Z"), ("Ａ", "A"), ("０", "0")])
def test_accented_and_full_width_vocabulary_entries_count_as_their_plain_character(
    entry: str, plain: str
) -> None:
    assert plain_letter(entry) == plain


@pytest.mark.parametrize("entry", ["-", "·", "中", "<blank>"])
def test_separators_and_other_scripts_stay_other(entry: str) -> None:
    assert plain_letter(entry) == entry.upper()


def test_eval_scores_no_read_when_none_is_at_the_labelled_box() -> None:
    elsewhere = Candidate(ReadKind.PLATE, "6MTP929", (0.99,) * 7, True, (900, 100, 120, 40))
    at_box = Candidate(ReadKind.PLATE, "6TIX874", (0.7,) * 7, False, (100, 300, 120, 40))
    assert pick([elsewhere], (100, 300, 120, 40)) is None
    assert pick([elsewhere, at_box], (100, 300, 120, 40)) == at_box
