"""Plates drawn in a font from Debian: Chinese (CJK) and Lao plates, and the renderer without its font."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import vision.render as render
from vision.render import CJK_FONT, LAO_FONT, FontMissing, render_lao_plate, render_plate

MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"


def test_make_system_deps_installs_the_fonts_the_renderer_draws_with() -> None:
    deps = MAKEFILE.read_text(encoding="utf-8").split("system-deps:", 1)[1].split("\n\n", 1)[0]
    for path, package in (CJK_FONT, LAO_FONT):
        assert f'test -f {path} || missing="$$missing {package}"' in deps


@pytest.mark.parametrize("font", [CJK_FONT, LAO_FONT])
def test_the_fonts_are_installed(font: tuple[Path, str]) -> None:
    path, package = font
    assert path.is_file(), f"run make system-deps (Debian's {package})"


def test_a_missing_font_is_named_with_its_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(render, "CJK_FONT", (tmp_path / "gone.ttc", "fonts-wqy-microhei"))
    with pytest.raises(FontMissing, match=r"gone\.ttc not found: install Debian's fonts-wqy-microhei"):
        render_plate("桂A12345", "china")
    # Latin plates need no font file
    assert render_plate("2D0008", "cambodia").size


def test_chinese_plates_are_drawn_in_their_colours() -> None:
    def paper(image: np.ndarray) -> tuple[int, ...]:
        return tuple(int(v) for v in image[4, image.shape[1] // 2])

    assert paper(render_plate("桂A12345", "china")) == render.CN_YELLOW[1]  # a truck's plate
    assert paper(render_plate("粤BD12345", "china")) == render.CN_GREEN[1]  # new energy
    assert paper(render_plate("桂A12345", "vietnam+china", colours=render.CN_BLUE)) == render.CN_BLUE[1]


def test_a_two_row_chinese_plate_is_taller_than_one_row() -> None:
    one, two = render_plate("桂A1234挂", "china"), render_plate("桂A1234挂", "china", two_line=True)
    assert two.shape[0] > 1.5 * one.shape[0]
    assert two.shape[1] < one.shape[1]


def test_a_lao_plate_is_drawn_in_lao_script() -> None:
    plate = render_lao_plate("ກຂ 1234")
    digits_only = render_lao_plate("1234")
    assert plate.shape[1] > digits_only.shape[1]
    assert (plate < 100).any()
