"""Every `gate-edge` command docs/deploy.md shows exists, with the options it is shown with: each is parsed
by the real command line's parser (a renamed command or option fails here, not on a site)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from edge.cli import build_parser

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
#: The shell variables section 12 sets, as they expand.
_VARIABLES = {"$GATE": "gate-edge", "$CONF": "/etc/border-gate-edge/gate.yaml", "$SHARE": "/opt/share"}


def _shell_lines() -> list[str]:
    """The command lines of the document's sh blocks (continuations joined), and ExecStart= lines."""
    text = DEPLOY.read_text()
    lines: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            lines.append(line)
    lines += re.findall(r"^ExecStart=.*?'exec (.*)'$", text, flags=re.MULTILINE)
    return lines


def _words(line: str) -> list[list[str]]:
    """The simple commands of a shell line: words, split at ;, &&, || and |."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token and set(token) <= set(";&|()<>"):
            commands.append([])
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def _gate_edge_commands() -> list[list[str]]:
    commands = []
    for line in _shell_lines():
        for name, value in _VARIABLES.items():
            line = line.replace(name, value)
        if "gate-edge " not in line:
            continue
        line = re.sub(r"\$\$?\([^)]*\)", "SUBSTITUTED", line)  # $(date +%F), in a unit $$(date +%%F)
        for words in _words(line):
            # The executable: a command's first word, or the venv's path (after `runuser -u gate-edge --`).
            at = next((i for i, w in enumerate(words) if w.endswith("/bin/gate-edge")), None)
            if at is None and words[0] == "gate-edge":
                at = 0
            argv = words[at + 1 :] if at is not None else []
            if argv and "..." not in argv:  # `central run ... --signing-key K`: options elided on purpose
                commands.append(argv)
    return commands


COMMANDS = _gate_edge_commands()


def test_the_document_shows_the_commissioning_and_store_commands() -> None:
    shown = {" ".join(c[:2]) for c in COMMANDS}
    for expected in (
        "io watch",
        "io pulse",
        "scale watch",
        "vision snapshot",
        "vision read",
        "store backup",
        "store check",
        "user add",
        "declarations import",
        "central clearances",
        "keys generate",
    ):
        assert expected in shown, expected


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(c)[:60] for c in COMMANDS])
def test_each_documented_command_parses(argv: list[str]) -> None:
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse's way to refuse (or, for --help, to end after the help)
        if exc.code == 0:
            return
        pytest.fail(
            f"docs/deploy.md shows `gate-edge {' '.join(argv)}`, which gate-edge refuses ({exc.code})"
        )
