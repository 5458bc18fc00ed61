"""Every `gate-edge` command README.md's CLI list and kiosk section name exists, with the options named:
each is looked up in the real command line's parser (a renamed command or option fails here)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from edge.cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _shown() -> list[tuple[str, str, list[str]]]:
    """(group, command, options) for each alternative of each `gate-edge` line in README's code blocks:
    `gate-edge store backup OUT | check FILE` shows store backup and store check."""
    found = []
    for block in re.findall(r"```(?:sh)?\n(.*?)```", README.read_text(), flags=re.DOTALL):
        for line in block.splitlines():
            text = line.split("#", 1)[0].strip()
            if not text.startswith("gate-edge "):
                continue
            words = text.split()
            group = words[1]
            alternatives = " ".join(words[2:]).split(" | ")
            for i, alternative in enumerate(alternatives):
                parts = alternative.split()
                command = parts[0] if parts and (i > 0 or re.fullmatch(r"[a-z][a-z-]*", parts[0])) else ""
                options = re.findall(r"--[a-z-]+", alternative)
                found.append((group, command, options))
    return found


SHOWN = _shown()


def test_the_readme_shows_the_new_commands() -> None:
    pairs = {f"{group} {command}" for group, command, _ in SHOWN}
    for expected in (
        "io watch",
        "io pulse",
        "scale watch",
        "vision snapshot",
        "vision read",
        "store backup",
        "store check",
        "declarations import",
        "user add",
    ):
        assert expected in pairs


@pytest.mark.parametrize(("group", "command", "options"), SHOWN, ids=[f"{g} {c}" for g, c, _ in SHOWN])
def test_each_command_the_readme_names_exists_with_its_options(
    group: str, command: str, options: list[str]
) -> None:
    groups = _subcommands(build_parser())
    assert group in groups, f"gate-edge {group}: no such command"
    parser = groups[group]
    commands = _subcommands(parser)
    if commands and command not in ("", *commands):
        raise AssertionError(f"gate-edge {group} {command}: no such command")
    if command in commands:
        parser = commands[command]
    known = {option for action in parser._actions for option in action.option_strings}
    missing = [option for option in options if option not in known]
    assert not missing, f"gate-edge {group} {command}: no option {missing}"
