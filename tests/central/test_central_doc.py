"""docs/central.md tells the truth: its commands parse, and its table of rejection reasons is central's."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from central.cli import build_parser
from central.rejections import REASONS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "central.md").read_text(encoding="utf-8")
COMMANDS = [
    shlex.split(line.split("#")[0])[1:]
    for block in re.findall(r"```\n(.*?)```", DOC, re.S)
    for line in block.splitlines()
    if line.startswith("gate-central ")
]


def test_the_document_shows_each_command() -> None:
    assert {argv[0] for argv in COMMANDS} >= {"run", "clearances", "command", "report"}


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(a)[:50] for a in COMMANDS])
def test_each_documented_command_parses(argv: list[str]) -> None:
    # [--snapshot]: an optional flag shown in brackets
    build_parser().parse_args([a.strip("[]") for a in argv])


def test_the_rejection_table_names_every_reason_and_no_other() -> None:
    table = DOC.split("\n## Rejected messages", 1)[1].split("\n## ", 1)[0]
    shown = set(re.findall(r"^\| (.+?) \|", table, re.M)) - {"reason", "---"}
    named = {name.strip("` ") for cell in shown for name in cell.split(",")}
    assert named == set(REASONS)
