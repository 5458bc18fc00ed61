"""The reader's extra characters (China's province characters) and decoding constrained to a grammar,
with the real PP-OCR recognition model on rendered plates."""

from __future__ import annotations

import numpy as np
import pytest

from vision.candidates import Judge
from vision.hypotheses import Hypothesis
from vision.identity import ReadKind
from vision.plate_decode import constrained
from vision.plates import CHINA, grammar
from vision.read import STEP_COLUMNS, LineRead, ModelError, TextReader, default_model_dir
from vision.render import CN_BLUE, degrade, random_degradation, render_plate

MODEL = default_model_dir() / "PP-OCRv6_rec_small.onnx"


@pytest.fixture(scope="module")
def latin() -> TextReader:
    return TextReader(MODEL, threads=2)


@pytest.fixture(scope="module")
def chinese() -> TextReader:
    return TextReader(MODEL, threads=2, extra=CHINA.script)


def test_extra_characters_leave_the_latin_read_unchanged(latin: TextReader, chinese: TextReader) -> None:
    crops = [render_plate("51C12345"), render_plate("桂A12345", "china"), render_plate("2D0008", "cambodia")]
    for plain, wide in zip(latin.read(crops), chinese.read(crops), strict=True):
        assert (wide.text, wide.probs, wide.runners_up, wide.breaks) == (
            plain.text,
            plain.probs,
            plain.runners_up,
            plain.breaks,
        )
        assert plain.steps is not None
        assert wide.steps is not None
        assert plain.steps.shape[1] == len(STEP_COLUMNS)
        assert wide.steps.shape[1] == len(STEP_COLUMNS) + len(CHINA.script)
        np.testing.assert_array_equal(wide.steps[:, : len(STEP_COLUMNS)], plain.steps)
        assert (plain.extra, wide.extra) == ("", CHINA.script)


def test_the_latin_read_of_a_chinese_plate_has_no_province_character(chinese: TextReader) -> None:
    (line,) = chinese.read([render_plate("桂A12345", "china")])
    assert line.text == "A12345"
    assert line.steps is not None
    province = line.steps[:, len(STEP_COLUMNS) + CHINA.script.index("桂")]
    assert province.max() > 0.5  # the reader saw it: its column holds it


def test_a_reader_refuses_characters_its_model_cannot_read() -> None:
    with pytest.raises(ModelError, match="cannot read ກ"):
        TextReader(MODEL, threads=1, extra="桂ກ")


@pytest.mark.parametrize(
    ("plate", "colours"),
    [("桂A12345", None), ("云A8K49D", None), ("粤BD12345", None), ("桂A1234挂", None), ("皖A0V790", CN_BLUE)],
)
def test_constrained_decoding_reads_a_rendered_chinese_plate(
    chinese: TextReader, plate: str, colours: tuple[tuple[int, int, int], tuple[int, int, int]] | None
) -> None:
    rng = np.random.default_rng(3)
    crop = degrade(render_plate(plate, "china", colours=colours), random_degradation(rng, 0.6), rng)
    (line,) = chinese.read([crop])
    read = constrained(line, CHINA)
    assert read is not None
    assert read.text == plate
    assert min(read.probs) > 0.5


def test_constrained_decoding_needs_the_grammars_characters_in_the_steps(latin: TextReader) -> None:
    (line,) = latin.read([render_plate("桂A12345", "china")])
    assert constrained(line, CHINA) is None  # a reader without the province characters
    assert constrained(LineRead("A12345", (1.0,) * 6, ()), CHINA) is None  # no steps at all


def _steps(frames: list[str], extra: str = CHINA.script) -> LineRead:
    """Steps that read one character per frame surely ('-' blank, '.' a separator)."""
    columns = [*STEP_COLUMNS, *extra]
    steps = np.full((len(frames), len(columns)), 1e-4, dtype=np.float32)
    for t, ch in enumerate(frames):
        if ch == "-":
            steps[t, 0] = 1.0
        elif ch == ".":
            steps[t, 1] = 1.0
        else:
            steps[t, columns.index(ch)] = 1.0
            if ch in extra:
                steps[t, 1] = 1.0  # "other" holds the extra characters too
    return LineRead("", (), (), (), steps, extra)


def test_o_and_i_in_a_serial_are_read_as_zero_and_one() -> None:
    read = constrained(_steps(list("-桂-A-.-O-1-I-4-5-")), CHINA)
    assert read is not None
    assert read.text == "桂A01145"
    assert min(read.probs) > 0.9


def test_a_repeated_character_needs_a_blank_between() -> None:
    # 桂A 0 0 0 0 0: five zeros, each apart; frames of one zero in a row are one character
    read = constrained(_steps(list("-桂-A-0-0-0-0-00-")), CHINA)
    assert read is not None
    assert read.text == "桂A00000"


def test_an_unseen_province_character_is_guessed_unsure() -> None:
    read = constrained(_steps(list("---A-1-2-3-4-5-")), CHINA)
    assert read is not None
    assert read.text[1:] == "A12345"
    assert read.probs[0] < 0.01


def test_a_combined_grammar_decodes_only_its_members() -> None:
    lane = grammar(["vietnam", "china"])
    assert constrained(_steps(list("-桂-A-1-2-3-4-5-")), lane) is None  # members are decoded one by one
    read = constrained(_steps(list("-桂-A-1-2-3-4-5-")), lane.members[1])
    assert read is not None
    assert read.text == "桂A12345"


def test_a_province_character_read_as_a_latin_letter_makes_no_latin_plate() -> None:
    # cn-0483.jpg, 皖AHG892: the blurred province character read M (0.99), the generic grammar took
    # MAHG892 valid. The constrained read explains the same frames as a Chinese plate: it stands.
    line = _steps(list("-M-A-H-G-8-9-2-"))
    assert line.steps is not None
    line.steps[1, STEP_COLUMNS.index("M")] = 0.95
    line.steps[1, len(STEP_COLUMNS) + CHINA.script.index("皖")] = 0.04
    free = LineRead("MAHG892", (0.95, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0), (), (), line.steps, line.extra)
    judge = Judge(grammar(["china", "generic"]))
    found = judge.score([free], [Hypothesis((0, 0, 90, 24), [0])], ReadKind.PLATE)
    assert [c.text for c in found] == ["皖AHG892"]
    assert not found[0].valid  # the province character at 0.04: read, not sure
    # without China's plates in the lane, MAHG892 is a generic plate
    alone = Judge(grammar("generic")).score([free], [Hypothesis((0, 0, 90, 24), [0])], ReadKind.PLATE)
    assert [(c.text, c.valid) for c in alone] == [("MAHG892", True)]
