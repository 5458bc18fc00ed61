"""`vision eval --expected-from-labels`: a labelled folder verified against its own label texts."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vision import iso6346
from vision.identity import ReadKind, ReadPath
from vision.pipeline import Recognizer
from vision.plates import grammar
from vision.render import Degradation, degrade, render_plate
from vision.verifier import Verifier
from vision.verify_eval import near, run


def test_near_texts_are_a_look_alike_away_and_near_container_numbers_keep_their_check_digit() -> None:
    plates = near("6TIX874", ReadKind.PLATE)
    assert {"GTIX874", "6T1X874", "TIX874", "66TIX874"} <= set(plates)
    assert "6TIX874" not in plates
    assert "AB1OC" not in near("AB10C", ReadKind.PLATE)  # O and 0: one glyph, never told apart
    assert "AB1DC" in near("AB10C", ReadKind.PLATE)
    containers = near("MSKU3866036", ReadKind.CONTAINER)
    assert containers
    assert all(iso6346.is_valid(c) and c != "MSKU3866036" for c in containers)
    assert "MSKU3866838" in containers  # 0 read as 8 in the serial, then the check digit made right
    only_plates = near("6TIX874", ReadKind.PLATE, lambda t: t[0].isdigit())
    assert only_plates
    assert all(t[0].isdigit() for t in only_plates)


def test_a_chinese_plates_near_texts_include_every_other_province() -> None:
    china = grammar("china")
    plates = near("皖A05279", ReadKind.PLATE, lambda t: china.check(t).valid, china.script)
    assert {"鄂A05279", "浙A05279", "京A05279"} <= set(plates)
    assert "皖A05279" not in plates
    assert not any(p.startswith("皖") and p[1:] == "A05279" for p in plates)
    assert "鄂A05279" not in near("皖A05279", ReadKind.PLATE)  # without the script: Latin look-alikes only


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    """Three blurred plate crops whose readers disagree, and one clean one."""
    rows = ["filename,text,x,y,w,h"]
    spoil = Degradation(noise=8.0, blur=1.8, light=0.8, jpeg=60)
    for i, text in enumerate(["51F44614", "30A12345", "29B67890", "15C11223"]):
        plate = render_plate(text, height=24 if i < 3 else 40)
        if i < 3:
            plate = degrade(plate, spoil, np.random.default_rng(i))
        cv2.imwrite(str(tmp_path / f"{i}.png"), plate)
        rows.append(f"{i}.png,{text},,,,")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    return tmp_path


def test_every_image_is_matched_to_its_own_label_and_to_none_without_it(
    recognizer: Recognizer, labelled: Path
) -> None:
    report, checked, results = run(recognizer, Verifier.for_recognizer(recognizer), labelled, ReadKind.PLATE)
    assert report.n == 4
    assert [r.matched for r in results] == ["51F44614", "30A12345", "29B67890", "15C11223"]
    assert [r.impostor for r in results] == [None] * 4
    assert [r.near_impostor for r in results] == [None] * 4
    assert (checked.expected, checked.verified_exact, checked.false_accept, checked.near_false_accept) == (
        4,
        1.0,
        0.0,
        0.0,
    )
    by_verification = [r.path is ReadPath.VERIFIED for r in results]
    assert checked.by_verification == sum(by_verification) / 4
    assert any(by_verification)  # the blurred ones: their free reads are not valid
